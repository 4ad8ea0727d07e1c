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
"""Listing the pool image cache, and removing what no boot uses any more.

A cache image goes only when its snapshot has no clone and no boot has
cloned it for ``min_age`` seconds, and only under the exclusive lease of
its object (disks/pool_cache.py): a boot holds a shared lease from
looking for the cache image until its clone exists, so a removal never
pulls the image from under a boot, and two hosts never remove it at
once.  A boot that comes after fills the cache again.
"""

import collections
import time

from oslo_log import log as logging

from nova_rbd_imagebackend.disks import pool_cache
from nova_rbd_imagebackend import exceptions

LOG = logging.getLogger(__name__)

Cached = collections.namedtuple(
    'Cached', 'name image_id digest clones filled last_used')


def cached(client, pool):
    """Every cache image of the pool, with its clones and times."""
    found = []
    for name in client.list_prefix(pool, pool_cache.PREFIX):
        parsed = pool_cache.parse_name(name)
        if parsed is None:
            continue
        try:
            clones = client.clone_count(pool, name, pool_cache.SNAP)
        except exceptions.RbdNotFound:
            continue  # removed meanwhile, or a rename cut short
        times = client.all_records(pool, pool_cache.lease_object(name))
        filled = float(times.get(pool_cache.FILLED, 0))
        # A fill counts as a use: a cache image never cloned ages from it.
        last_used = max(filled, float(times.get(pool_cache.LAST_USED, 0)))
        found.append(Cached(name, parsed[0], parsed[1], clones, filled,
                            last_used))
    return found


def prune(client, pool, min_age, now=None, lease_seconds=60):
    """Remove cache images unused for ``min_age`` s; return their names."""
    now = time.time() if now is None else now
    removed = []
    for entry in cached(client, pool):
        unused = now - entry.last_used
        if entry.clones or unused < min_age:
            continue
        if _remove(client, pool, entry.name, lease_seconds):
            LOG.info('Removed the pool image cache %s/%s of image %s: no '
                     'clone, unused for %d s', pool, entry.name,
                     entry.image_id, unused)
            removed.append(entry.name)
    return removed


def _remove(client, pool, name, lease_seconds):
    lease = pool_cache.Lease(client, pool, name, lease_seconds)
    if not lease.take(exclusive=True):
        LOG.debug('%s/%s is in use by a boot or a fill; kept', pool, name)
        return False
    try:
        # A boot may have cloned it since it was listed.
        if client.clone_count(pool, name, pool_cache.SNAP):
            return False
        client.remove(pool, name)
        # Its records go with it; the lease goes with the object.
        client.remove_object(pool, lease.obj)
        return True
    except exceptions.RbdBusy:
        return False  # a clone appeared between the count and the removal
    finally:
        lease.drop()
