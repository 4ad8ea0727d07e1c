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
"""Cache keys and names of the pool image cache."""

from nova_rbd_imagebackend.disks import pool_cache


def test_the_key_prefers_glances_multihash_to_its_md5():
    meta = {'id': 'i', 'os_hash_algo': 'sha256', 'os_hash_value': 'ab' * 32,
            'checksum': 'cd' * 16}
    assert pool_cache.key_of(meta) == ('i', 'sha256', 'ab' * 32)
    del meta['os_hash_value']
    assert pool_cache.key_of(meta) == ('i', 'md5', 'cd' * 16)
    del meta['checksum']
    assert pool_cache.key_of(meta) is None


def test_names_hold_the_image_id_and_a_hash_prefix_and_parse_back():
    key = pool_cache.Key('7c0a2b5e-1111-4222-8333-944455556666', 'sha512',
                         'f' * 128)
    name = pool_cache.image_name(key)
    assert name == 'cache.7c0a2b5e-1111-4222-8333-944455556666.' + 'f' * 16
    assert pool_cache.parse_name(name) == (key.image_id, 'f' * 16)
    assert pool_cache.lease_object(name) == 'nova_rbd_imagebackend.' + name
    # Not cache images: a fill's partial image, instance disks.
    assert pool_cache.parse_name(name + '.part') is None
    assert pool_cache.parse_name(key.image_id + '_disk') is None
    assert pool_cache.parse_name('cache.') is None
