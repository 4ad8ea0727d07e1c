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
"""Leases: RADOS locks with an expiry, held by one host or shared by many.

A lease is a lock on a small object of the pool, taken for ``duration``
seconds and renewed by its holder while it works.  A holder that dies
stops renewing, and its lease lapses on its own: nobody has to prove
it dead.  Shared leases coexist with each other, never with an
exclusive one.
"""

from nova_rbd_imagebackend.ceph.bindings import rados

# librados's LIBRADOS_LOCK_FLAG_MAY_RENEW: taking a lease we hold renews it.
MAY_RENEW = 1
LEASE = 'nova_rbd_imagebackend'


class LeaseOps(object):
    """Mixed into CephClient: leases on objects of a pool."""

    def take_lease(self, pool, obj, cookie, duration, exclusive=True,
                   desc=''):
        """Take or renew a lease; False when another holder has one."""
        def run():
            ioctx = self._ioctx(pool)
            try:
                if exclusive:
                    ioctx.lock_exclusive(obj, LEASE, cookie, desc=desc,
                                         duration=duration, flags=MAY_RENEW)
                else:
                    ioctx.lock_shared(obj, LEASE, cookie, 'boot', desc=desc,
                                      duration=duration, flags=MAY_RENEW)
            except (rados.ObjectBusy, rados.ObjectExists):
                return False
            return True
        return self.call('take lease', run, '%s/%s' % (pool, obj))

    def drop_lease(self, pool, obj, cookie):
        """Give a lease back; nothing if it lapsed or was never held."""
        def run():
            try:
                self._ioctx(pool).unlock(obj, LEASE, cookie)
            except rados.ObjectNotFound:
                pass
        self.call('drop lease', run, '%s/%s' % (pool, obj))

    def remove_object(self, pool, obj):
        """Remove a small object (a lease's); nothing if it is gone."""
        def run():
            try:
                self._ioctx(pool).remove_object(obj)
            except rados.ObjectNotFound:
                pass
        self.call('remove object', run, '%s/%s' % (pool, obj))
