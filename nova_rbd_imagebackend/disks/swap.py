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

"""Swap disks: the Linux swap signature written straight into RBD.

What mkswap writes: in the first page, version 1, the last usable page,
no bad pages, a random UUID, and the magic "SWAPSPACE2" in the last ten
bytes of the page.  Writing these 4 KiB through librbd gives a swap disk
without a local file, without mkswap and without reading the image.
"""

import struct
import uuid

from oslo_log import log as logging

from nova_rbd_imagebackend.disks import inflight
from nova_rbd_imagebackend.disks import names

LOG = logging.getLogger(__name__)

PAGE_SIZE = 4096
MIN_PAGES = 10
MIN_SIZE = MIN_PAGES * PAGE_SIZE
MAGIC = b'SWAPSPACE2'
_BOOTBITS = 1024
_VERSION = 1


def header(size_bytes, label=b''):
    """Return the first page of a swap area of size_bytes bytes."""
    pages = size_bytes // PAGE_SIZE
    if pages < MIN_PAGES:
        raise ValueError('a swap area needs at least %d pages' % MIN_PAGES)
    info = struct.pack('<III16s16s', _VERSION, pages - 1, 0,
                       uuid.uuid4().bytes, label[:16].ljust(16, b'\0'))
    page = bytearray(PAGE_SIZE)
    page[_BOOTBITS:_BOOTBITS + len(info)] = info
    page[PAGE_SIZE - len(MAGIC):] = MAGIC
    return bytes(page)


def create(client, pool, name, size, policy=None):
    """Create ``pool/name`` as a swap disk of ``size`` bytes.

    Written under ``<name>.part`` and renamed, like every new disk.  The
    header is made first, so a size it refuses creates nothing.  A crash
    before the rename leaves only the ``.part``, which the retry replaces
    (same steps as imports.import_file).
    """
    part = name + names.PART_SUFFIX
    first_page = header(size)
    inflight.create_part(client, pool, part, size, 'swap creation', policy)
    with inflight.recorded(client, pool, part):
        client.write(pool, part, first_page, 0)
        inflight.publish(client, pool, part, name, 'swap creation')
    LOG.debug('Created swap disk %s/%s (%d bytes)', pool, name, size)
