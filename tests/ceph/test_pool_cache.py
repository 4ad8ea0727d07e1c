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
"""The pool image cache on a real cluster: one fill, then clones.

Several processes stand for compute hosts booting the same image; the
image's data streams in as Glance would send it (tests/ceph/cache_worker.py
makes it up).  tests/glance/test_pool_cache_glance.py runs the same
through Nova's code against a real glance-api.
"""

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
import rados
import rbd

from nova_rbd_imagebackend.ceph import client as ceph_client
from nova_rbd_imagebackend.disks import cache_aging
from nova_rbd_imagebackend.disks import cache_sources
from nova_rbd_imagebackend.disks import pool_cache
from nova_rbd_imagebackend import exceptions
from tests.ceph import cache_worker

MiB = 2 ** 20
TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


@pytest.fixture
def client(ceph_sandbox):
    client = ceph_client.CephClient(ceph_sandbox.conf_path, 'nova', 10, 30, 4)
    yield client
    client.close()


def _worker(ceph_sandbox, image_id, mib, dst, lease=60, pause=0.0):
    return subprocess.Popen(
        [sys.executable, '-m', 'tests.ceph.cache_worker',
         ceph_sandbox.conf_path, 'nova', 'vms', image_id, str(mib), dst,
         str(lease), str(pause)],
        cwd=TOP, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _result(proc):
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]
    return out.splitlines()


def _expected(image_id, mib):
    return b''.join(cache_worker.image_data(image_id, mib))


def _read_all(admin_vms, name):
    with rbd.Image(admin_vms, name, read_only=True) as image:
        return image.read(0, image.size())


def _cache_names(client, image_id):
    return [n for n in client.list_prefix('vms', pool_cache.PREFIX)
            if image_id in n]


def _clean(client, names):
    for name in names:
        client.remove('vms', name)


def test_first_boot_fills_and_every_boot_clones(client, connect_as):
    image_id, mib = str(uuid.uuid4()), 12
    key = cache_worker.key_of(image_id, mib)
    disks = ['%s_disk' % uuid.uuid4() for _ in range(3)]
    vms = connect_as('admin').open_ioctx('vms')
    fills = []

    def chunks():
        fills.append(1)
        return cache_worker.image_data(image_id, mib)
    fill = cache_sources.from_stream(chunks, mib * MiB, key)
    outcomes = [pool_cache.clone(client, 'vms', key, d, fill, 60, 30)
                for d in disks]

    assert outcomes == [True, False, False] and len(fills) == 1
    name = pool_cache.image_name(key)
    assert _cache_names(client, image_id) == [name]
    for d in disks:
        assert client.parent('vms', d) == ('vms', name, pool_cache.SNAP)
        assert _read_all(vms, d) == _expected(image_id, mib)
    # Zeroes were never written: the cache image stays sparse.
    used = []

    def extent(offset, length, exists):
        if exists:
            used.append(length)
    with rbd.Image(vms, name, read_only=True) as image:
        image.diff_iterate(0, image.size(), None, extent)
    assert sum(used) == 8 * MiB

    # Aging: kept while clones exist, removed with its lease object after.
    assert cache_aging.prune(client, 'vms', 0) == []
    _clean(client, disks)
    assert cache_aging.prune(client, 'vms', 3600) == []   # used just now
    assert cache_aging.prune(client, 'vms', 0) == [name]
    assert _cache_names(client, image_id) == []
    assert client.all_records('vms', pool_cache.lease_object(name)) == {}


def test_hosts_booting_at_once_fill_once(ceph_sandbox, client, connect_as):
    image_id, mib = str(uuid.uuid4()), 24
    disks = ['%s_disk' % uuid.uuid4() for _ in range(4)]
    procs = [_worker(ceph_sandbox, image_id, mib, d, pause=0.02)
             for d in disks]
    outputs = [_result(p) for p in procs]

    fillers = [o for o in outputs if 'filling' in o]
    assert len(fillers) == 1, outputs
    vms = connect_as('admin').open_ioctx('vms')
    name = _cache_names(client, image_id)
    assert len(name) == 1
    for d in disks:
        assert client.parent('vms', d) == ('vms', name[0], pool_cache.SNAP)
    assert _read_all(vms, disks[-1]) == _expected(image_id, mib)
    _clean(client, disks + name)


