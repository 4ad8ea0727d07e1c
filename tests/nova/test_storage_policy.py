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
"""Storage policy through Nova's API and compute code: flavors and images.

nova-api (microversion 2.86) refuses bad ``rbd:`` extra specs; a flavor's
policy reaches every disk of its servers; a resize takes the new flavor's
QoS and keeps the disk's layout; a live migration changes nothing on
the disk; rebuild and unshelve make disks with the policy again; an
image's properties tighten QoS; a bad image property fails the boot with
one fault and nothing made.
"""

from nova.tests.functional.api import client as api_client

from sandbox import controlplane as base

GiB = base.GiB
MiB = base.MiB
QOS = 'conf_rbd_qos_iops_limit'


class StoragePolicyTest(base.RbdNovaTestCase):

    def setUp(self):
        super().setUp()
        self.flags(allow_resize_to_same_host=False)
        self.image_id = self.start_two_hosts()

    def _flavor(self, name, root_gb, specs, swap=0, ephemeral_gb=0):
        self.api.microversion = '2.86'
        try:
            self.api.post_flavor({'flavor': {
                'id': name, 'name': name, 'ram': 512, 'vcpus': 1,
                'disk': root_gb, 'swap': swap,
                'OS-FLV-EXT-DATA:ephemeral': ephemeral_gb}})
            self.api.post_extra_spec(name, {'extra_specs': specs})
        finally:
            self.api.microversion = self.microversion

    def _metadata(self, name):
        with self.rbd_image(name) as image:
            return dict(image.metadata_list())

    def _object_size(self, name):
        with self.rbd_image(name) as image:
            return image.stat()['obj_size']

    def test_the_api_refuses_a_bad_extra_spec_with_the_reason(self):
        self._flavor('good', 1, {'rbd:object_size': '1M'})
        for specs, words in (
                ({'rbd:object_size': '3M'}, 'not a power of two'),
                ({'rbd:features': 'layering'},
                 'must include exclusive-lock'),
                ({'rbd:qos_iops_limt': '5'},
                 'does not appear to be a valid extra spec')):
            self.api.microversion = '2.86'
            error = self.assertRaises(
                api_client.OpenStackApiException, self.api.post_extra_spec,
                'good', {'extra_specs': specs})
            self.assertEqual(400, error.response.status_code)
            self.assertIn(words, error.response.text)

    def test_every_disk_of_a_server_takes_its_flavors_policy(self):
        self._flavor('pol1', 1, {'rbd:object_size': '1M',
                                 'rbd:qos_iops_limit': '100'},
                     swap=64, ephemeral_gb=1)
        server = self.boot(self.image_id, flavor='pol1', host='host1')
        names = self.rbd_images(prefix=server['id'])
        self.assertEqual(3, len(names), names)
        for name in names:
            self.assertEqual(MiB, self._object_size(name), name)
            self.assertEqual('100', self._metadata(name)[QOS], name)

    def test_resize_takes_the_new_qos_and_keeps_the_layout(self):
        self._flavor('pol1', 1, {'rbd:object_size': '1M',
                                 'rbd:qos_iops_limit': '100'})
        self._flavor('pol2', 2, {'rbd:object_size': '8M',
                                 'rbd:qos_iops_limit': '300'})
        server = self.boot(self.image_id, flavor='pol1', host='host1')
        disk = server['id'] + '_disk'
        self.api.post_server_action(server['id'],
                                    {'resize': {'flavorRef': 'pol2'}})
        server = self._wait_for_state_change(server, 'VERIFY_RESIZE')
        self.assertEqual('300', self._metadata(disk)[QOS])
        self.assertEqual(MiB, self._object_size(disk))
        self.api.post_server_action(server['id'], {'revertResize': None})
        server = self._wait_for_state_change(server, 'ACTIVE')
        self._wait_for_migration_status(server, ['reverted'])
        self.assertEqual('100', self._metadata(disk)[QOS])

    def test_live_migration_keeps_the_policy_on_the_disk(self):
        self.allow_live_migration()
        self._flavor('pol1', 1, {'rbd:qos_iops_limit': '100'})
        server = self.boot(self.image_id, flavor='pol1', host='host1')
        disk = server['id'] + '_disk'
        before = self._metadata(disk)
        self._live_migrate(server, 'completed')
        server = self.api.get_server(server['id'])
        self.assertEqual('host2', server['OS-EXT-SRV-ATTR:host'])
        self.assertEqual(before, self._metadata(disk))
        self.assertEqual('100', before[QOS])

    def _assert_policy(self, server, object_size, qos):
        disk = server['id'] + '_disk'
        self.assertEqual(object_size, self._object_size(disk))
        self.assertEqual(qos, self._metadata(disk)[QOS])

    def test_rebuild_makes_the_new_disk_with_the_policy(self):
        self._flavor('pol1', 1, {'rbd:object_size': '1M',
                                 'rbd:qos_iops_limit': '100'})
        server = self.boot(self.image_id, flavor='pol1', host='host1')
        second = self.upload_rbd_image(b'second-image')
        self.api.post_server_action(server['id'],
                                    {'rebuild': {'imageRef': second}})
        server = self._wait_for_state_change(server, 'ACTIVE')
        self._wait_for_server_parameter(
            server, {'OS-EXT-STS:task_state': None})
        with self.rbd_image(server['id'] + '_disk') as disk:
            self.assertEqual(('images', second, 'snap'),
                             tuple(disk.parent_info()))
        self._assert_policy(server, MiB, '100')

    def test_unshelve_makes_the_disk_with_the_policy(self):
        self.flags(shelved_offload_time=-1)
        self._flavor('pol1', 1, {'rbd:object_size': '1M',
                                 'rbd:qos_iops_limit': '100'})
        server = self.boot(self.image_id, flavor='pol1', host='host1')
        self.api.post_server_action(server['id'], {'shelve': {}})
        self._wait_for_state_change(server, 'SHELVED')
        self.api.post_server_action(server['id'], {'shelveOffload': {}})
        server = self._wait_for_state_change(server, 'SHELVED_OFFLOADED')
        self.assertEqual([], self.rbd_images(prefix=server['id']))
        self.api.post_server_action(server['id'], {'unshelve': None})
        server = self._wait_for_state_change(server, 'ACTIVE')
        self._assert_policy(server, MiB, '100')

    def test_an_image_property_tightens_the_flavors_qos(self):
        self._flavor('pol1', 1, {'rbd:qos_iops_limit': '100'})
        image_id = self.upload_rbd_image(
            b'base-image', properties={'rbd_qos_iops_limit': '40'})
        server = self.boot(image_id, flavor='pol1', host='host1')
        self.assertEqual('40', self._metadata(server['id'] + '_disk')[QOS])

    def test_a_bad_image_property_fails_the_boot_with_nothing_made(self):
        image_id = self.upload_rbd_image(
            b'base-image', properties={'rbd_object_size': '3M'})
        server = self.api.post_server({'server': {
            'name': 'srv', 'imageRef': image_id, 'flavorRef': 'full1',
            'networks': 'none', 'host': 'host1'}})
        server = self._wait_for_state_change(server, 'ERROR')
        self.assertIn('Storage policy key object_size=3M: not a power of '
                      'two', server['fault']['message'])
        self.assertEqual([], self.rbd_images(prefix=server['id']))
