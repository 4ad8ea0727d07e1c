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
from nova.virt import images
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

    def add_file(self, image_id, path, digest, disk_format='raw'):
        """An image Glance keeps outside the cluster, with its sha512."""
        self.images[image_id] = {
            'id': image_id, 'disk_format': disk_format, 'status': 'active',
            'size': os.path.getsize(path), 'os_hash_algo': 'sha512',
            'os_hash_value': digest, 'locations': []}
        self.files[image_id] = path

    def download(self, context, image_id, dest_path=None, **kwargs):
        """The image's data as Glance's client yields it (64 KiB chunks).

        Into ``dest_path`` if given, as Nova's download into a file does.
        The real client also hashes the data it yields; neither side's
        timing includes that.
        """
        chunks = self.read_range(context, image_id, 0, None)
        if dest_path is None:
            return chunks
        with open(dest_path, 'wb') as f:
            for chunk in chunks:
                f.write(chunk)

    def read_range(self, context, image_id, start, end):
        """Bytes ``start`` to ``end`` inclusive (None: to the end)."""
        with open(self.files[image_id], 'rb') as f:
            f.seek(start)
            left = None if end is None else end - start + 1
            while left is None or left > 0:
                chunk = f.read(CHUNK if left is None else min(CHUNK, left))
                if not chunk:
                    return
                if left is not None:
                    left -= len(chunk)
                yield chunk


GLANCE = FakeImageAPI()


def install_glance():
    intree.IMAGE_API = GLANCE
    images.IMAGE_API = GLANCE  # Nova's fetch_to_raw
    plugin_glance.IMAGE_API = GLANCE
    # Range reads, which glance-api serves, for the conversion of an
    # image that is not raw without a local copy.
    plugin_glance.image_range = GLANCE.read_range
    plugin_glance.serves_ranges = lambda context, image_id: True


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
                if GLANCE.images[image_id]['disk_format'] == 'raw':
                    shutil.copyfile(GLANCE.files[image_id], target)
                else:
                    images.fetch_to_raw(context, image_id, target)

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