def test_a_fill_killed_midway_is_replaced_by_the_next_boot(
        ceph_sandbox, client, connect_as):
    image_id, mib, lease = str(uuid.uuid4()), 32, 5
    first, second = ['%s_disk' % uuid.uuid4() for _ in range(2)]
    proc = _worker(ceph_sandbox, image_id, mib, first, lease=lease,
                   pause=0.2)
    assert proc.stdout.readline().strip() == 'filling'
    time.sleep(2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    key = cache_worker.key_of(image_id, mib)
    part = pool_cache.image_name(key) + '.part'
    assert part in client.list_prefix('vms', pool_cache.PREFIX)

    started = time.monotonic()
    out = _result(_worker(ceph_sandbox, image_id, mib, second, lease=lease))
    assert out[0] == 'filling'
    # It waited for the dead host's lease to lapse, no longer.
    assert time.monotonic() - started < 60
    vms = connect_as('admin').open_ioctx('vms')
    assert _read_all(vms, second) == _expected(image_id, mib)
    assert first not in client.list_prefix('vms', first[:36])
    assert _cache_names(client, image_id) == [pool_cache.image_name(key)]
    _clean(client, [second, pool_cache.image_name(key)])


def test_the_audit_removes_a_killed_fill_nobody_retries(
        ceph_sandbox, client, connect_as, tmp_path):
    from nova_rbd_imagebackend.disks import audit
    image_id, mib, lease = str(uuid.uuid4()), 32, 5
    proc = _worker(ceph_sandbox, image_id, mib, '%s_disk' % uuid.uuid4(),
                   lease=lease, pause=0.2)
    assert proc.stdout.readline().strip() == 'filling'
    time.sleep(1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    name = pool_cache.image_name(cache_worker.key_of(image_id, mib))
    vms = connect_as('admin').open_ioctx('vms')
    assert _lease_object_exists(vms, name)
    deadline = time.monotonic() + 60  # until its watch times out
    while True:
        found = [f for f in audit.find(client, 'vms', str(tmp_path), 0)
                 if name in f.where]
        if found or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert [f.kind for f in found] == ['partial']
    # Kept while the dead filler's lease has not lapsed, then removed.
    deadline = time.monotonic() + 4 * lease
    while True:
        ((_finding, outcome),) = audit.purge(client, found)
        if outcome != 'kept: a lease on it is still held' or \
                time.monotonic() > deadline:
            break
        time.sleep(1)
    assert outcome == 'removed'
    assert _cache_names(client, image_id) == []
    assert client.list_prefix('vms', pool_cache.PREFIX + image_id) == []
    assert not _lease_object_exists(vms, name)


def _lease_object_exists(vms, name):
    try:
        vms.stat(pool_cache.lease_object(name))
        return True
    except rados.ObjectNotFound:
        return False


def _refused(client, image_id, chunks, size, key, vms):
    dst = '%s_disk' % uuid.uuid4()
    with pytest.raises(exceptions.CacheFillFailed) as caught:
        pool_cache.clone(client, 'vms', key, dst,
                         cache_sources.from_stream(lambda: chunks, size, key),
                         60, 30)
    assert _cache_names(client, image_id) == []
    assert client.list_prefix('vms', dst) == []
    # Not even the (tiny) lease object of the fill is left.
    assert not _lease_object_exists(vms, pool_cache.image_name(key))
    return caught.value.format_message()


def test_a_hash_mismatch_is_refused_and_nothing_is_left(client, connect_as):
    image_id, mib = str(uuid.uuid4()), 4
    key = cache_worker.key_of(image_id, mib)._replace(digest='0' * 128)
    message = _refused(client, image_id,
                       cache_worker.image_data(image_id, mib), mib * MiB,
                       key, connect_as('admin').open_ioctx('vms'))
    assert message.startswith("Glance's data does not match the image's "
                              'sha512 hash')
    assert 'Glance records 0000000000000000...' in message


def test_qcow2_content_registered_as_raw_is_refused(client, tmp_path,
                                                    connect_as):
    qemu_img = '/usr/bin/qemu-img'
    if not os.path.exists(qemu_img):
        pytest.skip('qemu-img is not installed')
    image_id = str(uuid.uuid4())
    host_file = tmp_path / 'secret'  # stands for a file of the host's
    host_file.write_bytes(b'secret\n')
    path = tmp_path / 'backed.qcow2'
    subprocess.run([qemu_img, 'create', '-f', 'qcow2', '-b', str(host_file),
                    '-F', 'raw', str(path), '64M'], check=True,
                   capture_output=True)
    data = path.read_bytes()
    key = pool_cache.Key(image_id, 'sha512', __import__('hashlib').sha512(
        data).hexdigest())
    message = _refused(client, image_id, iter([data]), len(data), key,
                       connect_as('admin').open_ioctx('vms'))
    assert 'registered as raw' in message or 'safety check' in message
