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
"""The audit asks Nova, over the cloud's message bus, for deleted servers.

compute1 dies with its guest (nova-rbd-compute killed, the domain
destroyed), and the server is deleted through the API meanwhile: Nova
deletes it on its own ("local delete"), and nothing removes its disks.
``nova-rbd-imagebackend audit``, run on compute2 with compute2's
nova.conf, asks nova-conductor over the real RabbitMQ which servers with
disks in the pool Nova has deleted, reports this one's disks and, with
``--purge``, removes them and nothing else.
"""

import json
import os
import subprocess
import sys

import libvirt

from sandbox.cloud import guests

AUDIT = os.path.join(os.path.dirname(sys.executable), 'nova-rbd-imagebackend')


def audit(cloud, *extra):
    conf = guests.host_entry(cloud, 'compute2')['conf']
    result = subprocess.run(
        [AUDIT, '--config-file', conf, 'audit', '--format', 'json',
         '--older-than', '0'] + list(extra), capture_output=True, text=True,
        timeout=300, stdin=subprocess.DEVNULL)
    assert 'Traceback' not in result.stderr, result.stderr[-3000:]
    assert 'Nova was not asked' not in result.stderr
    return {f['where']: f for f in json.loads(result.stdout)}


def test_audit_removes_disks_of_a_server_deleted_while_its_host_was_down(
        cloud):
    conn = cloud.connection()
    gone = guests.boot_on(conn, cloud, 'compute1')
    kept = guests.boot_on(conn, cloud, 'compute2')
    service = None
    try:
        cloud.kill_compute('compute1')
        host1 = libvirt.open(guests.host_entry(cloud, 'compute1')['uri'])
        try:
            host1.lookupByUUIDString(gone.id).destroy()  # the host died
        finally:
            host1.close()
        service = guests.compute_service(conn, 'compute1')
        conn.compute.update_service_forced_down(service, 'compute1',
                                                'nova-compute', True)
        guests.delete(conn, gone)
        disks = sorted(n for n in guests.pool_images(cloud)
                       if n.startswith(gone.id))
        assert disks, 'the local delete removed the disks after all'

        found = audit(cloud)
        finding = found['vms/%s' % gone.id]
        assert finding['kind'] == 'deleted-instance'
        assert finding['detail'] == 'deleted in Nova; disks %s' % (
            ', '.join(disks))
        assert not [w for w in found if kept.id in w]

        purged = audit(cloud, '--purge', '--yes')
        assert purged['vms/%s' % gone.id]['outcome'] == 'removed'
        images = guests.pool_images(cloud)
        assert not [n for n in images if n.startswith(gone.id)]
        assert '%s_disk' % kept.id in images
    finally:
        if service is not None:
            cloud.start_compute('compute1')
            guests.force_up(conn, service, 'compute1')
        guests.delete(conn, kept)
