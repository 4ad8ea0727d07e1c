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
"""Transient local files for data Nova hands over as a file.

Nova produces some disks as local files: an image that is not in the
cluster is downloaded and converted by Nova (with its format inspection),
an ephemeral disk is formatted by Nova's mkfs, and the config drive is
built by Nova.  Each such file lives only in a private folder for the
length of one call and goes into RBD by its data extents, so holes are
never read or written and nothing is left in ``_base``.
"""

import contextlib
import errno
import os
import shutil
import tempfile

import nova.conf

CONF = nova.conf.CONF
CHUNK = 4 * 1024 * 1024
STAGING_PREFIX = '.rbd-staging-'


@contextlib.contextmanager
def staging_dir():
    """A private folder under the instances path, removed on exit."""
    os.makedirs(CONF.instances_path, exist_ok=True)
    path = tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=CONF.instances_path)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def data_extents(path, chunk=CHUNK):
    """Yield (offset, length) pieces of at most chunk bytes of data.

    Uses SEEK_DATA/SEEK_HOLE, so the holes of a sparse file are skipped
    without being read.
    """
    with open(path, 'rb') as f:
        fd = f.fileno()
        size = os.fstat(fd).st_size
        offset = 0
        while offset < size:
            try:
                start = os.lseek(fd, offset, os.SEEK_DATA)
            except OSError as exc:
                if exc.errno == errno.ENXIO:  # only a hole remains
                    return
                raise
            end = os.lseek(fd, start, os.SEEK_HOLE)
            while start < end:
                length = min(chunk, end - start)
                yield start, length
                start += length
            offset = end
