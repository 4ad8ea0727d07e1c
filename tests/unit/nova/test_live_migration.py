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
"""The guest XML a source host writes for the destination of a move."""

from lxml import etree
from nova import objects
from nova.virt.libvirt import migration as libvirt_migration
import pytest

from nova_rbd_imagebackend.nova import live_migration

GUEST = b"""<domain type='qemu'><devices>
  <disk type='network' device='disk'>
    <driver name='qemu' type='raw' cache='none'/>
    <auth username='nova'><secret type='ceph' uuid='%(src)s'/></auth>
    <source protocol='rbd' name='vms/u_disk'>
      <host name='10.0.0.1' port='6789'/>
    </source>
    <target dev='vda' bus='virtio'/>
  </disk>
  <disk type='network' device='disk'>
    <source protocol='rbd' name='volumes/volume-1'>
      <auth username='cinder'><secret type='ceph' uuid='c'/></auth>
      <host name='10.0.0.1' port='6789'/>
    </source>
    <serial>volume-1</serial>
    <target dev='vdb' bus='virtio'/>
  </disk>
  <disk type='file' device='cdrom'>
    <source file='/x/disk.config'/><target dev='hda' bus='ide'/>
  </disk>
</devices></domain>""" % {b'src': b'11111111-1111-1111-1111-111111111111'}
DEST_SECRET = '22222222-2222-2222-2222-222222222222'
MONS = [('127.0.0.7', '6789'), ('::1', '3300')]


@pytest.fixture(autouse=True)
def _cluster(monkeypatch):
    objects.register_all()
    published = {'compute2': {'user': 'nova2', 'secret_uuid': DEST_SECRET}}
    monkeypatch.setattr(live_migration.cluster, 'mon_addrs', lambda: MONS)
    monkeypatch.setattr(live_migration.cluster, 'client', lambda: None)
    monkeypatch.setattr(live_migration.cluster, 'pool', lambda: 'vms')
    monkeypatch.setattr(live_migration.cluster, 'user', lambda: 'nova')
    monkeypatch.setattr(live_migration.identities, 'lookup',
                        lambda client, pool, host: published.get(host))


def _migrate_data(dest='compute2', image_type='rbd'):
    data = objects.LibvirtLiveMigrateData(image_type=image_type)
    data.migration = objects.Migration(dest_compute=dest)
    return data


def _disks(doc):
    return doc.findall('./devices/disk')


def test_monitors_and_identity_become_the_destinations():
    doc = live_migration.update_rbd_xml(etree.fromstring(GUEST),
                                        _migrate_data())
    root = _disks(doc)[0]
    assert [(h.get('name'), h.get('port'))
            for h in root.findall('source/host')] == MONS
    auths = root.findall('auth') + root.findall('source/auth')
    assert len(auths) == 1
    assert auths[0].get('username') == 'nova2'
    assert auths[0].find('secret').get('uuid') == DEST_SECRET
    # The <auth> stays before <source>, where libvirt and Nova put it.
    assert [c.tag for c in root][:3] == ['driver', 'auth', 'source']


def test_volumes_and_file_disks_are_left_alone():
    before = etree.fromstring(GUEST)
    after = live_migration.update_rbd_xml(etree.fromstring(GUEST),
                                          _migrate_data())
    for index in (1, 2):
        assert etree.tostring(_disks(after)[index]) == \
            etree.tostring(_disks(before)[index])


def test_a_destination_without_a_record_keeps_the_sources_identity():
    doc = live_migration.update_rbd_xml(etree.fromstring(GUEST),
                                        _migrate_data(dest='intree-host'))
    root = _disks(doc)[0]
    assert root.find('auth').get('username') == 'nova'
    assert len(root.findall('source/host')) == len(MONS)


def test_a_destination_without_cephx_gets_no_auth(monkeypatch):
    monkeypatch.setattr(live_migration.identities, 'lookup',
                        lambda client, pool, host: {'user': '',
                                                    'secret_uuid': ''})
    doc = live_migration.update_rbd_xml(etree.fromstring(GUEST),
                                        _migrate_data())
    assert _disks(doc)[0].find('auth') is None


def test_other_image_types_are_not_touched():
    doc = live_migration.update_rbd_xml(etree.fromstring(GUEST),
                                        _migrate_data(image_type='qcow2'))
    assert etree.tostring(doc) == etree.tostring(etree.fromstring(GUEST))


def test_install_replaces_novas_step():
    original = libvirt_migration._update_rbd_xml
    try:
        live_migration.install()
        assert libvirt_migration._update_rbd_xml is \
            live_migration.update_rbd_xml
    finally:
        libvirt_migration._update_rbd_xml = original
