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
"""Rolling a disk back to its resize snapshot, safe to repeat after a crash.

Nova reverts a resize of an rbd disk in two calls: roll the disk back to
its ``nova-resize`` snapshot, then remove the snapshot.  Killed after the
removal, Nova's retried revert would find no snapshot and fail for good,
though the disk already holds what it should.  So the rollback is
recorded (ceph/writers.py) before it starts and marked done once the
disk holds the snapshot's data:

* killed during the rollback: the snapshot is still there; the retry
  cuts off the dead process's lock and rolls back again from the start;
* killed after it, before or after the snapshot's removal: the retry
  finds the rollback to that snapshot done, and rolls back again while
  the snapshot exists (the same data) or does nothing once it is gone.

Removing the snapshot takes the disk's exclusive lock too, so it is
recorded as well (``remove_snapshot``): a process killed in the middle
of it is cut off by the retry, or by the disk's delete, instead of
holding the lock until its watch times out.

The mark stays until the disk's next operation replaces it (a delete, or
another resize's rollback).
"""

from oslo_log import log as logging

from nova_rbd_imagebackend.ceph import writers
from nova_rbd_imagebackend import exceptions

LOG = logging.getLogger(__name__)


def _done_mark(snap):
    return 'rolled back to %s' % snap


def _removal(snap):
    return 'remove %s' % snap


def rollback(client, pool, name, snap):
    """Roll ``pool/name`` back to ``snap``; done already counts as done.

    :raises RbdNotFound: the snapshot does not exist and no rollback to
        it was completed.
    """
    done_mark = _done_mark(snap)
    previous = writers.take_over(client, pool, name, 'rollback to %s' % snap)
    try:
        client.rollback_to_snap(pool, name, snap)
    except exceptions.RbdNotFound:
        # A removal of the snapshot starts only after a rollback is done.
        if previous and previous.get('op') in (done_mark, _removal(snap)):
            writers.note(client, pool, name, done_mark)
            LOG.info('%s/%s was already rolled back to %s, which is gone '
                     'since: nothing left to do', pool, name, snap)
            return
        writers.done(client, pool, name)
        raise
    writers.note(client, pool, name, done_mark)


def remove_snapshot(client, pool, name, snap):
    """Remove ``snap`` of ``pool/name``, recorded; False if it is gone.

    After a rollback to it the done mark is kept, so that a retried
    revert still finds the rollback done.
    """
    previous = writers.take_over(client, pool, name, _removal(snap))
    after_rollback = bool(previous) and previous.get('op') in (
        _done_mark(snap), _removal(snap))
    try:
        removed = client.remove_snap(pool, name, snap)
    except exceptions.CephTimeout:
        raise  # the record stays: the cluster is not answering
    except BaseException:
        writers.done(client, pool, name)
        raise
    if after_rollback:
        writers.note(client, pool, name, _done_mark(snap))
    else:
        writers.done(client, pool, name)
    return removed
