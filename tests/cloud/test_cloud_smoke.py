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

"""Smoke test of the real cloud, through the OpenStack API only.

A server booted from the guest image (networks "none") on Nova's real
libvirt driver, started by nova-rbd-compute: it must become ACTIVE, its
guest must write and print its marker (seen in the console output Nova
returns), its root disk must be ``vms/<uuid>_disk``, a clone of the
Glance image's snapshot in ``images``; after a hard reboot the guest
must find the marker its first boot wrote; and deleting the server must
leave nothing of it in the pool.
"""

import re

import rados
import rbd

from tests.cloud import console

WROTE = console.WROTE
FOUND = 'GUEST: found marker: NOVA-RBD-MARKER id=%s boot=1'


def _vms_images(cloud):
    """{name: parent (pool, image, snapshot) or None} in pool vms."""
    cluster = rados.Rados(conffile=cloud.ceph.conf_path, rados_id='admin')
    cluster.connect(timeout=10)
    try:
        with cluster.open_ioctx('vms') as ioctx:
            out = {}
            for name in rbd.RBD().list(ioctx):
                with rbd.Image(ioctx, name, read_only=True) as image:
                    try:
                        out[name] = tuple(image.parent_info())
                    except rbd.ImageNotFound:
                        out[name] = None
            return out
    finally:
        cluster.shutdown()


def test_boot_console_marker_pool_clone_delete(cloud):
    conn = cloud.connection()
    server = conn.compute.create_server(
        name='smoke', image_id=cloud.image_id, flavor_id=cloud.flavor_id,
        networks='none')
    try:
        server = conn.compute.wait_for_server(
            server, status='ACTIVE', failures=['ERROR'], interval=1,
            wait=300)
        assert server.compute_host in {h['name'] for h in cloud.hosts}

        marker_id, boot = console.match(conn, server, WROTE).groups()
        assert boot == '1'

        disk = '%s_disk' % server.id
        images = _vms_images(cloud)
        assert images.get(disk) == ('images', cloud.image_id, 'snap'), \
            images

        conn.compute.reboot_server(server, 'HARD')
        console.match(conn, server, FOUND % re.escape(marker_id))
    finally:
        conn.compute.delete_server(server)
        conn.compute.wait_for_delete(server, interval=1, wait=180)
    assert not [n for n in _vms_images(cloud) if n.startswith(server.id)]
    conn.close()
