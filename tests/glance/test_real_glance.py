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
"""Nova, the plugin and a real glance-api on the same cluster."""

import urllib.error

from sandbox import controlplane as base

PATTERN = b'uploaded-through-glance' * 1000
MARK = b'guest-wrote-this'


class RealGlanceTest(base.RbdNovaTestCase):

    def setUp(self):
        super().setUp()
        self.start_compute('host1')

    def _glance_image(self, image_id):
        return self.glance_api.request('GET', '/v2/images/%s' % image_id)

    def test_glance_upload_boots_as_a_clone_and_snapshots_back(self):
        print('glance-api answered %.2f s after start'
              % self.glance_api.ready_seconds)
        image = self.glance_api.upload(PATTERN, name='cirros-like')
        self.assertEqual('active', image['status'])
        self.assertEqual('rbd://%s/images/%s/snap' % (self.ceph.fsid,
                                                      image['id']),
                         image['direct_url'])

        server = self.boot(image['id'])
        disk = self.rbd_image(server['id'] + '_disk')
        self.assertEqual(('images', image['id'], 'snap'),
                         tuple(disk.parent_info()))
        self.assertEqual(PATTERN, disk.read(0, len(PATTERN)))

        self.write_disk(server['id'] + '_disk', MARK, 1 << 20)
        snap_id = self.api.post_server_action(
            server['id'], {'createImage': {'name': 'snap'}})['image_id']
        self.notifier.wait_for_versioned_notifications(
            'instance.snapshot.end')
        snap = self.glance_api.wait_active(snap_id)
        self.assertEqual('active', snap['status'])
        self.assertEqual('raw', snap['disk_format'])
        self.assertEqual(
            ['rbd://%s/images/%s/snap' % (self.ceph.fsid, snap_id)],
            [loc['url'] for loc in snap['locations']])

        second = self.boot(snap_id)
        clone = self.rbd_image(second['id'] + '_disk')
        self.assertEqual(('images', snap_id, 'snap'),
                         tuple(clone.parent_info()))
        self.assertEqual(MARK, clone.read(1 << 20, len(MARK)))
        self.assertEqual(PATTERN, clone.read(0, len(PATTERN)))

    def test_deleting_an_image_in_use_is_deferred_by_the_rbd_trash(self):
        image = self.glance_api.upload(PATTERN)
        server = self.boot(image['id'])
        # glance_store cannot remove an image with clones: it moves it to
        # the RBD trash and Glance forgets it.  The instance keeps reading
        # its parent's data from the trashed image.
        self.glance_api.request('DELETE', '/v2/images/%s' % image['id'])
        error = self.assertRaises(urllib.error.HTTPError,
                                  self._glance_image, image['id'])
        self.assertEqual(404, error.code)
        self.assertNotIn(image['id'], self.rbd_images(pool='images'))
        with self.admin_rados().open_ioctx('images') as ioctx:
            trashed = {t['name']: t['id']
                       for t in base.rbd.RBD().trash_list(ioctx)}
        self.assertIn(image['id'], trashed)
        disk = self.rbd_image(server['id'] + '_disk')
        self.assertEqual(PATTERN, disk.read(0, len(PATTERN)))

        # Once the last clone is gone the trashed image can be purged.
        disk.close()
        self._delete_server(server)
        with self.admin_rados().open_ioctx('images') as ioctx:
            base.rbd.RBD().trash_remove(ioctx, trashed[image['id']])
            self.assertNotIn(image['id'], [
                t['name'] for t in base.rbd.RBD().trash_list(ioctx)])
