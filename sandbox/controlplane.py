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

"""Nova's API, conductor, scheduler, placement and computes, in-process.

Real: Nova's services and compute manager, Nova's libvirt driver (through
the plugin's subclass), the plugin, and the Ceph cluster.  Fake: the
libvirt connection (Nova's fakelibvirt; every domain XML Nova defines is
captured), Neutron, Cinder, and Glance's API (Nova's in-memory fixture,
holding rbd:// locations into the real cluster).
"""

import io
import json
import os
import sys
import time
from unittest import mock
import urllib.parse
import uuid

import fixtures
from lxml import etree
import nova.conf
from nova import context as nova_context
from nova import objects
from nova import test
from nova.tests import fixtures as nova_fixtures
from nova.tests.fixtures import libvirt as fakelibvirt
from nova.tests.functional import fixtures as func_fixtures
from nova.tests.functional import integrated_helpers
from nova.tests.unit import fake_network
import rados
import rbd

from nova_rbd_imagebackend.ceph import cluster
from nova_rbd_imagebackend.disks import locations
from nova_rbd_imagebackend.nova import activation

CONF = nova.conf.CONF
MiB = 1024 ** 2
GiB = 1024 ** 3
SECRET_UUID = 'b5b5b5b5-0000-4000-8000-000000000001'

FLAVORS = [
    {'flavorid': 'root1', 'name': 'root1', 'memory_mb': 512, 'vcpus': 1,
     'root_gb': 1, 'ephemeral_gb': 0, 'swap': 0},
    {'flavorid': 'full1', 'name': 'full1', 'memory_mb': 512, 'vcpus': 1,
     'root_gb': 1, 'ephemeral_gb': 1, 'swap': 64},
    {'flavorid': 'root2', 'name': 'root2', 'memory_mb': 512, 'vcpus': 1,
     'root_gb': 2, 'ephemeral_gb': 0, 'swap': 0},
]


class LocationsGlanceFixture(nova_fixtures.GlanceFixture):
    """Nova's Glance fixture, behaving as Glance behind Nova's client does.

    Nova hands a direct snapshot's URL to Glance as ``location``; Glance
    then lists it under ``locations`` (and ``direct_url``).  Nova's client
    drops empty kernel and ramdisk ids before they reach Glance.
    """

    @staticmethod
    def _drop_empty_kernel(metadata):
        props = metadata.get('properties', {})
        for key in ('kernel_id', 'ramdisk_id'):
            if str(props.get(key, 'x')).strip().lower() in ('', 'none'):
                props.pop(key)

    def create(self, context, metadata, data=None):
        self._drop_empty_kernel(metadata)
        return super().create(context, metadata, data)

    def update(self, context, image_id, metadata, data=None,
               purge_props=False):
        metadata = dict(metadata)
        self._drop_empty_kernel(metadata)
        url = metadata.pop('location', None)
        image = super().update(context, image_id, metadata, data,
                               purge_props)
        if url:
            image['locations'] = [{'url': url, 'metadata': {}}]
            image['direct_url'] = url
            image['status'] = 'active'
        return image


class DomainXMLRecorder(object):
    """Keep every XML document Nova passes to defineXML, per host."""

    def __init__(self, test_case):
        self.documents = []
        original = fakelibvirt.Connection.defineXML

        def define(conn, xml):
            self.documents.append((conn.getHostname(), xml))
            return original(conn, xml)
        test_case.useFixture(fixtures.MonkeyPatch(
            'nova.tests.fixtures.libvirt.Connection.defineXML', define))

    def latest(self, instance_uuid):
        for _host, xml in reversed(self.documents):
            doc = etree.fromstring(xml)
            if doc.findtext('uuid') == instance_uuid:
                return doc
        raise AssertionError('no domain XML for %s' % instance_uuid)


