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
"""Running guests whose disk XML names monitors no longer in the monmap.

A guest's ``<host>`` list is written when its XML is: at boot, hard
reboot and live migration.  QEMU follows the monmap once connected, but
a guest whose listed monitors are all gone cannot connect again (a
migration to another host, a restart of QEMU).  The check reads the live
XML of every running domain over a read-only libvirt connection and
compares the hosts of its disks in the instance pool with every address
of every monitor in the current monmap.
"""

import ipaddress
import socket

from lxml import etree

from nova_rbd_imagebackend.checks import results
from nova_rbd_imagebackend import exceptions

CHECK = 'guest monitors'
FIX = 'live-migrate or hard-reboot the guest to refresh its monitor list'


def _normal(host):
    """An address in one spelling: '::0001' and '[::1]' are '::1'."""
    host = host.strip('[]')
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:  # a name, as an operator may have written in an old XML
        return str(ipaddress.ip_address(socket.getaddrinfo(
            host, None, proto=socket.IPPROTO_TCP)[0][4][0]))
    except (OSError, IndexError, ValueError):
        return host


def known_addrs(monitors):
    """{(address, port)} of every address of every monitor in the map.

    ``monitors`` as ``CephClient.monitors`` returns them; v1 and v2 both
    count, whichever one the XML names.
    """
    return {(_normal(host), str(port)) for mon in monitors
            for _type, host, port in mon['addrs']}


def stale_hosts(domain_xml, pool, known):
    """'host:port' of each ``<host>`` of the domain not in ``known``.

    Only network disks of protocol rbd whose image is in ``pool`` (this
    host's instance disks) are looked at: volumes may live in another
    cluster.
    """
    doc = etree.fromstring(domain_xml.encode()
                           if isinstance(domain_xml, str) else domain_xml)
    stale = []
    for source in doc.findall('./devices/disk/source'):
        if source.get('protocol') != 'rbd':
            continue
        if not (source.get('name') or '').startswith(pool + '/'):
            continue
        for host in source.findall('host'):
            name, port = host.get('name', '').strip('[]'), host.get('port')
            # Without a port, librados tries both default ports.
            ports = [port] if port else ['3300', '6789']
            label = ('[%s]' if ':' in name else '%s') % name
            label += ':%s' % port if port else ''
            address = _normal(name)
            if not any((address, p) in known for p in ports) and \
                    label not in stale:
                stale.append(label)
    return stale


def _open(host):
    if host.libvirt_connection is not None:
        return host.libvirt_connection
    import libvirt
    # Errors are reported here, not printed by libvirt on stderr.
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    return libvirt.openReadOnly(host.conf.libvirt.connection_uri or
                                'qemu:///system')


def _running(conn):
    """(name, uuid, live XML) of every running domain."""
    found = []
    for dom in conn.listAllDomains(0):
        if dom.isActive():
            found.append((dom.name(), dom.UUIDString(), dom.XMLDesc(0)))
    return found


def guest_monitors(host):
    """WARN for each running domain that names a monitor no longer there."""
    try:
        known = known_addrs(host.client.monitors())
    except exceptions.CephError as exc:
        return results.warn(CHECK, 'cannot read the monmap: %s'
                            % exc.format_message())
    try:
        conn = _open(host)
    except Exception as exc:
        return results.warn(CHECK, 'cannot reach libvirt: %s' % exc,
                            'run doctor where libvirtd runs')
    try:
        domains = _running(conn)
    except Exception as exc:
        return results.warn(CHECK, 'cannot list the domains: %s' % exc)
    finally:
        if conn is not host.libvirt_connection:
            conn.close()
    found = []
    for name, uuid, xml in domains:
        stale = stale_hosts(xml, host.pool, known)
        if stale:
            found.append(results.warn(
                '%s %s' % (CHECK, name),
                'domain %s (%s) names monitors no longer in the monmap: %s'
                % (name, uuid, ', '.join(stale)), FIX))
    if not found:
        found.append(results.ok(CHECK, '%d running domains name only '
                                'monitors of the monmap' % len(domains)))
    return found
