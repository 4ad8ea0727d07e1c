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
"""Storage policy on a real cluster with an erasure-coded data pool.

A cluster of three OSDs of its own (an erasure-coded pool with k=2, m=1
needs three): data pools ``ecdata`` (erasure-coded, overwrites allowed),
``ecplain`` (erasure-coded, no overwrites), ``fast`` (replicated) and
``nocaps`` (replicated, the compute user has no caps on it).
Disks are made through the image backend as Nova's driver calls it, for
Nova Instance and Flavor objects carrying the policy.
"""

import contextlib
import os
import types
import uuid

import nova.conf
from nova import objects
from oslo_config import fixture as config_fixture
import pytest
import rados
import rbd

from nova_rbd_imagebackend.ceph import cluster
from nova_rbd_imagebackend.checks import caps
from nova_rbd_imagebackend.checks import disk_policy as policy_check
from nova_rbd_imagebackend.checks import host as host_module
from nova_rbd_imagebackend import conf as plugin_conf
from nova_rbd_imagebackend.disks import clones
from nova_rbd_imagebackend.disks import locations
from nova_rbd_imagebackend.disks import policy
from nova_rbd_imagebackend.disks import policy_on_disk
from nova_rbd_imagebackend.disks import snapshots
from nova_rbd_imagebackend import exceptions
from nova_rbd_imagebackend.nova import imagebackend
from sandbox import ceph
from sandbox import ceph_pools
from tests.conftest import stopped_at_the_end

MiB = 2 ** 20
PARENT_SIZE = 8 * MiB
PATTERN = b'parent data '
FULL = {'object_size': '1M', 'stripe_unit': '256K', 'stripe_count': '2',
        'features': 'layering,exclusive-lock,object-map,fast-diff',
        'data_pool': 'ecdata', 'qos_iops_limit': '200',
        'qos_write_bps_limit': str(10 * MiB)}


@pytest.fixture(scope='module')
def env(ceph_sandbox, tmp_path_factory):
    # ceph_sandbox: so that a host without Ceph skips like the layer.
    folder = tmp_path_factory.mktemp('policy')
    box = ceph.CephSandbox.start(str(folder / 'cluster'), osds=3,
                                 osd_bytes=2048 * MiB)
    with stopped_at_the_end(box):
        ceph_pools.erasure_coded(box, 'ecdata')
        ceph_pools.erasure_coded(box, 'ecplain', overwrites=False)
        with box.admin() as admin:
            admin.create_rbd_pool('fast')
            admin.add_pools_to_caps('client.nova', ['fast'])
            admin.create_rbd_pool('nocaps')
        admin = rados.Rados(conffile=box.conf_path, rados_id='admin')
        admin.connect(timeout=10)
        with admin.open_ioctx('images') as ioctx:
            rbd.RBD().create(ioctx, 'parent', PARENT_SIZE)
            with rbd.Image(ioctx, 'parent') as image:
                image.write(PATTERN * 1000, 0)
                image.create_snap('snap')
                image.protect_snap('snap')
        instances = folder / 'instances'
        instances.mkdir()
        try:
            yield types.SimpleNamespace(
                box=box, admin=admin, instances=str(instances),
                parent=locations.format_url(box.fsid, 'images', 'parent',
                                            'snap'))
        finally:
            admin.shutdown()


@pytest.fixture
def plugin(env):
    """nova.conf of a compute host on the policy cluster."""
    from nova import config as nova_config  # noqa: F401 (registers opts)
    conf = nova.conf.CONF
    plugin_conf.register_opts(conf)
    fixture = config_fixture.Config(conf)
    fixture.setUp()
    fixture.config(instances_path=env.instances)
    fixture.config(group='libvirt', images_type='rbd', images_rbd_pool='vms',
                   images_rbd_ceph_conf=env.box.conf_path, rbd_user='nova')
    fixture.config(group='rbd_imagebackend', image_data_pools=['fast'])
    try:
        yield cluster.client()
    finally:
        fixture.cleanUp()
        cluster.forget()


def instance_with(flavor_specs=None, image_props=None):
    objects.register_all()
    flavor = objects.Flavor(extra_specs={
        'rbd:' + k: v for k, v in (flavor_specs or {}).items()})
    return objects.Instance(
        uuid=str(uuid.uuid4()), flavor=flavor, task_state=None,
        system_metadata={'image_rbd_' + k: v
                         for k, v in (image_props or {}).items()})


