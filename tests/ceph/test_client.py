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
"""The plugin's Ceph client against the real cluster, as client.nova."""

import collections
import json
import os
import subprocess
import sys
import time
import uuid

import pytest
import rbd

from nova_rbd_imagebackend.ceph import client as ceph_client

MiB = 1024 ** 2


@pytest.fixture
def client(ceph_sandbox):
    c = ceph_client.CephClient(ceph_sandbox.conf_path, 'nova', 5, 10, 4)
    yield c
    c.close()


@pytest.fixture
def admin(connect_as):
    return connect_as('admin')


def trash_names(admin, pool):
    with admin.open_ioctx(pool) as ioctx:
        return [e['name'] for e in rbd.RBD().trash_list(ioctx)]


def test_a_disk_with_a_dependent_clone_is_parked_then_purged(client, admin):
    disk = '%s_disk' % uuid.uuid4()
    child = str(uuid.uuid4())
    client.create('vms', disk, 8 * MiB)
    client.write('vms', disk, b'data', 0)
    client.create_snap('vms', disk, 'snap1')
    client.clone('vms', disk, 'snap1', 'images', child)
    assert client.remove_snap('vms', disk, 'snap1') is True

    # The clone still reads from the (trashed) snapshot: the disk cannot
    # be removed, so it leaves the pool for the RBD trash.
    assert client.remove('vms', disk) is True
    assert not client.exists('vms', disk)
    assert disk in trash_names(admin, 'vms')
    assert client.read('images', child, 0, 4) == b'data'
    assert client.purge_trash('vms') == []

    client.flatten('images', child)
    assert client.purge_trash('vms') == [disk]
    assert disk not in trash_names(admin, 'vms')
    client.remove('images', child)


def test_manager_flattens_in_the_background(client):
    assert client.clone_v2_allowed()
    parent, child = str(uuid.uuid4()), str(uuid.uuid4())
    client.create('vms', parent, 4 * MiB)
    client.create_snap('vms', parent, 's')
    client.clone('vms', parent, 's', 'images', child)
    assert client.snap_if_deep_flatten('images', child, 'snap') is True
    assert client.request_flatten('images', child) is True
    deadline = time.monotonic() + 30
    while client.parent('images', child) is not None:
        assert time.monotonic() < deadline, 'not flattened'
        time.sleep(0.1)
    # Deep-flatten detached the clone's snapshot as well: the parent's
    # snapshot has no child left.
    client.remove_snap('vms', parent, 's')
    assert client.snaps('vms', parent) == []
    client.remove_snap('images', child, 'snap', force=True)
    assert client.remove('vms', parent) is True
    assert client.remove('images', child) is True


def test_instance_images_are_found_by_prefix_not_by_listing(client):
    uuids = [str(uuid.uuid4()) for _ in range(3)]
    for u in uuids:
        for name in ('disk', 'disk.swap'):
            client.create('vms', '%s_%s' % (u, name), MiB)
    assert sorted(client.list_prefix('vms', uuids[1] + '_')) == [
        uuids[1] + '_disk', uuids[1] + '_disk.swap']
    for u in uuids:
        for name in client.list_prefix('vms', u + '_'):
            client.remove('vms', name)
    assert client.list_prefix('vms', uuids[0]) == []


def test_every_failed_clone_left_nothing_and_every_done_one_is_there(
        ceph_sandbox, admin):
    """400 concurrent clones, then removes, each with a 2 s deadline."""
    parent = 'storm-parent-%s' % uuid.uuid4()
    with admin.open_ioctx('images') as ioctx:
        rbd.RBD().create(ioctx, parent, 4 * MiB)
        with rbd.Image(ioctx, parent) as image:
            image.create_snap('snap')
    result = subprocess.run(
        [sys.executable, '-m', 'tests.ceph.clone_storm',
         ceph_sandbox.conf_path, 'nova', 'images', parent, 'snap', '400'],
        capture_output=True, text=True, timeout=600,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert result.returncode == 0, result.stderr[-3000:]
    storm = json.loads(result.stdout.strip().splitlines()[-1])
    clones, removes = storm['clones'], storm['removes']
    told = collections.Counter(clones.values())
    print('clones: %s; removes: %s; %s' % (
        dict(told), dict(collections.Counter(removes.values())),
        storm['stats']))
    assert set(told) <= {'done', 'busy', 'timeout'}, told
    # Abandoned work that was still running when the process ended is
    # undone by that process before it exits; what is left is final.
    with admin.open_ioctx('images') as ioctx:
        left = {n for n in rbd.RBD().list(ioctx) if n.startswith('storm-')}
        left.discard(parent)
        removed = {n for n, r in removes.items() if r == 'done'}
        failed_clones = {n for n, c in clones.items() if c != 'done'}
        assert not left & failed_clones, 'failed clones left behind'
        assert not left & removed, 'removed images still there'
        for name in left:
            rbd.RBD().remove(ioctx, name)
        with rbd.Image(ioctx, parent) as image:
            image.remove_snap('snap')
        rbd.RBD().remove(ioctx, parent)
