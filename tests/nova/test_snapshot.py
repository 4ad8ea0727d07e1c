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
"""Instance snapshots inside Ceph, registered in Glance; shelve."""

from sandbox import controlplane as base

MARK = b'written-by-the-guest'


class SnapshotTest(base.RbdNovaTestCase):

    def setUp(self):
        super().setUp()
        self.start_compute('host1')
        self.image_id = self.upload_rbd_image(b'base-image')

    def _snapshot(self, server, name='snap1'):
        image_id = self.api.post_server_action(
            server['id'], {'createImage': {'name': name}})['image_id']
        self.notifier.wait_for_versioned_notifications(
            'instance.snapshot.end')
        return image_id

    def test_direct_snapshot_is_an_rbd_image_glance_can_boot(self):
        server = self.boot(self.image_id)
        disk_name = server['id'] + '_disk'
        self.write_disk(disk_name, MARK, 4096)

        snap_id = self._snapshot(server)

        image = self.glance.images[snap_id]
        self.assertEqual('active', image['status'])
        self.assertEqual(
            [{'url': 'rbd://%s/images/%s/snap' % (self.ceph.fsid, snap_id),
              'metadata': {}}], image['locations'])
        copy = self.rbd_image(snap_id, pool='images')
        self.assertEqual(MARK, copy.read(4096, len(MARK)))
        self.assertEqual(b'base-image', copy.read(0, 10))
        snaps = {s['name']: s for s in copy.list_snaps()}
        self.assertEqual(['snap'], list(snaps))
        self.assertTrue(copy.is_protected_snap('snap'))
        # The run's record went once Glance had the location.
        with self.admin_rados().open_ioctx('vms') as vms:
            with base.rados.ReadOpCtx() as op:
                records, _ret = vms.get_omap_vals(op, '', '', 100)
                vms.operate_read_op(op, 'nova_rbd_imagebackend.snapshots')
                self.assertEqual([], list(records))
        # The Ceph manager flattens it in the background: then it is
        # independent of the instance disk, which keeps no snapshot.
        self.wait_flattened(snap_id, pool='images')
        self.assertEqual([], [s['name'] for s in
                              self.rbd_image(disk_name).list_snaps()])
        self.assertEqual('ACTIVE',
                         self.api.get_server(server['id'])['status'])

        # Changes after the snapshot are not in it; a server booted from it
        # is a clone of it and sees the disk as it was.
        self.write_disk(disk_name, b'after-snapshot', 4096)
        second = self.boot(snap_id)
        clone = self.rbd_image(second['id'] + '_disk')
        self.assertEqual(('images', snap_id, 'snap'),
                         tuple(clone.parent_info()))
        self.assertEqual(MARK, clone.read(4096, len(MARK)))

        # The instance can be deleted while its snapshot lives on.
        self._delete_server(server)
        self.assertEqual([], self.rbd_images(prefix=server['id']))
        self.assertEqual(MARK, copy.read(4096, len(MARK)))

    def test_shelve_offload_and_unshelve_keep_the_disk_content(self):
        self.flags(shelved_offload_time=-1)
        server = self.boot(self.image_id)
        self.write_disk(server['id'] + '_disk', MARK, 8192)
        self.api.post_server_action(server['id'], {'shelve': {}})
        self._wait_for_state_change(server, 'SHELVED')
        self.api.post_server_action(server['id'], {'shelveOffload': {}})
        server = self._wait_for_state_change(server, 'SHELVED_OFFLOADED')
        self.assertEqual([], self.rbd_images(prefix=server['id']))
        shelved_id = self.api.get_server(server['id'])['metadata'].get(
            'shelved_image_id') or self._shelved_image(server)
        self.assertIn(shelved_id, self.rbd_images(pool='images'))

        self.api.post_server_action(server['id'], {'unshelve': None})
        server = self._wait_for_state_change(server, 'ACTIVE')
        disk = self.rbd_image(server['id'] + '_disk')
        self.assertEqual(MARK, disk.read(8192, len(MARK)))
        # Unshelve flattens, so the shelved image can go away.
        self.assertRaises(base.rbd.ImageNotFound, disk.parent_info)

    def _shelved_image(self, server):
        for image_id, image in self.glance.images.items():
            if image.get('name', '').endswith('-shelved'):
                return image_id
        raise AssertionError('no shelved image')
