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

"""The two sides compared: Nova's in-tree Rbd backend and the plugin.

Each side is driven the way Nova's libvirt driver drives an image
backend, through the same calls with the same arguments.
"""

import hashlib
import os
import shutil
import types
import uuid

from nova import context as nova_context
from nova import exception
from nova.virt.libvirt import driver as libvirt_driver
from nova.virt.libvirt import imagebackend as intree

from nova_rbd_imagebackend.ceph import cluster
from nova_rbd_imagebackend.nova import driver as plugin_driver
from nova_rbd_imagebackend.nova import glance as plugin_glance
from nova_rbd_imagebackend.nova import imagebackend as plugin

MAPPING = {'bus': 'virtio', 'dev': 'vda', 'type': 'disk'}
CHUNK = 64 * 1024


class FakeImageAPI(object):
    """Glance's answers (image records with their locations)."""

    def __init__(self):
        self.images = {}
        self.files = {}

    def get(self, context, image_id, include_locations=False, **kwargs):
        try:
            return dict(self.images[image_id])
        except KeyError:
            raise exception.ImageNotFound(image_id=image_id)

    def add_file(self, image_id, path, digest):
        """An image Glance keeps outside the cluster, with its sha512."""
        self.images[image_id] = {
            'id': image_id, 'disk_format': 'raw', 'status': 'active',
            'size': os.path.getsize(path), 'os_hash_algo': 'sha512',
            'os_hash_value': digest, 'locations': []}
        self.files[image_id] = path

    def download(self, context, image_id, **kwargs):
        """The image's data as Glance's client yields it (64 KiB chunks).

        The real client also hashes the data it yields; neither side's
        timing includes that.
        """
        with open(self.files[image_id], 'rb') as f:
            while True:
                chunk = f.read(CHUNK)
                if not chunk:
                    return
                yield chunk


GLANCE = FakeImageAPI()


def install_glance():
    intree.IMAGE_API = GLANCE
    plugin_glance.IMAGE_API = GLANCE


def instance(instance_uuid=None):
    return types.SimpleNamespace(uuid=instance_uuid or str(uuid.uuid4()),
                                 task_state=None)


class Side(object):
    name = None
    image_class = None
    driver_class = None

    def __init__(self):
        self.context = nova_context.get_admin_context()

    def image(self, inst, disk_name='disk'):
        return self.image_class(instance=inst, disk_name=disk_name,
                                disk_info_mapping=MAPPING)

    def root_disk(self, inst, image_id, size):
        """exists(), then cache() with the clone-or-download fetch."""
        disk = self.image(inst)
        disk.exists()

        def clone_fallback_to_fetch(context, target, image_id,
                                    trusted_certs=None):
            try:
                disk.clone(context, image_id)
            except exception.ImageUnacceptable:
                # Glance's download and Nova's conversion to raw.
                shutil.copyfile(GLANCE.files[image_id], target)

        disk.cache(fetch_func=clone_fallback_to_fetch, context=self.context,
                   filename=hashlib.sha1(image_id.encode()).hexdigest(),
                   size=size, image_id=image_id, trusted_certs=None)
        return disk

    def disk_xml(self, disk):
        return disk.libvirt_info('none', {}).to_xml()

    def capacity(self):
        """What the resource tracker asks for in one periodic task."""
        self.forget_cache()
        for _ in range(2):  # get_available_resource, update_provider_tree
            info = self.driver_class._get_local_gb_info()
        return info

    def delete_instance(self, inst):
        self.driver_class._cleanup_rbd(None, inst)

    def snapshot(self, disk, image_id, base_image_id):
        return disk.direct_snapshot(self.context, 'snap-' + image_id[:8],
                                    'raw', image_id, base_image_id)

    def forget_cache(self):
        pass


class InTree(Side):
    name = 'in-tree'
    image_class = intree.Rbd
    driver_class = libvirt_driver.LibvirtDriver


class Ours(Side):
    name = 'ours'
    image_class = plugin.RbdImage
    driver_class = plugin_driver.RbdLibvirtDriver

    def forget_cache(self):
        cluster._pool_usage.clear()


def clear_base(instances_path):
    shutil.rmtree(os.path.join(instances_path, '_base'), ignore_errors=True)
