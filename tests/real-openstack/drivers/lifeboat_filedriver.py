"""Cinder volume driver for the real-OpenStack harness (Lifeboat issue 6).

A file-backed variant of cinder's own cinder.tests.fake_driver.
FakeLoggingVolumeDriver: every volume and snapshot is a sparse file
`volume-<id>` / `snapshot-<id>` in $LIFEBOAT_VOLUME_DIR (one directory per
site). Connections are reported as driver_volume_type 'local' with the file as
device_path, so os-brick's LocalConnector gives cinder-backup (posix driver)
the file: backups and restores move real bytes, and a test can write known
content into a volume and compare the restored volume byte for byte by reading
these files. No block devices, LVM, iSCSI or sudo.

Group operations are left to the parent, which raises NotImplementedError, so
cinder's generic group path snapshots each member with create_snapshot below.
Replication is not implemented (option 3 cannot run on this driver).
"""
import os
import subprocess

from cinder.tests.fake_driver import FakeLoggingVolumeDriver

GiB = 1024 ** 3


def volume_dir():
    d = os.environ.get('LIFEBOAT_VOLUME_DIR')
    if not d:
        raise RuntimeError('LIFEBOAT_VOLUME_DIR is not set for this cinder process')
    return d


class FileBackedDriver(FakeLoggingVolumeDriver):
    def _vpath(self, v):
        return os.path.join(volume_dir(), 'volume-%s' % v['id'])

    def _spath(self, s):
        return os.path.join(volume_dir(), 'snapshot-%s' % s['id'])

    @staticmethod
    def _grow(path, size_gb):
        """Create `path` if needed and make it size_gb GiB (sparse), keeping data."""
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'ab') as f:
            if f.tell() < int(size_gb) * GiB:
                f.truncate(int(size_gb) * GiB)

    def _copy(self, src, dst, size_gb):
        subprocess.check_call(['cp', '--sparse=always', src, dst])
        self._grow(dst, size_gb)

    def create_volume(self, volume):
        res = super().create_volume(volume)
        self._grow(self._vpath(volume), volume['size'])
        return res

    def delete_volume(self, volume):
        try:
            os.unlink(self._vpath(volume))
        except FileNotFoundError:
            pass

    def create_snapshot(self, snapshot):
        self._copy(self._vpath(snapshot.volume), self._spath(snapshot), snapshot.volume_size)

    def delete_snapshot(self, snapshot):
        try:
            os.unlink(self._spath(snapshot))
        except FileNotFoundError:
            pass

    def create_cloned_volume(self, volume, src_vref):
        self._copy(self._vpath(src_vref), self._vpath(volume), volume['size'])

    def create_volume_from_snapshot(self, volume, snapshot):
        self._copy(self._spath(snapshot), self._vpath(volume), volume['size'])

    def extend_volume(self, volume, new_size):
        self._grow(self._vpath(volume), new_size)

    def validate_connector(self, connector):
        # The parent (LVM/iSCSI) insists on an iSCSI initiator; a file needs none.
        return True

    def initialize_connection(self, volume, connector):
        self._grow(self._vpath(volume), volume['size'])
        info = super().initialize_connection(volume, connector)
        info['driver_volume_type'] = 'local'
        info['data']['device_path'] = self._vpath(volume)
        return info

    def initialize_connection_snapshot(self, snapshot, connector, **kwargs):
        return {'driver_volume_type': 'local',
                'data': {'device_path': self._spath(snapshot)}}

    def terminate_connection(self, volume, connector, **kwargs):
        # cinder-backup's restore opens the device with 'wb', which truncates
        # a regular file: grow it back to the volume's size.
        if os.path.exists(self._vpath(volume)):
            self._grow(self._vpath(volume), volume['size'])
