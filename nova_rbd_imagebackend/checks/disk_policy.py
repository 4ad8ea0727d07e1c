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
"""``doctor --instance``: the storage policy in effect on an instance's disks.

For each disk: its object size, striping, features and data pool as
librbd reports them, its librbd QoS, and the policy recorded when it was
made or last reused.  A layout that differs from the record (a resize to
a flavor with another object size keeps the disk's layout) is a warning.
"""

from nova_rbd_imagebackend.checks import results
from nova_rbd_imagebackend.disks import instances
from nova_rbd_imagebackend.disks import policy_on_disk

CHECK = 'disk policy'


def _size(value):
    for unit, factor in (('M', 2 ** 20), ('K', 1024)):
        if value and value % factor == 0:
            return '%d%s' % (value // factor, unit)
    return str(value)


def describe(found):
    """One line for a disk's report (policy_on_disk.report)."""
    layout = found['layout']
    parts = ['object_size=%s' % _size(layout['object_size']),
             'stripe=%s x %d' % (_size(layout['stripe_unit']),
                                 layout['stripe_count']),
             'features=%s' % ','.join(layout['features']),
             'data_pool=%s' % (layout['data_pool'] or '-')]
    qos = ' '.join('%s=%s' % item for item in sorted(found['qos'].items()))
    parts.append('QoS: %s' % (qos or 'none'))
    if found['recorded'] is None:
        parts.append('no policy recorded (the pool defaults)')
    else:
        parts.append('recorded from %s' % ', '.join(
            '%s (%s)' % (key, origin)
            for key, origin in sorted(found['sources'].items())))
    return '; '.join(parts)


def instance_policy(host, instance_uuid):
    """A Result per disk of the instance in the ephemeral pool."""
    names = instances.instance_disks(host.client, host.pool, instance_uuid)
    if not names:
        return [results.warn(CHECK, 'instance %s has no disk in pool %s'
                             % (instance_uuid, host.pool))]
    found = []
    for name in sorted(names):
        report = policy_on_disk.report(host.client, host.pool, name)
        detail = '%s/%s: %s' % (host.pool, name, describe(report))
        if report['differs']:
            found.append(results.warn(
                CHECK, detail + '; its %s differ(s) from the recorded '
                'policy' % ', '.join(report['differs']),
                'layout is fixed when a disk is made: rebuild the instance '
                'to make its disks afresh'))
        else:
            found.append(results.ok(CHECK, detail))
    return found
