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
"""Nova's periodic image cache pass removes our leftovers, and only them."""

import time
import types
from unittest import mock
import uuid

from nova import context as nova_context
import rbd

from nova_rbd_imagebackend.disks import audit
from sandbox import controlplane as base


class LeftoverTest(base.RbdNovaTestCase):

    def setUp(self):
        super().setUp()
        self.compute = self.start_compute('host1')

    def test_image_cache_pass_removes_leftovers_older_than_the_grace(self):
        server = self.boot(self.upload_rbd_image(b'image'), flavor='full1')
        leftover = '%s_disk.part' % uuid.uuid4()
        with self.admin_rados().open_ioctx('vms') as ioctx:
            rbd.RBD().create(ioctx, leftover, base.MiB)
        disks = self.rbd_images(prefix=server['id'])
        # What the compute manager's periodic pass calls (it first lists
        # the host's instances through a reader database this fixture
        # leaves empty).
        driver = self.compute.driver
        context = nova_context.get_admin_context()

        # Within the grace period nothing is touched.
        driver.manage_image_cache(context, [])
        self.assertIn(leftover, self.rbd_images())

        later = time.time() + 2 * 3600
        clock = types.SimpleNamespace(time=lambda: later)
        with mock.patch.object(audit, 'time', clock):
            driver.manage_image_cache(context, [])
        self.assertNotIn(leftover, self.rbd_images())
        self.assertEqual(disks, self.rbd_images(prefix=server['id']))
        self.assertIn('Removed leftover partial vms/%s' % leftover,
                      self.stdlog.logger.output)

    def test_disks_of_an_instance_deleted_while_its_host_was_down(self):
        # Nova's API deletes an instance of a host that is down by itself
        # ("local delete"): nothing removes its disks then.  The periodic
        # pass asks Nova (its objects, through conductor in production)
        # and removes them once the deletion is older than the grace.
        server = self.boot(self.upload_rbd_image(b'image'), flavor='full1')
        other = self.boot(self.upload_rbd_image(b'image'), flavor='full1')
        disks = self.rbd_images(prefix=server['id'])
        self.assertTrue(disks)
        driver = self.compute.driver
        self.compute.stop()
        self.api.microversion = '2.14'  # forced_down
        self.api.force_down_service('host1', 'nova-compute', True)
        self._delete_server(server)
        self.assertEqual(disks, self.rbd_images(prefix=server['id']))

        context = nova_context.get_admin_context()
        driver.manage_image_cache(context, [])
        self.assertEqual(disks, self.rbd_images(prefix=server['id']))

        later = time.time() + 2 * 3600
        # Only the audit's clock moves: the database's connection pool
        # would retire its in-memory connections on a global jump.
        clock = types.SimpleNamespace(time=lambda: later)
        with mock.patch.object(audit, 'time', clock):
            driver.manage_image_cache(context, [])
        self.assertEqual([], self.rbd_images(prefix=server['id']))
        self.assertTrue(self.rbd_images(prefix=other['id']))
        self.assertIn('Removed leftover deleted-instance vms/%s'
                      % server['id'], self.stdlog.logger.output)
