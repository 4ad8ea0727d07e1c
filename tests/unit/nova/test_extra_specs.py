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
"""nova-api's flavor extra spec validation knows the ``rbd:`` keys.

Through Nova's own loader (the entry point), as nova-api loads them.
"""

from nova.api.validation.extra_specs import validators
from nova import exception
import pytest

from nova_rbd_imagebackend.disks import policy


@pytest.fixture(scope='module', autouse=True)
def loaded():
    validators.load_validators()


@pytest.mark.parametrize('key', policy.KEYS)
def test_every_key_is_registered(key):
    assert 'rbd:' + key in validators.VALIDATORS
    assert validators.VALIDATORS['rbd:' + key].description


@pytest.mark.parametrize('name,value', [
    ('rbd:object_size', '1M'), ('rbd:stripe_unit', '64K'),
    ('rbd:stripe_count', '4'), ('rbd:data_pool', 'ecdata'),
    ('rbd:features', 'layering,exclusive-lock,object-map,fast-diff'),
    ('rbd:qos_read_bps_limit', '10485760'),
    ('rbd:qos_iops_burst_seconds', '5'),
])
def test_good_values_pass(name, value):
    validators.validate(name, value)


@pytest.mark.parametrize('name,value,words', [
    ('rbd:object_size', '3M', 'power of two'),
    ('rbd:features', 'layering', 'must include exclusive-lock'),
    ('rbd:qos_iops_limit', 'lots', 'not a whole number'),
    ('rbd:object_szie', '1M', 'does not appear to be a valid extra spec'),
])
def test_bad_values_are_refused_with_the_reason(name, value, words):
    with pytest.raises(exception.ValidationError) as caught:
        validators.validate(name, value)
    assert words in str(caught.value)
