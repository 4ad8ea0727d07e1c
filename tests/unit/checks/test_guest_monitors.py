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
"""Which <host> entries of a running guest name monitors that are gone."""

import types

from nova_rbd_imagebackend.checks import guest_monitors
from nova_rbd_imagebackend.checks import results
from nova_rbd_imagebackend import exceptions

MONITORS = [
    {'name': 'a', 'in_quorum': True,
     'addrs': [('v2', '10.0.0.1', '3300'), ('v1', '10.0.0.1', '6789')]},
    {'name': 'c', 'in_quorum': False, 'addrs': [('v1', '10.0.0.3', '6789')]},
    {'name': 'd', 'in_quorum': True, 'addrs': [('v2', '::1', '3301')]},
]
KNOWN = guest_monitors.known_addrs(MONITORS)


def domain(*disks):
    return ('<domain><name>instance-1</name><devices>%s</devices></domain>'
            % ''.join(disks))


def rbd_disk(name, *hosts):
    return ("<disk type='network'><source protocol='rbd' name='%s'>%s"
            "</source></disk>" % (name, ''.join(
                "<host name='%s'%s/>" % (h, " port='%s'" % p if p else '')
                for h, p in hosts)))


def test_every_address_of_every_monitor_in_the_map_counts():
    # Out of quorum is still in the monmap: not stale, only down.
    assert KNOWN == {('10.0.0.1', '3300'), ('10.0.0.1', '6789'),
                     ('10.0.0.3', '6789'), ('::1', '3301')}


def test_current_monitors_are_not_stale_whichever_protocol():
    xml = domain(rbd_disk('vms/u_disk', ('10.0.0.1', '6789'),
                          ('10.0.0.1', '3300'), ('10.0.0.3', '6789')))
    assert guest_monitors.stale_hosts(xml, 'vms', KNOWN) == []


def test_a_removed_monitor_is_named_once_per_domain():
    xml = domain(rbd_disk('vms/u_disk', ('10.0.0.1', '6789'),
                          ('10.0.0.2', '6789')),
                 rbd_disk('vms/u_disk.local', ('10.0.0.2', '6789')))
    assert guest_monitors.stale_hosts(xml, 'vms', KNOWN) == [
        '10.0.0.2:6789']


def test_a_monitor_that_moved_to_another_port_is_stale():
    xml = domain(rbd_disk('vms/u_disk', ('10.0.0.3', '6790')))
    assert guest_monitors.stale_hosts(xml, 'vms', KNOWN) == [
        '10.0.0.3:6790']


def test_ipv6_hosts_in_any_spelling():
    xml = domain(rbd_disk('vms/u_disk', ('0:0::0001', '3301'),
                          ('[::2]', '6789')))
    assert guest_monitors.stale_hosts(xml, 'vms', KNOWN) == ['[::2]:6789']


def test_a_host_without_port_is_known_on_either_default_port():
    xml = domain(rbd_disk('vms/u_disk', ('10.0.0.1', None),
                          ('10.0.0.9', None)))
    assert guest_monitors.stale_hosts(xml, 'vms', KNOWN) == ['10.0.0.9']


def test_volumes_and_other_pools_and_files_are_not_looked_at():
    xml = domain(rbd_disk('volumes/volume-1', ('192.0.2.1', '6789')),
                 rbd_disk('vmsx/u_disk', ('192.0.2.1', '6789')),
                 "<disk type='file'><source file='/x'/></disk>",
                 "<disk type='network'><source protocol='iscsi' "
                 "name='vms/x'><host name='192.0.2.1'/></source></disk>")
    assert guest_monitors.stale_hosts(xml, 'vms', KNOWN) == []


class Dom(object):
    def __init__(self, name, xml, active=True):
        self._name, self._xml, self._active = name, xml, active

    def name(self):
        return self._name

    def UUIDString(self):
        return '%s-uuid' % self._name

    def isActive(self):
        return self._active

    def XMLDesc(self, flags):
        return self._xml


class Conn(object):
    def __init__(self, *domains):
        self.domains = domains

    def listAllDomains(self, flags):
        return list(self.domains)


class Client(object):
    def __init__(self, monitors=MONITORS, error=None):
        self._monitors, self._error = monitors, error

    def monitors(self):
        if self._error:
            raise self._error
        return self._monitors


def host(conn, client=None):
    return types.SimpleNamespace(libvirt_connection=conn, pool='vms',
                                 client=client or Client())


def test_one_warning_per_stale_running_domain_with_the_fix():
    stale = rbd_disk('vms/u_disk', ('10.0.0.2', '6789'))
    found = guest_monitors.guest_monitors(host(Conn(
        Dom('instance-1', domain(stale)),
        Dom('instance-2', domain(rbd_disk('vms/v_disk',
                                          ('10.0.0.1', '6789')))),
        Dom('instance-3', domain(stale), active=False))))
    assert found == [results.warn(
        'guest monitors instance-1',
        'domain instance-1 (instance-1-uuid) names monitors no longer in '
        'the monmap: 10.0.0.2:6789',
        'live-migrate or hard-reboot the guest to refresh its monitor list')]


def test_no_stale_domain_is_ok():
    found = guest_monitors.guest_monitors(host(Conn()))
    assert [r.status for r in found] == [results.OK]
    assert found[0].check == 'guest monitors'


def test_no_monmap_or_no_libvirt_is_a_warning_not_a_failure():
    found = guest_monitors.guest_monitors(host(Conn(), Client(
        error=exceptions.CephTimeout(op='quorum_status', timeout=3))))
    assert found.status == results.WARN
    assert 'cannot read the monmap' in found.detail

    class Broken(Conn):
        def listAllDomains(self, flags):
            raise RuntimeError('connection closed')
    found = guest_monitors.guest_monitors(host(Broken()))
    assert found.status == results.WARN
    assert 'connection closed' in found.detail
