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
leave nothing of it in the pool.  A snapshot of a running guest is
taken inside Ceph and registered in Glance; a server booted from it
finds the first guest's marker.
"""

import re

from sandbox.cloud import guests


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

        marker_id, boot = guests.console_match(conn, server,
                                               guests.WROTE).groups()
        assert boot == '1'

        disk = '%s_disk' % server.id
        images = guests.pool_images(cloud)
        assert images.get(disk) == ('images', cloud.image_id, 'snap'), \
            images

        conn.compute.reboot_server(server, 'HARD')
        guests.console_match(conn, server,
                             guests.FOUND % (re.escape(marker_id), 1))
    finally:
        guests.delete(conn, server)
    assert not [n for n in guests.pool_images(cloud)
                if n.startswith(server.id)]
    conn.close()


def test_snapshot_in_ceph_and_boot_from_it(cloud):
    conn = cloud.connection()
    server = guests.boot_on(conn, cloud, 'compute1', name='snap-source')
    clone = image = None
    try:
        marker_id = guests.console_match(conn, server, guests.WROTE,
                                         last=True).group(1)
        image = conn.compute.create_server_image(server, 'snap-of-guest',
                                                 wait=True, timeout=300)
        # Taken inside Ceph: the image is an RBD image of Glance's pool,
        # and Glance's location points at it.
        assert image.id in guests.pool_images(cloud, 'images')
        location = conn.image.get_image(image).direct_url or ''
        assert location.startswith('rbd://') and image.id in location
        clone = guests.boot_on(conn, cloud, 'compute2', name='from-snap',
                               image_id=image.id)
        guests.console_match(conn, clone, guests.FOUND % (
            re.escape(marker_id), r'\d+'))
        assert guests.pool_images(cloud)['%s_disk' % clone.id][:2] == (
            'images', image.id)
    finally:
        for each in (clone, server):
            if each is not None:
                guests.delete(conn, each)
        if image is not None:
            conn.image.delete_image(image, ignore_missing=True)
    left = [n for n in guests.pool_images(cloud)
            if n.startswith((server.id, clone.id if clone else '-'))]
    assert not left, left
