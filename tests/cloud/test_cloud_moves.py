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

"""Moving a running guest between the cloud's two hosts, for real.

Live migration: the guest must keep running and keep reading its marker
on the other host, whose cephx user (client.nova2) differs from the
source's (client.nova), with no ``ceph`` command on either compute's
PATH (the layer's default).

Evacuation: compute1's nova-rbd-compute is killed while its guest keeps
running (a hung host); the server is evacuated to compute2, where the
plugin fences the old guest's Ceph client; the guest boots there from
the same disk and finds the marker of its first boot.  compute1, once
restarted, must remove the old guest but not the disk.
"""

import re
import time

import libvirt
from lxml import etree
from openstack import exceptions as sdk_exceptions
import rados
import rbd

from tests.cloud import console

WROTE = console.WROTE


def _wait_server(conn, server, host, statuses, timeout=300):
    deadline = time.monotonic() + timeout
    while True:
        server = conn.compute.get_server(server)
        if (server.compute_host == host and server.status in statuses and
                server.task_state is None):
            return server
        if server.status == 'ERROR' or time.monotonic() > deadline:
            raise AssertionError('server %s: status %s on %s, task %s, '
                                 'fault %s' % (server.id, server.status,
                                               server.compute_host,
                                               server.task_state,
                                               server.fault))
        time.sleep(0.5)


def _disk_parent(cloud, name):
    cluster = rados.Rados(conffile=cloud.ceph.conf_path, rados_id='admin')
    cluster.connect(timeout=10)
    try:
        with cluster.open_ioctx('vms') as ioctx:
            with rbd.Image(ioctx, name, read_only=True) as image:
                return tuple(image.parent_info())
    finally:
        cluster.shutdown()


def _boot_on(conn, cloud, host):
    server = conn.compute.create_server(
        name='move', image_id=cloud.image_id, flavor_id=cloud.flavor_id,
        networks='none', availability_zone='nova:%s' % host)
    server = conn.compute.wait_for_server(
        server, status='ACTIVE', failures=['ERROR'], interval=1, wait=300)
    assert server.compute_host == host
    return server


def _force_up(conn, service, timeout=120):
    """Unset forced_down once Nova allows it.

    Nova refuses while evacuation records of the host are not completed,
    which the restarted compute does in its start-up.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            conn.compute.update_service_forced_down(
                service, 'compute1', 'nova-compute', False)
            return
        except sdk_exceptions.BadRequestException:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def _delete(conn, server):
    conn.compute.delete_server(server, ignore_missing=True)
    conn.compute.wait_for_delete(server, interval=1, wait=180)


def _host(cloud, name):
    return [h for h in cloud.hosts if h['name'] == name][0]


def _guest_disk_xml(cloud, host, server):
    """The root disk's <disk> as ``host``'s libvirtd holds it."""
    entry = _host(cloud, host)
    conn = libvirt.open(entry['uri'])
    try:
        xml = conn.lookupByUUIDString(server.id).XMLDesc(0)
    finally:
        conn.close()
    for disk in etree.fromstring(xml).findall('./devices/disk'):
        source = disk.find('source')
        if source is not None and source.get('name') == \
                'vms/%s_disk' % server.id:
            return disk
    raise AssertionError('no root disk in %s' % xml)


def test_live_migration_keeps_guest_running(cloud):
    """Between hosts with their own cephx users, and no ceph command."""
    conn = cloud.connection()
    server = _boot_on(conn, cloud, 'compute1')
    try:
        marker_id = console.match(conn, server, WROTE,
                                  last=True).group(1)
        started = time.monotonic()
        conn.compute.live_migrate_server(server, host='compute2',
                                         block_migration='auto')
        _wait_server(conn, server, 'compute2', ('ACTIVE',))
        print('live migration: %.1f s' % (time.monotonic() - started))
        # The destination's own identity and every monitor, in the XML.
        disk = _guest_disk_xml(cloud, 'compute2', server)
        auth = disk.find('auth')
        if auth is None:
            auth = disk.find('source/auth')
        host2 = _host(cloud, 'compute2')
        assert auth.get('username') == host2['rbd_user']
        assert auth.find('secret').get('uuid') == host2['secret_uuid']
        assert [(h.get('name'), h.get('port'))
                for h in disk.findall('source/host')] == \
            [(h, str(p)) for h, p in cloud.ceph.mon_addrs]
        # The guest keeps printing what it reads from its disk.
        seen = len(conn.compute.get_server_console_output(server)[
            'output'].splitlines())
        deadline = time.monotonic() + 60
        while True:
            lines = conn.compute.get_server_console_output(server)[
                'output'].splitlines()
            if any('marker on disk: NOVA-RBD-MARKER id=%s' % marker_id in
                   line for line in lines[seen:]):
                break
            assert time.monotonic() < deadline, lines[-10:]
            time.sleep(1)
    finally:
        _delete(conn, server)


def test_evacuate_from_a_hung_host(cloud):
    conn = cloud.connection()
    server = _boot_on(conn, cloud, 'compute1')
    disk = '%s_disk' % server.id
    service = None
    try:
        marker_id = console.match(conn, server, WROTE,
                                  last=True).group(1)

        cloud.kill_compute('compute1')
        service = [s for s in conn.compute.services(binary='nova-compute')
                   if s.host == 'compute1'][0]
        conn.compute.update_service_forced_down(service, 'compute1',
                                                'nova-compute', True)
        conn.compute.evacuate_server(server, host='compute2')
        # Since microversion 2.95 an evacuated server arrives stopped.
        server = _wait_server(conn, server, 'compute2',
                              ('ACTIVE', 'SHUTOFF'))
        if server.status == 'SHUTOFF':
            conn.compute.start_server(server)
            server = _wait_server(conn, server, 'compute2', ('ACTIVE',))
        console.match(conn, server, 'GUEST: found marker: NOVA-RBD-MARKER'
                      ' id=%s boot=1' % re.escape(marker_id), last=True)
        assert _disk_parent(cloud, disk) == ('images', cloud.image_id,
                                             'snap')

        cloud.start_compute('compute1')
        _force_up(conn, service)
        service = None
        # compute1 removes the evacuated guest, and only the guest.
        host1 = _host(cloud, 'compute1')
        deadline = time.monotonic() + 120
        while True:
            conn1 = libvirt.open(host1['uri'])
            try:
                domains = conn1.listAllDomains()
            finally:
                conn1.close()
            if not domains:
                break
            assert time.monotonic() < deadline, [d.name() for d in domains]
            time.sleep(1)
        assert _disk_parent(cloud, disk) == ('images', cloud.image_id,
                                             'snap')
        assert conn.compute.get_server(server).status == 'ACTIVE'
    finally:
        if service is not None:
            cloud.start_compute('compute1')
            _force_up(conn, service)
        _delete(conn, server)
