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
"""Writer records, and the grow that uses them, on the in-memory fake."""

import json
import os
import socket

import pytest

from nova_rbd_imagebackend.ceph import client as ceph_client
from nova_rbd_imagebackend.ceph import writers
from nova_rbd_imagebackend import exceptions
from tests.unit import fake_ceph


@pytest.fixture
def client(monkeypatch):
    cluster = fake_ceph.install(monkeypatch)
    c = ceph_client.CephClient('/etc/ceph/ceph.conf', 'nova', 2, 2, 4)
    c.fake = cluster
    yield c
    c.close()


def record(client, name, **changes):
    """A record of this process, as another process would have left it."""
    writers.mark(client, 'vms', name, 'grow')
    found = dict(writers.writer(client, 'vms', name), addr='10.0.0.9:0/1')
    found.update(changes)
    client.set_record('vms', writers.RECORDS, name, json.dumps(found))
    return found


def test_a_record_says_who_writes_and_goes_when_done(client):
    writers.mark(client, 'vms', 'd', 'clone')
    found = writers.writer(client, 'vms', 'd')
    assert (found['op'], found['host'], found['pid']) == (
        'clone', socket.gethostname(), os.getpid())
    assert found['addr'] == client.own_address()
    assert not writers.dead_here(found)
    writers.done(client, 'vms', 'd')
    assert writers.writer(client, 'vms', 'd') is None


def test_only_a_dead_process_of_this_host_is_cut_off(client):
    client.create('vms', 'd', 10)
    alive = record(client, 'd')
    other_host = record(client, 'd', host='elsewhere', pid_start='0')
    dead = record(client, 'd', pid_start='0')   # pid reused since
    assert not writers.break_dead_writer(client, 'vms', 'd', alive)
    assert not writers.break_dead_writer(client, 'vms', 'd', other_host)
    assert client.fake.blocklist == []
    assert writers.break_dead_writer(client, 'vms', 'd', dead)
    assert client.fake.blocklist == ['10.0.0.9:0/1']


def test_a_grow_takes_the_lock_over_from_a_dead_grower(client):
    client.create('vms', 'd', 10)
    record(client, 'd', pid_start='0')
    assert client.grow('vms', 'd', 30) == 10
    assert client.fake.blocklist == ['10.0.0.9:0/1']
    assert client.size('vms', 'd') == 30
    assert writers.writer(client, 'vms', 'd') is None


def test_a_grow_is_recorded_while_it_resizes(client, monkeypatch):
    client.create('vms', 'd', 10)
    seen = []
    resize = fake_ceph.Image.resize

    def watched(image, size):
        seen.append(writers.writer(client, 'vms', 'd'))
        resize(image, size)
    monkeypatch.setattr(fake_ceph.Image, 'resize', watched)
    client.grow('vms', 'd', 30)
    assert [(r['op'], r['pid']) for r in seen] == [('grow', os.getpid())]
    assert writers.writer(client, 'vms', 'd') is None


def test_a_grow_with_nothing_to_do_records_nothing(client):
    client.create('vms', 'd', 30)
    alive = record(client, 'd')
    assert client.grow('vms', 'd', 20) == 30
    assert writers.writer(client, 'vms', 'd') == alive
    assert client.fake.blocklist == []


def test_a_failed_grow_drops_its_record(client):
    client.create('vms', 'd', 10)
    real_open = client._open

    def open_then_fail(pool, name, snapshot=None, read_only=False):
        if not read_only:
            raise fake_ceph.Error('no space')
        return real_open(pool, name, snapshot, read_only)
    client._open = open_then_fail
    with pytest.raises(exceptions.CephError):
        client.grow('vms', 'd', 30)
    assert writers.writer(client, 'vms', 'd') is None


def test_a_lock_an_abandoned_attempt_of_ours_left_is_released(
        client, monkeypatch):
    client.create('vms', 'd', 10)
    writers.mark(client, 'vms', 'd', 'grow')  # it gave up at its deadline
    released = []
    monkeypatch.setattr(client, 'release_own_lock',
                        lambda pool, name: released.append(name) or True)
    previous = writers.take_over(client, 'vms', 'd', 'grow')
    assert previous['pid'] == os.getpid()
    assert released == ['d']
    assert client.fake.blocklist == []
    record(client, 'd', host='elsewhere')
    writers.take_over(client, 'vms', 'd', 'grow')
    assert released == ['d']  # another host's writer is not ours to free
