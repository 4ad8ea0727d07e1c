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
"""One copy per pool of each Glance image that is not in this cluster.

The first boot of such an image on any host using the pool fills the
cache image ``cache.<image id>.<hash>`` from Glance; every boot clones its
root disk from the cache image's snapshot.  The key holds Glance's hash of
the image's data, so an image re-uploaded under the same id never serves
stale bytes.

Single flight across hosts goes through leases (ceph/leases.py) on the
object ``nova_rbd_imagebackend.cache.<image id>.<hash>``: a clone holds a
shared lease, a fill or a removal an exclusive one.  A host that dies
while it fills stops renewing, its lease lapses, and the next boot
replaces its partial image.  The same object keeps, in its omap, when the
cache image was filled and last cloned (disks/cache_aging.py reads it).

Filling, and what a crash between any two steps leaves:

1. take the exclusive lease; renew it as the data goes in;
2. record this process as the writer of ``<cache>.part``, removing what
   an earlier fill left under that name;
3. create it, write the data (cache_sources.py checks format and hash on
   the way) and snapshot it, protected; on failure remove it;
4. rename it to the cache image's name (inflight.publish), note the fill
   time, drop the lease.

Until step 4 no boot clones from it: boots look for ``<cache>@cache``
only.  A ``.part`` left by a fill that died is replaced by the next fill
once the dead host's lease has lapsed, or removed by the audit.
"""

import collections
import time
import uuid

from oslo_log import log as logging

from nova_rbd_imagebackend.disks import clones
from nova_rbd_imagebackend.disks import inflight
from nova_rbd_imagebackend.disks import names
from nova_rbd_imagebackend.disks import undo
from nova_rbd_imagebackend import exceptions

LOG = logging.getLogger(__name__)

PREFIX = 'cache.'
SNAP = 'cache'
RECORDS = 'nova_rbd_imagebackend.'
FILLED = 'filled'
LAST_USED = 'last_used'
WAIT_STEP = 1.0

Key = collections.namedtuple('Key', 'image_id algo digest')


def key_of(meta):
    """The cache key of a Glance image, or None when Glance has no hash."""
    if meta.get('os_hash_value'):
        return Key(meta['id'], meta.get('os_hash_algo') or 'sha512',
                   meta['os_hash_value'])
    if meta.get('checksum'):
        return Key(meta['id'], 'md5', meta['checksum'])
    return None


def image_name(key):
    """The cache image's name: ``cache.<image id>.<hash prefix>``."""
    return '%s%s.%s' % (PREFIX, key.image_id, key.digest[:16])


def lease_object(name):
    """The object holding the leases and records of cache image ``name``."""
    return RECORDS + name


def parse_name(name):
    """(image id, hash prefix) of a cache image's name, or None."""
    if not name.startswith(PREFIX) or name.endswith(names.PART_SUFFIX):
        return None
    image_id, sep, digest = name[len(PREFIX):].rpartition('.')
    return (image_id, digest) if sep and image_id and digest else None


class Lease(object):
    """This process's lease on one cache image's object."""

    def __init__(self, client, pool, name, seconds):
        self.client, self.pool, self.seconds = client, pool, seconds
        self.obj = lease_object(name)
        self.cookie = uuid.uuid4().hex
        self.renewed = 0.0

    def take(self, exclusive):
        if self.client.take_lease(self.pool, self.obj, self.cookie,
                                  self.seconds, exclusive=exclusive,
                                  desc='cache fill' if exclusive else 'boot'):
            self.renewed = time.monotonic()
            return True
        return False

    def renew(self):
        """Renew the exclusive lease a third of the way through it."""
        if time.monotonic() - self.renewed < self.seconds / 3.0:
            return
        if not self.take(exclusive=True):
            raise exceptions.CacheFillFailed(
                name=self.obj, reason='its lease lapsed and another host '
                'took it over (the fill stalled for over %d s)'
                % self.seconds)

    def drop(self):
        self.client.drop_lease(self.pool, self.obj, self.cookie)

    def note(self, what):
        self.client.set_record(self.pool, self.obj, what,
                               '%d' % time.time())

    def remove(self):
        """Remove the lease object (and the lease held on it)."""
        self.client.remove_object(self.pool, self.obj)


def remove_abandoned_fill(client, pool, part):
    """Remove the ``.part`` of a fill that died, and its lease object.

    Under the exclusive lease, so never under a live filler; the lease
    object goes too unless the cache image itself exists.  Returns False
    (removing nothing) while another process holds a lease on it.
    """
    name = part[:-len(names.PART_SUFFIX)]
    lease = Lease(client, pool, name, 30)
    if not lease.take(exclusive=True):
        return False
    try:
        client.remove(pool, part)
        # A rename of it cut short may have left the name an id object.
        client.drop_stray_id(pool, name)
    except BaseException:
        lease.drop()
        raise
    if client.exists(pool, name):
        lease.drop()
    else:
        lease.remove()
    return True


def clone(client, pool, key, dst_name, fill, lease_seconds, wait_seconds,
          policy=None):
    """Clone ``pool/dst_name`` from the cache image of ``key``.

    ``fill(client, pool, part, renew)`` writes the image's data into the
    existing, empty image ``part`` (cache_sources.py), calling
    ``renew()`` as it goes.  Returns True when this call filled the
    cache, False when it only cloned.

    :raises CacheFillFailed: the fill failed; nothing of it is left.
    :raises CacheBusy: another host held the fill longer than
        ``wait_seconds``.
    """
    name = image_name(key)
    lease = Lease(client, pool, name, lease_seconds)
    deadline = time.monotonic() + wait_seconds
    filled = waited = False
    while True:
        if lease.take(exclusive=False):
            try:
                if client.exists(pool, name, SNAP):
                    clones.clone_snapshot(client, pool, name, SNAP, pool,
                                          dst_name, policy)
                    lease.note(LAST_USED)
                    return filled
            finally:
                lease.drop()
            if lease.take(exclusive=True):
                try:
                    if not client.exists(pool, name, SNAP):
                        _fill(client, pool, name, fill, lease)
                        filled = True
                finally:
                    lease.drop()
                continue
        if time.monotonic() > deadline:
            raise exceptions.CacheBusy(name='%s/%s' % (pool, name),
                                       seconds=wait_seconds)
        if not waited:
            LOG.info('Waiting for another host to fill the image cache '
                     '%s/%s', pool, name)
            waited = True
        time.sleep(WAIT_STEP)


def _fill(client, pool, name, fill, lease):
    part = name + names.PART_SUFFIX
    started = time.monotonic()
    inflight.claim_part(client, pool, part, 'cache fill')
    with inflight.recorded(client, pool, part):
        try:
            fill(client, pool, part, lease.renew)
            lease.renew()
            client.create_snap(pool, part, SNAP, protect=True)
            inflight.publish(client, pool, part, name, 'cache fill')
        except exceptions.CephTimeout:
            raise  # the cluster is away: the next fill or the audit
        except Exception:
            undo.remove_quietly(client, pool, part, 'a failed cache fill')
            # Nothing of a failed fill stays, its lease object included
            # (removing it gives the lease back).
            _quietly(lease.remove)
            raise
    lease.note(FILLED)
    LOG.info('Filled the image cache %s/%s in %.1f s', pool, name,
             time.monotonic() - started)


def _quietly(action):
    try:
        action()
    except exceptions.CephError as exc:
        LOG.warning('Could not clean up after a failed cache fill: %s',
                    exc.format_message())
