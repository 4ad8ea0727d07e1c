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
"""Checks against the cluster: connection, pools, clone v2, monitors."""

import socket

from nova_rbd_imagebackend.checks import results
from nova_rbd_imagebackend import exceptions


def connect(host):
    try:
        fsid = host.connect()
    except exceptions.CephError as exc:
        return results.fail('connect', exc.format_message(),
                            'check the monitors in ceph.conf, the network '
                            'and the key of %s' % host.entity)
    return results.ok('connect', 'cluster %s as %s' % (fsid, host.entity))


def pools(host):
    """The instance pool must exist; Glance's pool is checked if present."""
    found = []
    for pool, required in ((host.pool, True), (host.glance_pool, False)):
        if not pool:
            continue
        check = 'pool %s' % pool
        try:
            if not host.client.pool_exists(pool):
                if required:
                    found.append(results.fail(
                        check, 'pool %s does not exist in Ceph cluster %s'
                        % (pool, host.fsid),
                        'ceph osd pool create %s && rbd pool init %s'
                        % (pool, pool)))
                else:
                    found.append(results.warn(
                        check, 'pool %s does not exist: direct snapshots '
                        'go to the pool of each image\'s clone parent, '
                        'whose caps are not checked' % pool,
                        'set [rbd_imagebackend] glance_pool to the pool '
                        'Glance uses'))
                continue
            apps = host.client.pool_applications(pool)
        except exceptions.CephError as exc:
            found.append(results.fail(check, exc.format_message(),
                                      'grant %s "mon profile rbd"'
                                      % host.entity))
            continue
        if 'rbd' not in apps:
            found.append(results.warn(
                check, 'rbd application not enabled',
                'ceph osd pool application enable %s rbd' % pool))
        else:
            found.append(results.ok(check, 'rbd application'))
    return found


def clone_v2(host):
    try:
        compat = host.client.require_min_compat_client()
    except exceptions.CephError as exc:
        return results.warn('clone v2', exc.format_message())
    if compat and compat >= 'mimic':
        return results.ok('clone v2', 'min compat client %s' % compat)
    return results.warn('clone v2', 'min compat client %s: clones need '
                        'protected snapshots' % compat,
                        'ceph osd set-require-min-compat-client mimic')


def monitors(host):
    """QEMU connects to every monitor: fail only if none is reachable."""
    try:
        addrs = host.client.mon_addrs(live_only=False)
    except exceptions.CephError as exc:
        return results.fail('monitors', exc.format_message())
    down = []
    for mon_host, port in addrs:
        try:
            socket.create_connection((mon_host, int(port)),
                                     timeout=3).close()
        except OSError:
            down.append('%s:%s' % (mon_host, port))
    if not down:
        return results.ok('monitors', 'all %d reachable' % len(addrs))
    verdict = results.fail if len(down) == len(addrs) else results.warn
    return verdict('monitors', 'unreachable: %s' % ', '.join(down),
                   'open the path from this host to every monitor (QEMU '
                   'connects to all of them)')
