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
"""Nova API validation of the ``rbd:`` flavor extra specs (microversion 2.86+).

Registered through the entry point ``nova.api.extra_spec_validators``;
nova-api then refuses a flavor extra spec ``rbd:<key>`` whose key is
unknown or whose value the storage policy (disks/policy.py) would refuse
at boot, with the same reason.
"""

import dataclasses

from nova.api.validation.extra_specs import base
from nova import exception

from nova_rbd_imagebackend.disks import policy
from nova_rbd_imagebackend import exceptions

_QOS_WHAT = {'iops': 'I/O operations per second',
             'read_iops': 'read operations per second',
             'write_iops': 'write operations per second',
             'bps': 'bytes per second',
             'read_bps': 'bytes read per second',
             'write_bps': 'bytes written per second'}

DESCRIPTIONS = {
    'object_size': 'Object size of the disks: a power of two from 4K to '
                   '32M (librbd order 12 to 25), such as 1M.',
    'stripe_unit': 'Stripe unit, such as 64K; it must divide the object '
                   'size. Set with rbd:stripe_count.',
    'stripe_count': 'Number of objects a stripe spans. Set with '
                    'rbd:stripe_unit.',
    'features': 'Comma-separated image features: layering and '
                'exclusive-lock, and any of object-map, fast-diff and '
                'deep-flatten.',
    'data_pool': 'Pool for the disks\' data (a replicated pool, or an '
                 'erasure-coded pool with allow_ec_overwrites); the '
                 'metadata stays in [libvirt] images_rbd_pool.',
}
for _kind, _what in _QOS_WHAT.items():
    DESCRIPTIONS['qos_%s_limit' % _kind] = (
        'librbd QoS: at most this many %s per disk (0: no limit).' % _what)
    DESCRIPTIONS['qos_%s_burst' % _kind] = (
        'librbd QoS: burst of %s, at least the limit (0: none).' % _what)
    DESCRIPTIONS['qos_%s_burst_seconds' % _kind] = (
        'librbd QoS: how long a burst of %s may last, in seconds.' % _what)


@dataclasses.dataclass
class PolicySpec(base.ExtraSpecValidator):
    """A ``rbd:`` key, checked by the policy's own parser."""

    def validate(self, name, value):
        super().validate(name, value)
        try:
            policy.parse(name[len(policy.FLAVOR_PREFIX):], value)
        except exceptions.BadDiskPolicy as exc:
            raise exception.ValidationError(
                'Validation failed; %s' % exc.format_message())


def register():
    return [PolicySpec(name=policy.FLAVOR_PREFIX + key,
                       description=DESCRIPTIONS[key],
                       value={'type': str})
            for key in policy.KEYS]
