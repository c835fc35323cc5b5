"""Nova compute driver for the real-OpenStack harness (Lifeboat issue 6).

nova.virt.fake.FakeDriverWithoutFakeNodes keeps VMs in memory (no hypervisor),
and unlike the plain FakeDriver it writes a compute_id, so nova-compute can be
restarted. Its snapshot() never uploads anything, which leaves createImage
images 'queued' forever; here it uploads a 1 MiB payload, as a hypervisor
would upload the disk, so the image reaches 'active'.

A restarted nova-compute (site-up.sh, a site whose control plane comes back
after a disaster) finds again the guests its hypervisor kept: every instance
of this host in Nova's database is registered with the power state its
vm_state implies. The plain fake driver forgets them, and then refuses to
stop them (InstanceNotFound) — which is exactly what fencing must do.

Installed into site-packages/nova/virt/ by lib/install.sh (nova imports
compute_driver only from that package); selected with
compute_driver = lifeboat_fakevirt.UploadingFakeDriver.
"""
import io

from nova import context as nova_context
from nova import objects
from nova.compute import power_state, vm_states
from nova.image import glance
from nova.virt import fake

# What a hypervisor that kept running shows for each vm_state.
_KEPT = {
    vm_states.ACTIVE: power_state.RUNNING,
    vm_states.STOPPED: power_state.SHUTDOWN,
    vm_states.PAUSED: power_state.PAUSED,
    vm_states.SUSPENDED: power_state.SUSPENDED,
}


class UploadingFakeDriver(fake.FakeDriverWithoutFakeNodes):
    def init_host(self, host):
        super().init_host(host)
        ctx = nova_context.get_admin_context()
        for inst in objects.InstanceList.get_by_host(ctx, host):
            state = _KEPT.get(inst.vm_state)
            if state is not None and inst.uuid not in self.instances:
                self.instances[inst.uuid] = fake.FakeInstance(
                    inst.name, state, inst.uuid)

    def snapshot(self, context, instance, image_id, update_task_state):
        super().snapshot(context, instance, image_id, update_task_state)
        meta = {'disk_format': 'raw', 'container_format': 'bare'}
        glance.API().update(context, image_id, meta,
                            io.BytesIO(b'\0' * (1024 * 1024)),
                            purge_props=False)
