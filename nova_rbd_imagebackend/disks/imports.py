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
"""Import a local file (a download, an mkfs'd or config-drive file) into RBD.

The data goes in by extents under ``<name>.part``, which is renamed to
the disk's name only once complete; on failure the partial image is
removed.
"""

import os

from oslo_log import log as logging

from nova_rbd_imagebackend.disks import inflight
from nova_rbd_imagebackend.disks import names
from nova_rbd_imagebackend.disks import progress
from nova_rbd_imagebackend.disks import staging
from nova_rbd_imagebackend.disks import undo

LOG = logging.getLogger(__name__)


def import_file(client, pool, path, name, policy=None):
    """Copy the file at ``path`` into ``pool/name`` (which must not exist).

    Steps, and what a crash between any two leaves:

    1. record this process as the writer of ``<name>.part`` (inflight);
    2. remove a leftover ``<name>.part`` and what a rename of it cut
       short left (taking over from a dead writer of this host), create
       it afresh with the storage ``policy``'s layout and metadata;
    3. copy the data;
    4. record this process as the writer of ``name`` too, rename it to
       ``name``; drop both records.

    Until the rename moves the pool's directory entry, the pool lists no
    ``name`` (a rename cut short leaves only an id object by that name),
    so Nova's retry imports again and step 2 replaces the ``.part``; the
    audit removes one nobody retries.  Once it has, ``name`` is whole
    and the retry reuses it.  A stale record
    is harmless: the next claim of the name replaces it.
    """
    part = name + names.PART_SUFFIX
    size = os.path.getsize(path)
    LOG.info('Importing %s (%d MiB) into %s/%s', os.path.basename(path),
             size // 2 ** 20, pool, name)
    report = progress.ProgressLog('import into %s/%s' % (pool, name))
    inflight.create_part(client, pool, part, size, 'import', policy)
    with inflight.recorded(client, pool, part):
        # A failed import removes its partial image itself.
        written = client.import_sparse(
            path, pool, part, staging.data_extents(path), report)
        try:
            inflight.publish(client, pool, part, name, 'import')
        except Exception:
            undo.remove_quietly(client, pool, part, 'a failed rename')
            raise
    LOG.info('Imported %s/%s: %d MiB of data written', pool, name,
             written // 2 ** 20)
