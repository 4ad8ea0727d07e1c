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
"""An import whose cluster stops answering fails in one deadline.

A cluster of its own: the test freezes its OSD (SIGSTOP) a quarter of the
way through importing a file, so every write in flight hangs.
"""

import os
import signal
import time

import pytest

from nova_rbd_imagebackend.ceph import client as ceph_client
from nova_rbd_imagebackend.disks import imports
from nova_rbd_imagebackend import exceptions
from sandbox import ceph

MiB = 1024 ** 2
OP_TIMEOUT = 3


@pytest.fixture
def private_cluster(ceph_sandbox, tmp_path):
    # ceph_sandbox: only so that a host without Ceph skips (or fails in CI)
    # the same way as the rest of the layer.
    box = ceph.CephSandbox.start(str(tmp_path / 'ceph'),
                                 osd_bytes=2 * 1024 ** 3)
    yield box
    box.stop()


def test_import_stops_at_the_first_failed_write(private_cluster, tmp_path):
    osd = private_cluster.pids['osd.0']
    source = tmp_path / 'image.raw'
    data = os.urandom(MiB) * 128
    source.write_bytes(data)
    client = ceph_client.CephClient(private_cluster.conf_path, 'nova',
                                    OP_TIMEOUT, OP_TIMEOUT, 4)
    frozen = {}
    real_import = client.import_sparse

    def import_then_freeze(path, pool, name, extents, progress=None,
                           **kwargs):
        def report(done, total):
            if not frozen and done >= total // 4:
                os.kill(osd, signal.SIGSTOP)
                frozen['at'] = time.monotonic()
            return progress(done, total) if progress else 0
        return real_import(path, pool, name, extents, report, **kwargs)
    client.import_sparse = import_then_freeze
    try:
        with pytest.raises(exceptions.CephError) as info:
            imports.import_file(client, 'vms', str(source), 'disk-a')
        took = time.monotonic() - frozen['at']
    finally:
        os.kill(osd, signal.SIGCONT)
    print('import failed %.1f s after the OSD froze: %s'
          % (took, info.value.format_message()))
    # The deadline counts from the last completed write, not from the
    # start of a copy that may take minutes.
    assert took < 2 * OP_TIMEOUT
    assert 'did not finish within %d s' % OP_TIMEOUT in str(info.value)

    # The retry on a live cluster takes over the leftover .part, once the
    # abandoned worker has let go of it.
    client.import_sparse = real_import
    thawed = time.monotonic()
    while True:
        try:
            imports.import_file(client, 'vms', str(source), 'disk-a')
            break
        except exceptions.RbdBusy:
            assert time.monotonic() - thawed < 30
            time.sleep(0.5)
    print('retry done %.1f s after the thaw' % (time.monotonic() - thawed))
    assert client.list_prefix('vms', 'disk-a') == ['disk-a']
    assert client.read('vms', 'disk-a', 77 * MiB, MiB) == data[
        77 * MiB:78 * MiB]
    client.close()
