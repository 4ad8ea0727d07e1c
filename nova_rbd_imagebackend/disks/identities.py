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
"""Each compute host's Ceph identity, published in its pool.

A guest's disk XML names the cephx user and the libvirt secret of the
host that runs it.  When a guest moves live, the source host writes the
XML the destination will run, so it must know the destination's user
and secret: hosts may each have their own cephx identity.  Every host
records its own (an omap entry of the object
``nova_rbd_imagebackend.hosts``, keyed by Nova's host name) when it
starts and again before each incoming live migration; the source reads
the destination's entry.  A host with no entry (one running Nova's
in-tree backend) is assumed to use the source's identity, which is what
Nova's in-tree backend requires of all hosts.
"""

import json
import time

from nova_rbd_imagebackend import exceptions

RECORDS = 'nova_rbd_imagebackend.hosts'


def publish(client, pool, host, user, secret_uuid):
    """Record ``host``'s cephx user and libvirt secret uuid."""
    client.set_record(pool, RECORDS, host, json.dumps({
        'user': user or '', 'secret_uuid': secret_uuid or '',
        'since': int(time.time())}))


def lookup(client, pool, host):
    """{'user', 'secret_uuid'} published by ``host``, or None.

    :raises InvalidRecord: if the entry is not what publish() writes.
    """
    raw = client.get_record(pool, RECORDS, host)
    if raw is None:
        return None
    try:
        record = json.loads(raw)
        return {'user': record['user'],
                'secret_uuid': record['secret_uuid']}
    except (ValueError, KeyError, TypeError):
        raise exceptions.InvalidRecord(
            name='%s/%s[%s]' % (pool, RECORDS, host), value=raw)