def make_root(env, instance, size=16 * MiB):
    disk = imagebackend.RbdImage(instance=instance, disk_name='disk')

    def clone(target, **kwargs):
        # Nova's clone_fallback_to_fetch: the backend clones first
        # (disks/clones.py directly: there is no Glance here).
        clones.clone(disk.client, 'img', {
            'disk_format': 'raw', 'locations': [{'url': env.parent}]},
            disk.pool, disk.rbd_name, disk.storage_policy())
        disk._cloned = True
    disk.cache(clone, 'base', size, image_id='img')
    return disk


def make_ephemeral(instance, size=4 * MiB):
    disk = imagebackend.RbdImage(instance=instance, disk_name='disk.local')

    def fetch(target, **kwargs):
        with open(target, 'wb') as f:  # as Nova's mkfs would leave it
            f.write(b'ephemeral' * 100)
            f.truncate(size)
    disk.cache(fetch, 'ephemeral_4_abc', size, ephemeral_size=4)
    return disk


def make_swap(instance, size=4 * MiB):
    disk = imagebackend.RbdImage(instance=instance, disk_name='disk.swap')
    disk.cache(lambda **kw: None, 'swap_4', size, swap_mb=4)
    return disk


def names_of(client, instance):
    return sorted(client.list_prefix('vms', instance.uuid))


def data_objects(env, pool, image_id):
    with env.admin.open_ioctx(pool) as ioctx:
        return [o.key for o in ioctx.list_objects()
                if o.key.startswith('rbd_data.') and image_id in o.key]


def image_id_of(env, name):
    with env.admin.open_ioctx('vms') as ioctx:
        with rbd.Image(ioctx, name, read_only=True) as image:
            return image.id()


@contextlib.contextmanager
def removed_after(client, instance):
    try:
        yield
    finally:
        for name in names_of(client, instance):
            client.remove('vms', name)


def test_every_kind_of_disk_takes_the_flavors_policy(env, plugin):
    instance = instance_with(FULL)
    with removed_after(plugin, instance):
        disks = [make_root(env, instance), make_ephemeral(instance),
                 make_swap(instance)]
        config = os.path.join(env.instances, 'disk.config')
        with open(config, 'wb') as f:
            f.write(b'config drive' * 100)
        disks[0].import_file(instance, config, 'disk.config')
        assert names_of(plugin, instance) == sorted(
            '%s_%s' % (instance.uuid, d) for d in
            ('disk', 'disk.local', 'disk.swap', 'disk.config'))
        for name in names_of(plugin, instance):
            found = plugin.describe('vms', name)
            assert found['object_size'] == MiB, name
            assert (found['stripe_unit'], found['stripe_count']) == \
                (256 * 1024, 2), name
            assert found['data_pool'] == 'ecdata', name
            assert {'layering', 'exclusive-lock', 'object-map',
                    'fast-diff'} <= set(found['features']), name
            assert 'deep-flatten' not in found['features'], name
            meta = found['metadata']
            assert meta['conf_rbd_qos_iops_limit'] == '200', name
            assert meta['conf_rbd_qos_write_bps_limit'] == str(10 * MiB)
            assert '"data_pool": "ecdata"' in meta[policy.RECORD_KEY]
            # Data written goes to the erasure-coded pool, not to vms.
            plugin.write('vms', name, b'guest data', 0)
            image_id = image_id_of(env, name)
            assert data_objects(env, 'ecdata', image_id), name
            assert not data_objects(env, 'vms', image_id), name
        # The clone reads its parent's data through the new layout.
        root = '%s_disk' % instance.uuid
        assert plugin.read('vms', root, 12, 12) == PATTERN
        assert plugin.parent('vms', root) == ('images', 'parent', 'snap')


def test_image_properties_tighten_qos_and_fill_in_the_layout(env, plugin):
    instance = instance_with(
        {'qos_iops_limit': '200', 'object_size': '1M'},
        {'qos_iops_limit': '50', 'qos_read_bps_limit': str(MiB),
         'object_size': '8M', 'data_pool': 'fast'})
    with removed_after(plugin, instance):
        disk = make_root(env, instance)
        found = plugin.describe(disk.pool, disk.rbd_name)
        assert found['object_size'] == MiB  # the flavor's
        assert found['data_pool'] == 'fast'  # allowed for images
        assert found['metadata']['conf_rbd_qos_iops_limit'] == '50'
        assert found['metadata']['conf_rbd_qos_read_bps_limit'] == str(MiB)


