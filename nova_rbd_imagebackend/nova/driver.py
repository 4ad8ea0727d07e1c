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
"""The smallest LibvirtDriver subclass: Nova's own Ceph call sites.

Nova's libvirt driver goes around the image backend and talks to Ceph
itself in a few places.  Each override here replaces exactly one of them
and otherwise defers to Nova; everything else is Nova's driver.
"""

import glob
import os
import shutil

from nova.compute import task_states
import nova.conf
from nova import exception
from nova.virt.libvirt import driver as libvirt_driver
from nova.virt.libvirt import utils as libvirt_utils
from oslo_log import log as logging
from oslo_utils import units

from nova_rbd_imagebackend.ceph import cluster
from nova_rbd_imagebackend.checks import suite
from nova_rbd_imagebackend.disks import audit
from nova_rbd_imagebackend.disks import cache_aging
from nova_rbd_imagebackend.disks import fencing
from nova_rbd_imagebackend.disks import instances
from nova_rbd_imagebackend.disks import snapshots
from nova_rbd_imagebackend import exceptions
from nova_rbd_imagebackend.nova import entry_point
from nova_rbd_imagebackend.nova import glance
from nova_rbd_imagebackend.nova import imagebackend
from nova_rbd_imagebackend.nova import instance_records
from nova_rbd_imagebackend.nova import internals
from nova_rbd_imagebackend.nova import live_migration

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)


def _rbd():
    return CONF.libvirt.images_type == 'rbd'


