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
"""A lock this very client left on an image is released by it, on the fake.

librbd breaks a lock only by blocklisting its owner, and never blocklists
itself: tests/ceph/test_osd_failure.py leaves such a lock for real.
"""

import pytest

from nova_rbd_imagebackend.ceph import client as ceph_client
from tests.unit import fake_ceph


@pytest.fixture
def client(monkeypatch):
    cluster = fake_ceph.install(monkeypatch)
    c = ceph_client.CephClient('/etc/ceph/ceph.conf', 'nova', 2, 2, 4)
    c.fake = cluster
    c.create('vms', 'd.part', 10)
    image = cluster.pools['vms']['d.part']
    image.lockers, image.watching, unlocked = [], [], []

    def unlock(ioctx, obj, name, cookie):
        unlocked.append((obj, name, cookie))
        image.lockers[:] = [lk for lk in image.lockers if lk[1] != cookie]
    monkeypatch.setattr(fake_ceph.Image, 'list_lockers', lambda self: {
        'tag': 'internal', 'exclusive': True,
        'lockers': list(self.image.lockers)} if self.image.lockers else [],
        raising=False)
    monkeypatch.setattr(fake_ceph.Image, 'watchers_list', lambda self: [
        {'addr': a} for a in self.image.watching])
    monkeypatch.setattr(fake_ceph.Ioctx, 'unlock', unlock, raising=False)
    c.image, c.unlocked = image, unlocked
    yield c
    c.close()


def test_a_lock_of_ours_that_no_handle_of_ours_watches_is_released(client):
    client.image.lockers.append(
        ('client.41', 'auto 140', client.own_address()))
    assert client.release_own_lock('vms', 'd.part') is True
    assert client.unlocked == [
        ('rbd_header.%s' % client.image.id, 'rbd_lock', 'auto 140')]
    assert client.release_own_lock('vms', 'd.part') is False


def test_a_lock_of_another_client_is_left_alone(client):
    client.image.lockers.append(('client.7', 'auto 9', '10.0.0.9:0/1'))
    assert client.release_own_lock('vms', 'd.part') is False
    assert client.unlocked == []


def test_a_lock_a_handle_of_ours_still_watches_is_left_alone(client):
    own = client.own_address()
    client.image.lockers.append(('client.41', 'auto 140', own))
    client.image.watching.append(own)
    assert client.release_own_lock('vms', 'd.part') is False
    assert client.unlocked == []


def test_an_image_that_is_gone_has_no_lock(client):
    client.remove('vms', 'd.part')
    assert client.release_own_lock('vms', 'd.part') is False
