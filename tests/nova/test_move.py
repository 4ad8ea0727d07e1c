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
"""Moving servers: resize, cold and live migration, evacuate, rescue."""

from unittest import mock

from nova.tests.fixtures import libvirt as fakelibvirt
import rados
import rbd

from sandbox import controlplane as base

GiB = base.GiB
MARK = b'data-before-the-move'


class MoveTest(base.RbdNovaTestCase):

    def setUp(self):
        super().setUp()
        self.flags(allow_resize_to_same_host=False)
        self.image_id = self.start_two_hosts()

    def _boot_on(self, host, flavor='root1'):
        server = self.boot(self.image_id, flavor=flavor, host=host)
        self.assertEqual(host, server['OS-EXT-SRV-ATTR:host'])
        self.write_disk(server['id'] + '_disk', MARK, 65536)
        return server

    def _disk(self, server):
        return self.rbd_image(server['id'] + '_disk')

    def _resize(self, server, flavor):
        self.api.post_server_action(server['id'],
                                    {'resize': {'flavorRef': flavor}})
        return self._wait_for_state_change(server, 'VERIFY_RESIZE')

    def test_resize_confirm_grows_the_disk_in_place(self):
        server = self._boot_on('host1')
        server = self._resize(server, 'root2')
        self.assertEqual('host2', server['OS-EXT-SRV-ATTR:host'])
        disk = self._disk(server)
        self.assertEqual(2 * GiB, disk.size())
        self.assertEqual(['nova-resize'],
                         [s['name'] for s in disk.list_snaps()])
        self.api.post_server_action(server['id'], {'confirmResize': None})
        server = self._wait_for_state_change(server, 'ACTIVE')
        self._wait_for_migration_status(server, ['confirmed'])
        disk = self._disk(server)
        self.assertEqual([], [s['name'] for s in disk.list_snaps()])
        self.assertEqual(MARK, disk.read(65536, len(MARK)))
        self.assertEqual(('images', self.image_id, 'snap'),
                         tuple(disk.parent_info()))

    def test_resize_revert_rolls_the_disk_back(self):
        server = self._boot_on('host1')
        server = self._resize(server, 'root2')
        self.write_disk(server['id'] + '_disk', b'written-after-resize',
                        65536)
        self.api.post_server_action(server['id'], {'revertResize': None})
        server = self._wait_for_state_change(server, 'ACTIVE')
        self._wait_for_migration_status(server, ['reverted'])
        self.assertEqual('host1', server['OS-EXT-SRV-ATTR:host'])
        disk = self._disk(server)
        self.assertEqual(1 * GiB, disk.size())
        self.assertEqual(MARK, disk.read(65536, len(MARK)))
        self.assertEqual([], [s['name'] for s in disk.list_snaps()])

    def test_cold_migrate_keeps_the_disk(self):
        server = self._boot_on('host1')
        self.api.post_server_action(server['id'], {'migrate': None})
        server = self._wait_for_state_change(server, 'VERIFY_RESIZE')
        self.assertEqual('host2', server['OS-EXT-SRV-ATTR:host'])
        self.api.post_server_action(server['id'], {'confirmResize': None})
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.assertEqual(MARK, self._disk(server).read(65536, len(MARK)))
        self.assertEqual(['%s_disk' % server['id']],
                         self.rbd_images(prefix=server['id']))

    def test_rescue_and_unrescue(self):
        server = self._boot_on('host1')
        self.api.post_server_action(server['id'], {'rescue': {}})
        server = self._wait_for_state_change(server, 'RESCUE')
        uuid = server['id']
        self.assertEqual([uuid + '_disk', uuid + '_disk.rescue'],
                         self.rbd_images(prefix=uuid))
        rescue = self.rbd_image(uuid + '_disk.rescue')
        self.assertEqual(('images', self.image_id, 'snap'),
                         tuple(rescue.parent_info()))
        rescue.close()
        self.api.post_server_action(uuid, {'unrescue': None})
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.assertEqual([uuid + '_disk'], self.rbd_images(prefix=uuid))
        self.assertEqual(MARK, self._disk(server).read(65536, len(MARK)))


