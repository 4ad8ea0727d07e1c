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
"""Bad sizes and names through Nova's Image contract, on a real cluster.

Each one is one clear fault of Nova's (InvalidDiskInfo, which aborts the
build without rescheduling), and nothing is left in the pool or under
the instances path.
"""

import os
import types
import uuid

import nova.conf
from oslo_config import fixture as config_fixture
import pytest

from nova_rbd_imagebackend.ceph import cluster
from nova_rbd_imagebackend import conf as plugin_conf
from nova_rbd_imagebackend import exceptions
from nova_rbd_imagebackend.nova import imagebackend

GiB = 1024 ** 3


@pytest.fixture
def conf(ceph_sandbox, tmp_path):
    from nova import config as nova_config  # noqa: F401 (registers opts)
    plugin_conf.register_opts(nova.conf.CONF)
    fixture = config_fixture.Config(nova.conf.CONF)
    fixture.setUp()
    fixture.config(group='libvirt', images_type='rbd', images_rbd_pool='vms',
                   images_rbd_ceph_conf=ceph_sandbox.conf_path,
                   rbd_user='nova')
    fixture.config(instances_path=str(tmp_path / 'instances'))
    yield fixture
    fixture.cleanUp()
    cluster.forget()


def disk(name):
    instance = types.SimpleNamespace(uuid=str(uuid.uuid4()))
    return instance, imagebackend.RbdImage(instance=instance, disk_name=name)


def never_fetched(**kwargs):
    raise AssertionError('nothing may be fetched for a refused disk')


def assert_nothing_left(image, instance, tmp_path):
    assert image.client.list_prefix('vms', instance.uuid) == []
    folder = tmp_path / 'instances'
    assert not folder.exists() or os.listdir(folder) == []


@pytest.mark.parametrize('size', [0, 512], ids=['0 bytes', '512 bytes'])
def test_swap_too_small(conf, tmp_path, size):
    instance, image = disk('disk.swap')
    with pytest.raises(exceptions.InvalidDisk) as info:
        image.cache(never_fetched, 'swap_0', size, swap_mb=0)
    assert 'a swap disk needs at least 40960 bytes' in str(info.value)
    assert_nothing_left(image, instance, tmp_path)


@pytest.mark.parametrize('size', [2 ** 64, 2 ** 50, 10 * 1024 * GiB],
                         ids=['2^64', '2^50', '10 TiB'])
def test_root_disk_larger_than_the_pool(conf, tmp_path, size):
    instance, image = disk('disk')
    with pytest.raises(exceptions.InvalidDisk) as info:
        image.cache(never_fetched, 'base', size, image_id='some-image')
    assert 'more than the pool can ever hold' in str(info.value)
    assert_nothing_left(image, instance, tmp_path)


def test_growing_past_the_pool_keeps_the_disk_as_it_was(conf, tmp_path):
    instance, image = disk('disk.local')
    image.client.create('vms', image.rbd_name, GiB)
    with pytest.raises(exceptions.InvalidDisk):
        image.resize_image(2 ** 60)
    assert image.get_disk_size(None) == GiB
    image.client.remove('vms', image.rbd_name)


def test_a_name_qemu_cannot_carry(conf):
    with pytest.raises(exceptions.InvalidDisk) as info:
        disk('disk:conf=/tmp/evil')
    assert 'QEMU rbd: path' in str(info.value)
