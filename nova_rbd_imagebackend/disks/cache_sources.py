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
compute host's disk, at most one batch of it in memory, zero blocks
skipped.  On the way its format is inspected with the rules Nova applies
to a download (oslo.utils' format inspector: content that is not raw, or
fails the inspector's safety check, is refused) and its bytes are hashed;
the cache image is published only when Glance's hash matches.

Any other format goes through Nova's own download, inspection and
conversion to a raw file first (nova/cache_fill.py), once per pool, and
that file is written in by its data extents.
"""

import hashlib

from oslo_log import log as logging
from oslo_utils.imageutils import format_inspector

from nova_rbd_imagebackend.disks import progress
from nova_rbd_imagebackend.disks import staging
from nova_rbd_imagebackend import exceptions

LOG = logging.getLogger(__name__)
BLOCK = 4 * 2 ** 20
BATCH = 8 * BLOCK
# What a raw image's content may show; Nova allows 'gpt' for raw too.
RAW_CONTENT = ('raw', 'gpt')
MISMATCH = ("Glance's data does not match the image's %s hash (read "
            "%s..., Glance records %s...)")


def from_stream(open_chunks, size, key):
    """A fill streaming ``open_chunks()`` (Glance's data) of ``size``."""
    def fill(client, pool, part, renew):
        client.create(pool, part, size)
        source = iter(open_chunks())
        inspected = format_inspector.InspectWrapper(source)
        digest = hashlib.new(key.algo)
        where = '%s/%s' % (pool, part)

        def blocks():
            pending = bytearray()
            offset = 0
            try:
                for chunk in _inspected_chunks(source, inspected):
                    digest.update(chunk)
                    pending += chunk
                    while len(pending) >= BLOCK:
                        yield offset, bytes(pending[:BLOCK])
                        del pending[:BLOCK]
                        offset += BLOCK
            except (IOError, OSError) as exc:
                raise exceptions.CacheFillFailed(
                    name=where, reason=_read_failure(exc))
            if pending:
                yield offset, bytes(pending)
            if offset + len(pending) != size:
                raise exceptions.CacheFillFailed(
                    name=where, reason='Glance sent %d bytes of an image of '
                    '%d' % (offset + len(pending), size))

        _write(client, pool, part, blocks(), size, renew,
               lambda: _check_content(inspected, where, final=False))
        _check_content(inspected, where, final=True)
        if digest.hexdigest() != key.digest:
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
        _write(client, pool, part, blocks(), size, renew, lambda: None)
    return fill


def _write(client, pool, part, blocks, size, renew, check):
    """Write ``blocks`` in batches; renew the lease and check between."""
    report = progress.ProgressLog('cache fill %s/%s' % (pool, part))
    batch, held = [], 0
    for offset, data in blocks:
        batch.append((offset, data))
        held += len(data)
        if held >= BATCH:
            check()
            client.write_blocks(pool, part, batch, size, report)
            batch, held = [], 0
            renew()
    if batch:
        client.write_blocks(pool, part, batch, size, report)
    report(size, size)


def _inspected_chunks(source, inspected):
    """The chunks of ``source``, shown to the inspector until it decides."""
    for chunk in inspected:
        yield chunk
        if inspected.formats is not None:
            break
    yield from source


def _read_failure(exc):
    if 'Corrupt image download' in str(exc):  # glanceclient's own check
        return ("Glance's data does not match the image's recorded hash "
                "(found by the Glance client's own check)")
    return 'reading the image from Glance failed: %s' % exc


def _check_content(inspected, where, final):
    """Refuse content that is not raw, as soon as the inspector knows."""
    formats = inspected.formats
    if formats is None and not final:
        return  # not known yet
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
            'it is registered as raw' % ', '.join(
                sorted(str(f) for f in formats or ())))
    if str(found) not in RAW_CONTENT:
        raise exceptions.CacheFillFailed(
            name=where, reason='it is registered as raw, but its content '
            'is %s' % found)
