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
"""Claims on ``.part`` images and their publication, on the fake."""

import json
import os

import pytest

from nova_rbd_imagebackend.ceph import client as ceph_client
from nova_rbd_imagebackend.disks import inflight
from nova_rbd_imagebackend import exceptions
from tests.unit import fake_ceph


@pytest.fixture
def client(monkeypatch):
    cluster = fake_ceph.install(monkeypatch)
    c = ceph_client.CephClient('/etc/ceph/ceph.conf', 'nova', 2, 2, 4)
    c.fake = cluster
    yield c
    c.close()


def test_a_claim_clears_the_part_and_a_rename_of_it_cut_short(client):
    client.create('vms', 'd.part', 10)
    vms = client.fake
    vms.strays['vms']['d'] = vms.pools['vms']['d.part']
    inflight.create_part(client, 'vms', 'd.part', 20, 'import')
    assert vms.strays['vms'] == {}
    assert client.size('vms', 'd.part') == 20
    with inflight.recorded(client, 'vms', 'd.part'):
        inflight.publish(client, 'vms', 'd.part', 'd', 'import')
    assert client.list_prefix('vms', 'd') == ['d']
    assert inflight.writer(client, 'vms', 'd') is None
    assert inflight.writer(client, 'vms', 'd.part') is None


def test_the_rename_is_recorded_under_both_names(client, monkeypatch):
    client.create('vms', 'd.part', 10)
    seen = []
    rename = fake_ceph.RBD.rename

    def watched(rbd, ioctx, src, dst):
        seen.append([(r or {}).get('pid') for r in (
            inflight.writer(client, 'vms', src),
            inflight.writer(client, 'vms', dst))])
        rename(rbd, ioctx, src, dst)
    monkeypatch.setattr(fake_ceph.RBD, 'rename', watched)
    inflight.claim(client, 'vms', 'd.part', 'clone')
    with inflight.recorded(client, 'vms', 'd.part'):
        inflight.publish(client, 'vms', 'd.part', 'd', 'clone')
    assert seen == [[os.getpid(), os.getpid()]]
    assert inflight.writer(client, 'vms', 'd') is None


def busy_for(monkeypatch, attempts):
    """The first ``attempts`` removals find the image held by a worker."""
    tries = []
    remove = fake_ceph.RBD.remove

    def held(rbd, ioctx, name):
        tries.append(name)
        if len(tries) <= attempts:
            raise fake_ceph.ImageBusy(name)
        remove(rbd, ioctx, name)
    monkeypatch.setattr(fake_ceph.RBD, 'remove', held)
    monkeypatch.setattr(inflight, '_BUSY_RETRY', 0)
    return tries


def test_a_part_our_own_abandoned_attempt_holds_is_waited_for(
        client, monkeypatch):
    client.create('vms', 'd.part', 10)
    inflight.mark(client, 'vms', 'd.part', 'import')  # the earlier attempt
    tries = busy_for(monkeypatch, 3)
    inflight.create_part(client, 'vms', 'd.part', 20, 'import')
    assert len(tries) == 4
    assert client.size('vms', 'd.part') == 20


def test_a_part_another_host_holds_is_not_waited_for(client, monkeypatch):
    client.create('vms', 'd.part', 10)
    inflight.mark(client, 'vms', 'd.part', 'import')
    other = dict(inflight.writer(client, 'vms', 'd.part'), host='elsewhere')
    client.set_record('vms', inflight.RECORDS, 'd.part', json.dumps(other))
    tries = busy_for(monkeypatch, 3)
    with pytest.raises(exceptions.RbdBusy):
        inflight.create_part(client, 'vms', 'd.part', 20, 'import')
    assert len(tries) == 1


def test_a_lock_our_own_abandoned_attempt_left_is_released(
        client, monkeypatch):
    client.create('vms', 'd.part', 10)
    inflight.mark(client, 'vms', 'd.part', 'import')  # the earlier attempt
    locked = ['a lock of this client, no handle of it open']
    tries = []
    remove = fake_ceph.RBD.remove

    def held(rbd, ioctx, name):
        tries.append(name)
        if locked:
            raise fake_ceph.ImageBusy(name)
        remove(rbd, ioctx, name)
    monkeypatch.setattr(fake_ceph.RBD, 'remove', held)
    monkeypatch.setattr(client, 'release_own_lock',
                        lambda pool, name: bool(locked and locked.pop()))
    inflight.create_part(client, 'vms', 'd.part', 20, 'import')
    assert len(tries) == 1  # released as the part was claimed
    assert client.size('vms', 'd.part') == 20
