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
"""Read a non-raw image as raw: qemu-nbd converts, over HTTP, nothing local.

qemu-nbd opens the image through QEMU's curl driver (range requests to
disks/range_proxy.py) and serves its guest-visible content, read-only,
on a Unix socket in a private folder; disks/nbd_reader.py reads it.
QEMU never touches the cluster: every write to Ceph stays in this
process, under its writer record and lease.  qemu-nbd is started with
backing files disabled (the format inspector refuses them before, this
is the second lock), dies with this process (PR_SET_PDEATHSIG), and
exits when its one client disconnects.
"""

import contextlib
import ctypes
import json
import os
import shutil
import signal
import subprocess
import time

from oslo_log import log as logging

from nova_rbd_imagebackend.disks import nbd_reader
from nova_rbd_imagebackend.disks import staging

LOG = logging.getLogger(__name__)
# Glance's disk_format: QEMU's driver for it.
DRIVERS = {'qcow2': 'qcow2', 'vmdk': 'vmdk', 'vdi': 'vdi', 'vhd': 'vpc',
           'vhdx': 'vhdx'}
# Formats whose header can name a backing file.
WITH_BACKING = ('qcow2', 'vmdk')
# QEMU's curl driver reads this much beyond each request it misses.
READAHEAD = 4 * 2 ** 20
_PR_SET_PDEATHSIG = 1
_START_POLL = 0.05


# Opening a URL nothing listens on: QEMU with its curl driver fails to
# connect; without it, it does not know the driver.
_CURL_PROBE = 'json:' + json.dumps({'driver': 'http',
                                    'url': 'http://127.0.0.1:1/'})


def unavailable():
    """Why qemu-nbd cannot convert from HTTP here, or None if it can."""
    if not shutil.which('qemu-nbd'):
        return 'qemu-nbd is not on the PATH'
    if not shutil.which('qemu-img'):
        return 'qemu-img is not on the PATH'
    probe = subprocess.run(['qemu-img', 'info', _CURL_PROBE],
                           stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=30)
    if 'CURL' not in probe.stderr:
        return "QEMU's curl block driver is missing (%s)" % (
            probe.stderr.strip() or 'qemu-img printed nothing')
    return None


class ExportFailed(Exception):
    """qemu-nbd did not start, or stopped serving."""


def source_of(url, disk_format, timeout):
    """The qemu block options opening ``url`` as ``disk_format``."""
    source = {'driver': DRIVERS[disk_format],
              'file': {'driver': 'http', 'url': url,
                       'readahead': READAHEAD, 'timeout': timeout}}
    if disk_format in WITH_BACKING:
        source['backing'] = None
    return 'json:' + json.dumps(source)


@contextlib.contextmanager
def exported(url, disk_format, timeout):
    """An nbd_reader.Export of the image at ``url``, raw.

    :param timeout: seconds one HTTP request, the start of qemu-nbd, or
        one read may take.
    :raises ExportFailed: with qemu-nbd's own message.
    """
    with staging.staging_dir() as folder:
        socket_path = os.path.join(folder, 'nbd.sock')
        log_path = os.path.join(folder, 'qemu-nbd.log')
        with open(log_path, 'wb') as log:
            process = subprocess.Popen(
                ['qemu-nbd', '--read-only', '--socket', socket_path,
                 source_of(url, disk_format, timeout)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                preexec_fn=_die_with_parent)
        try:
            export = _connect(process, socket_path, log_path, timeout)
            try:
                yield export
            finally:
                export.close()
        finally:
            _stop(process)


def _connect(process, socket_path, log_path, timeout):
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise ExportFailed(_last_words(log_path) or
                               'qemu-nbd exited with %d' % process.returncode)
        if os.path.exists(socket_path):
            try:
                return nbd_reader.Export(socket_path, timeout)
            except ConnectionRefusedError:
                pass  # bound, not listening yet
        if time.monotonic() > deadline:
            raise ExportFailed('qemu-nbd did not serve the image within '
                               '%d s' % timeout)
        time.sleep(_START_POLL)


def _stop(process):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _last_words(log_path):
    with open(log_path, 'rb') as f:
        return f.read()[-2000:].decode('utf-8', 'replace').strip()


def _die_with_parent():
    # Runs in the child between fork and exec: a qemu-nbd whose compute
    # process was killed must not serve on.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
