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

"""Sandbox cluster shapes: monitors, OSDs, messenger versions, ceph.conf.

A shape is how many monitors (1, 3 or 5) and OSDs a sandbox runs, which
messenger protocols its daemons speak (``v1``, ``v2`` or ``both``) and
whether they listen on ``::1`` instead of ``127.0.0.1``.  Every monitor
gets ports of its own, so several sandboxes share the loopback address.
"""

import collections

from sandbox import SandboxError

MON_COUNTS = (1, 3, 5)
MSGR = ('v1', 'v2', 'both')
MON_NAMES = 'abcde'


class Shape(collections.namedtuple('Shape', 'mons osds msgr ipv6')):
    """What a sandbox runs; ``Shape()`` is the default, smallest one."""

    __slots__ = ()

    def __new__(cls, mons=1, osds=1, msgr='v1', ipv6=False):
        if mons not in MON_COUNTS:
            raise SandboxError('mons must be one of %s, not %r' % (
                ', '.join(map(str, MON_COUNTS)), mons))
        if not isinstance(osds, int) or isinstance(osds, bool) or osds < 1:
            raise SandboxError('osds must be a positive number, not %r'
                               % (osds,))
        if msgr not in MSGR:
            raise SandboxError('msgr must be one of %s, not %r' % (
                ', '.join(MSGR), msgr))
        return super().__new__(cls, mons, osds, msgr, bool(ipv6))

    @property
    def host(self):
        """The loopback address every daemon binds to."""
        return '::1' if self.ipv6 else '127.0.0.1'

    @property
    def mon_names(self):
        return list(MON_NAMES[:self.mons])

    @property
    def osd_ids(self):
        return list(range(self.osds))

    @property
    def protocols(self):
        """Messenger versions in the order clients should try them."""
        return ['v2', 'v1'] if self.msgr == 'both' else [self.msgr]

    @property
    def pool_size(self):
        """(size, min_size): three copies when there are OSDs for them.

        min_size is Ceph's own default for the size: a majority of copies.
        """
        size = min(3, self.osds)
        return size, size - size // 2


def mon_ports(shape, free_port):
    """{name: {protocol: port}}: a port of its own per monitor and protocol.

    ``free_port(host)`` returns a port nothing listens on.
    """
    ports, taken = {}, set()
    for name in shape.mon_names:
        ports[name] = {}
        for proto in shape.protocols:
            port = free_port(shape.host)
            while port in taken:
                port = free_port(shape.host)
            taken.add(port)
            ports[name][proto] = port
    return ports


def _hostport(host, port):
    return '[%s]:%d' % (host, port) if ':' in host else '%s:%d' % (host, port)


def addrvec(host, ports):
    """One monitor's address vector, as monmaptool and mon_host take it.

    ``ports`` maps a protocol to its port; v2 goes first, as Ceph lists it.
    """
    return '[%s]' % ','.join(
        '%s:%s' % (proto, _hostport(host, ports[proto]))
        for proto in ('v2', 'v1') if proto in ports)


def mon_host(shape, ports):
    """The ``mon host`` line: every monitor's address vector.

    ``ports`` names the monitors: after a monitor was replaced they are
    no longer the shape's first names.
    """
    return ','.join(addrvec(shape.host, ports[name])
                    for name in sorted(ports))


def libvirt_addr(host, ports):
    """The (host, port) a libvirt ``<host>`` gets for one monitor.

    The legacy (v1) port when the monitor has one, as Nova does; else the
    v2 port.  The host carries no brackets: QEMU adds them for IPv6.
    """
    return host, ports['v1'] if 'v1' in ports else ports['v2']


CONF_TEMPLATE = """\
[global]
fsid = {fsid}
mon host = {mon_host}
public addr = {host}
public network = {network}
ms bind ipv4 = {ipv4}
ms bind ipv6 = {ipv6}
ms bind msgr1 = {msgr1}
ms bind msgr2 = {msgr2}
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
auth allow insecure global id reclaim = false
run dir = {dir}/run
admin socket = {dir}/run/$cluster-$name.asok
log file = {dir}/log/$cluster-$name.log
keyring = {dir}/$cluster.$name.keyring
osd pool default size = {size}
osd pool default min size = {min_size}
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon data avail warn = 2
mon data avail crit = 1
client mount timeout = 10
rbd default features = 61

[mon]
mon data = {dir}/mon.$id
# A sandbox gains nothing from batching proposals; the default
# one-second interval would add a second to every pool and user.
paxos propose interval = 0.01
paxos min wait = 0.01
# Monitors on one machine answer each other in milliseconds; the default
# five seconds per election would hold a first boot up for half a minute.
mon election timeout = 1
keyring = {dir}/mon.$id/keyring

[mgr]
mgr data = {dir}/mgr.$id
keyring = {dir}/mgr.$id/keyring

[osd]
osd data = {dir}/osd.$id
keyring = {dir}/osd.$id/keyring
osd objectstore = {objectstore}
memstore device bytes = {osd_bytes}
bluestore block path = {dir}/osd.$id.block
bluestore block create = true
bluestore block size = {osd_bytes}
bluestore fsck on mount = false
osd memory target = 939524096
"""


def render(shape, fsid, directory, ports, objectstore, osd_bytes):
    """The sandbox's ceph.conf for ``shape``."""
    size, min_size = shape.pool_size
    flag = {True: 'true', False: 'false'}
    return CONF_TEMPLATE.format(
        fsid=fsid, mon_host=mon_host(shape, ports), host=shape.host,
        network='::1/128' if shape.ipv6 else '127.0.0.0/8',
        ipv4=flag[not shape.ipv6], ipv6=flag[shape.ipv6],
        msgr1=flag['v1' in shape.protocols],
        msgr2=flag['v2' in shape.protocols],
        dir=directory, size=size, min_size=min_size,
        objectstore=objectstore, osd_bytes=osd_bytes)
