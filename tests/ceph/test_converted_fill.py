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
"""Images that are not raw, converted into the pool image cache on the way.

qemu-nbd reads a real qcow2 (vmdk, vdi, vhd, vhdx) file by HTTP ranges
through the plugin's range server and its raw content goes into a real
cluster; nothing of the image is stored on the host.  The "Glance" here
serves a local file's bytes; tests/glance/test_pool_cache_glance.py runs
the same through Nova against a real glance-api.
"""

import hashlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

import nova.conf
from oslo_config import fixture as config_fixture
import pytest
import rbd

from nova_rbd_imagebackend.ceph import client as ceph_client
from nova_rbd_imagebackend import conf as plugin_conf
from nova_rbd_imagebackend.disks import converted_source
from nova_rbd_imagebackend.disks import pool_cache
from nova_rbd_imagebackend.disks import qemu_export
from nova_rbd_imagebackend.disks import range_proxy
from nova_rbd_imagebackend.disks import staging
from nova_rbd_imagebackend import exceptions
from tests.ceph import cache_worker

MiB = 2 ** 20
TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
# Glance's disk_format: qemu-img's name for it.
QEMU_FORMATS = {'qcow2': 'qcow2', 'vmdk': 'vmdk', 'vdi': 'vdi',
                'vhd': 'vpc', 'vhdx': 'vhdx'}


@pytest.fixture
def instances(tmp_path):
    from nova import config as nova_config  # noqa: F401 (registers opts)
    plugin_conf.register_opts(nova.conf.CONF)
    fixture = config_fixture.Config(nova.conf.CONF)
    fixture.setUp()
    path = tmp_path / 'instances'
    path.mkdir()
    fixture.config(instances_path=str(path))
    yield path
    fixture.cleanUp()


@pytest.fixture
def client(ceph_sandbox):
    client = ceph_client.CephClient(ceph_sandbox.conf_path, 'nova', 10, 30, 4)
    yield client
    client.close()


class Glance(object):
    """A file's bytes, in order and by ranges, as Glance serves them."""

    def __init__(self, data, instances):
        self.data = data
        self.instances = instances
        self.ranges = []
        self.most_on_host = 0

    def chunks(self, fail_at_end=None):
        for offset in range(0, len(self.data), 64 * 1024):
            yield self.data[offset:offset + 64 * 1024]
        if fail_at_end:
            raise IOError(fail_at_end)

    def read_range(self, start, end):
        self.ranges.append((start, end))
        # What the host holds meanwhile, besides the image's source file.
        self.most_on_host = max(self.most_on_host, _bytes_under(
            self.instances))
        yield self.data[start:end + 1]


def _bytes_under(path):
    return sum(os.path.getsize(os.path.join(d, f))
               for d, _dirs, files in os.walk(path) for f in files
               if not f.endswith('.sock'))


def _raw_data(image_id, mib):
    return b''.join(cache_worker.image_data(image_id, mib))


def _converted(tmp_path, raw, disk_format, *options):
    src, dst = tmp_path / 'src.raw', tmp_path / ('src.' + disk_format)
    src.write_bytes(raw)
    subprocess.run(['qemu-img', 'convert', '-f', 'raw', '-O',
                    QEMU_FORMATS[disk_format], *options, str(src), str(dst)],
                   check=True, capture_output=True)
    return dst.read_bytes()


def _new_image(tmp_path, instances, disk_format, mib):
    """(image id, a stand-in Glance serving it, a disk name to fill)."""
    image_id = str(uuid.uuid4())
    data = _converted(tmp_path, _raw_data(image_id, mib), disk_format)
    return image_id, Glance(data, instances), '%s_disk' % uuid.uuid4()


def _fill(client, glance, disk_format, dst, key, fail_at_end=None,
          read_range=None):
    fill = converted_source.from_glance(
        lambda: glance.chunks(fail_at_end), read_range or glance.read_range,
        len(glance.data), disk_format, 10)
    return pool_cache.clone(client, 'vms', key, dst, fill, 60, 30)


def _key(image_id, data):
    return pool_cache.Key(image_id, 'sha512',
                          hashlib.sha512(data).hexdigest())


