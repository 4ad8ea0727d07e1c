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

from nova import exception
from nova.image import glance
from oslo_log import log as logging

LOG = logging.getLogger(__name__)
IMAGE_API = glance.API()


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
