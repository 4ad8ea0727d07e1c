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
"""The Nova internals the plugin relies on, checked where it runs.

Nova's libvirt driver and image backend are not a stable API.  The pin
test (tests/unit/nova/test_nova_internals.py) fails first when a Nova
release changes one of these names or signatures; ``verdict`` checks the
same list at start-up and in ``doctor``, so a Nova newer than the tested
range runs (with a warning) as long as nothing the plugin relies on
changed, and is refused, naming what changed, when something did.
"""

import inspect
from unittest import mock

from nova.api.validation.extra_specs import base as extra_spec_base
from nova import config as nova_config
from nova.image import glance as nova_glance
from nova import utils as nova_utils
from nova.virt import driver as virt_driver
from nova.virt import images
from nova.virt.libvirt import driver as libvirt_driver
from nova.virt.libvirt import host as libvirt_host
from nova.virt.libvirt import imagebackend
from nova.virt.libvirt import migration as libvirt_migration

from nova_rbd_imagebackend.checks import results

# (object, attribute, parameter names) of everything we override or call.
PINNED = [
    (imagebackend.Image, '__init__',
     ['self', 'path', 'source_type', 'driver_format', 'is_block_dev',
      'disk_info_mapping']),
    (imagebackend.Image, 'cache',
     ['self', 'fetch_func', 'filename', 'size', 'safe', 'args', 'kwargs']),
    (imagebackend.Image, 'create_image',
     ['self', 'prepare_template', 'base', 'size', 'safe', 'args', 'kwargs']),
    (imagebackend.Image, 'resize_image', ['self', 'size']),
    (imagebackend.Image, 'libvirt_info',
     ['self', 'cache_mode', 'extra_specs', 'boot_order', 'disk_unit']),
    (imagebackend.Image, 'disk_scsi', ['self', 'info', 'disk_unit']),
    (imagebackend.Image, 'disk_qos', ['self', 'info', 'extra_specs']),
    (imagebackend.Image, 'exists', ['self']),
    (imagebackend.Image, 'get_disk_size', ['self', 'name']),
    (imagebackend.Image, 'snapshot_extract', ['self', 'target',
                                              'out_format']),
    (imagebackend.Image, 'clone', ['self', 'context', 'image_id_or_uri']),
    (imagebackend.Image, 'flatten', ['self']),
    (imagebackend.Image, 'direct_snapshot',
     ['self', 'context', 'snapshot_name', 'image_format', 'image_id',
      'base_image_id']),
    (imagebackend.Image, 'cleanup_direct_snapshot',
     ['self', 'location', 'also_destroy_volume', 'ignore_errors']),
    (imagebackend.Image, 'get_model', ['self', 'connection']),
    (imagebackend.Image, 'import_file',
     ['self', 'instance', 'local_file', 'remote_name']),
    (imagebackend.Image, 'create_snap', ['self', 'name']),
    (imagebackend.Image, 'remove_snap', ['self', 'name', 'ignore_errors']),
    (imagebackend.Image, 'rollback_to_snap', ['self', 'name']),
    (imagebackend.Backend, '__init__', ['self', 'use_cow']),
    (imagebackend.Backend, 'by_name',
     ['self', 'instance', 'name', 'image_type', 'disk_info_mapping']),
    (imagebackend.Backend, 'by_libvirt_path',
     ['self', 'instance', 'path', 'image_type']),
    (libvirt_driver.LibvirtDriver, '__init__',
     ['self', 'virtapi', 'read_only']),
    (libvirt_driver.LibvirtDriver, 'init_host', ['self', 'host']),
    (libvirt_driver.LibvirtDriver, 'manage_image_cache',
     ['self', 'context', 'all_instances']),
    (libvirt_host.Host, 'get_connection', ['self']),
    (libvirt_driver.LibvirtDriver, '_cleanup_rbd', ['self', 'instance']),
    (libvirt_driver.LibvirtDriver, '_get_local_gb_info', []),
    (libvirt_driver.LibvirtDriver, 'unrescue',
     ['self', 'context', 'instance']),
    (libvirt_driver.LibvirtDriver, 'instance_on_disk',
     ['self', 'instance']),
    (libvirt_driver.LibvirtDriver, 'snapshot',
     ['self', 'context', 'instance', 'image_id', 'update_task_state']),
    (libvirt_driver.LibvirtDriver, 'check_can_live_migrate_destination',
     ['self', 'context', 'instance', 'src_compute_info',
      'dst_compute_info', 'block_migration', 'disk_over_commit']),
    (libvirt_driver.LibvirtDriver, 'pre_live_migration',
     ['self', 'context', 'instance', 'block_device_info', 'network_info',
      'disk_info', 'migrate_data']),
    (libvirt_migration, '_update_rbd_xml', ['xml_doc', 'migrate_data']),
    (libvirt_driver.LibvirtDriver, '_destroy', ['self', 'instance']),
    (libvirt_driver.LibvirtDriver, '_create_guest',
     ['self', 'context', 'xml', 'instance', 'power_on', 'pause',
      'post_xml_callback']),
    (virt_driver.ComputeDriver, 'rebuild',
     ['self', 'context', 'instance', 'image_meta', 'injected_files',
      'admin_password', 'allocations', 'bdms', 'detach_block_devices',
      'attach_block_devices', 'network_info', 'evacuate',
      'block_device_info', 'preserve_ephemeral', 'accel_uuids',
      'reimage_boot_volume']),
    (nova_config, 'parse_args',
     ['argv', 'default_config_files', 'configure_db', 'init_rpc', 'prog']),
    (virt_driver, 'load_compute_driver', ['virtapi', 'compute_driver']),
    # The pool image cache and Glance's copy into its rbd store.
    (images, 'fetch_to_raw',
     ['context', 'image_href', 'path', 'trusted_certs']),
    (nova_glance.API, 'download',
     ['self', 'context', 'id_or_uri', 'data', 'dest_path', 'trusted_certs']),
    (nova_glance.API, 'copy_image_to_store',
     ['self', 'context', 'image_id', 'store']),
    # Range reads from Glance: one client for Nova's endpoint and auth.
    (nova_glance, '_glanceclient_from_endpoint',
     ['context', 'endpoint', 'version']),
    (nova_glance, 'generate_glance_url', ['context']),
    # The storage policy: flavor extra spec validation in nova-api.
    (extra_spec_base.ExtraSpecValidator, '__init__',
     ['self', 'name', 'description', 'value', 'deprecated', 'parameters',
      'name_regex', 'value_regex']),
    (extra_spec_base.ExtraSpecValidator, 'validate',
     ['self', 'name', 'value']),
]

