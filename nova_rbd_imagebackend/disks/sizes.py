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
"""A disk's size: refused before anything is made, grown, never shrunk."""

from nova import exception
from oslo_log import log as logging

from nova_rbd_imagebackend.disks import undo
from nova_rbd_imagebackend.disks import validation

LOG = logging.getLogger(__name__)


def check(spec, size, pool_total):
    """Refuse a size the pool can never hold (``pool_total()`` bytes)."""
    validation.check_size(spec, size, pool_total())


def grow_to(client, pool, name, size, created, pool_total):
    """Grow ``pool/name`` to ``size`` bytes; a shrink is refused.

    A disk this operation ``created`` is removed when the grow fails or
    the size is smaller than the disk (the image is larger than the
    flavor's disk): nothing half-made is left.
    """
    if not size:
        return
    spec = '%s/%s' % (pool, name)
    try:
        if not created:
            check(spec, size, pool_total)
        current = client.grow(pool, name, size)
    except Exception:
        if created:
            undo.remove_quietly(client, pool, name, 'a failed grow')
        raise
    if size > current:
        LOG.debug('Grew %s from %d to %d bytes', spec, current, size)
    elif size < current:
        if created:
            undo.remove_quietly(client, pool, name, 'a refused shrink')
        raise exception.FlavorDiskSmallerThanImage(flavor_size=size,
                                                   image_size=current)
