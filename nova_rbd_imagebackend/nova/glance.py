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
"""Image records from Glance, through Nova's own Glance client."""

from keystoneauth1 import adapter as ksa_adapter
from nova import context as nova_context
from nova import exception
from nova.image import glance
from nova import service_auth
from oslo_log import log as logging

LOG = logging.getLogger(__name__)
IMAGE_API = glance.API()
PARTIAL_CONTENT = 206
RANGE_CHUNK = 64 * 1024


class RangesNotServed(Exception):
    """Glance answered a range request with the whole image."""


def image_with_locations(context, image_id):
    """The image's metadata, including its ``locations``."""
    return IMAGE_API.get(context, image_id, include_locations=True)


def location_urls(context, image_id):
    """The image's location URLs; [] when Glance cannot tell."""
    try:
        meta = image_with_locations(context, image_id)
    except exception.NovaException as exc:
        LOG.debug('Cannot read image %s: %s', image_id, exc)
        return []
    return [loc.get('url') for loc in meta.get('locations') or []]


def service_context():
    """An admin context authenticated as Nova's ``[service_user]``.

    Periodic tasks and commands have no user token; with
    ``[service_user]`` unset the context carries none (enough for a
    Glance that needs no authentication).
    """
    ctx = nova_context.get_admin_context()
    ctx.user_auth_plugin = service_auth.get_service_auth_plugin(
        'service_user')
    return ctx


def image_status(context, image_id):
    """Glance's status of the image, 'gone' if Glance has no such image.

    'registering' for a queued image that was given a location Glance is
    still checking (its location import runs after the request returns).
    None when Glance cannot be asked: nothing may be concluded then.
    """
    try:
        meta = IMAGE_API.get(context, image_id, include_locations=True)
    except exception.ImageNotFound:
        return 'gone'
    except Exception as exc:  # any client, auth or connection error
        LOG.warning('Could not ask Glance about image %s: %s', image_id,
                    exc)
        return None
    if meta['status'] == 'queued' and (
            meta.get('locations') or
            'os_glance_import_task' in meta.get('properties', {})):
        return 'registering'
    return meta['status']


def image_chunks(context, image_id):
    """An iterator over the image's data, as Glance sends it."""
    return IMAGE_API.download(context, image_id)


def image_range(context, image_id, start, end):
    """The image's bytes from ``start`` to ``end`` inclusive.

    With Nova's Glance endpoints and credentials, and an HTTP ``Range``
    header, which glance-api honours for any store that can read at an
    offset.  glanceclient %-quotes header values (``bytes%3D0-0``, which
    Glance refuses), so the request goes through its keystoneauth
    adapter, as glanceclient's own requests do, minus that quoting.

    :raises RangesNotServed: Glance sent something else than the range.
    """
    client = glance._glanceclient_from_endpoint(
        context, glance.generate_glance_url(context), 2)
    resp = ksa_adapter.Adapter.request(
        client.http_client, '/v2/images/%s/file' % image_id, 'GET',
        headers={'Range': 'bytes=%d-%d' % (start, end)}, stream=True,
        raise_exc=False)
    if resp.status_code != PARTIAL_CONTENT:
        resp.close()
        raise RangesNotServed('Glance answered a range request for image '
                              '%s with HTTP %d' % (image_id,
                                                   resp.status_code))
    return resp.iter_content(RANGE_CHUNK)


def serves_ranges(context, image_id):
    """True if Glance sends the image's first byte alone when asked."""
    try:
        return len(b''.join(image_range(context, image_id, 0, 0))) == 1
    except RangesNotServed as exc:
        LOG.info('%s', exc)
        return False