def test_a_reused_disk_takes_the_new_flavors_qos(env, plugin):
    instance = instance_with({'qos_iops_limit': '200',
                              'qos_read_bps_limit': str(MiB)})
    with removed_after(plugin, instance):
        make_root(env, instance)
        # As after a resize: the same disk, under another flavor.
        instance.flavor = objects.Flavor(extra_specs={
            'rbd:qos_iops_limit': '400', 'rbd:object_size': '1M'})
        disk = make_root(env, instance, size=32 * MiB)
        report = policy_on_disk.report(plugin, disk.pool, disk.rbd_name)
        assert report['qos'] == {'qos_iops_limit': '400'}
        assert report['layout']['object_size'] == 4 * MiB
        # The record says 1M; the disk keeps the layout it was made with.
        assert report['differs'] == ['object_size']
        host = types.SimpleNamespace(client=plugin, pool='vms')
        (result,) = policy_check.instance_policy(host, instance.uuid)
        assert result.status == 'warn'
        assert 'object_size=4M' in result.detail
        assert 'qos_iops_limit=400' in result.detail
        # And back to a flavor without a policy: our keys go.
        instance.flavor = objects.Flavor(extra_specs={})
        make_root(env, instance, size=32 * MiB)
        assert plugin.metadata(disk.pool, disk.rbd_name) == {}


@pytest.mark.parametrize('flavor,image,words', [
    ({'data_pool': 'nosuchpool'}, {}, 'data_pool=nosuchpool: no such pool'),
    ({'data_pool': 'ecplain'}, {}, 'allow_ec_overwrites'),
    ({'object_size': '1M', 'stripe_unit': '2M', 'stripe_count': '2'}, {},
     'does not divide the object size'),
    ({}, {'data_pool': 'ecdata'}, 'image_data_pools'),
    ({}, {'qos_iops_limit': 'many'}, 'not a whole number'),
])
def test_a_policy_the_cluster_cannot_honour_fails_with_nothing_made(
        env, plugin, flavor, image, words):
    instance = instance_with(flavor, image)
    with removed_after(plugin, instance):
        for make in (make_root, make_ephemeral, make_swap):
            with pytest.raises(exceptions.DiskCreationFailed) as caught:
                make(env, instance) if make is make_root else make(instance)
            assert words in caught.value.format_message()
            assert names_of(plugin, instance) == []


def test_a_snapshot_records_the_policy_its_disk_had(env, plugin):
    instance = instance_with(FULL)
    image_id = str(uuid.uuid4())
    with removed_after(plugin, instance):
        disk = make_root(env, instance)
        url = disk.direct_snapshot(None, uuid.uuid4().hex, 'raw', image_id,
                                   'img')
        snapshots.registered(disk.client, disk.pool, image_id)
        snap = locations.parse_url(url)
        try:
            meta = plugin.metadata(snap.pool, snap.image)
            assert '"qos_iops_limit": 200' in \
                meta[policy.SNAPSHOT_RECORD_KEY]
            # librbd gave the clone its disk's metadata; only the record
            # stays, so disks cloned from the snapshot take their own.
            assert policy.RECORD_KEY not in meta
            assert not [k for k in meta if k.startswith('conf_rbd_qos')]
            plain = instance_with()
            with removed_after(plugin, plain):
                child = imagebackend.RbdImage(instance=plain,
                                              disk_name='disk')
                clones.clone_snapshot(plugin, snap.pool, snap.image,
                                      snap.snapshot, 'vms', child.rbd_name,
                                      child.storage_policy())
                child_meta = plugin.metadata('vms', child.rbd_name)
                assert not [k for k in child_meta
                            if k.startswith('conf_rbd_qos')]
                assert policy.RECORD_KEY not in child_meta
        finally:
            disk.cleanup_direct_snapshot({'url': url},
                                         also_destroy_volume=True)


def test_doctor_checks_the_data_pools_images_may_name(env, plugin):
    conf = nova.conf.CONF
    conf.set_override('image_data_pools',
                      ['fast', 'ecdata', 'ecplain', 'nocaps', 'nosuch'],
                      group='rbd_imagebackend')
    try:
        host = host_module.Host(conf)
        host.connect()
        found = {r.check: r for r in caps.data_pools(host)}
    finally:
        conf.clear_override('image_data_pools', group='rbd_imagebackend')
    assert found['data pool fast'].status == 'ok'
    assert found['data pool ecdata'].status == 'ok'
    assert found['data pool ecplain'].status == 'fail'
    assert 'allow_ec_overwrites' in found['data pool ecplain'].fix
    assert found['data pool nocaps'].status == 'fail'
    assert 'profile rbd pool=nocaps' in found['data pool nocaps'].fix
    assert found['data pool nosuch'].detail == 'does not exist'
    # The scratch images are gone, even the one whose write was refused.
    assert not [n for n in plugin.list_prefix('vms', '')
                if n.startswith('nova-rbd-doctor-')]
