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
"""Where a root disk is cloned from: Glance's pool, a copy, or the pool cache.

In order:

1. a location of the image in this cluster (Glance's rbd store);
2. with ``[libvirt] images_rbd_glance_store_name`` set, Glance's own copy
   of the image into that rbd store (``copy-image`` import), as Nova's
   in-tree backend does; when Glance cannot copy it in time, a warning
   and on to 3;
3. the pool image cache (nova/cache_fill.py), when on.

Otherwise ImageUnacceptable, and Nova downloads the image for this disk.
"""

import time

import nova.conf
from nova import exception
from nova.image import glance as nova_glance
from oslo_log import log as logging

from nova_rbd_imagebackend.disks import clones
from nova_rbd_imagebackend.nova import cache_fill
from nova_rbd_imagebackend.nova import glance

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)
IMAGE_API = nova_glance.API()


def clone(context, client, pool, image_id, dst_name, policy=None):
    """Clone ``pool/dst_name`` from Glance image ``image_id``.

    With the instance's storage ``policy`` (disks/policy.py).
    """
    meta = glance.image_with_locations(context, image_id)
    try:
        return clones.clone(client, image_id, meta, pool, dst_name, policy)
    except exception.ImageUnacceptable as exc:
        refusal = exc
    store = CONF.libvirt.images_rbd_glance_store_name
    if store and meta.get('disk_format') == 'raw':
        try:
            meta = copy_into_store(context, image_id, store)
            return clones.clone(client, image_id, meta, pool, dst_name,
                                policy)
        except exception.ImageUnacceptable as exc:
            LOG.warning('Glance did not copy image %(image)s into its store '
                        '%(store)s (%(reason)s); %(next)s',
                        {'image': image_id, 'store': store,
                         'reason': exc.format_message(),
                         'next': 'using the pool image cache'
                         if cache_fill.enabled() else 'downloading it'})
            refusal = exc
    if not cache_fill.enabled():
        raise refusal
    cache_fill.clone(context, client, pool, meta, dst_name, policy)


def copy_into_store(context, image_id, store):
    """Have Glance copy the image into ``store``; its record once there.

    :raises ImageUnacceptable: Glance refused, failed, or did not finish
        within ``[libvirt] images_rbd_glance_copy_timeout``.
    """
    try:
        IMAGE_API.copy_image_to_store(context, image_id, store)
        LOG.info('Asked Glance to copy image %s into its store %s',
                 image_id, store)
    except exception.ImageBadRequest:
        pass  # another host asked first: wait for its copy
    except exception.ImageImportImpossible as exc:
        raise exception.ImageUnacceptable(image_id=image_id, reason=str(exc))
    interval = CONF.libvirt.images_rbd_glance_copy_poll_interval
    deadline = time.monotonic() + CONF.libvirt.images_rbd_glance_copy_timeout
    while True:
        meta = glance.image_with_locations(context, image_id)
        if store in _stores(meta, 'os_glance_failed_import'):
            raise exception.ImageUnacceptable(
                image_id=image_id, reason='Glance failed to copy it into '
                'store %s' % store)
        if (store in _stores(meta, 'stores') and
                store not in _stores(meta, 'os_glance_importing_to_stores')):
            LOG.info('Glance copied image %s into its store %s', image_id,
                     store)
            return meta
        if time.monotonic() > deadline:
            raise exception.ImageUnacceptable(
                image_id=image_id, reason='Glance did not copy it into store '
                '%s within %d s' % (
                    store, CONF.libvirt.images_rbd_glance_copy_timeout))
        time.sleep(interval)


def _stores(meta, key):
    """A comma-separated store list of the image record, as a list."""
    value = meta.get(key, meta.get('properties', {}).get(key)) or ''
    if isinstance(value, (list, tuple)):
        return list(value)
    return [s.strip() for s in value.split(',') if s.strip()]
