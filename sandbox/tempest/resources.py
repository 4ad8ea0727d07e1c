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

"""What tempest needs beyond the cloud's own image and flavor.

Tempest wants two images and two flavors, the second flavor larger than
the first (resize).  ``facts(cloud, workspace)`` creates the second ones
through the API, as an operator would, unless a previous run on the same
cloud already did, and returns the facts conf.sections() takes.
"""

from sandbox.cloud import guest_image
from sandbox.cloud import keystone

ALT_FLAVOR = {'name': 'guest.small', 'id': 'guest-small', 'ram': 256,
              'vcpus': 1, 'disk': 2}
ALT_IMAGE_NAME = 'guest-marker-alt'


def alt_flavor(conn):
    """The larger flavor's id, created if missing."""
    flavor = conn.compute.find_flavor(ALT_FLAVOR['id'], ignore_missing=True)
    if flavor is None:
        flavor = conn.compute.create_flavor(is_public=True, **ALT_FLAVOR)
    return flavor.id


def alt_image(conn, timeout=120):
    """A second image with the same bootable disk, uploaded if missing."""
    for image in conn.image.images(name=ALT_IMAGE_NAME):
        if image.status == 'active':
            return image.id
    image = conn.image.create_image(
        name=ALT_IMAGE_NAME, filename=guest_image.image(None),
        disk_format='raw', container_format='bare', visibility='public',
        wait=True, timeout=timeout)
    return image.id


def max_microversion(conn):
    """The newest compute API microversion the cloud's nova-api offers."""
    return conn.compute.get('/').json()['version']['version']


def facts(cloud, workspace):
    """The facts conf.sections() needs, for a running ``cloud``."""
    conn = cloud.connection()
    try:
        return {
            'auth_url': cloud.auth_url,
            'admin_username': 'admin',
            'admin_password': keystone.ADMIN_PASSWORD,
            'admin_project': 'admin',
            'domain': 'Default',
            'region': keystone.REGION,
            'image_ref': cloud.image_id,
            'image_ref_alt': alt_image(conn),
            'flavor_ref': cloud.flavor_id,
            'flavor_ref_alt': alt_flavor(conn),
            'compute_nodes': len(cloud.hosts),
            'max_microversion': max_microversion(conn),
            'workspace': workspace,
        }
    finally:
        conn.close()
