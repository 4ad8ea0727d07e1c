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
"""The storage policy on the disks themselves: check, apply, read back.

Layout, features and data pool are given to librbd when an image is
created or cloned and never change after.  QoS and the record of the
policy are image metadata, set on the ``.part`` image before it is
published, so a disk is never seen without them; they are set again
whenever Nova reuses the disk (a resize to another flavor, say), so the
QoS follows the instance's flavor.  librbd copies a parent's metadata to
its clones; no image we clone from carries our keys (see
``as_snapshot_record``).
"""

import json

from oslo_log import log as logging

from nova_rbd_imagebackend.disks import policy as policies
from nova_rbd_imagebackend import exceptions

LOG = logging.getLogger(__name__)
_QOS_PREFIX = policies.QOS_METADATA_PREFIX + 'qos_'


def check_cluster(client, policy):
    """Refuse, before anything is made, what the cluster cannot honour.

    :raises DiskPolicyRefused: the data pool does not exist or is an
        erasure-coded pool without overwrites.
    """
    pool = policy.layout_options().get('data_pool')
    if not pool:
        return
    kind = client.data_pool_kind(pool)
    if kind is None:
        raise exceptions.DiskPolicyRefused(
            what='data_pool=%s' % pool, reason='no such pool')
    if kind == 'erasure-no-overwrites':
        raise exceptions.DiskPolicyRefused(
            what='data_pool=%s' % pool,
            reason='an erasure-coded pool without overwrites; run "ceph '
                   'osd pool set %s allow_ec_overwrites true"' % pool)


def layout(policy):
    """librbd's layout for a new image of ``policy`` (None: defaults)."""
    return policy.layout_options() if policy else None


def stamp(client, pool, part, policy):
    """Give a new image (still ``.part``) the policy's metadata."""
    if policy:
        client.set_metadata(pool, part, policy.metadata())


def apply(client, pool, name, policy):
    """Make a reused disk's metadata carry ``policy``: QoS and the record.

    QoS keys are removed only from a disk that carries our record, so
    keys an operator set by hand on a disk of another origin stay.
    """
    current = client.metadata(pool, name)
    wanted = policy.metadata()
    stale = []
    if policies.RECORD_KEY in current:
        stale = [key for key in current
                 if key.startswith(_QOS_PREFIX) and key not in wanted]
        if policies.RECORD_KEY not in wanted:
            stale.append(policies.RECORD_KEY)
    changed = {key: value for key, value in wanted.items()
               if current.get(key) != value}
    if changed or stale:
        client.set_metadata(pool, name, changed, remove=stale)
        LOG.info('Storage policy of %s/%s now %s', pool, name,
                 policy.record() if policy else 'the pool defaults')


def as_snapshot_record(client, pool, name):
    """Turn the policy a snapshot's clone took from its disk into a record.

    librbd gives a clone its parent's metadata.  An instance snapshot in
    Glance's pool keeps the policy of the disk it was taken from under
    ``SNAPSHOT_RECORD_KEY``; the QoS keys and the disk's own record go,
    so disks later cloned from the snapshot take only their own policy.
    """
    current = client.metadata(pool, name)
    record = current.get(policies.RECORD_KEY)
    if not record:
        return
    stale = [key for key in current if key.startswith(_QOS_PREFIX)]
    client.set_metadata(pool, name, {policies.SNAPSHOT_RECORD_KEY: record},
                        remove=stale + [policies.RECORD_KEY])


def report(client, pool, name):
    """What the disk was made with and the policy it records.

    Returns {'layout': describe() without metadata, 'qos': {key: value},
    'recorded': the record's values or None, 'sources': key -> origin,
    'differs': [keys whose layout is not what the record asks]}.
    """
    described = client.describe(pool, name)
    metadata = described.pop('metadata')
    record = metadata.get(policies.RECORD_KEY)
    recorded = sources = None
    differs = []
    if record:
        parsed = json.loads(record)
        recorded, sources = parsed.get('values', {}), parsed.get('from', {})
        for key in policies.LAYOUT_KEYS:
            want = recorded.get(key)
            if want is None:
                continue
            have = described.get(key)
            if key == 'features':
                want, have = sorted(want), sorted(
                    f for f in have if f in policies.FEATURES)
            if want != have:
                differs.append(key)
    return {'layout': described,
            'qos': {key[len(policies.QOS_METADATA_PREFIX):]: value
                    for key, value in metadata.items()
                    if key.startswith(_QOS_PREFIX)},
            'recorded': recorded, 'sources': sources, 'differs': differs}
