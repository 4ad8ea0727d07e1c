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
"""Direct snapshots in flight, recorded so that a killed one is finished.

A direct snapshot spans two services: the plugin builds the image in
Glance's pool, then Nova registers its location in Glance.  Before the
first step, the run is recorded in the instance disks' pool (an omap
entry of ``nova_rbd_imagebackend.snapshots``, keyed by the Glance image
id): the disk, its temporary snapshot, Glance's pool, and this process
(ceph/writers.py).  The record goes once Glance has the location, or
once a failed run has removed what it made.  A record whose process is
gone, or that a failed clean-up marked abandoned, is an unfinished run:
the audit asks Glance about the image and finishes it (disks/audit.py).

A run that failed because the cluster did not answer cannot mark its
record then: the process remembers it as given up (``give_up``), counts
it as unfinished, and its next direct snapshot finishes it.
"""

import json
import threading

from oslo_log import log as logging

from nova_rbd_imagebackend.ceph import writers
from nova_rbd_imagebackend import exceptions

LOG = logging.getLogger(__name__)
RECORDS = 'nova_rbd_imagebackend.snapshots'

# {image id: (pool, run)}: runs this process gave up on while the cluster
# did not answer; only this process knows that they will never go on.
_given_up = {}
_given_up_lock = threading.Lock()


def begin(client, pool, image_id, disk, snap, glance_pool):
    """Record the run before it creates anything."""
    client.set_record(pool, RECORDS, image_id, json.dumps(dict(
        writers.identity(client), op='direct snapshot', disk=disk,
        snap=snap, glance_pool=glance_pool)))


def finished(client, pool, image_id):
    """Drop the record: Glance has the image, or nothing is left."""
    try:
        client.remove_record(pool, RECORDS, image_id)
    except exceptions.CephError as exc:
        # A stale record only makes the audit ask Glance once more.
        LOG.warning('Could not drop the record of snapshot %s: %s',
                    image_id, exc)
        return
    forget(image_id)


def give_up(pool, image_id, disk, snap, glance_pool):
    """Remember a failed run that could not be cleaned up or marked now."""
    with _given_up_lock:
        _given_up[image_id] = (pool, {'disk': disk, 'snap': snap,
                                      'glance_pool': glance_pool})


def given_up():
    """[(pool, image id, run)] of the runs this process gave up on."""
    with _given_up_lock:
        return [(pool, image_id, dict(run))
                for image_id, (pool, run) in sorted(_given_up.items())]


def forget(image_id):
    with _given_up_lock:
        _given_up.pop(image_id, None)


def abandon(client, pool, image_id):
    """Mark a failed run whose clean-up failed, for the audit to finish."""
    try:
        record = _record(client, pool, image_id)
        if record is not None:
            record['abandoned'] = True
            client.set_record(pool, RECORDS, image_id, json.dumps(record))
    except exceptions.CephError as exc:
        LOG.warning('Could not mark snapshot %s abandoned: %s', image_id,
                    exc)
        return
    forget(image_id)


def _record(client, pool, image_id):
    try:
        return json.loads(client.get_record(pool, RECORDS, image_id) or
                          'null')
    except ValueError:
        return None


def unfinished(client, pool):
    """{image id: record} of runs no process will finish any more.

    Only what is provable from this host: the recorded process ran here
    and is gone, or the run itself gave up (marked in its record, or
    remembered by this process).  A run of another host is that host's
    to finish.
    """
    found = {}
    with _given_up_lock:
        mine = {i for i, (p, _run) in _given_up.items() if p == pool}
    for image_id, value in client.all_records(pool, RECORDS).items():
        try:
            record = json.loads(value)
        except ValueError:
            continue
        if record.get('abandoned') or writers.dead_here(record) or \
                image_id in mine:
            found[image_id] = record
    return found


def recorded_snaps(client, pool):
    """{(disk, snap)} of every recorded run, finished or not."""
    snaps = set()
    for value in client.all_records(pool, RECORDS).values():
        try:
            record = json.loads(value)
        except ValueError:
            continue
        snaps.add((record.get('disk'), record.get('snap')))
    return snaps
