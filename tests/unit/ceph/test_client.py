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
"""Client edge cases, on the in-memory fake: assert on resulting state."""

import threading
import time

from nova import exception as nova_exception
import pytest

from nova_rbd_imagebackend.ceph import client as ceph_client
from nova_rbd_imagebackend.ceph import runner
from nova_rbd_imagebackend import exceptions
from tests.unit import fake_ceph


@pytest.fixture(params=['threads', 'eventlet'])
def client(request, monkeypatch):
    threads = request.param == 'threads'
    if not threads:
        pytest.importorskip('eventlet')
    monkeypatch.setattr(runner.utils, 'concurrency_mode_threading',
                        lambda: threads)
    cluster = fake_ceph.install(monkeypatch)
    c = ceph_client.CephClient('/etc/ceph/ceph.conf', 'nova', 2, 2, 4)
    c.fake = cluster
    yield c
    c.close()


def test_one_connection_serves_every_call(client):
    client.create('vms', 'a', 10)
    client.create('vms', 'b', 10)
    assert client.exists('vms', 'a') and client.size('vms', 'b') == 10
    assert len(client.fake.connections) == 1
    conf = client.fake.connections[0].conf
    assert conf['rados_osd_op_timeout'] == conf['rados_mon_op_timeout'] \
        == '2'


def test_remove_unprotects_and_removes_snapshots_first(client):
    client.create('vms', 'disk', 10)
    client.create_snap('vms', 'disk', 'nova-resize')
    client.create_snap('vms', 'disk', 'held', protect=True)
    assert client.remove('vms', 'disk') is True
    assert 'disk' not in client.fake.pools['vms']
    assert client.remove('vms', 'disk') is False


def test_blocklisted_connection_is_replaced(client):
    client.create('vms', 'a', 10)
    client.fake.fail_next.append(fake_ceph.ConnectionShutdown('blocklisted'))
    with pytest.raises(exceptions.CephError):
        client.size('vms', 'a')
    first = client.fake.connections[0]
    assert first.state == 'shutdown'
    assert client.size('vms', 'a') == 10
    assert len(client.fake.connections) == 2


def test_connection_is_not_shut_down_under_a_running_call(
        client, monkeypatch):
    # Two callers on two OS threads: native-thread mode, whatever the
    # fixture's mode (handle bookkeeping does not depend on it).
    monkeypatch.setattr(runner.utils, 'concurrency_mode_threading',
                        lambda: True)
    client.create('vms', 'a', 10)
    client.fake.gate = threading.Event()
    result = {}
    worker = threading.Thread(
        target=lambda: result.setdefault('size', client.size('vms', 'a')))
    worker.start()
    time.sleep(0.2)
    client._drop_connection()
    first = client.fake.connections[0]
    assert first.state == 'connected'      # still used by the call
    client.fake.gate.set()
    worker.join(5)
    assert result == {'size': 10}
    assert first.state == 'shutdown'       # the call's end retired it


def test_a_hung_call_ends_at_its_deadline(client):
    client.create('vms', 'a', 10)
    client.fake.gate = threading.Event()   # never set: the call hangs
    started = time.monotonic()
    with pytest.raises(exceptions.CephTimeout) as info:
        client.size('vms', 'a')
    assert 'did not finish within' in str(info.value)
    assert time.monotonic() - started < 10
    client.fake.gate.set()


@pytest.mark.parametrize('error,expected', [
    (fake_ceph.PermissionError('EPERM'), exceptions.RbdPermissionDenied),
    (fake_ceph.ImageBusy('watchers'), exceptions.RbdBusy),
    (fake_ceph.ImageNotFound('gone'), exceptions.RbdNotFound),
    (fake_ceph.TimedOut('slow'), exceptions.CephTimeout),
    (fake_ceph.Error('other'), exceptions.CephError),
])
def test_librbd_errors_become_plugin_errors(client, error, expected):
    client.create('vms', 'a', 10)
    client.fake.fail_next.append(error)
    with pytest.raises(expected):
        client.size('vms', 'a')


def test_permission_denied_is_nova_forbidden(client):
    client.fake.fail_next.append(fake_ceph.PermissionError('EPERM'))
    with pytest.raises(nova_exception.Forbidden) as info:
        client.create('images', 'x', 1)
    assert 'client.nova may not create images/x' in str(info.value)


def test_programming_errors_are_not_disguised(client):
    with pytest.raises(ZeroDivisionError):
        client.call('divide', lambda: 1 / 0)


def test_process_wide_client_per_conf_and_user(monkeypatch):
    fake_ceph.install(monkeypatch)
    try:
        a = ceph_client.get_client('/c', 'nova', 5, 30, 8)
        assert ceph_client.get_client('/c', 'nova', 5, 30, 8) is a
        assert ceph_client.get_client('/c', 'nova2', 5, 30, 8) is not a
    finally:
        ceph_client.reset_clients()


def test_create_replace_takes_over_a_leftover(client):
    client.create('vms', 'x.part', 10)
    client.create_snap('vms', 'x.part', 'left', protect=True)
    with pytest.raises(exceptions.CephError):
        client.create('vms', 'x.part', 20)
    client.create('vms', 'x.part', 20, replace=True)
    assert client.size('vms', 'x.part') == 20
    assert client.snaps('vms', 'x.part') == []


def test_grow_only_grows_and_reports_the_former_size(client):
    client.create('vms', 'd', 10)
    assert client.grow('vms', 'd', 30) == 10
    assert client.grow('vms', 'd', 20) == 30
    assert client.size('vms', 'd') == 30
