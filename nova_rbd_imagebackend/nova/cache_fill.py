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
"""Root disks from the pool image cache, filled through Nova's image code.

A raw image streams from Nova's Glance client into the pool.  A qcow2,
vmdk, vdi, vhd or vhdx image is converted on the way, read from Glance
by ranges (disks/converted_source.py): no copy on the host's disk.  Any
other format, or any image when Glance does not serve ranges or
``convert_without_local_copy`` is off, is downloaded, inspected and
converted to raw by Nova's own ``fetch_to_raw`` in a staging folder
that lives for one fill.  disks/pool_cache.py has the steps.
"""

import os

import nova.conf
from nova import exception
from nova.virt import images
from oslo_log import log as logging

from nova_rbd_imagebackend.disks import cache_sources
from nova_rbd_imagebackend.disks import converted_source
from nova_rbd_imagebackend.disks import pool_cache
from nova_rbd_imagebackend.disks import qemu_export
from nova_rbd_imagebackend.disks import staging
from nova_rbd_imagebackend import exceptions
from nova_rbd_imagebackend.nova import glance

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)
# How long a boot waits while another host (renewing its lease) fills.
WAIT_FOR_FILL = 3600


def enabled():
    return CONF.rbd_imagebackend.pool_image_cache


def clone(context, client, pool, meta, dst_name, policy=None):
    """Clone ``pool/dst_name`` from the cache image of Glance image ``meta``.

    :raises ImageUnacceptable: Glance records no hash of the image; Nova
        then downloads it for this disk alone.
    """
    key = pool_cache.key_of(meta)
    if key is None:
        raise exception.ImageUnacceptable(
            image_id=meta['id'], reason='Glance records no hash of it, so '
            'the pool image cache cannot tell its versions apart')
    if meta.get('disk_format') == 'raw':
        # Nova's Glance client checks the data against the image's hash.
        fill = cache_sources.from_stream(
            lambda: glance.image_chunks(context, meta['id']),
            meta['size'], key, hashed_by_source=True)
    else:
        fill = _converted(context, meta)
    filled = pool_cache.clone(
        client, pool, key, dst_name, fill,
        CONF.rbd_imagebackend.pool_image_cache_lease_seconds, WAIT_FOR_FILL,
        policy)
    LOG.info('Cloned %s/%s from the pool image cache of image %s%s', pool,
             dst_name, meta['id'], ' (filled it first)' if filled else '')


def _converted(context, meta):
    image_id, disk_format = meta['id'], meta.get('disk_format')

    def fill(client, pool, part, renew):
        if _by_ranges(context, image_id, disk_format):
            return converted_source.from_glance(
                lambda: glance.image_chunks(context, image_id),
                lambda start, end: glance.image_range(context, image_id,
                                                      start, end),
                meta['size'], disk_format,
                CONF.rbd_imagebackend.image_read_timeout)(
                    client, pool, part, renew)
        LOG.info('Converting image %s (%s) in a staging folder under %s',
                 image_id, disk_format, CONF.instances_path)
        with staging.staging_dir() as folder:
            target = os.path.join(folder, image_id)
            try:
                images.fetch_to_raw(context, image_id, target)
            except exception.ImageUnacceptable as exc:
                # Not Nova's fallback to a download: that refuses it too.
                raise exceptions.CacheFillFailed(
                    name='%s/%s' % (pool, part), reason=exc.format_message())
            renew()
            cache_sources.from_file(target, os.path.getsize(target))(
                client, pool, part, renew)
    return fill


def _by_ranges(context, image_id, disk_format):
    """True if the image can be converted as Glance sends it."""
    if not (CONF.rbd_imagebackend.convert_without_local_copy and
            disk_format in converted_source.STREAMABLE):
        return False
    missing = qemu_export.unavailable()
    if missing:
        LOG.warning('Image %s cannot be converted without a local copy: %s '
                    '(doctor checks this)', image_id, missing)
        return False
    return glance.serves_ranges(context, image_id)