class RbdLibvirtDriver(libvirt_driver.LibvirtDriver):
    """Nova's libvirt driver with the plugin serving images_type=rbd."""

    def __init__(self, virtapi, read_only=False):
        super().__init__(virtapi, read_only)
        self.image_backend = imagebackend.Backend(
            CONF.use_cow_images, rbd_class=entry_point.backend_class())
        if _rbd():
            live_migration.install()

    def init_host(self, host):
        super().init_host(host)
        if _rbd():
            # After Nova's init_host: the libvirt secret is looked up on
            # the connection this service uses, which is open only now.
            suite.check_or_raise(
                CONF, libvirt_connection=self._host.get_connection(),
                extra=(internals.verdict,))
            live_migration.publish_identity()

    def _cleanup_rbd(self, instance):
        # On revert the root disk is rolled back to its nova-resize
        # snapshot; only the ephemeral disk is recreated.
        only = None
        if instance.task_state == task_states.RESIZE_REVERTING:
            only = lambda name: name.endswith('disk.local')  # noqa: E731
        instances.remove_instance_disks(cluster.client(), cluster.pool(),
                                        instance, only)

    @staticmethod
    def _get_local_gb_info():
        if not _rbd():
            return libvirt_driver.LibvirtDriver._get_local_gb_info()
        usage = cluster.pool_usage()
        return {k: v / units.Gi for k, v in usage.items()}

    def unrescue(self, context, instance):
        if not _rbd():
            return super().unrescue(context, instance)
        instance_dir = libvirt_utils.get_instance_path(instance)
        unrescue_xml_path = os.path.join(instance_dir, 'unrescue.xml')
        xml = libvirt_utils.load_file(unrescue_xml_path)
        self._destroy(instance)
        self._create_guest(context, xml, instance)
        os.unlink(unrescue_xml_path)
        for rescue_file in glob.iglob(os.path.join(instance_dir,
                                                   '*.rescue')):
            if os.path.isdir(rescue_file):
                shutil.rmtree(rescue_file)
            else:
                os.unlink(rescue_file)
        instances.remove_instance_disks(
            cluster.client(), cluster.pool(), instance,
            lambda name: name.endswith('.rescue'))

    def manage_image_cache(self, context, all_instances):
        """Nova's image cache pass, then removal of provable leftovers."""
        super().manage_image_cache(context, all_instances)
        if not _rbd():
            return
        client, pool = cluster.client(), cluster.pool()
        ask = glance.service_context()
        try:
            found = [f for f in audit.find(
                client, pool, CONF.instances_path,
                CONF.rbd_imagebackend.leftover_grace_seconds,
                glance_status=lambda image_id: glance.image_status(
                    ask, image_id),
                deleted_instances=lambda uuids: instance_records.deleted(
                    context, uuids))
                if f.kind in audit.SAFE_KINDS]
            outcomes = audit.purge(client, found)
        except exceptions.CephError as exc:
            LOG.warning('Could not look for leftovers in pool %s: %s', pool,
                        exc)
            return
        kept = [(f.where, outcome) for f, outcome in outcomes
                if outcome != 'removed']
        if kept:
            LOG.info('Leftovers not removed yet: %s', kept)
        if (CONF.rbd_imagebackend.pool_image_cache and
                CONF.image_cache.remove_unused_base_images):
            _age_pool_cache(client, pool)

    def snapshot(self, context, instance, image_id, update_task_state):
        super().snapshot(context, instance, image_id, update_task_state)
        if _rbd():
            # Glance has the location now: a direct snapshot's run is over
            # (disks/snapshots.py explains the steps).
            snapshots.registered(cluster.client(), cluster.pool(), image_id)

    def pre_live_migration(self, context, instance, block_device_info,
                           network_info, disk_info, migrate_data):
        if _rbd():
            # Fresh before the source writes the guest XML for this host.
            live_migration.publish_identity()
        return super().pre_live_migration(
            context, instance, block_device_info, network_info, disk_info,
            migrate_data)

    def _disks_here(self, instance):
        """True unless the instance should have disks and none is here."""
        if not instances.expects_disks(instance):
            return True
        return bool(instances.instance_disks(
            cluster.client(), cluster.pool(), instance.uuid))

    def instance_on_disk(self, instance):
        if not _rbd():
            return super().instance_on_disk(instance)
        if self._disks_here(instance):
            return True
        LOG.warning('No RBD image of this instance is in pool %s of Ceph '
                    'cluster %s; it cannot be evacuated onto its existing '
                    'disk from here', cluster.pool(), cluster.client().fsid(),
                    instance=instance)
        return False

    def rebuild(self, context, instance, image_meta, injected_files,
                admin_password, allocations, bdms, detach_block_devices,
                attach_block_devices, network_info=None, evacuate=False,
                block_device_info=None, preserve_ephemeral=False,
                accel_uuids=None, reimage_boot_volume=False):
        """Fence the failed host first; Nova's default rebuild does the rest.

        Nova's libvirt driver has no rebuild of its own: the compute
        manager falls back to its default on NotImplementedError.
        """
        if evacuate and _rbd():
            fencing.fence_instance(
                cluster.client(), cluster.pool(), instance,
                required=CONF.rbd_imagebackend.evacuate_fencing ==
                'required')
        raise NotImplementedError()

    def check_can_live_migrate_destination(
            self, context, instance, src_compute_info, dst_compute_info,
            block_migration=False, disk_over_commit=False):
        # Checked before Nova's own checks, which leave a test file behind
        # that only a successful check cleans up.
        if _rbd() and not self._disks_here(instance):
            raise exception.MigrationPreCheckError(
                reason='this host uses pool %s of Ceph cluster %s, where '
                       'the instance has no disk: both hosts must use the '
                       'same cluster and pool' % (cluster.pool(),
                                                  cluster.client().fsid()))
        return super().check_can_live_migrate_destination(
            context, instance, src_compute_info, dst_compute_info,
            block_migration, disk_over_commit)


def _age_pool_cache(client, pool):
    """Nova's image cache aging, applied to the pool image cache."""
    try:
        cache_aging.prune(
            client, pool,
            CONF.image_cache.remove_unused_original_minimum_age_seconds,
            lease_seconds=CONF.rbd_imagebackend.
            pool_image_cache_lease_seconds)
    except exceptions.CephError as exc:
        LOG.warning('Could not age the pool image cache of %s: %s', pool,
                    exc)
