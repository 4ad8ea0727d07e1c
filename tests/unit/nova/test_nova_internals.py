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
"""Pin every Nova internal the plugin overrides or relies on.

Nova's libvirt driver and image backend are not a stable API.  When a
Nova release changes one of these names or signatures, this test fails
first, naming what to revisit.
"""

import importlib.util
import inspect
from unittest import mock

from nova.virt import driver as virt_driver
from nova.virt.libvirt import driver as libvirt_driver
from nova.virt.libvirt import imagebackend
from nova.virt.libvirt import migration as libvirt_migration
import pytest

from nova_rbd_imagebackend.nova import driver as plugin_driver
from nova_rbd_imagebackend.nova import imagebackend as plugin_imagebackend
from nova_rbd_imagebackend.nova import internals


params = internals.params


@pytest.mark.parametrize('owner,name,expected', internals.PINNED,
                         ids=['%s.%s' % (getattr(o, '__name__', o), n)
                              for o, n, _e in internals.PINNED])
def test_nova_signature_is_unchanged(owner, name, expected):
    assert params(getattr(owner, name)) == expected


def test_backend_registry_is_a_per_instance_dict_keyed_by_images_type():
    backend = imagebackend.Backend(use_cow=True)
    assert backend.BACKEND['rbd'] is imagebackend.Rbd
    ours = plugin_imagebackend.Backend(True)
    assert ours.backend('rbd') is plugin_imagebackend.RbdImage
    # Nova's own registry is left as it was.
    assert imagebackend.Backend(True).BACKEND['rbd'] is imagebackend.Rbd


def test_rbd_flows_we_rely_on_are_still_there():
    source = inspect.getsource(libvirt_driver.LibvirtDriver)
    # The root disk fetch tries the backend's clone first.
    assert 'backend.clone(context, disk_images[' in source
    assert 'SUPPORTS_CLONE' in source
    # Resize keeps using the nova-resize snapshot on the root disk.
    assert 'create_snap(libvirt_utils.RESIZE_SNAPSHOT_NAME)' in source
    assert 'rollback_to_snap(libvirt_utils.RESIZE_SNAPSHOT_NAME)' in source
    # init_host checks the libvirt secret on the driver's own connection.
    assert 'self._host = host.Host(' in inspect.getsource(
        libvirt_driver.LibvirtDriver.__init__)
    # Compute drivers are still loaded from the nova.virt package.
    assert "'nova.virt.%s' % compute_driver" in inspect.getsource(
        virt_driver.load_compute_driver)
    # Static in Nova and in the plugin: called without an instance.
    assert isinstance(inspect.getattr_static(
        libvirt_driver.LibvirtDriver, '_get_local_gb_info'), staticmethod)
    assert isinstance(inspect.getattr_static(
        plugin_driver.RbdLibvirtDriver, '_get_local_gb_info'), staticmethod)


def test_live_migration_xml_step_we_replace_is_still_called():
    # live_migration.install() swaps this module attribute: it must still
    # be looked up at call time, from get_updated_guest_xml, on the
    # source, with the migration (and so its destination) in migrate_data.
    assert '_update_rbd_xml(xml_doc, migrate_data)' in inspect.getsource(
        libvirt_migration.get_updated_guest_xml)
    assert 'libvirt_migrate.get_updated_guest_xml(' in inspect.getsource(
        libvirt_driver.LibvirtDriver._live_migration_operation)
    from nova.compute import manager
    source = inspect.getsource(manager.ComputeManager._do_live_migration)
    assert source.index('migrate_data.migration = migration') < \
        source.index('self.driver.live_migration(')


def test_every_plugin_override_names_a_nova_method():
    ours = {n for n, v in vars(plugin_driver.RbdLibvirtDriver).items()
            if callable(v) or isinstance(v, staticmethod)}
    ours -= {'_disks_here'}
    drivers = (libvirt_driver.LibvirtDriver, virt_driver.ComputeDriver)
    pinned = {n for o, n, _e in internals.PINNED if o in drivers}
    assert ours <= pinned, ours - pinned


def test_rebuild_falls_back_to_the_managers_default():
    # Our rebuild fences, then relies on this fallback for the rest.
    from nova.compute import manager
    assert 'rebuild' not in vars(libvirt_driver.LibvirtDriver)
    source = inspect.getsource(manager.ComputeManager)
    assert ('self.driver.rebuild(**kwargs)\n'
            '        except NotImplementedError:') in source
    assert 'self._rebuild_default_impl(**kwargs)' in source


def test_nova_compute_parses_config_through_nova_config():
    # Read, not imported: importing it applies nova-compute's threading
    # mode to this test process.
    spec = importlib.util.find_spec('nova.cmd.compute')
    with open(spec.origin) as f:
        source = f.read()
    assert 'config.parse_args(sys.argv)' in source
    assert 'from nova import config' in source
    assert '\ndef main():' in source


def test_a_test_double_in_nova_s_place_is_not_reported_as_a_change(
        monkeypatch):
    # Nova's own fixtures patch the driver loader when a compute service
    # restarts; the start-up check must not refuse to run under them.
    monkeypatch.setattr(virt_driver, 'load_compute_driver', mock.Mock())
    assert internals.changed() == []

    def load_compute_driver(virtapi):
        pass  # a Nova that dropped a parameter
    monkeypatch.setattr(virt_driver, 'load_compute_driver',
                        load_compute_driver)
    assert internals.changed() == [
        'nova.virt.driver.load_compute_driver(virtapi, compute_driver) '
        'is now (virtapi)']


@pytest.mark.parametrize('owner,name,expected', internals.PINNED_VALUES,
                         ids=[n for _o, n, _e in internals.PINNED_VALUES])
def test_nova_constant_is_unchanged(owner, name, expected):
    assert getattr(owner, name) == expected


def test_image_properties_reach_system_metadata_whole():
    # The storage policy reads rbd_* image properties from there: every
    # property is copied, not only those ImageMetaProps knows.
    from nova import utils as nova_utils
    meta = nova_utils.get_system_metadata_from_image(
        {'properties': {'rbd_qos_iops_limit': '100', 'hw_foo': 'x'}})
    assert meta['image_rbd_qos_iops_limit'] == '100'


def test_extra_spec_validators_come_from_the_entry_point():
    from nova.api.validation.extra_specs import validators
    source = inspect.getsource(validators.load_validators)
    assert "'nova.api.extra_spec_validators'" in source
    assert 'ext.plugin.register()' in source
