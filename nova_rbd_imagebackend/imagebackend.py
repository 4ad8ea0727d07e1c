# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""Nova's libvirt ``Image`` contract for ``[libvirt] images_type = rbd``.

Disk names, the ``nova-resize`` snapshot and the rbd:// locations are
those of Nova's in-tree backend, so hosts running either interoperate.
What differs is how the work is done: one shared cluster connection, no
``_base`` file deciding whether to clone, swap written straight into RBD,
and every data copy done through librbd without a subprocess.
"""

import base64
import os
import time

import nova.conf
from nova import exception
from nova.virt.image import model as imgmodel
from nova.virt import images
from nova.virt.libvirt import config as vconfig
from nova.virt.libvirt import imagebackend
from oslo_log import log as logging

from nova_rbd_imagebackend import cluster
from nova_rbd_imagebackend import exceptions
from nova_rbd_imagebackend import glance_clone
from nova_rbd_imagebackend import snapshots
from nova_rbd_imagebackend import staging
from nova_rbd_imagebackend import swap

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)

# A disk being written is named <name>.part and renamed when complete, so
# a crash never leaves a half-written disk under the name Nova reuses.
PART_SUFFIX = '.part'


def parse_libvirt_path(path):
    """Return (pool, name) of 'rbd:pool/name[:opt=value...]'."""
    spec = path[len('rbd:'):] if path.startswith('rbd:') else path
    pool, sep, name = spec.split(':', 1)[0].partition('/')
    if not (sep and pool and name) or '/' in name:
        raise exception.InvalidDevicePath(path=path)
    return pool, name


def disk_kind(kwargs):
    """What Nova asks cache() for: 'swap', 'ephemeral' or 'image'."""
    if 'swap_mb' in kwargs:
        return 'swap'
    if 'ephemeral_size' in kwargs:
        return 'ephemeral'
    return 'image'


class RbdImage(imagebackend.Image):
    """One instance disk, stored as an RBD image."""

    SUPPORTS_CLONE = True

    def __init__(self, instance=None, disk_name=None, path=None,
                 disk_info_mapping=None):
        if not cluster.pool():
            raise exceptions.ActivationError(
                reason='[libvirt] images_rbd_pool is empty')
        if path:
            # Keep the pool the disk is really in, even if the configured
            # pool has changed since the instance was created.
            self.pool, self.rbd_name = parse_libvirt_path(path)
        else:
            self.pool = cluster.pool()
            self.rbd_name = '%s_%s' % (instance.uuid, disk_name)
        self.client = cluster.client()
        qemu_path = 'rbd:%s/%s' % (self.pool, self.rbd_name)
        if cluster.user():
            qemu_path += ':id=%s' % cluster.user()
        if CONF.libvirt.images_rbd_ceph_conf:
            qemu_path += ':conf=%s' % CONF.libvirt.images_rbd_ceph_conf
        super().__init__(qemu_path, 'block', 'rbd', is_block_dev=False,
                         disk_info_mapping=disk_info_mapping)
        self._absent_at = None
        self._cloned = False

    @property
    def spec(self):
        return '%s/%s' % (self.pool, self.rbd_name)

    # -- existence and size ---------------------------------------------------

    def exists(self):
        found = self.client.exists(self.pool, self.rbd_name)
        self._absent_at = None if found else time.monotonic()
        return found

    def _exists_now(self):
        # Nova's driver calls exists() on this very object right before
        # cache(); an "absent" from under a second ago is not asked again.
        # (Nova serialises the operations on one instance's disks.)
        if (self._absent_at is not None and
                time.monotonic() - self._absent_at < 1.0):
            return False
        return self.exists()

    def get_disk_size(self, name):
        """Size of this disk in bytes; ``name`` (a local path) is unused."""
        return self.client.size(self.pool, self.rbd_name)

    def _can_fallocate(self):
        return False

    @staticmethod
    def is_shared_block_storage():
        return True

    # -- creation ---------------------------------------------------------

    def cache(self, fetch_func, filename, size=None, safe=False, *args,
              **kwargs):
        """Make sure the disk exists in RBD with at least ``size`` bytes.

        Nova's base class skips the fetch (and so the clone) whenever a
        local ``_base`` file exists; here only the RBD image counts, so a
        root disk is always a clone when Glance has the image in this
        cluster.  An existing disk is reused (Nova calls this again on
        migration, evacuate, resize and unshelve).
        """
        kind = disk_kind(kwargs)
        if self._exists_now():
            if kind == 'swap' and size and self.get_disk_size(None) != size:
                # Swap holds nothing worth keeping; a flavor with another
                # swap size gets a new swap disk rather than a failure.
                LOG.info('Recreating swap disk %s with %d bytes', self.spec,
                         size)
                self.client.remove(self.pool, self.rbd_name)
            else:
                self._check_and_grow(size, created=False)
                return

        def prepare_template(target):
            fetch_func(target=target, *args, **kwargs)

        try:
            self._create(kind, prepare_template, filename, size)
        except (exceptions.CephError, glance_clone.BrokenImageLocation) as e:
            # Another host would meet the same cluster: abort the build
            # with this message as the instance fault, do not reschedule.
            raise exceptions.DiskCreationFailed(
                disk=self.spec, image_id=kwargs.get('image_id', filename),
                reason=e.format_message())

    def create_image(self, prepare_template, base, size, safe=False,
                     *args, **kwargs):
        if self.exists():
            self._check_and_grow(size, created=False)
            return
        self._create(disk_kind(kwargs), prepare_template, base, size)

    def _create(self, kind, prepare_template, base, size):
        if kind == 'swap':
            self._create_swap(size)
        else:
            self._cloned = False
            with staging.staging_dir() as folder:
                target = os.path.join(folder, os.path.basename(base))
                # For a root disk this is Nova's clone_fallback_to_fetch:
                # it calls self.clone() and downloads only if that fails.
                prepare_template(target=target)
                if not self._cloned:
                    self._import(target, self.rbd_name)
        self._check_and_grow(size, created=True)

    def _create_swap(self, size):
        part = self.rbd_name + PART_SUFFIX
        self.client.create(self.pool, part, size, replace=True)
        self.client.write(self.pool, part, swap.header(size), 0)
        self.client.rename(self.pool, part, self.rbd_name)
        LOG.debug('Created swap disk %s (%d bytes)', self.spec, size)

    def _import(self, path, name):
        part = name + PART_SUFFIX
        size = os.path.getsize(path)
        LOG.info('Importing %s (%d MiB) into %s/%s', os.path.basename(path),
                 size // 2 ** 20, self.pool, name)
        report = _ProgressLog('import into %s/%s' % (self.pool, name))
        try:
            written = self.client.import_sparse(
                path, self.pool, part, staging.data_extents(path), report)
            self.client.rename(self.pool, part, name)
        except Exception:
            self._remove_quietly(part)
            raise
        LOG.info('Imported %s/%s: %d MiB of data written', self.pool, name,
                 written // 2 ** 20)

    def _remove_quietly(self, name):
        try:
            self.client.remove(self.pool, name)
        except exceptions.CephError as exc:
            LOG.warning('Could not remove partial image %s/%s: %s; remove '
                        'it by hand', self.pool, name, exc)

    def _check_and_grow(self, size, created):
        if not size:
            return
        current = self.client.grow(self.pool, self.rbd_name, size)
        if size > current:
            LOG.debug('Grew %s from %d to %d bytes', self.spec, current, size)
        elif size < current:
            if created:
                self._remove_quietly(self.rbd_name)
            raise exception.FlavorDiskSmallerThanImage(flavor_size=size,
                                                       image_size=current)

    def resize_image(self, size):
        """Grow the disk to ``size`` bytes; a shrink is refused."""
        self._check_and_grow(size, created=False)

    def clone(self, context, image_id_or_uri):
        """Clone the Glance image when it is in this cluster.

        :raises ImageUnacceptable: when it is not (Nova then downloads).
        """
        glance_clone.clone(self.client, context, image_id_or_uri,
                           self.pool, self.rbd_name)
        self._cloned = True

    def flatten(self):
        """Copy the parent's data into this disk, detaching it."""
        if self.client.parent(self.pool, self.rbd_name) is None:
            LOG.debug('%s has no parent; already flat', self.spec)
            return
        LOG.info('Flattening %s', self.spec)
        self.client.flatten(self.pool, self.rbd_name,
                            _ProgressLog('flatten %s' % self.spec))

    def import_file(self, instance, local_file, remote_name):
        """Replace the RBD image ``<uuid>_<remote_name>`` with a file."""
        name = '%s_%s' % (instance.uuid, remote_name)
        self.client.remove(self.pool, name)
        self._import(local_file, name)

    # -- XML and models -------------------------------------------------------

    def libvirt_info(self, cache_mode, extra_specs, boot_order=None,
                     disk_unit=None):
        """A libvirt network disk with every monitor and cephx auth."""
        if self.disk_info_mapping is None:
            raise AttributeError(
                'Image must have disk_info_mapping to call libvirt_info()')
        info = vconfig.LibvirtConfigGuestDisk()
        info.source_type = 'network'
        info.source_protocol = 'rbd'
        info.source_name = self.spec
        addrs = cluster.mon_addrs()
        info.source_hosts = [host for host, _port in addrs]
        info.source_ports = [port for _host, port in addrs]
        info.source_device = self.disk_info_mapping['type']
        info.target_bus = self.disk_info_mapping['bus']
        info.target_dev = self.disk_info_mapping['dev']
        if CONF.libvirt.virt_type in ('qemu', 'kvm'):
            info.driver_name = 'qemu'
        info.driver_format = 'raw'
        info.driver_cache = cache_mode
        info.driver_discard = self.discard_mode
        info.boot_order = boot_order
        self._set_auth(info)
        if info.target_bus == 'scsi':
            self.disk_scsi(info, disk_unit)
        self.disk_qos(info, extra_specs)
        return info

    @staticmethod
    def _set_auth(info):
        user, secret = cluster.user(), CONF.libvirt.rbd_secret_uuid
        if not user and not secret:
            return  # QEMU's librbd uses its own defaults (client.admin)
        if not (user and secret):
            raise exceptions.ActivationError(
                reason='[libvirt] rbd_user and rbd_secret_uuid must be set '
                       'together: libvirt hands the key in the secret to '
                       'QEMU for that user')
        info.auth_username = user
        info.auth_secret_type = 'ceph'
        info.auth_secret_uuid = secret

    def get_model(self, connection):
        secret = None
        if CONF.libvirt.rbd_secret_uuid:
            secret_obj = connection.secretLookupByUUIDString(
                CONF.libvirt.rbd_secret_uuid)
            secret = base64.b64encode(secret_obj.value())
        # libguestfs wants IPv6 monitors in brackets: '[::1]:6789'.
        servers = ['%s:%s' % ('[%s]' % h if ':' in h else h, p)
                   for h, p in cluster.mon_addrs()]
        return imgmodel.RBDImage(self.rbd_name, self.pool, cluster.user(),
                                 secret, servers)

    # -- snapshots ------------------------------------------------------------

    def create_snap(self, name):
        self.client.create_snap(self.pool, self.rbd_name, name)

    def remove_snap(self, name, ignore_errors=False):
        try:
            self.client.remove_snap(self.pool, self.rbd_name, name)
        except exceptions.CephError as exc:
            if not ignore_errors:
                raise
            LOG.warning('Ignoring failure to remove snapshot %s@%s: %s',
                        self.spec, name, exc)

    def rollback_to_snap(self, name):
        try:
            self.client.rollback_to_snap(self.pool, self.rbd_name, name)
        except exceptions.RbdNotFound:
            raise exception.SnapshotNotFound(snapshot_id=name)

    def snapshot_extract(self, target, out_format):
        """Write this disk's data to a local file in ``out_format``."""
        snapshots.extract(self, target, out_format, images.convert_image)

    def direct_snapshot(self, context, snapshot_name, image_format,
                        image_id, base_image_id):
        return snapshots.direct_snapshot(self, context, snapshot_name,
                                         image_format, image_id,
                                         base_image_id)

    def cleanup_direct_snapshot(self, location, also_destroy_volume=False,
                                ignore_errors=False):
        snapshots.cleanup(self.client, location, also_destroy_volume,
                          ignore_errors)


class Backend(imagebackend.Backend):
    """Nova's backend registry with ``rbd`` served by ``rbd_class``."""

    def __init__(self, use_cow, rbd_class=RbdImage):
        super().__init__(use_cow)
        self.BACKEND['rbd'] = rbd_class


class _ProgressLog(object):
    """Log a long copy's progress at most every 10%."""

    def __init__(self, what):
        self.what = what
        self.next_percent = 10

    def __call__(self, done, total):
        if not total:
            return 0
        percent = done * 100 // total
        if percent >= self.next_percent:
            LOG.info('%s: %d%%', self.what, percent)
            self.next_percent = (percent // 10 + 1) * 10
        return 0