def _read_all(connect_as, name):
    with connect_as('admin').open_ioctx('vms') as vms:
        with rbd.Image(vms, name, read_only=True) as image:
            return image.read(0, image.size())


def _allocated(connect_as, name):
    used = []

    def extent(offset, length, exists):
        if exists:
            used.append(length)
    with connect_as('admin').open_ioctx('vms') as vms:
        with rbd.Image(vms, name, read_only=True) as image:
            image.diff_iterate(0, image.size(), None, extent)
    return sum(used)


def _nothing_left(client, instances, image_id, dst):
    assert [n for n in client.list_prefix('vms', pool_cache.PREFIX)
            if image_id in n] == []
    assert client.list_prefix('vms', dst) == []
    assert os.listdir(instances) == []


@pytest.mark.parametrize('disk_format', sorted(QEMU_FORMATS))
def test_an_image_is_converted_by_ranges_without_a_local_copy(
        client, connect_as, instances, tmp_path, disk_format):
    image_id = str(uuid.uuid4())
    raw = _raw_data(image_id, 24)
    data = _converted(tmp_path, raw, disk_format)
    glance = Glance(data, instances)
    dst = '%s_disk' % uuid.uuid4()

    assert _fill(client, glance, disk_format, dst, _key(image_id, data))

    name = pool_cache.image_name(_key(image_id, data))
    assert client.parent('vms', dst) == ('vms', name, pool_cache.SNAP)
    content = _read_all(connect_as, dst)
    # A vhd's disk size is rounded up to its geometry, zeroes at the end.
    assert content[:len(raw)] == raw and not any(content[len(raw):])
    # Every third 4 MiB of the image is zeroes: never written.
    assert _allocated(connect_as, name) == 16 * MiB
    # QEMU read by ranges, and nothing of the image was stored here: the
    # staging folder held a socket and qemu-nbd's (empty) log only.
    assert len(glance.ranges) > 1
    assert glance.most_on_host < 64 * 1024
    assert os.listdir(instances) == []
    client.remove('vms', dst)
    client.remove('vms', name)


@pytest.mark.parametrize('option', ['backing_file=%s,backing_fmt=raw',
                                    'data_file=%s,data_file_raw=on'],
                         ids=['backing file', 'data file'])
def test_a_qcow2_naming_a_host_file_is_refused_before_qemu_opens_it(
        client, instances, tmp_path, option):
    image_id = str(uuid.uuid4())
    # Stands for a file of the host's (never name a real one here:
    # creating a qcow2 with a data file resizes that file).
    host_file = tmp_path / 'secret'
    host_file.write_bytes(b'secret\n')
    path = tmp_path / 'malicious.qcow2'
    subprocess.run(['qemu-img', 'create', '-f', 'qcow2', '-o',
                    option % host_file, str(path), '64M'], check=True,
                   capture_output=True)
    glance = Glance(path.read_bytes(), instances)
    dst = '%s_disk' % uuid.uuid4()
    with pytest.raises(exceptions.CacheFillFailed) as caught:
        _fill(client, glance, 'qcow2', dst, _key(image_id, glance.data))
    assert 'does not pass the format safety check' in \
        caught.value.format_message()
    assert glance.ranges == []  # QEMU never saw it
    _nothing_left(client, instances, image_id, dst)


def test_content_of_another_format_is_refused(client, instances, tmp_path):
    image_id, glance, dst = _new_image(tmp_path, instances, 'vmdk', 4)
    with pytest.raises(exceptions.CacheFillFailed) as caught:
        _fill(client, glance, 'qcow2', dst, _key(image_id, glance.data))
    assert 'registered as qcow2, but its content is vmdk' in \
        caught.value.format_message()
    assert glance.ranges == []
    _nothing_left(client, instances, image_id, dst)


def test_a_hash_mismatch_fails_the_fill_and_nothing_is_left(
        client, instances, tmp_path):
    image_id, glance, dst = _new_image(tmp_path, instances, 'qcow2', 8)
    with pytest.raises(exceptions.CacheFillFailed) as caught:
        # What the Glance client raises when its hash check fails.
        _fill(client, glance, 'qcow2', dst, _key(image_id, glance.data),
              fail_at_end='Corrupt image download. Hash was x expected y')
    assert "does not match the image's recorded hash" in \
        caught.value.format_message()
    _nothing_left(client, instances, image_id, dst)