class RbdNovaTestCase(integrated_helpers.InstanceHelperMixin,
                      test.TestCase):
    """Two computes with the plugin, against the session's Ceph cluster."""

    ceph = None  # the CephSandbox: tests/nova/conftest.py or the demo
    glance_api = None  # a GlanceSandbox to use instead of Nova's fixture
    compute_user = 'nova'
    microversion = '2.74'

    def setUp(self):
        super().setUp()
        self.flags(api_paste_config=os.path.join(
            sys.prefix, 'etc', 'nova', 'api-paste.ini'), group='wsgi')
        self.instances_path = self.useFixture(fixtures.TempDir()).path
        self.flags(instances_path=self.instances_path)
        self.flags(compute_driver='libvirt.LibvirtDriver')
        self.flags(virt_type='qemu', images_type='rbd',
                   images_rbd_pool='vms',
                   images_rbd_ceph_conf=self.ceph.conf_path,
                   rbd_user=self.compute_user, rbd_secret_uuid=SECRET_UUID,
                   rbd_connect_timeout=5, rbd_destroy_volume_retries=2,
                   rbd_destroy_volume_retry_interval=1, group='libvirt')
        # The activation the nova-rbd-compute console script performs.
        activation.activate(CONF)
        self.flags(op_timeout=10, group='rbd_imagebackend')
        self.addCleanup(cluster.forget)

        self.useFixture(nova_fixtures.CinderFixture(self))
        self.useFixture(nova_fixtures.NeutronFixture(self))
        if self.glance_api is None:
            self.glance = self.useFixture(LocationsGlanceFixture(self))
        else:
            self.flags(api_servers=[self.glance_api.endpoint],
                       group='glance')
            # Nova's noauth API builds contexts without a token, and its
            # Glance client will not send a request without one.  This
            # Glance runs without keystone and ignores tokens.
            self.useFixture(fixtures.MonkeyPatch(
                'nova.context._ContextAuthPlugin.get_token',
                lambda plugin, *a, **k: plugin.auth_token or 'noauth'))
        self.useFixture(func_fixtures.PlacementFixture())
        self.useFixture(nova_fixtures.CGroupsFixture())
        fake_network.set_stub_network_methods(self)
        api_fixture = self.useFixture(
            nova_fixtures.OSAPIFixture(api_version='v2.1'))
        self.api = api_fixture.admin_api
        self.api.microversion = self.microversion
        self.notifier = self.useFixture(
            nova_fixtures.NotificationFixture(self))
        self.useFixture(nova_fixtures.LibvirtFixture())
        for target in ('get_volume_connector', '_connect_volume',
                       '_disconnect_volume', '_add_rng_device'):
            self.useFixture(fixtures.MockPatch(
                'nova.virt.libvirt.driver.LibvirtDriver.' + target))
        self.useFixture(fixtures.MockPatch(
            'nova.virt.libvirt.driver.LibvirtDriver._get_vcpu_available',
            return_value=set(range(24))))
        self.useFixture(fixtures.MockPatch(
            'nova.virt.libvirt.host.Host.get_memory_mb_total',
            return_value=10000000))
        self.xml = DomainXMLRecorder(self)

        self.start_service('conductor')
        self.start_service('scheduler')
        ctxt = nova_context.get_admin_context()
        for flavor in FLAVORS:
            objects.Flavor(context=ctxt, **flavor).create()
        self.computes = {}

    # -- services -----------------------------------------------------------

    def start_two_hosts(self):
        """Computes host1 and host2; return an rbd image to boot from."""
        self.start_compute('host1')
        self.start_compute('host2')
        return self.upload_rbd_image(b'base-image')

    def start_compute(self, name):
        """Start a compute service on host ``name`` with its own libvirt."""
        with mock.patch.object(fakelibvirt.Connection, 'getHostname',
                               return_value=name):
            with mock.patch('nova.virt.node.get_local_node_uuid',
                            return_value=str(uuid.uuid5(uuid.NAMESPACE_DNS,
                                                        name))):
                compute = self.start_service('compute', host=name)
        compute.driver._host.get_connection().getHostname = lambda: name
        self.computes[name] = compute
        return compute

    def allow_live_migration(self):
        """Let Nova's fake domains migrate: define on the destination.

        Nova's fake libvirt always fails a migration; this completes the
        job instead, as Nova's own functional tests do, and records each
        (destination URI, flags) in ``self.migrations``.
        """
        self.migrations = []

        def migrate(domain, destination, params, flags):
            self.migrations.append((destination, flags))
            host = urllib.parse.urlparse(destination).hostname
            dest = self.computes[host].driver._host.get_connection()
            dest.defineXML(params['destination_xml']).createWithFlags(0)
            domain.complete_job()
        self.useFixture(fixtures.MonkeyPatch(
            'nova.tests.fixtures.libvirt.Domain.migrateToURI3', migrate))

    # -- the real cluster ---------------------------------------------------

    def admin_rados(self):
        cluster_handle = rados.Rados(conffile=self.ceph.conf_path,
                                     rados_id='admin')
        cluster_handle.connect(timeout=10)
        self.addCleanup(cluster_handle.shutdown)
        return cluster_handle

    def rbd_images(self, pool='vms', prefix=''):
        with self.admin_rados().open_ioctx(pool) as ioctx:
            return sorted(n for n in rbd.RBD().list(ioctx)
                          if n.startswith(prefix))

    def rbd_image(self, name, pool='vms', snapshot=None):
        """An open rbd.Image as admin, closed at test end."""
        ioctx = self.admin_rados().open_ioctx(pool)
        self.addCleanup(ioctx.close)
        image = rbd.Image(ioctx, name, snapshot=snapshot, read_only=True)
        self.addCleanup(image.close)
        return image

    def blocklist(self, op, addr):
        """Add an address to, or remove it from, the OSD blocklist."""
        self.admin_rados().mon_command(json.dumps({
            'prefix': 'osd blocklist', 'blocklistop': op, 'addr': addr}),
            b'')

    def blocklisted(self):
        """Addresses on the OSD blocklist."""
        _ret, out, _err = self.admin_rados().mon_command(json.dumps({
            'prefix': 'osd blocklist ls', 'format': 'json'}), b'')
        # The JSON list is followed by a summary line.
        entries, _end = json.JSONDecoder().raw_decode(out.decode() or '[]')
        return [e['addr'] for e in entries]

    def wait_flattened(self, name, pool='vms', timeout=30):
        """Wait until the image has no clone parent any more."""
        deadline = time.monotonic() + timeout
        with self.admin_rados().open_ioctx(pool) as ioctx:
            while True:
                with rbd.Image(ioctx, name, read_only=True) as image:
                    try:
                        image.parent_info()
                    except rbd.ImageNotFound:
                        return
                if time.monotonic() > deadline:
                    raise AssertionError('%s/%s still has a parent' % (
                        pool, name))
                time.sleep(0.1)

    def write_disk(self, name, data, offset=0, pool='vms'):
        with self.admin_rados().open_ioctx(pool) as ioctx:
            with rbd.Image(ioctx, name) as image:
                image.write(data, offset)

    def upload_rbd_image(self, data, size=64 * MiB, **meta):
        """An image as glance_store stores it: images/<id>@snap, protected.

        Registered in the Glance fixture with its rbd:// location.
        """
        image_id = str(uuid.uuid4())
        with self.admin_rados().open_ioctx('images') as ioctx:
            rbd.RBD().create(ioctx, image_id, size, old_format=False)
            with rbd.Image(ioctx, image_id) as image:
                image.write(data, 0)
                image.create_snap('snap')
                image.protect_snap('snap')
        url = locations.format_url(self.ceph.fsid, 'images', image_id,
                                   'snap')
        record = {'id': image_id, 'name': 'img-' + image_id[:8],
                  'disk_format': 'raw', 'container_format': 'bare',
                  'status': 'active', 'size': size, 'min_disk': 0,
                  'min_ram': 0, 'visibility': 'public', 'properties': {},
                  'locations': [{'url': url, 'metadata': {}}],
                  'direct_url': url}
        record.update(meta)
        self.glance.create(None, record)
        return image_id

    def upload_plain_image(self, payload, disk_format, size):
        """An image Glance holds outside the cluster (no rbd location)."""
        image_id = str(uuid.uuid4())
        self.glance.create(None, {
            'id': image_id, 'name': 'plain-' + image_id[:8],
            'disk_format': disk_format, 'container_format': 'bare',
            'status': 'active', 'size': size, 'min_disk': 0, 'min_ram': 0,
            'visibility': 'public', 'properties': {}}, io.BytesIO(payload))
        return image_id

    # -- servers --------------------------------------------------------------

    def boot(self, image_id, flavor='root1', host=None, **extra):
        body = {'name': 'srv', 'imageRef': image_id, 'flavorRef': flavor,
                'networks': 'none'}
        if host:
            body['host'] = host
        body.update(extra)
        server = self.api.post_server({'server': body})
        return self._wait_for_state_change(server, 'ACTIVE')

    def disk_xml(self, server, dev='vda'):
        doc = self.xml.latest(server['id'])
        for disk in doc.findall('./devices/disk'):
            if disk.find('target').get('dev') == dev:
                return disk
        raise AssertionError('no disk %s in %s' % (
            dev, etree.tostring(doc).decode()))
