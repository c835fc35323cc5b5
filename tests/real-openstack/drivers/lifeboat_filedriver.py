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

Replication (Lifeboat's option 3), configured the way real drivers are:
`replication_device = backend_id:<site>,volume_dir:<that site's volume dir>`.
A volume of a type with `replication_enabled='<is> True'` (created so, or
retyped to it) is mirrored to the target directory under its own backend name
`volume-<id>`: at once, then every MIRROR_INTERVAL seconds (asynchronous
replication with a lag). The set of mirrored volumes is kept in
`replicated.json` in the volume dir, so a restarted cinder-volume carries on.
At the other site the mirror is a backend volume its Cinder does not know:
listed by get_manageable_volumes (GET /manageable_volumes), adopted by
manage_existing (the file is renamed to the new volume's name, as LVM renames
the LV); adopted with a replication-enabled type, it is mirrored back the
other way (reprotect). The parent reports `replication_enabled: True` in its pool stats, so
the scheduler places replicated types here. failover_host is not implemented:
Lifeboat's option 3 adopts the replicas at the surviving site instead.
"""
import json
import math
import os
import shutil
import subprocess

from cinder import exception
from cinder.tests.fake_driver import FakeLoggingVolumeDriver
from cinder.volume import volume_utils
from oslo_log import log as logging
from oslo_service import loopingcall

LOG = logging.getLogger(__name__)
GiB = 1024 ** 3
MIRROR_INTERVAL = 5


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

    # ---- replication -------------------------------------------------
    def _target_dir(self):
        for dev in self.configuration.safe_get('replication_device') or []:
            if dev.get('volume_dir'):
                return dev['volume_dir']
        return None

    def _set_file(self):
        return os.path.join(volume_dir(), 'replicated.json')

    def _replicated(self):
        try:
            with open(self._set_file()) as f:
                return set(json.load(f))
        except FileNotFoundError:
            return set()

    def _save_replicated(self, ids):
        tmp = self._set_file() + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(sorted(ids), f)
        os.replace(tmp, self._set_file())

    def _mirror(self, vid):
        """Copy volume-<vid> to the target dir, atomically (tmp + rename)."""
        src = os.path.join(volume_dir(), 'volume-%s' % vid)
        dst = os.path.join(self._target_dir(), 'volume-%s' % vid)
        if not os.path.exists(src):
            return
        os.makedirs(self._target_dir(), exist_ok=True)
        subprocess.check_call(['cp', '--sparse=always', src, dst + '.part'])
        os.replace(dst + '.part', dst)

    def _mirror_all(self):
        for vid in sorted(self._replicated()):
            try:
                self._mirror(vid)
            except Exception:  # the next round tries again
                LOG.exception('mirroring volume %s failed', vid)

    def _start_replication(self, volume):
        ids = self._replicated()
        ids.add(volume['id'])
        self._save_replicated(ids)
        self._mirror(volume['id'])
        return {'replication_status': 'enabled'}

    def _stop_replication(self, volume):
        ids = self._replicated()
        if volume['id'] in ids:
            ids.discard(volume['id'])
            self._save_replicated(ids)
            try:
                os.unlink(os.path.join(self._target_dir(), 'volume-%s' % volume['id']))
            except (FileNotFoundError, TypeError):
                pass

    def _wants_replication(self, volume_type):
        specs = getattr(volume_type, 'extra_specs', None) or {}
        return bool(self._target_dir()) and volume_utils.is_replicated_spec(specs)

    def do_setup(self, context):
        super().do_setup(context)
        if self._target_dir():
            self._mirror_loop = loopingcall.FixedIntervalLoopingCall(self._mirror_all)
            self._mirror_loop.start(interval=MIRROR_INTERVAL, initial_delay=MIRROR_INTERVAL)

    def retype(self, context, volume, new_type, diff, host):
        if self._wants_replication(new_type):
            return True, self._start_replication(volume)
        self._stop_replication(volume)
        return True, ({'replication_status': 'disabled'} if volume.get('replication_status') == 'enabled' else None)

    def create_volume(self, volume):
        res = super().create_volume(volume) or {}
        self._grow(self._vpath(volume), volume['size'])
        try:
            vtype = volume.volume_type
        except exception.VolumeTypeNotFound:
            vtype = None
        if self._wants_replication(vtype):
            res.update(self._start_replication(volume))
        return res or None

    def delete_volume(self, volume):
        self._stop_replication(volume)
        try:
            os.unlink(self._vpath(volume))
        except FileNotFoundError:
            pass

    # ---- manage: adopt a backend volume Cinder does not know (a replica) ----
    def _existing_path(self, existing_ref):
        name = existing_ref.get('source-name') if isinstance(existing_ref, dict) else None
        if not name or '/' in name or not name.startswith('volume-'):
            raise exception.ManageExistingInvalidReference(
                existing_ref=existing_ref, reason='source-name must name a volume-<id> file of this backend')
        path = os.path.join(volume_dir(), name)
        if not os.path.isfile(path):
            raise exception.ManageExistingInvalidReference(existing_ref=existing_ref, reason='no such backend volume')
        return path

    def manage_existing_get_size(self, volume, existing_ref):
        return int(math.ceil(os.path.getsize(self._existing_path(existing_ref)) / GiB))

    def manage_existing(self, volume, existing_ref):
        path = self._existing_path(existing_ref)
        if os.path.basename(path) != 'volume-%s' % volume['id']:
            os.rename(path, self._vpath(volume))
        # Cinder's manage flow (unlike create) sets neither service_uuid nor
        # shared_targets, which defaults to True; os-brick in nova-compute then
        # locks on service_uuid None and the boot fails ("'NoneType' object has
        # no attribute 'replace'"). A file connection shares no target.
        update = {'shared_targets': False}
        # Adopted with a replication-enabled type, it replicates to this
        # backend's replication_device from now on (as Pure's and NetApp's
        # drivers enable replication on manage): after a failover, the way
        # back is replicated.
        try:
            vtype = volume.volume_type
        except exception.VolumeTypeNotFound:
            vtype = None
        if self._wants_replication(vtype):
            update.update(self._start_replication(volume))
        return update

    def get_manageable_volumes(self, cinder_volumes, marker, limit, offset, sort_keys, sort_dirs):
        known = {v['id'] for v in cinder_volumes}
        entries = []
        for name in sorted(os.listdir(volume_dir())):
            if not name.startswith('volume-') or name.endswith('.part'):
                continue
            vid = volume_utils.extract_id_from_volume_name(name)
            size = int(math.ceil(os.path.getsize(os.path.join(volume_dir(), name)) / GiB))
            e = {'reference': {'source-name': name}, 'size': size, 'cinder_id': None, 'extra_info': None,
                 'safe_to_manage': True, 'reason_not_safe': None}
            if vid in known:
                e.update(safe_to_manage=False, reason_not_safe='already managed', cinder_id=vid)
            entries.append(e)
        return volume_utils.paginate_entries_list(entries, marker, limit, offset, sort_keys, sort_dirs)

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

    @staticmethod
    def _dig_holes(path):
        """Give the zero ranges of `path` back (content unchanged): thin, as
        a real backend keeps a volume. A restore writes every zero of the
        backup; without this a snapshot of a restored volume copied the whole
        GiB, 25 s for three volumes on a loaded CI machine — inside the quiesce
        window, where a real backend's copy-on-write snapshot takes no time."""
        if shutil.which('fallocate'):
            subprocess.call(['fallocate', '--dig-holes', path])

    def terminate_connection(self, volume, connector, **kwargs):
        # cinder-backup's restore opens the device with 'wb', which truncates
        # a regular file: grow it back to the volume's size, and thin it.
        # (Nothing writes a volume while it is detached.)
        if os.path.exists(self._vpath(volume)):
            self._grow(self._vpath(volume), volume['size'])
            self._dig_holes(self._vpath(volume))
