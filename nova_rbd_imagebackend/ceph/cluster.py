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
"""The cluster this compute host uses, as configured in nova.conf.

Nova's own options name it: [libvirt] images_rbd_ceph_conf,
rbd_user, images_rbd_pool and rbd_connect_timeout.  Facts that
change rarely (monitor addresses, pool usage) are cached for a few seconds
because Nova asks for them on every disk XML and every periodic task.
"""

import threading
import time

import nova.conf

from nova_rbd_imagebackend.ceph import client as ceph_client
from nova_rbd_imagebackend import conf as plugin_conf

CONF = nova.conf.CONF


class _Cached(object):
    """One value refreshed at most every ttl seconds."""

    def __init__(self):
        self._lock = threading.Lock()
        self._value = None
        self._expires = 0.0

    def get(self, ttl, load):
        with self._lock:
            if self._value is not None and time.monotonic() < self._expires:
                return self._value
        value = load()
        with self._lock:
            self._value = value
            self._expires = time.monotonic() + ttl
        return value

    def clear(self):
        with self._lock:
            self._value = None


_mon_addrs = _Cached()
_pool_usage = _Cached()


def pool():
    return CONF.libvirt.images_rbd_pool


def user():
    return CONF.libvirt.rbd_user


def client():
    """The process-wide client for this host's cluster and user."""
    plugin_conf.register_opts(CONF)
    opts = CONF.rbd_imagebackend
    return ceph_client.get_client(
        CONF.libvirt.images_rbd_ceph_conf, CONF.libvirt.rbd_user,
        CONF.libvirt.rbd_connect_timeout, opts.op_timeout, opts.max_workers,
        opts.queue_timeout)


def mon_addrs():
    """[(host, port)] of every monitor in quorum, cached for a short while.

    A monitor that stopped leaves the list once the others have voted it
    out of the quorum, and this cache has expired.
    """
    return _mon_addrs.get(CONF.rbd_imagebackend.mon_addrs_cache_seconds,
                          lambda: client().mon_addrs())


def pool_usage():
    """{'total', 'free', 'used'} bytes of the instance pool, cached."""
    return _pool_usage.get(CONF.rbd_imagebackend.pool_stats_cache_seconds,
                           lambda: client().pool_usage(pool()))


def forget():
    """Drop cached facts and connections (tests, reconfiguration)."""
    _mon_addrs.clear()
    _pool_usage.clear()
    ceph_client.reset_clients()