class LiveMigrationTest(base.RbdNovaTestCase):
    """Shared-storage live migration (Nova's fake domain job completes)."""

    def setUp(self):
        super().setUp()
        self.image_id = self.start_two_hosts()
        self.allow_live_migration()

    def test_live_migration_moves_the_server_not_the_disk(self):
        server = self.boot(self.image_id, host='host1')
        disk_name = server['id'] + '_disk'
        self.write_disk(disk_name, MARK)
        before = self.xml.latest(server['id'])

        self._live_migrate(server, 'completed')
        server = self.api.get_server(server['id'])
        self.assertEqual('host2', server['OS-EXT-SRV-ATTR:host'])
        (uri, flags), = self.migrations
        # No storage copy: neither NON_SHARED_DISK (64) nor _INC (128).
        self.assertEqual(0, flags & (64 | 128))
        self.assertTrue(flags & fakelibvirt.VIR_MIGRATE_LIVE)
        disk = self.rbd_image(disk_name)
        self.assertEqual(MARK, disk.read(0, len(MARK)))
        self.assertEqual([disk_name], self.rbd_images(prefix=server['id']))
        # The destination was handed the same network disk.
        after = self.xml.latest(server['id'])
        self.assertEqual(
            [s.get('name') for s in before.findall('./devices/disk/source')],
            [s.get('name') for s in after.findall('./devices/disk/source')])

    def test_refused_when_the_destination_uses_another_pool(self):
        server = self.boot(self.image_id, host='host1')
        # Both fake hosts share this process: the destination check sees
        # the pool this patch returns, as a host configured for another
        # pool (or cluster, where the disk is just as absent) would.
        # A forced destination (up to 2.67) reports its pre-check failure;
        # otherwise Nova tries other hosts and logs it.
        self.api.microversion = '2.67'
        with mock.patch('nova_rbd_imagebackend.ceph.cluster.pool',
                        return_value='images'):
            self.api.post_server_action(server['id'], {
                'os-migrateLive': {'host': 'host2', 'force': True,
                                   'block_migration': False}})
            self._wait_for_migration_status(server, ['error'])
        self.api.microversion = '2.84'  # events carry their details
        event = self._wait_for_action_fail_completion(
            server, 'live-migration', 'conductor_live_migrate_instance')
        self.assertIn('this host uses pool images of Ceph cluster %s, where '
                      'the instance has no disk' % self.ceph.fsid,
                      event['details'])
        server = self.api.get_server(server['id'])
        self.assertEqual('host1', server['OS-EXT-SRV-ATTR:host'])
        self.assertEqual([], self.migrations)
        self.assertIn(server['id'] + '_disk', self.rbd_images())


class EvacuateTest(base.RbdNovaTestCase):
    microversion = '2.14'

    def setUp(self):
        super().setUp()
        self.start_compute('host1')
        self.image_id = self.upload_rbd_image(b'base-image')

    def test_evacuate_reuses_the_disk_and_the_source_keeps_it(self):
        self.api.microversion = '2.74'
        server = self.boot(self.image_id, host='host1', flavor='full1')
        self.api.microversion = '2.14'
        uuid = server['id']
        self.write_disk(uuid + '_disk', MARK)
        disks_before = self.rbd_images(prefix=uuid)

        source = self.computes['host1']
        old_conn = source.driver._host.get_connection()
        source.stop()
        self.api.force_down_service('host1', 'nova-compute', True)
        self.start_compute('host2')
        self._evacuate_server(server, expected_host='host2',
                              expected_state='ACTIVE')
        self.assertEqual(disks_before, self.rbd_images(prefix=uuid))
        self.assertEqual(MARK, self.rbd_image(uuid + '_disk').read(
            0, len(MARK)))

        # The failed host comes back: it removes its stale domain but must
        # not delete the disk the instance now runs on elsewhere.
        with mock.patch('nova.virt.libvirt.host.Host.get_connection',
                        return_value=old_conn):
            self.computes['host1'] = self.restart_compute_service(source)
        self.api.force_down_service('host1', 'nova-compute', False)
        self.assertEqual(disks_before, self.rbd_images(prefix=uuid))


class EvacuateFencingTest(base.RbdNovaTestCase):
    """The failed host's client is fenced before the disk is reused."""
    microversion = '2.14'

    def setUp(self):
        super().setUp()
        self.start_compute('host1')
        self.image_id = self.upload_rbd_image(b'base-image')

    def test_evacuate_blocklists_the_old_hosts_client(self):
        self.api.microversion = '2.74'
        server = self.boot(self.image_id, host='host1')
        self.api.microversion = '2.14'
        disk_name = server['id'] + '_disk'

        # The failed host's QEMU, frozen but alive: it watches the disk
        # and holds its exclusive lock.
        old_host = rados.Rados(conffile=self.ceph.conf_path,
                               rados_id='nova2')
        old_host.connect(timeout=10)
        self.addCleanup(old_host.shutdown)
        ioctx = old_host.open_ioctx('vms')
        self.addCleanup(ioctx.close)
        disk = rbd.Image(ioctx, disk_name)
        self.addCleanup(disk.close)
        disk.write(b'old-host', 0)
        (old_addr,) = [w['addr'] for w in
                       self.rbd_image(disk_name).watchers_list()]
        self.addCleanup(self.blocklist, 'rm', old_addr)

        self.computes['host1'].stop()
        self.api.force_down_service('host1', 'nova-compute', True)
        self.start_compute('host2')
        self._evacuate_server(server, expected_host='host2',
                              expected_state='ACTIVE')

        self.assertIn(old_addr, self.blocklisted())
        self.assertRaises((rbd.ConnectionShutdown, rbd.ReadOnlyImage,
                           rbd.Error), disk.write, b'too-late', 0)
        self.assertEqual(b'old-host', self.rbd_image(disk_name).read(0, 8))
        self.assertEqual([], list(self.rbd_image(disk_name).watchers_list()))