def test_glance_failing_a_range_fails_the_fill_with_its_reason(
        client, instances, tmp_path):
    image_id, glance, dst = _new_image(tmp_path, instances, 'qcow2', 16)

    def failing(start, end):
        if glance.ranges:
            raise IOError('connection reset by Glance')
        return glance.read_range(start, end)
    with pytest.raises(exceptions.CacheFillFailed) as caught:
        _fill(client, glance, 'qcow2', dst, _key(image_id, glance.data),
              read_range=failing)
    assert 'connection reset by Glance' in caught.value.format_message()
    _nothing_left(client, instances, image_id, dst)


def test_the_range_server_serves_its_token_only():
    with range_proxy.RangeServer(10, lambda s, e: [b'0123456789'[s:e + 1]]
                                 ) as server:
        request = urllib.request.Request(server.url,
                                         headers={'Range': 'bytes=2-4'})
        with urllib.request.urlopen(request, timeout=10) as resp:
            assert (resp.status, resp.read()) == (206, b'234')
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(server.url + 'x', timeout=10)
        assert caught.value.code == 404


def test_qemu_nbd_stops_when_its_process_is_killed(instances, tmp_path):
    # Killed before it connected: qemu-nbd would wait for a client for
    # ever; after, its one client's disconnection ends it too.
    image = tmp_path / 'image.qcow2'
    subprocess.run(['qemu-img', 'create', '-f', 'qcow2', str(image), '16M'],
                   check=True, capture_output=True)
    holder = subprocess.Popen(
        [sys.executable, '-c', HOLD_EXPORT, str(image), str(instances)],
        cwd=TOP, stdout=subprocess.PIPE, text=True)
    qemu_nbd = None
    try:
        assert holder.stdout.readline().strip() == 'serving'
        [qemu_nbd] = _children(holder.pid)
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        deadline = time.monotonic() + 10
        while os.path.exists('/proc/%d' % qemu_nbd) and \
                _state(qemu_nbd) != 'Z':
            assert time.monotonic() < deadline, 'qemu-nbd serves on'
            time.sleep(0.1)
    finally:
        holder.kill()
        holder.wait()
        if qemu_nbd and _state(qemu_nbd) not in ('Z', 'gone'):
            os.kill(qemu_nbd, signal.SIGKILL)  # not to outlive a failure


# Starts qemu-nbd through exported(), says so once it listens, and waits
# to be killed before connecting to it.
HOLD_EXPORT = '''
import os, sys, time
import nova.conf
from nova_rbd_imagebackend.disks import qemu_export, range_proxy
nova.conf.CONF([], project='nova', default_config_files=[])
nova.conf.CONF.set_override('instances_path', sys.argv[2])
data = open(sys.argv[1], 'rb').read()

def hold(process, socket_path, log_path, timeout):
    while not os.path.exists(socket_path):
        time.sleep(0.05)
    print('serving', flush=True)
    time.sleep(600)

qemu_export._connect = hold
with range_proxy.RangeServer(len(data), lambda s, e: [data[s:e + 1]]) as srv:
    with qemu_export.exported(srv.url, 'qcow2', 10):
        pass
'''


def _children(pid):
    with open('/proc/%d/task/%d/children' % (pid, pid)) as f:
        return [int(p) for p in f.read().split()]


def _state(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0]
    except FileNotFoundError:
        return 'gone'


def test_a_staging_folder_is_all_the_host_keeps_and_it_goes(instances):
    # The export's private folder (socket, qemu-nbd's log) is a staging
    # folder: the audit finds one a killed process left.
    with range_proxy.RangeServer(1, lambda s, e: [b'x']) as server:
        with pytest.raises(qemu_export.ExportFailed) as caught:
            with qemu_export.exported(server.url, 'qcow2', 10):
                pass
    assert 'qcow2' in str(caught.value)
    assert [n for n in os.listdir(instances)
            if n.startswith(staging.STAGING_PREFIX)] == []
