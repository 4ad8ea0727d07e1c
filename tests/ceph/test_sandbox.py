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

"""The throwaway cluster itself: users, caps, clone v2, isolation, stop."""

import os
import stat
import uuid

import pytest
import rados
import rbd

from sandbox import ceph
from sandbox import procs

MiB = 1024 ** 2


@pytest.fixture
def nova_client(connect_as):
    """A librados connection as the compute user, client.nova."""
    return connect_as('nova')


def _name(prefix):
    return '%s-%s' % (prefix, uuid.uuid4().hex[:8])


def test_cluster_is_healthy_with_pools_and_users(ceph_sandbox):
    status = ceph_sandbox.status()
    assert status['health']['status'] == 'HEALTH_OK'
    assert {'images', 'vms'} <= set(status['pools'])
    assert set(status['pgs']) == {'active+clean'}
    assert all(status['daemons'].values())
    with ceph_sandbox.admin() as admin:
        users = {e['entity'] for e in
                 admin.json({'prefix': 'auth ls'})['auth_dump']}
        apps = admin.json({'prefix': 'osd pool application get',
                           'pool': 'vms'})
        osd_map = admin.json({'prefix': 'osd dump'})
    assert {'client.glance', 'client.nova', 'client.nova2'} <= users
    assert 'rbd' in apps
    assert osd_map['require_min_compat_client'] == 'mimic'


def test_daemons_bind_loopback_only(ceph_sandbox):
    with ceph_sandbox.admin() as admin:
        mons = admin.json({'prefix': 'mon dump'})['mons']
        osds = admin.json({'prefix': 'osd dump'})['osds']
    addrs = [a['addr'] for m in mons for a in m['public_addrs']['addrvec']]
    for osd in osds:
        for kind in ('public_addrs', 'cluster_addrs'):
            addrs += [a['addr'] for a in osd[kind]['addrvec']]
    assert addrs and all(a.startswith('127.0.0.1:') for a in addrs), addrs


def test_secrets_are_private(ceph_sandbox):
    paths = [ceph_sandbox.conf_path] + [
        ceph_sandbox.keyring_path(u) for u in
        ('client.admin', 'client.glance', 'client.nova', 'client.nova2')]
    for path in paths:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        assert mode == 0o600, '%s has mode %o' % (path, mode)


def test_nova_creates_writes_snapshots_and_clones_v2(nova_client):
    parent, child = _name('parent'), _name('child')
    with nova_client.open_ioctx('vms') as ioctx:
        rbd.RBD().create(ioctx, parent, 64 * MiB)
        with rbd.Image(ioctx, parent) as image:
            image.write(b'glance-bytes' * 100, 0)
            image.create_snap('snap')
        # Clone v2: no protected snapshot needed, as min compat is mimic.
        rbd.RBD().clone(ioctx, parent, 'snap', ioctx, child)
        with rbd.Image(ioctx, child) as clone:
            assert clone.parent_info()[1:] == (parent, 'snap')
            assert clone.read(0, 12) == b'glance-bytes'
            clone.write(b'instance', 0)
            assert clone.read(0, 12) == b'instanceytes'
        with rbd.Image(ioctx, parent, snapshot='snap', read_only=True) as s:
            assert not s.is_protected_snap('snap')
            assert s.read(0, 12) == b'glance-bytes'
        rbd.RBD().remove(ioctx, child)
        with rbd.Image(ioctx, parent) as image:
            image.remove_snap('snap')
        rbd.RBD().remove(ioctx, parent)
        assert parent not in rbd.RBD().list(ioctx)


