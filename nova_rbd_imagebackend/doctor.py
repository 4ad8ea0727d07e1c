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

"""Preflight of a compute host's Ceph setup, check by check.

Each check yields one result: ok, warn or fail, a one-line detail and,
unless ok, a one-line fix.  The capability checks exercise what the
compute service will do (write the instance pool, snapshot into the
images pool, clone from it) on scratch images named
``nova-rbd-doctor-<random>``, removed again before the check returns.
"""

import base64
import collections
import os
import socket
import stat
import uuid

from nova_rbd_imagebackend import ceph_client
from nova_rbd_imagebackend import cluster
from nova_rbd_imagebackend import exceptions

OK, WARN, FAIL = 'ok', 'warn', 'fail'
Result = collections.namedtuple('Result', 'check status detail fix')
SCRATCH = 'nova-rbd-doctor-'


def _result(check, status, detail, fix=''):
    return Result(check, status, detail, fix)


class Doctor(object):

    def __init__(self, conf, images_pool='images'):
        self.conf = conf
        self.images_pool = images_pool
        self.pool = conf.libvirt.images_rbd_pool
        self.user = conf.libvirt.rbd_user
        self.entity = 'client.%s' % (self.user or 'admin')
        self.client = None

    def run(self):
        """Return every Result; later checks are skipped when moot."""
        results = [self.ceph_conf(), self.keyring()]
        connected = self.connect()
        results.append(connected)
        if connected.status == FAIL:
            return results
        results += self.pools()
        results.append(self.clone_v2())
        results += self.caps()
        results.append(self.monitors())
        results.append(self.libvirt_secret())
        return results

    # -- local files ---------------------------------------------------------

    def ceph_conf(self):
        path = self.conf.libvirt.images_rbd_ceph_conf or '/etc/ceph/ceph.conf'
        if not os.access(path, os.R_OK):
            return _result('ceph.conf', FAIL, '%s is not readable' % path,
                           'make %s readable by the nova user' % path)
        return _result('ceph.conf', OK, path)

    def keyring(self):
        sources = ceph_client.auth_sources(
            self.conf.libvirt.images_rbd_ceph_conf, self.user)
        if sources['key']:
            return _result('keyring', WARN, 'the key is set inline in '
                           'ceph.conf', 'keep keys in a 0640 keyring file')
        paths = [sources['keyfile']] if sources['keyfile'] else \
            sources['keyring']
        found = [p for p in paths if os.path.exists(p)]
        if not found:
            return _result('keyring', FAIL, 'no keyring for %s (looked in '
                           '%s)' % (self.entity, ', '.join(paths)),
                           'install ceph.%s.keyring' % self.entity)
        path = found[0]
        if not os.access(path, os.R_OK):
            return _result('keyring', FAIL, '%s is not readable' % path,
                           'chown it to the nova user, mode 0640')
        mode = stat.S_IMODE(os.stat(path).st_mode)
        if mode & ~0o640:
            return _result('keyring', FAIL, '%s has mode %04o' % (path, mode),
                           'chmod 0640 %s' % path)
        return _result('keyring', OK, '%s (mode %04o)' % (path, mode))

    # -- the cluster --------------------------------------------------------

    def connect(self):
        try:
            self.client = cluster.client()
            fsid = self.client.fsid()
        except exceptions.CephError as exc:
            return _result('connect', FAIL, exc.format_message(),
                           'check the monitors in ceph.conf, the network '
                           'and the key of %s' % self.entity)
        return _result('connect', OK, 'cluster %s as %s' % (fsid,
                                                            self.entity))

    def pools(self):
        results = []
        for pool in (self.pool, self.images_pool):
            check = 'pool %s' % pool
            try:
                if not self.client.pool_exists(pool):
                    results.append(_result(
                        check, FAIL, 'does not exist',
                        'ceph osd pool create %s && rbd pool init %s'
                        % (pool, pool)))
                    continue
                apps = self.client.pool_applications(pool)
            except exceptions.CephError as exc:
                results.append(_result(check, FAIL, exc.format_message(),
                                       'grant %s "mon profile rbd"'
                                       % self.entity))
                continue
            if 'rbd' not in apps:
                results.append(_result(
                    check, WARN, 'rbd application not enabled',
                    'ceph osd pool application enable %s rbd' % pool))
            else:
                results.append(_result(check, OK, 'rbd application'))
        return results

    def clone_v2(self):
        try:
            compat = self.client.require_min_compat_client()
        except exceptions.CephError as exc:
            return _result('clone v2', WARN, exc.format_message())
        if compat and compat >= 'mimic':
            return _result('clone v2', OK, 'min compat client %s' % compat)
        return _result('clone v2', WARN, 'min compat client %s: clones '
                       'need protected snapshots' % compat,
                       'ceph osd set-require-min-compat-client mimic')

    def caps(self):
        """Exercise writing vms, snapshotting into images, cloning."""
        name = SCRATCH + uuid.uuid4().hex[:8]
        results = []
        made = []
        try:
            results.append(self._try(
                'write %s' % self.pool, lambda: self.client.create(
                    self.pool, name, 4096), made, (self.pool, name),
                'grant %s "osd profile rbd pool=%s"'
                % (self.entity, self.pool)))
            snapshot = self._try(
                'snapshot into %s' % self.images_pool,
                lambda: (self.client.create(self.images_pool, name, 4096),
                         self.client.create_snap(self.images_pool, name,
                                                 'snap', protect=True)),
                made, (self.images_pool, name),
                'grant %s "osd profile rbd pool=%s" (read-only access '
                'makes every instance snapshot slow and suspends the '
                'guest)' % (self.entity, self.images_pool))
            results.append(snapshot)
            if snapshot.status == OK:
                results.append(self._try(
                    'clone %s -> %s' % (self.images_pool, self.pool),
                    lambda: self.client.clone(self.images_pool, name, 'snap',
                                              self.pool, name + '-clone'),
                    made, (self.pool, name + '-clone'),
                    'grant %s at least "osd profile rbd-read-only pool=%s"'
                    % (self.entity, self.images_pool)))
        finally:
            for pool, image in reversed(made):
                try:
                    self.client.remove(pool, image)
                except exceptions.CephError:
                    results.append(_result(
                        'clean up', WARN, 'could not remove %s/%s' % (
                            pool, image), 'rbd rm %s/%s' % (pool, image)))
        return results

    @staticmethod
    def _try(check, action, made, created, fix):
        try:
            action()
        except exceptions.RbdPermissionDenied:
            return _result(check, FAIL, 'permission denied', fix)
        except exceptions.CephError as exc:
            made.append(created)
            return _result(check, FAIL, exc.format_message(), fix)
        made.append(created)
        return _result(check, OK, 'allowed')

    def monitors(self):
        try:
            addrs = self.client.mon_addrs()
        except exceptions.CephError as exc:
            return _result('monitors', FAIL, exc.format_message())
        down = []
        for host, port in addrs:
            try:
                socket.create_connection((host, int(port)), timeout=3).close()
            except OSError:
                down.append('%s:%s' % (host, port))
        if down:
            return _result('monitors', FAIL, 'unreachable: %s' %
                           ', '.join(down), 'open the path from this host to '
                           'every monitor (QEMU connects to all of them)')
        return _result('monitors', OK, 'all %d reachable' % len(addrs))

    # -- libvirt --------------------------------------------------------------

    def libvirt_secret(self):
        secret_uuid = self.conf.libvirt.rbd_secret_uuid
        if not secret_uuid:
            return _result('libvirt secret', WARN, '[libvirt] rbd_secret_uuid'
                           ' is not set', 'set it to a libvirt ceph secret')
        try:
            import libvirt
            # Errors are reported here, not printed by libvirt on stderr.
            libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
            conn = libvirt.open(self.conf.libvirt.connection_uri or
                                'qemu:///system')
        except Exception as exc:
            return _result('libvirt secret', WARN, 'cannot reach libvirt: %s'
                           % exc, 'run doctor where libvirtd runs')
        try:
            secret = conn.secretLookupByUUIDString(secret_uuid)
            value = secret.value()
        except libvirt.libvirtError as exc:
            return _result('libvirt secret', FAIL, 'secret %s: %s' % (
                secret_uuid, exc.get_error_message()),
                'virsh secret-define (usage type ceph) and '
                'secret-set-value it with the key of %s' % self.entity)
        finally:
            conn.close()
        try:
            key = self._key()
        except (OSError, ValueError):
            return _result('libvirt secret', WARN, 'cannot read the key to '
                           'compare with', 'see the keyring check')
        if base64.b64decode(key) != value:
            return _result('libvirt secret', FAIL, 'secret %s does not hold '
                           'the key of %s' % (secret_uuid, self.entity),
                           'virsh secret-set-value %s with the key from the '
                           'keyring' % secret_uuid)
        return _result('libvirt secret', OK, '%s holds the key of %s' % (
            secret_uuid, self.entity))

    def _key(self):
        sources = ceph_client.auth_sources(
            self.conf.libvirt.images_rbd_ceph_conf, self.user)
        for path in ([sources['keyfile']] if sources['keyfile']
                     else sources['keyring']):
            if os.path.exists(path):
                with open(path) as f:
                    if sources['keyfile']:
                        return f.read().strip()
                    for line in f:
                        name, sep, value = line.partition('=')
                        if sep and name.strip() == 'key':
                            return value.strip()
        raise ValueError('no key found')
