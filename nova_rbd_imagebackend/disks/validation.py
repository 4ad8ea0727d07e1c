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
"""Sizes and names a disk may have, checked before anything is created.

A request that cannot succeed is refused with one clear fault while the
pool and the host are untouched, rather than failing half-way and
leaving a partial image behind.
"""

import re

from nova_rbd_imagebackend.disks import swap
from nova_rbd_imagebackend import exceptions

# What QEMU's "rbd:pool/image[@snap][:opt=value...]" path can carry back.
_SAFE_NAME = re.compile(r'^[A-Za-z0-9_.+-]+$')


def check_name(pool, name):
    """Refuse names that would not survive the round trip through QEMU."""
    for part, value in (('pool', pool), ('image', name)):
        if not value or not _SAFE_NAME.match(value):
            raise exceptions.InvalidDisk(
                disk='%s/%s' % (pool, name),
                reason='the %s name %r has characters a QEMU rbd: path '
                       'cannot carry (only letters, digits and "_.+-")'
                       % (part, value))


def check_size(spec, size, capacity):
    """Refuse a size no disk in this pool can have.

    :param capacity: the pool's whole capacity in bytes (what it stores
        plus what it can still take); a disk larger than that could never
        be filled.
    """
    if not isinstance(size, int) or size <= 0:
        raise exceptions.InvalidDisk(
            disk=spec, reason='a disk size must be a positive number of '
                              'bytes, not %r' % (size,))
    if size > capacity:
        raise exceptions.InvalidDisk(
            disk=spec, reason='%d bytes is more than the pool can ever hold '
                              '(%d bytes)' % (size, capacity))


def check_swap_size(spec, size):
    """Refuse a swap area smaller than Linux accepts."""
    if size < swap.MIN_SIZE:
        raise exceptions.InvalidDisk(
            disk=spec, reason='a swap disk needs at least %d bytes (10 pages),'
                              ' not %d' % (swap.MIN_SIZE, size))
