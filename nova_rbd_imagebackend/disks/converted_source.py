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
"""A cache image's data from an image that is not raw, converted on the way.

Glance's file is read twice, both times as a stream, never stored on
the compute host:

1. in order, through the Glance client that checks Glance's hash: the
   format inspector sees the start of it and must find the format the
   image is registered with, passing the inspector's safety check (no
   backing or data file), before QEMU opens anything;
2. by ranges, wherever QEMU's driver for the format looks: qemu-nbd
   (disks/qemu_export.py) reads Glance through the local range server
   (disks/range_proxy.py) and serves the raw content, which goes into
   the pool in blocks, zeroes skipped, as a raw image's would.

The first read goes on to the end on a thread of its own while the
second runs; the cache image is published only when both have ended
and the hash matched.  Reading twice costs Glance's bandwidth, not the
host's disk: a 40 GiB qcow2 needs no 40 GiB of local space.
"""

import threading
import time

from oslo_log import log as logging
from oslo_utils.imageutils import format_inspector

from nova_rbd_imagebackend.disks import cache_sources
from nova_rbd_imagebackend.disks import nbd_reader
from nova_rbd_imagebackend.disks import qemu_export
from nova_rbd_imagebackend.disks import range_proxy
from nova_rbd_imagebackend import exceptions

LOG = logging.getLogger(__name__)
STREAMABLE = tuple(qemu_export.DRIVERS)


def from_glance(open_chunks, read_range, file_size, disk_format, timeout):
    """A fill converting Glance's ``disk_format`` image to raw.

    :param open_chunks: returns the image's bytes in order, checked
        against Glance's hash by the client (a mismatch fails the read).
    :param read_range: ``read_range(start, end)``: the bytes from
        ``start`` to ``end`` inclusive.
    :param file_size: the size of Glance's file (not the disk's).
    :param timeout: seconds one read of either kind may stall.
    """
    def fill(client, pool, part, renew):
        where = '%s/%s' % (pool, part)
        source = iter(open_chunks())
        _inspect(source, disk_format, where)
        rest = _Drain(source)
        failure = None
        try:
            with range_proxy.RangeServer(file_size, read_range) as server:
                try:
                    _convert(client, pool, part, renew, server, disk_format,
                             timeout, rest)
                except (qemu_export.ExportFailed, nbd_reader.NbdError,
                        OSError) as exc:
                    failure = _conversion_failure(exc, server.error)
            if failure is None:
                rest.wait(renew, timeout)
        finally:
            rest.stop = True
        # A hash mismatch explains any failure of the conversion too.
        if rest.error is not None:
            failure = cache_sources.read_failure(rest.error)
        if failure is not None:
            raise exceptions.CacheFillFailed(name=where, reason=failure)
    return fill


def _convert(client, pool, part, renew, server, disk_format, timeout, rest):
    with qemu_export.exported(server.url, disk_format, timeout) as export:
        size = export.size
        LOG.info('Converting %s image into %s/%s (%d bytes) from Glance '
                 'by ranges, without a local copy', disk_format, pool, part,
                 size)
        client.create(pool, part, size)
        blocks = cache_sources.blocks_of(_reads(export), None, [0])
        cache_sources.write(client, pool, part, blocks, size, renew,
                            rest.check)


def _reads(export, step=cache_sources.BLOCK):
    for offset in range(0, export.size, step):
        yield export.read(offset, min(step, export.size - offset))


def _inspect(source, disk_format, where):
    """Refuse the image unless its start shows ``disk_format``, safely.

    Nova's rules for a download (nova.virt.images): the format detected
    must be the one registered, and must pass the safety check.
    """
    inspected = format_inspector.InspectWrapper(source)
    for _chunk in inspected:
        if inspected.formats is not None:
            break
    cache_sources.check_format(inspected, where, disk_format, (disk_format,))


def _conversion_failure(exc, read_error):
    if read_error is not None:
        return cache_sources.read_failure(read_error)
    return 'qemu-nbd could not convert the image: %s' % exc


class _Drain(threading.Thread):
    """Reads the rest of Glance's in-order stream, for its hash check."""

    def __init__(self, source):
        super().__init__(daemon=True)
        self.source = source
        self.error = None
        self.stop = False
        self.read = 0
        self.start()

    def run(self):
        try:
            for chunk in self.source:
                self.read += len(chunk)
                if self.stop:
                    return
        except Exception as exc:
            self.error = exc

    def check(self):
        """Raise now if the in-order read failed (a hash mismatch)."""
        if self.error is not None:
            raise self.error

    def wait(self, renew, timeout):
        """Wait for the end, renewing the lease; fail if it stalls."""
        seen, since = self.read, time.monotonic()
        while self.is_alive():
            self.join(1.0)
            renew()
            if self.read != seen:
                seen, since = self.read, time.monotonic()
            elif time.monotonic() - since > timeout:
                self.error = IOError('Glance sent nothing for %d s' %
                                     timeout)
                return
