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
"""Names a rename cut short leaves, and removals raced, on the in-memory fake.

The fake's ``strays`` are id objects the directory does not list, as
librbd's rename leaves them when its process is killed (directory.py);
tests/ceph/test_interrupted_clones.py makes the same states for real.
"""

import errno

import pytest

from nova_rbd_imagebackend.ceph import client as ceph_client
from nova_rbd_imagebackend import exceptions
from tests.unit import fake_ceph


@pytest.fixture
def client(monkeypatch):
    cluster = fake_ceph.install(monkeypatch)
    c = ceph_client.CephClient('/etc/ceph/ceph.conf', 'nova', 2, 2, 4)
    c.fake = cluster
    yield c
    c.close()


def test_a_name_only_an_id_object_gives_is_no_image(client):
    client.create('vms', 'd.part', 10)
    vms = client.fake
    vms.strays['vms']['d'] = vms.pools['vms']['d.part']
    assert client.size('vms', 'd') == 10        # librbd opens it...
    assert not client.exists('vms', 'd')        # ...the pool lists none
    assert client.exists('vms', 'd.part')
    assert client.list_prefix('vms', 'd') == ['d.part']


def test_the_stray_id_object_is_dropped_and_the_name_reused(client):
    client.create('vms', 'd.part', 10)
    vms = client.fake
    vms.strays['vms']['d'] = vms.pools['vms']['d.part']
    with pytest.raises(Exception):
        client.rename('vms', 'd.part', 'd')    # "already exists"
    assert client.drop_stray_id('vms', 'd') is True
    assert client.drop_stray_id('vms', 'd') is False
    client.rename('vms', 'd.part', 'd')
    assert client.exists('vms', 'd') and client.size('vms', 'd') == 10


def test_a_listed_name_is_never_dropped_as_stray(client):
    client.create('vms', 'd', 10)
    assert client.drop_stray_id('vms', 'd') is False
    assert client.exists('vms', 'd')


def test_removing_a_stray_name_leaves_the_listed_image(client):
    client.create('vms', 'd', 10)
    vms = client.fake
    vms.strays['vms']['d.part'] = vms.pools['vms']['d']
    assert client.remove('vms', 'd.part') is False
    assert client.exists('vms', 'd') and client.size('vms', 'd') == 10
    assert vms.strays['vms'] == {}


def stale(message):
    """librbd's error when an image's directory entry changed under it."""
    exc = fake_ceph.Error(message)
    exc.errno = errno.ESTALE
    return exc


def test_an_image_another_call_removed_meanwhile_is_gone(
        client, monkeypatch):
    client.create('vms', 'd.part', 10)
    real = fake_ceph.RBD.remove

    def removed_by_another(self, ioctx, name):
        real(self, ioctx, name)  # the other call wins the race
        raise stale('error removing image')
    monkeypatch.setattr(fake_ceph.RBD, 'remove', removed_by_another)
    assert client.remove('vms', 'd.part') is False
    assert not client.exists('vms', 'd.part')


def test_a_stale_entry_that_is_still_listed_is_an_error(client):
    client.create('vms', 'd.part', 10)
    client.fake.fail_next.append(stale('error removing image'))
    with pytest.raises(exceptions.CephError):
        client.remove('vms', 'd.part')
    assert client.exists('vms', 'd.part')
