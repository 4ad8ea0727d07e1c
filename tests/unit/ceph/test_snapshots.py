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
"""Snapshot ids refused by monitors just after an election: tried again."""

import pytest

from nova_rbd_imagebackend.ceph import client as ceph_client
from nova_rbd_imagebackend.ceph import snapshots
from nova_rbd_imagebackend import exceptions
from tests.unit import fake_ceph


@pytest.fixture
def client(monkeypatch):
    cluster = fake_ceph.install(monkeypatch)
    monkeypatch.setattr(snapshots, 'SNAP_ID_RETRY_SECONDS', 0)
    c = ceph_client.CephClient('/etc/ceph/ceph.conf', 'nova', 2, 2, 4)
    c.fake = cluster
    c.create('vms', 'disk', 10)
    yield c
    c.close()


def refused():
    return fake_ceph.PermissionError('error creating snapshot')


def snaps(client):
    return client.fake.pools['vms']['disk'].snaps


def test_a_refused_snapshot_is_made_on_the_next_attempt(client):
    client.fake.fail_next.append(refused())
    client.create_snap('vms', 'disk', 'nova-resize', protect=True)
    assert snaps(client) == {'nova-resize': True}


def test_caps_that_lack_the_right_fail_after_the_last_attempt(client):
    client.fake.fail_next.extend(
        [refused() for _ in range(snapshots.SNAP_ID_ATTEMPTS)])
    with pytest.raises(exceptions.RbdPermissionDenied):
        client.create_snap('vms', 'disk', 's')
    assert snaps(client) == {}
    assert client.fake.fail_next == []


def test_a_snapshot_the_refused_attempt_made_is_not_made_twice(
        client, monkeypatch):
    made = []

    def create_then_refuse(image, name):
        made.append(name)
        image.image.snaps[name] = False
        if len(made) == 1:
            raise refused()
    monkeypatch.setattr(fake_ceph.Image, 'create_snap', create_then_refuse)
    client.create_snap('vms', 'disk', 's', protect=True)
    assert made == ['s']
    assert snaps(client) == {'s': True}


def test_a_refused_removal_is_made_again(client):
    client.create_snap('vms', 'disk', 's', protect=True)
    client.fake.fail_next.append(refused())
    assert client.remove_snap('vms', 'disk', 's', force=True) is True
    assert snaps(client) == {}
    assert client.remove_snap('vms', 'disk', 's') is False


def test_other_errors_are_not_tried_again(client):
    client.fake.fail_next.append(fake_ceph.TimedOut('mon'))
    with pytest.raises(exceptions.CephTimeout):
        client.create_snap('vms', 'disk', 's')
    assert snaps(client) == {}
