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
"""Booting servers: clones, ephemeral/swap/config drive in RBD, the XML."""

import os

from tests.nova import base

MiB = base.MiB
GiB = base.GiB
PATTERN = b'glance-image-bytes' * 64


class BootTest(base.RbdNovaTestCase):

    def setUp(self):
        super().setUp()
        self.start_compute('host1')

    def test_boot_from_image_in_cluster_is_a_grown_clone(self):
        image_id = self.upload_rbd_image(PATTERN)
        server = self.boot(image_id, flavor='full1', config_drive=True)
        uuid = server['id']

        names = self.rbd_images(prefix=uuid)
        self.assertEqual(
            ['%s_%s' % (uuid, n) for n in
             ('disk', 'disk.config', 'disk.eph0', 'disk.swap')], names)
        root = self.rbd_image(uuid + '_disk')
        self.assertEqual(('images', image_id, 'snap'),
                         tuple(root.parent_info()))
        self.assertEqual(1 * GiB, root.size())
        self.assertEqual(PATTERN, root.read(0, len(PATTERN)))
        self.assertEqual(1 * GiB, self.rbd_image(uuid + '_disk.eph0').size())
        swap = self.rbd_image(uuid + '_disk.swap')
        self.assertEqual(64 * MiB, swap.size())
        self.assertEqual(b'SWAPSPACE2', swap.read(4096 - 10, 10))
        # The config drive is an ISO 9660 image with the config-2 label.
        config = self.rbd_image(uuid + '_disk.config')
        self.assertEqual(b'CD001', config.read(0x8001, 5))

        # Nothing of the instance stays on local disk, and no _base file.
        inst_dir = os.path.join(self.instances_path, uuid)
        leftovers = [f for f in os.listdir(inst_dir)
                     if f.startswith('disk')] if os.path.isdir(
                         inst_dir) else []
        self.assertEqual([], leftovers)
        base_dir = os.path.join(self.instances_path, '_base')
        self.assertFalse(os.path.isdir(base_dir) and os.listdir(base_dir))

        disk = self.disk_xml(server, 'vda')
        self.assertEqual('network', disk.get('type'))
        source = disk.find('source')
        self.assertEqual('rbd', source.get('protocol'))
        self.assertEqual('vms/%s_disk' % uuid, source.get('name'))
        hosts = [(h.get('name'), h.get('port'))
                 for h in source.findall('host')]
        self.assertEqual([(h, str(p)) for h, p in self.ceph.mon_addrs],
                         hosts)
        auth = disk.find('auth')
        self.assertEqual('nova', auth.get('username'))
        self.assertEqual('ceph', auth.find('secret').get('type'))
        self.assertEqual(base.SECRET_UUID, auth.find('secret').get('uuid'))
        self.assertEqual('raw', disk.find('driver').get('type'))
        for dev in ('vdb', 'vdc'):
            self.assertEqual('rbd', self.disk_xml(server, dev).find(
                'source').get('protocol'))