# (object, attribute, value) of constants the plugin relies on.
PINNED_VALUES = [
    # Image properties in an instance's system metadata: image_<name>.
    (nova_utils, 'SM_IMAGE_PROP_PREFIX', 'image_'),
]


def params(func):
    return list(inspect.signature(func).parameters)


def _where(owner, name):
    """'module.Class.name' or 'module.name'."""
    if inspect.ismodule(owner):
        return '%s.%s' % (owner.__name__, name)
    return '%s.%s.%s' % (owner.__module__, owner.__qualname__, name)


def changed():
    """One line per relied-on internal that is gone or has changed."""
    found = []
    for owner, name, expected in PINNED:
        func = getattr(owner, name, None)
        if func is None:
            found.append('%s is gone' % _where(owner, name))
            continue
        if isinstance(func, mock.NonCallableMock):
            # A test harness replaced it (Nova's own fixtures patch the
            # connection and the driver loader); there is nothing of
            # Nova's to compare, and the pin test covers the real one.
            continue
        actual = params(func)
        if actual != expected:
            found.append('%s(%s) is now (%s)' % (
                _where(owner, name), ', '.join(expected), ', '.join(actual)))
    for owner, name, expected in PINNED_VALUES:
        actual = getattr(owner, name, None)
        if actual != expected:
            found.append('%s is %r, not %r' % (_where(owner, name), actual,
                                               expected))
    return found


def verdict(host=None):
    """The check result: ok, or a fail naming every changed internal."""
    found = changed()
    if not found:
        return results.ok('nova internals', '%d relied-on names and '
                          'signatures unchanged'
                          % (len(PINNED) + len(PINNED_VALUES)))
    return results.fail(
        'nova internals', 'Nova changed what the plugin relies on: %s'
        % '; '.join(found),
        'run a plugin release made for this Nova, or the Nova release '
        'this plugin was tested with')