def test_nova_can_clone_glance_images_into_vms(ceph_sandbox, nova_client):
    image_id = _name('img')
    glance = rados.Rados(conffile=ceph_sandbox.conf_path, rados_id='glance')
    glance.connect(timeout=10)
    try:
        with glance.open_ioctx('images') as images:
            rbd.RBD().create(images, image_id, 8 * MiB)
            with rbd.Image(images, image_id) as image:
                image.write(b'\x47' * 512, 0)
                image.create_snap('snap')
                image.protect_snap('snap')
    finally:
        glance.shutdown()
    disk = _name('inst') + '_disk'
    with nova_client.open_ioctx('images') as images, \
            nova_client.open_ioctx('vms') as vms:
        rbd.RBD().clone(images, image_id, 'snap', vms, disk)
        with rbd.Image(vms, disk) as clone:
            assert clone.read(0, 512) == b'\x47' * 512
        rbd.RBD().remove(vms, disk)


def test_nova_is_refused_on_a_pool_without_caps(ceph_sandbox, nova_client):
    pool = _name('private')
    with ceph_sandbox.admin() as admin:
        admin.create_rbd_pool(pool)
    with nova_client.open_ioctx(pool) as ioctx:
        with pytest.raises(rbd.PermissionError):
            rbd.RBD().create(ioctx, 'forbidden', MiB)
        with pytest.raises(rados.PermissionError):
            ioctx.write_full('object', b'data')


def test_stop_leaves_no_daemon_and_no_folder(tmp_path, ceph_sandbox):
    # A second sandbox next to the session one: the two do not interfere,
    # and stopping it ends exactly its own daemons.
    other = ceph.CephSandbox.start(str(tmp_path / 'other'))
    try:
        assert other.fsid != ceph_sandbox.fsid
        assert other.mon_addrs != ceph_sandbox.mon_addrs
        assert other.status()['health']['status'] == 'HEALTH_OK'
        pids = other.pids
        assert len(pids) == 3
    finally:
        other.stop()
    for name, pid in pids.items():
        assert not procs.is_ours(pid, other.conf_path), name
    assert not os.path.exists(str(tmp_path / 'other'))
    assert all(ceph_sandbox.status()['daemons'].values())


def test_start_refuses_a_folder_in_use(ceph_sandbox):
    with pytest.raises(ceph.SandboxError, match='not empty'):
        ceph.CephSandbox.start(ceph_sandbox.directory)


def test_a_larger_shape_on_ipv6_with_both_protocols(tmp_path, ceph_sandbox):
    box = ceph.CephSandbox.start(str(tmp_path / 'shape'), mons=3, osds=2,
                                 msgr='both', ipv6=True, osd_bytes=256 * MiB)
    try:
        status = box.status()
        assert status['health']['status'] == 'HEALTH_OK'
        assert sorted(status['daemons']) == [
            'mgr.x', 'mon.a', 'mon.b', 'mon.c', 'osd.0', 'osd.1']
        assert all(status['daemons'].values())
        assert sorted(status['quorum']) == ['a', 'b', 'c']
        assert status['osds_up'] == ['osd.0', 'osd.1']
        with box.admin() as admin:
            mons = admin.json({'prefix': 'mon dump'})['mons']
            osds = admin.json({'prefix': 'osd dump'})
        for mon in mons:
            vec = mon['public_addrs']['addrvec']
            assert sorted(a['type'] for a in vec) == ['v1', 'v2']
            assert all(a['addr'].startswith('[::1]:') for a in vec), vec
        ports = {a['addr'] for m in mons for a in m['public_addrs']['addrvec']}
        assert len(ports) == 6
        for osd in osds['osds']:
            for kind in ('public_addrs', 'cluster_addrs'):
                vec = osd[kind]['addrvec']
                assert all(a['addr'].startswith('[::1]:') for a in vec), vec
        for pool in osds['pools']:
            assert (pool['size'], pool['min_size']) == (2, 1)
        assert sorted(box.mon_addrs) == sorted(
            ('::1', int(a['addr'].rsplit(':', 1)[1]))
            for m in mons for a in m['public_addrs']['addrvec']
            if a['type'] == 'v1')
        pids = box.pids
    finally:
        box.stop()
    for name, pid in pids.items():
        assert not procs.is_ours(pid, box.conf_path), name
    assert all(ceph_sandbox.status()['daemons'].values())
