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
"""Who writes or removes an image, recorded so no leftover is ambiguous.

Before an operation creates, writes, grows or removes an image, it
records in the pool (an omap entry of the object
``nova_rbd_imagebackend.writers``, keyed by image name) the operation,
the host, the process (pid and its start time) and the process's cluster
address; the record goes when the operation ends.  Written before the
image is opened, the record exists whenever a watch or an exclusive lock
of that process can.  A retry that finds the image still held can then
prove on the same host that the writer is dead (no process with that pid
and start time) and cut that writer off, instead of waiting about 30 s
for its watch to time out.  A writer on another host, or still alive, is
never touched: that is not provable from here.

The records live here, next to the blocklist, because operations of this
package take image locks themselves (a grow); disks/inflight.py builds
the disk operations' claims on them.
"""

import json
import os
import socket
import time

from oslo_log import log as logging

from nova_rbd_imagebackend import exceptions

LOG = logging.getLogger(__name__)
RECORDS = 'nova_rbd_imagebackend.writers'
_RELEASE_WAIT = 5


def _process_start(pid):
    """The start time of ``pid`` in clock ticks since boot, or None."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            stat = f.read()
    except OSError:
        return None
    # Fields after the command name, which may hold spaces.
    return stat.rsplit(')', 1)[1].split()[19]


def identity(client):
    """This process as a record names it: host, pid, address, time."""
    pid = os.getpid()
    return {'host': socket.gethostname(), 'pid': pid,
            'pid_start': _process_start(pid), 'addr': client.own_address(),
            'since': int(time.time())}


def mark(client, pool, name, operation):
    """Record this process as the writer of ``pool/name``."""
    client.set_record(pool, RECORDS, name, json.dumps(
        dict(identity(client), op=operation)))


def note(client, pool, name, operation):
    """Record a finished ``operation`` on ``pool/name``, naming no process.

    No writer holds the image any more: nothing is ever cut off for it.
    """
    client.set_record(pool, RECORDS, name, json.dumps(
        {'op': operation, 'host': socket.gethostname(),
         'since': int(time.time())}))


def done(client, pool, name):
    """Drop the record of ``pool/name``; a failure only leaves it stale."""
    try:
        client.remove_record(pool, RECORDS, name)
    except exceptions.CephError as exc:
        LOG.debug('Could not drop the writer record of %s/%s: %s', pool,
                  name, exc)


def writer(client, pool, name):
    """The recorded writer of ``pool/name``, or None."""
    try:
        return json.loads(client.get_record(pool, RECORDS, name) or 'null')
    except ValueError:
        return None


def dead_here(record):
    """True when ``record`` names a process of this host that is gone."""
    return bool(record and record.get('host') == socket.gethostname() and
                _process_start(record.get('pid', 0)) !=
                record.get('pid_start'))


def this_process(record):
    """True when ``record`` names this very process.

    Then the hold is a call of ours that gave up at its deadline and
    still runs on a worker: it lets go once the cluster answers it.
    """
    pid = os.getpid()
    return bool(record and record.get('host') == socket.gethostname() and
                record.get('pid') == pid and
                record.get('pid_start') == _process_start(pid))


def break_dead_writer(client, pool, name, record):
    """Cut off ``record``'s writer of ``pool/name`` if provably dead.

    Returns True when its hold is gone (the image can be replaced now).
    """
    if not dead_here(record):
        return False
    # Cut off even when no watch shows: an image cut short in removal
    # cannot be opened by name, yet its dead holder may still hold its
    # lock.  Blocklisting a dead process's address harms nobody.
    if record['addr'] != client.own_address():
        client.blocklist(record['addr'])
        LOG.warning('The %s of %s/%s by process %s, which no longer exists, '
                    'left it held: blocklisted its client %s to take over',
                    record['op'], pool, name, record['pid'], record['addr'])
    give_up = time.monotonic() + _RELEASE_WAIT
    while record['addr'] in client.watchers(pool, name):
        if time.monotonic() > give_up:
            return False
        time.sleep(0.1)
    return True


def take_over(client, pool, name, operation):
    """Record this process as the writer of ``pool/name``.

    A previous writer that died on this host is cut off first, so that
    neither its watch nor its exclusive lock makes us wait.  A previous
    attempt of this very process, one that gave up at its deadline, may
    have left the image locked by this client: that lock is released
    (librbd would not break it).  Returns the previous record.  Call
    ``done`` when the operation ends.
    """
    previous = writer(client, pool, name)
    if dead_here(previous):
        break_dead_writer(client, pool, name, previous)
    elif this_process(previous) and client.release_own_lock(pool, name):
        LOG.warning('An earlier %s of %s/%s by this process gave up at its '
                    'deadline and left the image locked by this client: '
                    'released that lock', previous.get('op'), pool, name)
    # The record goes before any watch of ours can exist.
    mark(client, pool, name, operation)
    return previous
