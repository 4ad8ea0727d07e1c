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
"""Claims on the images a disk operation writes, so no leftover is ambiguous.

Before an operation creates, writes or removes an image, it records in
the pool who does it: the operation, the host, the process and its
cluster address (ceph/writers.py holds these records and the proof that
a writer is dead).  A retry that finds the image still held by a writer
of this host that no longer exists cuts that writer off instead of
waiting about 30 s for its watch to time out.

A disk is built under ``<name>.part`` and renamed once whole
(``publish``); ``claim_part`` clears what an interrupted build left: the
``.part`` image, and the id object a rename cut short leaves under the
final name (ceph/directory.py).
"""

import contextlib
import time

from nova_rbd_imagebackend.ceph import writers
from nova_rbd_imagebackend.disks import names
from nova_rbd_imagebackend.disks import policy_on_disk
from nova_rbd_imagebackend import exceptions

RECORDS = writers.RECORDS
_BUSY_RETRY = 0.5

# The records themselves (see ceph/writers.py).
mark = writers.mark
done = writers.done
writer = writers.writer
dead_here = writers.dead_here
break_dead_writer = writers.break_dead_writer


@contextlib.contextmanager
def recorded(client, pool, name):
    """Drop the record of ``pool/name`` when the block ends.

    Not after a timeout: the cluster is not answering, and a record left
    behind is harmless (the next claim of that name replaces it).
    """
    try:
        yield
    except exceptions.CephTimeout:
        raise
    except BaseException:
        done(client, pool, name)
        raise
    done(client, pool, name)


def claim(client, pool, name, operation):
    """Record this process as the writer of ``pool/name``.

    A previous writer that died on this host is cut off first, so that
    neither its watch nor its exclusive lock makes us wait.  Returns the
    previous record.  Call ``done`` when the operation ends.
    """
    return writers.take_over(client, pool, name, operation)


def claim_part(client, pool, part, operation):
    """Claim ``part`` and remove what an interrupted run left under it.

    That is the ``.part`` image, and a rename of it to the disk's name
    cut short: librbd writes the new name's id object before it renames
    the directory entry, so such a rename leaves the disk's name opening
    the ``.part`` image (which is removed here), then naming nothing, and
    the next rename to it would fail as existing.  A ``.part`` still held
    by an earlier attempt of this very process, one that gave up at its
    deadline, is waited for, for one deadline; a lock that attempt left
    when it closed the image is released.
    """
    previous = claim(client, pool, part, operation)
    give_up = time.monotonic() + client.op_timeout
    while True:
        try:
            client.remove(pool, part)
            break
        except exceptions.RbdBusy:
            if break_dead_writer(client, pool, part, previous):
                previous = None
                continue
            # An earlier attempt of this process gave up at its deadline
            # while the cluster was away.  Its worker holds the image (and
            # removes it) until the cluster answers it, or it closed the
            # image without the cluster taking its lock back.
            if not writers.this_process(previous) or \
                    time.monotonic() > give_up:
                raise
            if not client.release_own_lock(pool, part):
                time.sleep(_BUSY_RETRY)
    if part.endswith(names.PART_SUFFIX):
        client.drop_stray_id(pool, part[:-len(names.PART_SUFFIX)])


def create_part(client, pool, part, size, operation, policy=None):
    """Create the ``.part`` image afresh, recorded as ours.

    With the storage ``policy``'s layout and metadata (disks/policy.py).
    """
    claim_part(client, pool, part, operation)
    client.create(pool, part, size, layout=policy_on_disk.layout(policy))
    policy_on_disk.stamp(client, pool, part, policy)


def publish(client, pool, part, name, operation):
    """Rename the whole ``part`` to ``name``, recorded under ``name`` too.

    The rename opens the image: killed in the middle, this process leaves
    its watch on the image under whichever name the rename got to.  With
    a record under both names, the retry proves it dead either way: a new
    claim of ``part``, or the grow of ``name`` that follows a creation.
    Call it while the record of ``part`` is held (``recorded``).
    """
    mark(client, pool, name, operation)
    with recorded(client, pool, name):
        client.rename(pool, part, name)
