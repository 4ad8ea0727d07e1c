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
"""Deadlines count time on the cluster; abandoned work never lingers."""

import threading
import time

import pytest

from nova_rbd_imagebackend.ceph import client as ceph_client
from nova_rbd_imagebackend.ceph import runner
from nova_rbd_imagebackend import exceptions
from tests.unit import fake_ceph


def make_client(monkeypatch, threads, workers, op_timeout=2,
                queue_timeout=None):
    if not threads:
        pytest.importorskip('eventlet')
    monkeypatch.setattr(runner.utils, 'concurrency_mode_threading',
                        lambda: threads)
    cluster = fake_ceph.install(monkeypatch)
    c = ceph_client.CephClient('/etc/ceph/ceph.conf', 'nova', 2, op_timeout,
                               workers, queue_timeout)
    c.fake = cluster
    return c


def in_background(fn):
    outcome = {}

    def run():
        try:
            outcome['result'] = fn()
        except Exception as exc:
            outcome['error'] = exc
    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def eventually(predicate, timeout=5):
    give_up = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < give_up
        time.sleep(0.02)


@pytest.mark.parametrize('threads', [True, False], ids=['threads',
                                                        'eventlet'])
def test_a_disk_created_after_the_deadline_is_removed(monkeypatch, threads):
    client = make_client(monkeypatch, threads, workers=2)
    client.fake.gate = threading.Event()
    with pytest.raises(exceptions.CephTimeout):
        client.create('vms', 'late', 10)
    # The caller was told it failed; the cluster finishes it now.
    client.fake.gate.set()
    eventually(lambda: 'late' not in client.fake.pools['vms'])
    client.close()


def test_a_clone_finished_after_the_deadline_is_removed(monkeypatch):
    client = make_client(monkeypatch, True, workers=2)
    client.create('images', 'base', 10)
    client.create_snap('images', 'base', 'snap', protect=True)
    client.fake.gate = threading.Event()
    monkeypatch.setattr(fake_ceph.RBD, 'clone', _fake_clone, raising=False)
    with pytest.raises(exceptions.CephTimeout):
        client.clone('images', 'base', 'snap', 'vms', 'child')
    client.fake.gate.set()
    eventually(lambda: 'child' not in client.fake.pools['vms'])
    client.close()


def _fake_clone(self, src_ioctx, name, snap, dst_ioctx, dst_name):
    fake_ceph._checked(dst_ioctx.conn)
    dst_ioctx.images[dst_name] = fake_ceph.FakeImage(
        src_ioctx.images[name].size)


def test_time_queued_for_a_worker_does_not_count(monkeypatch):
    # One worker, held past the op deadline by the first call; the second
    # call waits longer than the deadline, then runs and succeeds.
    client = make_client(monkeypatch, True, workers=1, op_timeout=1,
                         queue_timeout=10)
    client.exists('vms', 'x')  # connected: deadlines hold no connect time
    client.fake.gate = threading.Event()
    first, first_outcome = in_background(
        lambda: client.create('vms', 'first', 10))
    time.sleep(0.1)
    second, second_outcome = in_background(
        lambda: client.create('vms', 'second', 10))
    time.sleep(1.5)
    client.fake.gate.set()
    first.join(5)
    second.join(5)
    assert isinstance(first_outcome.get('error'), exceptions.CephTimeout)
    assert second_outcome == {'result': None}
    assert 'second' in client.fake.pools['vms']
    eventually(lambda: 'first' not in client.fake.pools['vms'])
    client.close()


def test_a_call_no_worker_starts_in_time_never_runs(monkeypatch):
    client = make_client(monkeypatch, True, workers=1, op_timeout=5,
                         queue_timeout=0.3)
    client.fake.gate = threading.Event()
    first, first_outcome = in_background(
        lambda: client.create('vms', 'first', 10))
    time.sleep(0.1)
    with pytest.raises(exceptions.CephBusy) as info:
        client.create('vms', 'queued', 10)
    assert 'all 1 Ceph worker threads of this service were busy' in str(
        info.value)
    assert client.stats['queue_timeouts'] == 1
    client.fake.gate.set()
    first.join(5)
    assert first_outcome == {'result': None}
    time.sleep(0.2)
    assert 'queued' not in client.fake.pools['vms']
    assert 'first' in client.fake.pools['vms']
    client.close()
