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

import os
import time

import nova.conf
from nova import exception
from nova.virt import images
from nova.virt.libvirt import imagebackend
from oslo_log import log as logging

from nova_rbd_imagebackend.ceph import cluster
from nova_rbd_imagebackend.disks import imports
from nova_rbd_imagebackend.disks import names
from nova_rbd_imagebackend.disks import policy_on_disk
from nova_rbd_imagebackend.disks import progress
from nova_rbd_imagebackend.disks import rollback
from nova_rbd_imagebackend.disks import sizes
from nova_rbd_imagebackend.disks import snapshots
from nova_rbd_imagebackend.disks import staging
from nova_rbd_imagebackend.disks import swap
from nova_rbd_imagebackend.disks import validation
from nova_rbd_imagebackend import exceptions
from nova_rbd_imagebackend.nova import disk_policy
from nova_rbd_imagebackend.nova import disk_xml
from nova_rbd_imagebackend.nova import glance
from nova_rbd_imagebackend.nova import root_sources

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)


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
            self.pool, self.rbd_name = names.parse_libvirt_path(path)
        else:
            self.pool = cluster.pool()
            self.rbd_name = names.instance_disk(instance.uuid, disk_name)
        validation.check_name(self.pool, self.rbd_name)
        self.client = cluster.client()
        qemu_path = names.qemu_path(self.pool, self.rbd_name, cluster.user(),
                                    CONF.libvirt.images_rbd_ceph_conf)
        super().__init__(qemu_path, 'block', 'rbd', is_block_dev=False,
                         disk_info_mapping=disk_info_mapping)
        self._absent_at = None
        self._cloned = False
        self.instance = instance
        self._policy = None

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
                disk_policy.reapply(self, [self.rbd_name])
                return

        def prepare_template(target):
            fetch_func(target=target, *args, **kwargs)

        try:
            self._create(kind, prepare_template, filename, size)
        except (exceptions.CephError, exceptions.BrokenImageLocation,
                exceptions.CacheFillFailed, exceptions.CacheBusy,
                exceptions.BadDiskPolicy,
                exceptions.DiskPolicyRefused) as e:
            # Another host would meet the same cluster: abort the build
            # with this message as the instance fault, do not reschedule.
            raise exceptions.DiskCreationFailed(
                disk=self.spec, image_id=kwargs.get('image_id', filename),
                reason=e.format_message())

    def create_image(self, prepare_template, base, size, safe=False,
                     *args, **kwargs):
        if self.exists():
            self._check_and_grow(size, created=False)
            disk_policy.reapply(self, [self.rbd_name])
            return
        self._create(disk_kind(kwargs), prepare_template, base, size)

    def _pool_total(self):
        return cluster.pool_usage()['total']

    def storage_policy(self):
        """The instance's storage policy; None for a disk found by path."""
        if self._policy is None and self.instance is not None:
            self._policy = disk_policy.for_instance(self.instance)
        return self._policy

    def _create(self, kind, prepare_template, base, size):
        # Refused before anything exists in the pool or on the host.
        policy = self.storage_policy()
        if policy:
            policy_on_disk.check_cluster(self.client, policy)
        if size:
            sizes.check(self.spec, size, self._pool_total)
        if kind == 'swap':
            validation.check_swap_size(self.spec, size)
            swap.create(self.client, self.pool, self.rbd_name, size, policy)
        else:
            self._cloned = False
            with staging.staging_dir() as folder:
                target = os.path.join(folder, os.path.basename(base))
                # For a root disk this is Nova's clone_fallback_to_fetch:
                # it calls self.clone() and downloads only if that fails.
                prepare_template(target=target)
                if not self._cloned:
                    imports.import_file(self.client, self.pool, target,
                                        self.rbd_name, policy)
        self._check_and_grow(size, created=True)

    def _check_and_grow(self, size, created):
        sizes.grow_to(self.client, self.pool, self.rbd_name, size, created,
                      self._pool_total)

    def resize_image(self, size):
        """Grow the disk to ``size`` bytes; a shrink is refused."""
        self._check_and_grow(size, created=False)

    def clone(self, context, image_id_or_uri):
        """Clone the Glance image (nova/root_sources.py says from where).

        :raises ImageUnacceptable: nothing to clone (Nova downloads).
        """
        root_sources.clone(context, self.client, self.pool, image_id_or_uri,
                           self.rbd_name, self.storage_policy())
        self._cloned = True

    def flatten(self):
        """Copy the parent's data into this disk, detaching it."""
        if self.client.parent(self.pool, self.rbd_name) is None:
            LOG.debug('%s has no parent; already flat', self.spec)
            return
        LOG.info('Flattening %s', self.spec)
        self.client.flatten(self.pool, self.rbd_name,
                            progress.ProgressLog('flatten %s' % self.spec))

    def import_file(self, instance, local_file, remote_name):
        """Replace the RBD image ``<uuid>_<remote_name>`` with a file."""
        name = names.instance_disk(instance.uuid, remote_name)
        policy = disk_policy.for_instance(instance)
        self.client.remove(self.pool, name)
        imports.import_file(self.client, self.pool, local_file, name, policy)

    # -- XML and models -------------------------------------------------------

    def libvirt_info(self, cache_mode, extra_specs, boot_order=None,
                     disk_unit=None):
        """A libvirt network disk with every monitor and cephx auth."""
        if self.disk_info_mapping is None:
            raise AttributeError(
                'Image must have disk_info_mapping to call libvirt_info()')
        info = disk_xml.network_disk(self, cache_mode, boot_order)
        if info.target_bus == 'scsi':
            self.disk_scsi(info, disk_unit)
        self.disk_qos(info, extra_specs)
        return info

    def get_model(self, connection):
        return disk_xml.guestfs_model(self, connection)

    # -- snapshots ------------------------------------------------------------

    def create_snap(self, name):
        self.client.create_snap(self.pool, self.rbd_name, name)

    def remove_snap(self, name, ignore_errors=False):
        try:
            rollback.remove_snapshot(self.client, self.pool, self.rbd_name,
                                     name)
        except exceptions.CephError as exc:
            if not ignore_errors:
                raise
            LOG.warning('Ignoring failure to remove snapshot %s@%s: %s',
                        self.spec, name, exc)

    def rollback_to_snap(self, name):
        try:
            rollback.rollback(self.client, self.pool, self.rbd_name, name)
        except exceptions.RbdNotFound:
            raise exception.SnapshotNotFound(snapshot_id=name)
        # A resize revert: the instance has its old flavor back.
        disk_policy.reapply(self, disk_policy.ALL_DISKS)

    def snapshot_extract(self, target, out_format):
        """Write this disk's data to a local file in ``out_format``."""
        snapshots.extract(self, target, out_format, images.convert_image)

    def direct_snapshot(self, context, snapshot_name, image_format,
                        image_id, base_image_id):
        return snapshots.direct_snapshot(
            self, snapshot_name, image_format, image_id, base_image_id,
            lambda: glance.location_urls(context, base_image_id))

    def cleanup_direct_snapshot(self, location, also_destroy_volume=False,
                                ignore_errors=False):
        snapshots.cleanup(self.client, location, also_destroy_volume,
                          ignore_errors, pool=self.pool)


class Backend(imagebackend.Backend):
    """Nova's backend registry with ``rbd`` served by ``rbd_class``."""

    def __init__(self, use_cow, rbd_class=RbdImage):
        super().__init__(use_cow)
        self.BACKEND['rbd'] = rbd_class
