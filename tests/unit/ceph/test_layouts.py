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
"""Policy layouts as librbd's create and clone options."""

import rbd

from nova_rbd_imagebackend.ceph import layouts

MiB = 2 ** 20


def test_nothing_asked_leaves_librbd_its_defaults():
    assert layouts.create_options({}) == {}


def test_an_object_size_sets_plain_striping_too():
    # A clone would otherwise keep its parent's (larger) stripe unit.
    assert layouts.create_options({'object_size': MiB}) == {
        'order': 20, 'stripe_unit': MiB, 'stripe_count': 1}


def test_striping_features_and_data_pool():
    options = layouts.create_options({
        'object_size': 4 * MiB, 'stripe_unit': 64 * 1024, 'stripe_count': 8,
        'features': ('layering', 'exclusive-lock'), 'data_pool': 'ec'})
    assert options == {
        'order': 22, 'stripe_unit': 64 * 1024, 'stripe_count': 8,
        'features': rbd.RBD_FEATURE_LAYERING | rbd.RBD_FEATURE_EXCLUSIVE_LOCK,
        'data_pool': 'ec'}


def test_feature_names_read_back():
    bits = rbd.RBD_FEATURE_LAYERING | rbd.RBD_FEATURE_DATA_POOL
    assert layouts.feature_names(bits) == ['data-pool', 'layering']
