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
"""Reading and writing image data: single writes, sparse import/export."""

import collections
import os

from oslo_log import log as logging

from nova_rbd_imagebackend.ceph import runner
from nova_rbd_imagebackend import exceptions

LOG = logging.getLogger(__name__)


class DataOps(object):
    """Mixed into CephClient: moving bytes in and out of images."""

    def write(self, pool, name, data, offset):
        def run():
            with self._open(pool, name) as image:
                image.write(data, offset)
        self.call('write', run, '%s/%s' % (pool, name))

    def read(self, pool, name, offset, length, snapshot=None):
        def run():
            with self._open(pool, name, snapshot, read_only=True) as image:
                return image.read(offset, length)
        return self.call('read', run, '%s/%s' % (pool, name))

    def import_sparse(self, path, pool, name, extents, progress=None,
                      window=8):
        """Copy only ``extents`` of the file into ``name``.

        ``extents`` yields (offset, length) of the file's data regions;
        holes are never read.  See ``write_blocks``.
        """
        def blocks():
            with open(path, 'rb') as src:
                for offset, length in extents:
                    src.seek(offset)
                    yield offset, src.read(length)
        return self.write_blocks(pool, name, blocks(), os.path.getsize(path),
                                 progress, window)

    def write_blocks(self, pool, name, blocks, size, progress=None,
                     window=8):
        """Write (offset, data) ``blocks`` into ``name``; return bytes written.

        ``name`` must exist with ``size`` bytes (disks/inflight.py
        creates it, recorded).  Zero-filled blocks are skipped, so the
        image stays sparse.  One open image, up to ``window`` writes in
        flight.

        The deadline counts from the last completed write or block read
        from the source, and the copy stops at the first failed write:
        when the cluster stops answering, the caller hears of it one
        deadline later, however large the image.  On failure the worker
        removes ``name`` once librbd lets go of it; if the cluster is
        still away then, it stays for the audit (or for the next import of
        the same name, which replaces it).
        """
        beat = runner.Progress()

        def copy():
            pending = collections.deque()
            failures = []

            def done(completion):
                if completion.get_return_value() < 0:
                    failures.append(completion.get_return_value())
                else:
                    beat.beat()

            def check():
                if failures:
                    raise exceptions.CephError(
                        op='import', reason='%d writes failed (first error '
                        '%d)' % (len(failures), failures[0]))

            written = 0
            with self._open(pool, name) as image:
                for offset, data in blocks:
                    beat.beat()
                    # The new image reads as zeroes already.
                    if not _zeroes(data):
                        while len(pending) >= window:
                            pending.popleft()[0].wait_for_complete_and_cb()
                        check()
                        # The buffer stays referenced until it is written.
                        pending.append((image.aio_write(data, offset, done),
                                        data))
                        written += len(data)
                    if progress:
                        progress(offset + len(data), size)
                while pending:
                    pending.popleft()[0].wait_for_complete_and_cb()
                check()
                image.flush()
            return written

        def run():
            try:
                return copy()
            except Exception:
                self._remove_partial(pool, name)
                raise
        return self.call('import', run, '%s/%s' % (pool, name),
                         progress=beat, undo=lambda: self._remove(pool, name))

    def _remove_partial(self, pool, name):
        try:
            self._remove(pool, name)
        except Exception as exc:
            LOG.error('Could not remove %s/%s after a failed import (%s); '
                      'the next import of it replaces it', pool, name, exc)
        else:
            LOG.info('Removed %s/%s after a failed import', pool, name)

    def export_sparse(self, pool, name, snapshot, dst_file, chunk, progress):
        """Write the image's allocated extents into an open file."""
        def extents():
            found = []

            def record(offset, length, exists):
                if exists:
                    found.append((offset, length))
                return 0
            with self._open(pool, name, snapshot, read_only=True) as image:
                size = image.size()
                image.diff_iterate(0, size, None, record)
            return size, found
        size, found = self.call('map extents', extents,
                                '%s/%s@%s' % (pool, name, snapshot))
        dst_file.truncate(size)
        done = 0
        for offset, length in found:
            end = offset + length
            while offset < end:
                step = min(chunk, end - offset)
                dst_file.seek(offset)
                dst_file.write(self.read(pool, name, offset, step, snapshot))
                offset += step
                done += step
                progress(done, size)
        return size


_ZEROES = bytes(4 * 2 ** 20)


def _zeroes(data):
    """Whether ``data`` is all zero bytes (a memcmp for whole blocks)."""
    if len(data) == len(_ZEROES):
        return data == _ZEROES
    return data.count(0) == len(data)
