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
import subprocess

from sandbox import controlplane as base

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

    def _qcow2_of(self, raw):
        folder = self.useFixture(base.fixtures.TempDir()).path
        src, dst = os.path.join(folder, 'in.raw'), os.path.join(folder, 'o')
        with open(src, 'wb') as f:
            f.write(raw)
        subprocess.run(['qemu-img', 'convert', '-f', 'raw', '-O', 'qcow2',
                        src, dst], check=True)
        with open(dst, 'rb') as f:
            return f.read()

    def test_boot_from_images_outside_the_cluster_imports_content(self):
        raw = PATTERN + bytes(2 * MiB - len(PATTERN)) + b'tail-marker'
        raw += bytes(-len(raw) % 512)
        qcow2 = self._qcow2_of(raw)
        for disk_format, payload in (('raw', raw), ('qcow2', qcow2)):
            image_id = self.upload_plain_image(payload, disk_format,
                                               len(payload))
            server = self.boot(image_id)
            disk = self.rbd_image(server['id'] + '_disk')
            self.assertIsNone(self._parent(disk), disk_format)
            self.assertEqual(1 * GiB, disk.size())
            self.assertEqual(raw, disk.read(0, len(raw)), disk_format)
            self.assertEqual([], self.rbd_images(
                prefix=server['id'] + '_disk.part'))

    @staticmethod
    def _parent(image):
        try:
            return image.parent_info()
        except base.rbd.ImageNotFound:
            return None

    def test_location_in_another_cluster_falls_back_to_import(self):
        image_id = self.upload_plain_image(PATTERN, 'raw', len(PATTERN))
        foreign = 'rbd://00000000-1111-2222-3333-444444444444/images/%s/snap'
        self.glance.images[image_id]['locations'] = [
            {'url': foreign % image_id, 'metadata': {}}]
        server = self.boot(image_id)
        disk = self.rbd_image(server['id'] + '_disk')
        self.assertIsNone(self._parent(disk))
        self.assertEqual(PATTERN, disk.read(0, len(PATTERN)))

    def test_location_to_a_missing_snapshot_is_a_clear_fault(self):
        image_id = self.upload_rbd_image(PATTERN)
        url = self.glance.images[image_id]['locations'][0]['url']
        self.glance.images[image_id]['locations'][0]['url'] = (
            url[:-len('snap')] + 'gone')
        server = self.api.post_server({'server': {
            'name': 'broken', 'imageRef': image_id, 'flavorRef': 'root1',
            'networks': 'none'}})
        server = self._wait_for_state_change(server, 'ERROR')
        message = server['fault']['message']
        self.assertIn('images/%s@gone does not exist' % image_id, message)
        self.assertEqual([], self.rbd_images(prefix=server['id']))

    def test_delete_removes_every_instance_image_and_nothing_else(self):
        image_id = self.upload_rbd_image(PATTERN)
        keep = self.boot(image_id)
        gone = self.boot(image_id, flavor='full1', config_drive=True)
        # A leftover of an interrupted import is the instance's too.
        self.write_disk(gone['id'] + '_disk', b'x')
        with self.admin_rados().open_ioctx('vms') as ioctx:
            base.rbd.RBD().create(ioctx, gone['id'] + '_disk.local.part',
                                  MiB)
            with base.rbd.Image(ioctx, gone['id'] + '_disk') as disk:
                disk.create_snap('nova-resize')
        before = self.rbd_images()
        self._delete_server(gone)
        after = self.rbd_images()
        self.assertEqual(
            sorted(n for n in before if not n.startswith(gone['id'])), after)
        self.assertIn(keep['id'] + '_disk', after)
        self.assertIn(image_id, self.rbd_images(pool='images'))

    def test_rebuild_recreates_the_root_disk_from_the_new_image(self):
        first = self.upload_rbd_image(b'first-image')
        second = self.upload_rbd_image(b'second-image')
        server = self.boot(first)
        self.write_disk(server['id'] + '_disk', b'guest-data')
        self.api.post_server_action(server['id'],
                                    {'rebuild': {'imageRef': second}})
        server = self._wait_for_state_change(server, 'ACTIVE')
        self._wait_for_server_parameter(
            server, {'OS-EXT-STS:task_state': None})
        disk = self.rbd_image(server['id'] + '_disk')
        self.assertEqual(('images', second, 'snap'),
                         tuple(disk.parent_info()))
        self.assertEqual(b'second-image', disk.read(0, 12))
