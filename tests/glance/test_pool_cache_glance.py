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
"""The pool image cache through Nova, from a real glance-api's file store."""

import hashlib
import os
import subprocess

from nova import context as nova_context

from nova_rbd_imagebackend.ceph import cluster
from nova_rbd_imagebackend.disks import pool_cache
from sandbox import controlplane as base

MiB = 2 ** 20


def _raw_image(mib):
    """Data with runs of zeroes, as disk images have."""
    blocks = []
    for i in range(mib):
        blocks.append(bytes(MiB) if (i // 4) % 3 == 2 else
                      hashlib.sha512(b'%d' % i).digest() * (MiB // 64))
    return b''.join(blocks)


class PoolCacheGlanceTest(base.RbdNovaTestCase):

    def setUp(self):
        super().setUp()
        self.start_compute('host1')
        self.start_compute('host2')

    def _cache_images(self, image_id):
        return [n for n in self.rbd_images(prefix=pool_cache.PREFIX)
                if image_id in n]

    def _boots_from_cache(self, image_id, expected):
        first = self.boot(image_id, host='host1')
        second = self.boot(image_id, host='host2')
        [name] = self._cache_images(image_id)
        self.assertFalse(name.endswith('.part'))
        filled = cluster.client().all_records(
            'vms', pool_cache.lease_object(name))
        for server in (first, second):
            disk = self.rbd_image(server['id'] + '_disk')
            self.assertEqual(('vms', name, pool_cache.SNAP),
                             tuple(disk.parent_info()))
            self.assertEqual(expected, disk.read(0, len(expected)))
        return first, second, name, filled

    def test_a_raw_image_is_filled_once_and_cloned_on_both_hosts(self):
        data = _raw_image(16)
        image = self.glance_api.upload(data, store='file')
        self.assertNotIn('rbd://', str(image.get('locations')))
        first, second, name, records = self._boots_from_cache(
            image['id'], data)
        self.assertEqual({'filled', 'last_used'}, set(records))

        # Nova's image cache task: kept while clones exist, then aged.
        self.flags(remove_unused_base_images=True,
                   remove_unused_original_minimum_age_seconds=0,
                   group='image_cache')
        driver = self.computes['host1'].driver
        driver.manage_image_cache(nova_context.get_admin_context(), [])
        self.assertEqual([name], self._cache_images(image['id']))
        for server in (first, second):
            self.api.delete_server(server['id'])
            self._wait_until_deleted(server)
        driver.manage_image_cache(nova_context.get_admin_context(), [])
        self.assertEqual([], self._cache_images(image['id']))

    def _qcow2_image(self, data):
        raw, qcow2 = (os.path.join(self.instances_path, n)
                      for n in ('src.raw', 'src.qcow2'))
        with open(raw, 'wb') as f:
            f.write(data)
        subprocess.run(['qemu-img', 'convert', '-f', 'raw', '-O', 'qcow2',
                        raw, qcow2], check=True)
        with open(qcow2, 'rb') as f:
            image = self.glance_api.upload(f.read(), disk_format='qcow2',
                                           store='file')
        for path in (raw, qcow2):
            os.unlink(path)
        return image

    def test_a_qcow2_image_is_converted_once_without_a_local_copy(self):
        data = _raw_image(8)
        image = self._qcow2_image(data)
        self._boots_from_cache(image['id'], data)
        # glance-api served QEMU's range requests: no staging copy.
        log = self.stdlog.logger.output
        self.assertEqual(1, log.count('from Glance by ranges, without a '
                                      'local copy'))
        self.assertNotIn('in a staging folder', log)

    def test_a_qcow2_image_is_converted_in_a_staging_folder_if_told(self):
        self.flags(convert_without_local_copy=False, group='rbd_imagebackend')
        data = _raw_image(8)
        image = self._qcow2_image(data)
        self._boots_from_cache(image['id'], data)
        log = self.stdlog.logger.output
        self.assertIn('Converting image %s (qcow2) in a staging folder'
                      % image['id'], log)
        self.assertNotIn('by ranges', log)

    def _refused(self, image_id, words):
        server = self.api.post_server({'server': {
            'name': 'srv', 'imageRef': image_id, 'flavorRef': 'root1',
            'networks': 'none'}})
        server = self._wait_for_state_change(server, 'ERROR')
        self.assertIn(words, server['fault']['message'])
        self.assertEqual([], self._cache_images(image_id))
        self.assertEqual([], self.rbd_images(prefix=server['id']))

    def test_qcow2_content_registered_as_raw_is_refused(self):
        # Glance itself refuses a qcow2 with a backing or data file at
        # upload; a plain qcow2 it takes as "raw" with a warning.
        path = os.path.join(self.instances_path, 'plain.qcow2')
        subprocess.run(['qemu-img', 'create', '-f', 'qcow2', path, '16M'],
                       check=True, capture_output=True)
        with open(path, 'rb') as f:
            image = self.glance_api.upload(f.read(), disk_format='raw',
                                           store='file')
        self._refused(image['id'], 'registered as raw, but its content is')

    def test_a_qcow2_that_does_not_match_glances_hash_is_refused(self):
        # Corrupted in a data cluster: QEMU converts it without a murmur;
        # the in-order read that runs alongside finds the mismatch.
        image = self._qcow2_image(_raw_image(8))
        stored = os.path.join(self.glance_api.directory, 'images',
                              image['id'])
        with open(stored, 'r+b') as f:
            f.seek(os.path.getsize(stored) // 2)
            f.write(b'corrupted')
        self._refused(image['id'],
                      "Glance's data does not match the image's")
        self.assertIn('by ranges, without a local copy',
                      self.stdlog.logger.output)

    def test_data_that_does_not_match_glances_hash_is_refused(self):
        image = self.glance_api.upload(_raw_image(4), store='file')
        stored = os.path.join(self.glance_api.directory, 'images',
                              image['id'])
        with open(stored, 'r+b') as f:
            f.write(b'corrupted')
        self._refused(image['id'],
                      "Glance's data does not match the image's")


class GlanceCopyToStoreTest(base.RbdNovaTestCase):
    """``images_rbd_glance_store_name``: Glance copies, the disk clones."""

    def setUp(self):
        super().setUp()
        self.start_compute('host1')

    def test_glance_copies_the_image_into_its_rbd_store(self):
        self.flags(images_rbd_glance_store_name='ceph',
                   images_rbd_glance_copy_poll_interval=1, group='libvirt')
        data = _raw_image(8)
        image = self.glance_api.upload(data, store='file')
        server = self.boot(image['id'])
        disk = self.rbd_image(server['id'] + '_disk')
        self.assertEqual(('images', image['id'], 'snap'),
                         tuple(disk.parent_info()))
        self.assertEqual(data, disk.read(0, len(data)))
        stores = self.glance_api.request(
            'GET', '/v2/images/%s' % image['id'])['stores']
        self.assertEqual({'ceph', 'file'}, set(stores.split(',')))

    def test_a_copy_that_does_not_finish_falls_back_to_the_pool_cache(self):
        self.flags(images_rbd_glance_store_name='nosuchstore',
                   images_rbd_glance_copy_poll_interval=1,
                   images_rbd_glance_copy_timeout=3, group='libvirt')
        data = _raw_image(8)
        image = self.glance_api.upload(data, store='file')
        server = self.boot(image['id'])
        disk = self.rbd_image(server['id'] + '_disk')
        [name] = [n for n in self.rbd_images(prefix=pool_cache.PREFIX)
                  if image['id'] in n]
        self.assertEqual(('vms', name, pool_cache.SNAP),
                         tuple(disk.parent_info()))
        self.assertEqual(data, disk.read(0, len(data)))
