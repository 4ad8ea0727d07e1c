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
"""A direct snapshot that fails: at once on a cluster that stops answering."""

import types

import pytest

from nova_rbd_imagebackend.disks import snapshot_runs
from nova_rbd_imagebackend.disks import snapshots
from nova_rbd_imagebackend import exceptions


class Client(object):
    """Images, snapshots and records in dicts; every call is logged."""

    def __init__(self):
        self.images = {('vms', 'u_disk'): set()}
        self.records = {}
        self.calls = []
        self.fail = {}  # method name -> exception, raised once

    def _call(self, name, *args):
        self.calls.append((name,) + args)
        if name in self.fail:
            raise self.fail.pop(name)

    def fsid(self):
        return 'fsid'

    def own_address(self):
        return '10.0.0.1:0/1'

    def release_own_lock(self, pool, name):
        return False

    def parent(self, pool, name):
        return ('images', 'base', 'snap')

    def clone_v2_allowed(self):
        return False

    def get_record(self, pool, obj, key):
        return self.records.get((pool, obj, key))

    def all_records(self, pool, obj):
        return {k: v for (p, o, k), v in self.records.items()
                if (p, o) == (pool, obj)}

    def set_record(self, pool, obj, key, value):
        self._call('set_record', pool, obj, key)
        self.records[(pool, obj, key)] = value

    def remove_record(self, pool, obj, key):
        self._call('remove_record', pool, obj, key)
        self.records.pop((pool, obj, key), None)

    def create_snap(self, pool, name, snap, protect=False):
        self._call('create_snap', pool, name, snap)
        self.images[(pool, name)].add(snap)

    def remove_snap(self, pool, name, snap, force=False):
        self._call('remove_snap', pool, name, snap)
        if snap not in self.images.get((pool, name), ()):
            raise exceptions.RbdNotFound(name=snap)
        self.images[(pool, name)].discard(snap)

    def clone(self, src_pool, src_name, src_snap, dst_pool, dst_name):
        self._call('clone', dst_pool, dst_name)
        self.images[(dst_pool, dst_name)] = set()

    def flatten(self, pool, name, progress=None):
        self._call('flatten', pool, name)

    def metadata(self, pool, name):
        return {}

    def set_metadata(self, pool, name, items, remove=()):
        self._call('set_metadata', pool, name)

    def remove(self, pool, name):
        self._call('remove', pool, name)
        return self.images.pop((pool, name), None) is not None


@pytest.fixture
def client():
    yield Client()
    for _pool, image_id, _run in snapshot_runs.given_up():
        snapshot_runs.forget(image_id)


def snapshot(client, image_id):
    disk = types.SimpleNamespace(client=client, pool='vms',
                                 rbd_name='u_disk', spec='vms/u_disk')
    # Nova names the disk's snapshot anew for each run.
    return snapshots.direct_snapshot(disk, image_id[-1] * 32, 'raw',
                                     image_id, 'base', lambda: [])


def runs(client):
    return sorted(client.all_records('vms', snapshot_runs.RECORDS))


def test_a_run_the_cluster_stops_answering_fails_at_its_first_timeout(
        client):
    client.fail['flatten'] = exceptions.CephTimeout(op='flatten', timeout=5)
    with pytest.raises(exceptions.CephTimeout):
        snapshot(client, 'img-1')
    # Nothing more was asked of the cluster after the call that timed out.
    assert client.calls[-1] == ('flatten', 'images', 'img-1')
    assert runs(client) == ['img-1']
    assert list(snapshot_runs.unfinished(client, 'vms')) == ['img-1']
    assert snapshot_runs.unfinished(client, 'other') == {}

    # The next snapshot that succeeds removes what the first one made.
    url = snapshot(client, 'img-2')
    assert url == 'rbd://fsid/images/img-2/snap'
    assert ('images', 'img-1') not in client.images
    assert client.images[('images', 'img-2')] == {'snap'}
    assert client.images[('vms', 'u_disk')] == set()
    assert runs(client) == ['img-2']  # the driver drops it once registered
    assert snapshot_runs.given_up() == []


def test_a_refused_run_removes_what_it_made_at_once(client):
    client.fail['flatten'] = exceptions.RbdPermissionDenied(
        user='client.nova', op='flatten', name='images/img-1', reason='EPERM')
    with pytest.raises(exceptions.RbdPermissionDenied):
        snapshot(client, 'img-1')
    assert ('images', 'img-1') not in client.images
    assert client.images[('vms', 'u_disk')] == set()
    assert runs(client) == []
    assert snapshot_runs.given_up() == []


def test_a_given_up_run_whose_removal_fails_is_left_to_the_audit(client):
    client.fail['clone'] = exceptions.CephTimeout(op='clone', timeout=5)
    with pytest.raises(exceptions.CephTimeout):
        snapshot(client, 'img-1')
    client.images[('images', 'img-1')] = set()  # the clone landed after all
    client.fail['remove'] = exceptions.RbdBusy(name='images/img-1',
                                               reason='flattening')
    snapshot(client, 'img-2')
    assert ('images', 'img-1') in client.images
    # Marked abandoned in the pool: any audit, of any process, finishes it.
    assert snapshot_runs.given_up() == []
    assert 'img-1' in snapshot_runs.unfinished(client, 'vms')
