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

from sandbox.cloud import guests


def test_live_migration_keeps_guest_running(cloud):
    """Between hosts with their own cephx users, and no ceph command."""
    conn = cloud.connection()
    server = guests.boot_on(conn, cloud, 'compute1')
    try:
        marker_id = guests.console_match(conn, server, guests.WROTE,
                                         last=True).group(1)
        started = time.monotonic()
        conn.compute.live_migrate_server(server, host='compute2',
                                         block_migration='auto')
        guests.wait_server(conn, server, 'compute2', ('ACTIVE',))
        print('live migration: %.1f s' % (time.monotonic() - started))
        # The destination's own identity and every monitor, in the XML.
        disk = guests.root_disk_xml(cloud, 'compute2', server)
        auth = disk.find('auth')
        if auth is None:
            auth = disk.find('source/auth')
        host2 = guests.host_entry(cloud, 'compute2')
        assert auth.get('username') == host2['rbd_user']
        assert auth.find('secret').get('uuid') == host2['secret_uuid']
        assert [(h.get('name'), h.get('port'))
                for h in disk.findall('source/host')] == \
            [(h, str(p)) for h, p in cloud.ceph.mon_addrs]
        # The source undefines its domain after the server is ACTIVE on
        # compute2 (Nova's post-migration steps on the source).
        deadline = time.monotonic() + 60
        while guests.domains(cloud, 'compute1') and \
                time.monotonic() < deadline:
            time.sleep(0.5)
        assert guests.domains(cloud, 'compute1') == []
        # The guest keeps reading its disk, now through compute2's user.
        seen = guests.console_lines(conn, server)
        guests.console_match(conn, server, guests.ON_DISK % re.escape(
            marker_id), timeout=60, after=seen)
    finally:
        guests.delete(conn, server)


def test_evacuate_from_a_hung_host(cloud):
    conn = cloud.connection()
    server = guests.boot_on(conn, cloud, 'compute1')
    disk = '%s_disk' % server.id
    service = None
    try:
        marker_id = guests.console_match(conn, server, guests.WROTE,
                                         last=True).group(1)
        fenced_before = set(guests.blocklist(cloud))

        cloud.kill_compute('compute1')
        service = guests.compute_service(conn, 'compute1')
        conn.compute.update_service_forced_down(service, 'compute1',
                                                'nova-compute', True)
        started = time.monotonic()
        conn.compute.evacuate_server(server, host='compute2')
        # Since microversion 2.95 an evacuated server arrives stopped.
        server = guests.wait_server(conn, server, 'compute2',
                                    ('ACTIVE', 'SHUTOFF'))
        if server.status == 'SHUTOFF':
            conn.compute.start_server(server)
            server = guests.wait_server(conn, server, 'compute2',
                                        ('ACTIVE',))
        print('evacuation: %.1f s' % (time.monotonic() - started))
        # compute1's guest still runs, but its Ceph client is cut off.
        assert set(guests.blocklist(cloud)) - fenced_before
        guests.console_match(conn, server, guests.FOUND % (
            re.escape(marker_id), 1), last=True)
        assert guests.pool_images(cloud)[disk] == (
            'images', cloud.image_id, 'snap')

        cloud.start_compute('compute1')
        guests.force_up(conn, service, 'compute1')
        service = None
        # compute1 removes the evacuated guest, and only the guest.
        deadline = time.monotonic() + 120
        while guests.domains(cloud, 'compute1'):
            assert time.monotonic() < deadline, guests.domains(
                cloud, 'compute1')
            time.sleep(1)
        assert guests.pool_images(cloud)[disk] == (
            'images', cloud.image_id, 'snap')
        assert conn.compute.get_server(server).status == 'ACTIVE'
    finally:
        if service is not None:
            cloud.start_compute('compute1')
            guests.force_up(conn, service, 'compute1')
        guests.delete(conn, server)
