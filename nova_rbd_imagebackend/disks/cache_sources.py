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
"""Where a pool cache image's data comes from: Glance's stream or a file.

A raw image streams from Glance straight into the pool: no copy on the
compute host's disk, at most two batches of it in memory, zero blocks
skipped.  On the way its format is inspected with the rules Nova applies
to a download (oslo.utils' format inspector: content that is not raw, or
fails the inspector's safety check, is refused) and its bytes are hashed
(by the Glance client, or here); the cache image is published only when
Glance's hash matches.

Other formats are converted on the way (converted_source.py), or, where
that cannot be done, go through Nova's own download, inspection and
conversion to a raw file (nova/cache_fill.py), once per pool, and that
file is written in by its data extents.
"""

import hashlib
import queue
import threading

from oslo_log import log as logging
from oslo_utils.imageutils import format_inspector

from nova_rbd_imagebackend.disks import progress
from nova_rbd_imagebackend.disks import staging
from nova_rbd_imagebackend import exceptions

LOG = logging.getLogger(__name__)
BLOCK = 4 * 2 ** 20
BATCH = 4 * BLOCK
# What a raw image's content may show; Nova allows 'gpt' for raw too.
RAW_CONTENT = ('raw', 'gpt')
MISMATCH = ("Glance's data does not match the image's %s hash (read "
            "%s..., Glance records %s...)")


def from_stream(open_chunks, size, key, hashed_by_source=False):
    """A fill streaming ``open_chunks()`` (Glance's data) of ``size``.

    With ``hashed_by_source``, the chunks come from the Glance client,
    which hashes them itself and fails the last read on a mismatch with
    the image's hash (its ``data()`` call, as Nova uses it); they are not
    hashed twice.
    """
    def fill(client, pool, part, renew):
        client.create(pool, part, size)
        source = iter(open_chunks())
        inspected = format_inspector.InspectWrapper(source)
        digest = None if hashed_by_source else hashlib.new(key.algo)
        where = '%s/%s' % (pool, part)

        def blocks():
            got = [0]
            try:
                yield from blocks_of(_inspected_chunks(source, inspected),
                                     digest, got)
            except (IOError, OSError) as exc:
                raise exceptions.CacheFillFailed(
                    name=where, reason=read_failure(exc))
            if got[0] != size:
                raise exceptions.CacheFillFailed(
                    name=where, reason='Glance sent %d bytes of an image of '
                    '%d' % (got[0], size))

        write(client, pool, part, blocks(), size, renew,
              lambda: _check_content(inspected, where, final=False))
        _check_content(inspected, where, final=True)
        if digest is not None and digest.hexdigest() != key.digest:
            raise exceptions.CacheFillFailed(
                name=where, reason=MISMATCH % (key.algo, digest.hexdigest()[
                    :16], key.digest[:16]))
    return fill


def from_file(path, size):
    """A fill from a raw file Nova downloaded, inspected and converted."""
    def fill(client, pool, part, renew):
        client.create(pool, part, size)

        def blocks():
            with open(path, 'rb') as src:
                for offset, length in staging.data_extents(path, BLOCK):
                    src.seek(offset)
                    yield offset, src.read(length)
        write(client, pool, part, blocks(), size, renew, lambda: None)
    return fill


def write(client, pool, part, blocks, size, renew, check):
    """Write ``blocks`` in batches; renew the lease and check between.

    A batch goes into the pool while the next one is read and hashed:
    reading the source and writing the cluster overlap.
    """
    report = progress.ProgressLog('cache fill %s/%s' % (pool, part))
    writer = _BatchWriter(client, pool, part, size, report)
    try:
        batch, held = [], 0
        for offset, data in blocks:
            renew()  # at most a few times per lease
            if data is None:
                continue  # zeroes: the new image reads as zeroes already
            batch.append((offset, data))
            held += len(data)
            if held >= BATCH:
                check()
                writer.put(batch)
                batch, held = [], 0
        if batch:
            writer.put(batch)
    finally:
        writer.close()
    report(size, size)


class _BatchWriter(object):
    """Writes batches on a thread of its own, one batch behind the reader."""

    def __init__(self, client, pool, part, size, report):
        self.write = lambda batch: client.write_blocks(pool, part, batch,
                                                       size, report)
        self.batches = queue.Queue(maxsize=1)
        self.error = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            batch = self.batches.get()
            if batch is None:
                return
            if self.error is None:
                try:
                    self.write(batch)
                except Exception as exc:
                    self.error = exc  # handed to the reader at its next put

    def put(self, batch):
        if self.error is not None:
            raise self.error
        self.batches.put(batch)

    def close(self):
        """Wait for the batches given so far; raise what failed."""
        self.batches.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error


def blocks_of(chunks, digest, got):
    """(offset, BLOCK bytes) of ``chunks``, None for data all zeroes.

    Hashes every chunk into ``digest`` (if any) and counts the bytes in
    ``got[0]``.  Zero chunks are found by comparison with a zero buffer,
    and blocks of zeroes are never joined.
    """
    pending, held, zero, offset = [], 0, True, 0
    zeroes = {}
    for chunk in chunks:
        if digest is not None:
            digest.update(chunk)
        got[0] += len(chunk)
        if zero:
            blank = zeroes.get(len(chunk))
            if blank is None:
                blank = zeroes.setdefault(len(chunk), bytes(len(chunk)))
            zero = chunk == blank
        pending.append(chunk)
        held += len(chunk)
        while held >= BLOCK:
            if zero and held == BLOCK:
                yield offset, None
                pending, held = [], 0
            else:
                joined = b''.join(pending)
                yield offset, joined[:BLOCK]
                rest = joined[BLOCK:]
                pending, held = ([rest], len(rest)) if rest else ([], 0)
            offset += BLOCK
            zero = not held or (held == len(pending[0]) and not any(
                pending[0]))
    if held:
        yield offset, b''.join(pending)


def _inspected_chunks(source, inspected):
    """The chunks of ``source``, shown to the inspector until it decides."""
    for chunk in inspected:
        yield chunk
        if inspected.formats is not None:
            break
    yield from source


def read_failure(exc):
    if 'Corrupt image download' in str(exc):  # glanceclient's own check
        return ("Glance's data does not match the image's recorded hash "
                "(found by the Glance client's own check)")
    return 'reading the image from Glance failed: %s' % exc


def _check_content(inspected, where, final):
    """Refuse content that is not raw, as soon as the inspector knows."""
    if inspected.formats is None and not final:
        return  # not known yet
    check_format(inspected, where, 'raw', RAW_CONTENT)


def check_format(inspected, where, registered, accepted):
    """Refuse what the inspector found unless it is ``accepted``, safely.

    :param registered: the image's disk_format in Glance.
    :param accepted: the content formats that disk_format may show.
    """
    try:
        found = inspected.format
        found.safety_check()
    except format_inspector.SafetyCheckFailed as exc:
        raise exceptions.CacheFillFailed(
            name=where, reason='the image does not pass the format '
            'safety check (%s)' % exc)
    except format_inspector.ImageFormatError:
        raise exceptions.CacheFillFailed(
            name=where, reason='its content matches several formats (%s), '
            'it is registered as %s' % (', '.join(
                sorted(str(f) for f in inspected.formats or ())),
                registered))
    if str(found) not in accepted:
        raise exceptions.CacheFillFailed(
            name=where, reason='it is registered as %s, but its content '
            'is %s' % (registered, found))
