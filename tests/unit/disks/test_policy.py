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
"""The storage policy: parsing, where flavor and image meet, refusals."""

import json

import pytest

from nova_rbd_imagebackend.disks import policy
from nova_rbd_imagebackend import exceptions


def from_specs(flavor=None, image=None, allowed=()):
    return policy.from_specs(
        {'rbd:' + k: v for k, v in (flavor or {}).items()},
        {'rbd_' + k: v for k, v in (image or {}).items()}, allowed)


def refusal(flavor=None, image=None, allowed=()):
    with pytest.raises(exceptions.BadDiskPolicy) as caught:
        from_specs(flavor, image, allowed)
    return caught.value.format_message()


@pytest.mark.parametrize('text,size', [('4K', 4096), ('64k', 65536),
                                       ('1M', 2 ** 20), ('4MiB', 2 ** 22),
                                       ('32M', 2 ** 25), ('8192', 8192)])
def test_object_sizes(text, size):
    assert policy.parse('object_size', text) == size


@pytest.mark.parametrize('text', ['3M', '2K', '64M', '0', '-4M', 'big', ''])
def test_object_sizes_refused(text):
    with pytest.raises(exceptions.BadDiskPolicy):
        policy.parse('object_size', text)


def test_empty_specs_make_an_empty_policy():
    empty = from_specs()
    assert not empty
    assert empty.layout_options() == {}
    assert empty.metadata() == {}


def test_unrelated_specs_are_ignored():
    found = policy.from_specs({'hw:cpu_policy': 'dedicated',
                               'quota:disk_read_iops_sec': '10'},
                              {'hw_disk_bus': 'scsi'})
    assert not found


def test_layout_and_metadata():
    found = from_specs({'object_size': '1M', 'stripe_unit': '64K',
                        'stripe_count': '8', 'data_pool': 'ec',
                        'features': 'layering,exclusive-lock,object-map',
                        'qos_iops_limit': '100'})
    assert found.layout_options() == {
        'object_size': 2 ** 20, 'stripe_unit': 65536, 'stripe_count': 8,
        'data_pool': 'ec',
        'features': ('layering', 'exclusive-lock', 'object-map')}
    meta = found.metadata()
    assert meta['conf_rbd_qos_iops_limit'] == '100'
    record = json.loads(meta[policy.RECORD_KEY])
    assert record['values']['object_size'] == 2 ** 20
    assert record['from']['qos_iops_limit'] == 'flavor'


def test_flavor_wins_the_layout():
    found = from_specs({'object_size': '1M'}, {'object_size': '8M',
                                               'stripe_count': '2',
                                               'stripe_unit': '1M'})
    assert dict(found.layout)['object_size'] == 2 ** 20
    assert dict(found.sources)['object_size'] == 'flavor'
    # What the flavor leaves out, the image may set.
    assert dict(found.sources)['stripe_unit'] == 'image'


@pytest.mark.parametrize('flavor,image,wins,value', [
    ('100', '50', 'image', 50),
    ('50', '100', 'flavor', 50),
    ('0', '100', 'image', 100),    # 0: no limit
    ('100', '0', 'flavor', 100),
])
def test_the_stricter_qos_wins(flavor, image, wins, value):
    found = from_specs({'qos_write_iops_limit': flavor},
                       {'qos_write_iops_limit': image})
    assert dict(found.qos)['qos_write_iops_limit'] == value
    assert dict(found.sources)['qos_write_iops_limit'] == wins


def test_an_image_names_only_allowed_data_pools():
    assert 'image_data_pools' in refusal(image={'data_pool': 'fast'})
    found = from_specs(image={'data_pool': 'fast'}, allowed=['fast'])
    assert found.layout_options()['data_pool'] == 'fast'
    # The flavor's own data pool wins and needs no listing.
    found = from_specs({'data_pool': 'ec'}, {'data_pool': 'fast'})
    assert found.layout_options()['data_pool'] == 'ec'


@pytest.mark.parametrize('specs,words', [
    ({'stripe_unit': '3M', 'stripe_count': '2'}, 'does not divide'),
    ({'object_size': '1M', 'stripe_unit': '2M', 'stripe_count': '2'},
     'does not divide'),
    ({'stripe_unit': '64K'}, 'set both or neither'),
    ({'stripe_count': '4'}, 'set both or neither'),
    ({'stripe_unit': '6000', 'stripe_count': '2'}, 'multiple of 4K'),
    ({'features': 'layering'}, 'must include exclusive-lock'),
    ({'features': 'layering,exclusive-lock,fast-diff'},
     'fast-diff needs object-map'),
    ({'features': 'layering,exclusive-lock,journaling'}, 'unknown feature'),
    ({'qos_iops_limit': '100', 'qos_iops_burst': '50'}, 'below its limit'),
    ({'qos_bps_limit': '-1'}, 'not a whole number'),
    ({'qos_iops_burst_seconds': '0'}, 'not between'),
    ({'data_pool': 'a/b'}, 'not a pool name'),
    ({'object_szie': '1M'}, 'unknown key'),
])
def test_refusals_say_why(specs, words):
    assert words in refusal(specs)


def test_a_merged_burst_below_the_merged_limit_is_refused():
    # Each side is valid alone; together the image's burst undercuts the
    # flavor's limit.
    assert 'below its limit' in refusal({'qos_iops_limit': '100'},
                                        {'qos_iops_burst': '50'})


def test_the_refusal_starts_with_the_key():
    message = refusal({'object_size': '3M'})
    assert message.startswith('Storage policy key object_size=3M: ')
