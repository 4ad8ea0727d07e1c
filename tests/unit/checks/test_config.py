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
"""Verdicts of the nova.conf checks, one case per way to get it wrong."""

import nova.conf
from oslo_config import fixture as config_fixture
import pytest

from nova_rbd_imagebackend.checks import config
from nova_rbd_imagebackend.checks import host as host_module
from nova_rbd_imagebackend.checks import results
from nova_rbd_imagebackend import conf as plugin_conf

SECRET = 'b5b5b5b5-0000-4000-8000-000000000001'


@pytest.fixture
def conf(tmp_path):
    from nova import config as nova_config  # noqa: F401 (registers opts)
    plugin_conf.register_opts(nova.conf.CONF)
    ceph_conf = tmp_path / 'ceph.conf'
    ceph_conf.write_text('[global]\n')
    fixture = config_fixture.Config(nova.conf.CONF)
    fixture.setUp()
    fixture.config(group='libvirt', images_type='rbd', images_rbd_pool='vms',
                   images_rbd_ceph_conf=str(ceph_conf), rbd_user='nova',
                   rbd_secret_uuid=SECRET)
    yield fixture
    fixture.cleanUp()


def verdict(check, fixture, **libvirt):
    if libvirt:
        fixture.config(group='libvirt', **libvirt)
    return check(host_module.Host(fixture.conf))


def test_a_good_configuration_passes_every_check(conf):
    for check in (config.nova_version, config.images_type,
                  config.instance_pool, config.cephx_secret,
                  config.force_raw_images, config.ceph_conf):
        assert verdict(check, conf).status == results.OK, check


def test_another_images_type_fails(conf):
    found = verdict(config.images_type, conf, images_type='qcow2')
    assert found.status == results.FAIL
    assert found.detail == ('[libvirt] images_type is qcow2; the plugin '
                            'serves rbd')


@pytest.mark.parametrize('libvirt', [{'rbd_secret_uuid': None},
                                     {'rbd_user': None}])
def test_user_and_secret_go_together(conf, libvirt):
    found = verdict(config.cephx_secret, conf, **libvirt)
    assert found.status == results.FAIL
    assert 'must be set together' in found.detail


def test_a_secret_that_is_not_a_uuid_fails(conf):
    found = verdict(config.cephx_secret, conf, rbd_secret_uuid='my-secret')
    assert found.status == results.FAIL
    assert found.detail == ("[libvirt] rbd_secret_uuid 'my-secret' is not "
                            "a UUID")


def test_neither_user_nor_secret_means_client_admin(conf):
    found = verdict(config.cephx_secret, conf, rbd_user=None,
                    rbd_secret_uuid=None)
    assert found == results.ok('rbd_user/secret',
                               'neither set: client.admin')


def test_empty_pool_fails(conf):
    assert verdict(config.instance_pool, conf,
                   images_rbd_pool='').status == results.FAIL


def test_converted_images_fail(conf):
    conf.config(force_raw_images=False)
    assert verdict(config.force_raw_images, conf).status == results.FAIL


def test_unset_ceph_conf_needs_the_default_file(conf, monkeypatch, tmp_path):
    monkeypatch.setattr(config, 'DEFAULT_CEPH_CONF',
                        str(tmp_path / 'absent.conf'))
    found = verdict(config.ceph_conf, conf, images_rbd_ceph_conf='')
    assert found.status == results.FAIL
    assert found.detail == '%s is not readable' % (tmp_path / 'absent.conf')
    assert 'images_rbd_ceph_conf' in found.fix


@pytest.mark.parametrize('version,status', [
    ('34.0.0', results.OK), ('34.2.1', results.OK),
    ('33.1.0', results.FAIL), ('35.0.0', results.WARN),
    ('36.1.0', results.WARN)])
def test_nova_version_range(conf, monkeypatch, version, status):
    monkeypatch.setattr(config, '_nova_version', lambda: version)
    assert verdict(config.nova_version, conf).status == status
