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
"""Checks that the compute user may do what the host will do.

Each check exercises the operation itself on scratch images named
``nova-rbd-doctor-<random>``: write the instance pool, snapshot into
Glance's pool (direct snapshots and shelve), clone from it.  The scratch
images are removed before the check returns.
"""

import random
import uuid

from nova_rbd_imagebackend.checks import results
from nova_rbd_imagebackend.disks import names
from nova_rbd_imagebackend import exceptions

SCRATCH = names.SCRATCH_PREFIX


def caps(host):
    name = SCRATCH + uuid.uuid4().hex[:8]
    client, pool, glance_pool = host.client, host.pool, host.glance_pool
    found = []
    made = []
    try:
        found.append(_try(
            'write %s' % pool, lambda: client.create(pool, name, 4096),
            made, (pool, name),
            'grant %s "osd profile rbd pool=%s"' % (host.entity, pool)))
        if not _exists(client, glance_pool):
            return found  # reported by the pools check
        snapshot = _try(
            'snapshot into %s' % glance_pool,
            lambda: (client.create(glance_pool, name, 4096),
                     client.create_snap(glance_pool, name, 'snap',
                                        protect=True)),
            made, (glance_pool, name),
            'grant %s "osd profile rbd pool=%s" (read-only access makes '
            'every instance snapshot slow and suspends the guest)'
            % (host.entity, glance_pool))
        found.append(snapshot)
        if snapshot.status == results.OK:
            found.append(_try(
                'clone %s -> %s' % (glance_pool, pool),
                lambda: client.clone(glance_pool, name, 'snap', pool,
                                     name + '-clone'),
                made, (pool, name + '-clone'),
                'grant %s at least "osd profile rbd-read-only pool=%s"'
                % (host.entity, glance_pool)))
    finally:
        _clean_up(client, made, found)
    return found


def _clean_up(client, made, found):
    """Remove the scratch images ``made``; a warning for each that stays."""
    for scratch_pool, image in reversed(made):
        try:
            client.remove(scratch_pool, image)
        except exceptions.CephError:
            found.append(results.warn(
                'clean up', 'could not remove %s/%s' % (scratch_pool, image),
                'rbd rm %s/%s' % (scratch_pool, image)))


def data_pools(host):
    """Each pool of ``image_data_pools`` can hold the data of our disks.

    It exists, is replicated or erasure-coded with overwrites, and the
    user may write to it: a scratch image keeping its data there gets a
    block written.  (Flavors' data pools are known only to nova-api.)
    """
    found = []
    for data_pool in host.conf.rbd_imagebackend.image_data_pools:
        check = 'data pool %s' % data_pool
        kind = host.client.data_pool_kind(data_pool)
        if kind is None:
            found.append(results.fail(
                check, 'does not exist', 'create it, or remove it from '
                '[rbd_imagebackend] image_data_pools'))
            continue
        if kind == 'erasure-no-overwrites':
            found.append(results.fail(
                check, 'erasure-coded without overwrites',
                'ceph osd pool set %s allow_ec_overwrites true' % data_pool))
            continue
        name = SCRATCH + uuid.uuid4().hex[:8]
        made = []

        def write():
            host.client.create(host.pool, name, 4096,
                               layout={'data_pool': data_pool})
            # Made, even if the write is refused: removed below.
            made.append((host.pool, name))
            host.client.write(host.pool, name, b'doctor', 0)
        try:
            found.append(_try(
                check, write, [], None, 'grant %s "osd profile rbd pool=%s"'
                % (host.entity, data_pool)))
        finally:
            _clean_up(host.client, made, found)
    return found


def fencing(host):
    """The user may blocklist, which evacuation's fencing needs.

    Tried for real on an address of TEST-NET-1 (RFC 5737), which no
    client has, for one second.
    """
    addr = '192.0.2.1:0/%d' % random.randint(1, 2 ** 31)
    # Refused evacuations (required) fail the host; unfenced ones warn.
    required = host.conf.rbd_imagebackend.evacuate_fencing == 'required'
    verdict = results.fail if required else results.warn
    fix = ('grant %s "mon \'profile rbd\'" (it allows "osd blocklist '
           'add"); without it evacuations are refused, or with '
           '[rbd_imagebackend] evacuate_fencing = best-effort run '
           'unfenced' % host.entity)
    try:
        host.client.blocklist(addr, expire=1)
    except exceptions.RbdPermissionDenied:
        return verdict('fence (osd blocklist)', 'permission denied', fix)
    except exceptions.CephError as exc:
        return verdict('fence (osd blocklist)', exc.format_message(), fix)
    return results.ok('fence (osd blocklist)', 'allowed')


def _exists(client, pool):
    try:
        return bool(pool) and client.pool_exists(pool)
    except exceptions.CephError:
        return False


def _try(check, action, made, created, fix):
    try:
        action()
    except exceptions.RbdPermissionDenied:
        return results.fail(check, 'permission denied', fix)
    except exceptions.CephError as exc:
        made.append(created)
        return results.fail(check, exc.format_message(), fix)
    made.append(created)
    return results.ok(check, 'allowed')
