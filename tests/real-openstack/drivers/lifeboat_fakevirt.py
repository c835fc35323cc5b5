"""Nova compute driver for the real-OpenStack harness (Lifeboat issue 6).

nova.virt.fake.FakeDriverWithoutFakeNodes keeps VMs in memory (no hypervisor),
and unlike the plain FakeDriver it writes a compute_id, so nova-compute can be
restarted. Its snapshot() never uploads anything, which leaves createImage
images 'queued' forever; here it uploads a 1 MiB payload, as a hypervisor
would upload the disk, so the image reaches 'active'.

Installed into site-packages/nova/virt/ by lib/install.sh (nova imports
compute_driver only from that package); selected with
compute_driver = lifeboat_fakevirt.UploadingFakeDriver.
"""
import io

from nova.image import glance
from nova.virt import fake


class UploadingFakeDriver(fake.FakeDriverWithoutFakeNodes):
    def snapshot(self, context, instance, image_id, update_task_state):
        super().snapshot(context, instance, image_id, update_task_state)
        meta = {'disk_format': 'raw', 'container_format': 'bare'}
        glance.API().update(context, image_id, meta,
                            io.BytesIO(b'\0' * (1024 * 1024)),
                            purge_props=False)
