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
"""Blocklisting the clients that use an image (the means of fencing).

And releasing a lock this very client left on an image, which librbd
would otherwise only break by blocklisting its owner.
"""

import errno
import json

from nova_rbd_imagebackend.ceph.bindings import rados
from nova_rbd_imagebackend.ceph.bindings import rbd
from nova_rbd_imagebackend import exceptions

# librbd's exclusive lock: a cls_lock of this name on the header object.
HEADER_PREFIX = 'rbd_header.'
LOCK_NAME = 'rbd_lock'


class BlocklistOps(object):
    """Mixed into CephClient: cut clients off from the cluster."""

    def fence(self, pool, name):
        """Blocklist every client watching the image; return addresses.

        A blocklisted client (a failed host's QEMU that may wake up) can
        never write to the cluster again, and its watch and exclusive lock
        go with it, so the next QEMU takes the image at once.
        """
        def run():
            # Opened read-only: no watch of our own in the list.
            with self._open(pool, name, read_only=True) as image:
                addrs = sorted({w['addr'] for w in image.watchers_list()})
            for addr in addrs:
                self._blocklist(addr)
            return addrs
        return self.call('fence', run, '%s/%s' % (pool, name))

    def watchers(self, pool, name):
        """Addresses of the clients watching the image; [] if gone."""
        def run():
            try:
                image = self._open(pool, name, read_only=True)
            except rbd.ImageNotFound:
                return []
            with image:
                return sorted({w['addr'] for w in image.watchers_list()})
        return self.call('list watchers', run, '%s/%s' % (pool, name))

    def release_own_lock(self, pool, name):
        """Drop an exclusive lock that a closed handle of ours left behind.

        librbd releases an image's lock when it closes the image.  When
        the cluster did not answer then (a call that gave up at its
        deadline closed it), the lock stays, owned by this very client
        with no watch behind it.  librbd breaks a dead client's lock by
        blocklisting that client and refuses to blocklist itself, so the
        image would stay busy for as long as this connection lives.  As
        its owner, this client may release it.  Nothing is released while
        a handle of ours still watches the image.  Returns True if a lock
        was released.
        """
        def run():
            own = self._connected().get_addrs()
            try:
                image = self._open(pool, name, read_only=True)
            except rbd.ImageNotFound:
                return False
            with image:
                if own in {w['addr'] for w in image.watchers_list()}:
                    return False
                header = HEADER_PREFIX + image.id()
                lockers = image.list_lockers() or {}
                cookies = [cookie for _client, cookie, addr
                           in lockers.get('lockers', []) if addr == own]
            released = False
            for cookie in cookies:
                try:
                    self._ioctx(pool).unlock(header, LOCK_NAME, cookie)
                    released = True
                except rados.ObjectNotFound:
                    # The image went meanwhile (the abandoned call that
                    # held the lock removed it): nothing left to release.
                    pass
            return released
        return self.call('release own lock', run, '%s/%s' % (pool, name))

    def own_address(self):
        """This process's address as the cluster sees it (and watchers)."""
        return self.call('get own address',
                         lambda: self._connected().get_addrs())

    def blocklist(self, addr, expire=None):
        """Cut one client (by its address) off from the cluster.

        :param expire: seconds until the entry lapses (Ceph's default,
            an hour, when None).
        """
        self.call('blocklist', lambda: self._blocklist(addr, expire), addr)

    def blocklisted(self):
        """Addresses of every client the cluster refuses, right now."""
        def run():
            ret, out, err = self._connected().mon_command(json.dumps({
                'prefix': 'osd blocklist ls', 'format': 'json'}), b'',
                timeout=int(self.op_timeout))
            if ret:
                raise exceptions.CephError(op='osd blocklist ls',
                                           reason='%s (%d)' % (err, ret))
            # Pacific prints the ranges as a second array: '[...][...]'.
            entries, _end = json.JSONDecoder().raw_decode(
                out.decode() or '[]')
            return sorted(e['addr'] for e in entries)
        return self.call('list blocklist', run)

    def _blocklist(self, addr, expire=None):
        cmd = {'prefix': 'osd blocklist', 'blocklistop': 'add',
               'addr': addr}
        if expire is not None:
            cmd['expire'] = float(expire)
        ret, _out, err = self._connected().mon_command(
            json.dumps(cmd), b'', timeout=int(self.op_timeout))
        if ret == -errno.EACCES:
            raise exceptions.RbdPermissionDenied(
                user=self.entity, op='blocklist', name=addr,
                reason="needs mon 'profile rbd'")
        if ret:
            raise exceptions.CephError(op='blocklist %s' % addr,
                                       reason='%s (%d)' % (err, ret))
