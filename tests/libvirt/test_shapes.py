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

"""The plugin's disk XML boots a real guest on every cluster shape.

Each case starts a small cluster of its own (several monitors, msgr v2
only, IPv6), lets the plugin write the network disk XML with every
monitor as a ``<host>``, and boots a QEMU guest from it in real libvirtd.
The guest's firmware reads the boot sector through QEMU's librbd and runs
it; the boot sector prints a marker on the serial console.  A write
through QEMU's block layer then lands in the cluster.
"""

import base64
import contextlib
import os
import time
import types
import uuid

import libvirt
import pytest
import rados
import rbd

from nova.conf import CONF
from nova_rbd_imagebackend.ceph import cluster
from nova_rbd_imagebackend.nova import imagebackend
from sandbox import ceph
from sandbox import libvirtd
from tests.libvirt.test_real_libvirt import guest_io

MiB = 1024 ** 2
SHAPES = [
    pytest.param({'mons': 3, 'msgr': 'v1'}, id='3mon-v1'),
    pytest.param({'mons': 3, 'msgr': 'v2'}, id='3mon-v2'),
    pytest.param({'mons': 1, 'msgr': 'both', 'ipv6': True}, id='ipv6-both'),
    pytest.param({'mons': 1, 'msgr': 'v2', 'ipv6': True}, id='ipv6-v2'),
]
DOMAIN = """\
<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    {disk}
    <serial type='file'><source path='{console}'/></serial>
  </devices>
</domain>
"""


def boot_sector(text):
    """A 512-byte MBR that prints ``text`` on COM1 and halts.

    cli; cld; xor ax,ax; mov ds,ax; mov si,msg; mov dx,0x3f8;
    next: lodsb; test al,al; jz done; out dx,al; jmp next;
    done: hlt; jmp done; msg: text, 0
    """
    msg = 0x7c00 + 23
    code = bytes([0xfa, 0xfc, 0x31, 0xc0, 0x8e, 0xd8,
                  0xbe, msg & 0xff, msg >> 8, 0xba, 0xf8, 0x03,
                  0xac, 0x84, 0xc0, 0x74, 0x03, 0xee, 0xeb, 0xf8,
                  0xf4, 0xeb, 0xfd]) + text.encode() + b'\0'
    assert len(code) <= 510
    return code.ljust(510, b'\0') + b'\x55\xaa'


@contextlib.contextmanager
def plugin_conf(box, secret_uuid):
    """Point the plugin at ``box`` as Nova's [libvirt] options would."""
    overrides = {'images_rbd_pool': 'vms', 'virt_type': 'qemu',
                 'images_rbd_ceph_conf': box.conf_path, 'rbd_user': 'nova',
                 'rbd_secret_uuid': secret_uuid}
    for name, value in overrides.items():
        CONF.set_override(name, value, group='libvirt')
    cluster.forget()
    try:
        yield
    finally:
        cluster.forget()
        for name in overrides:
            CONF.clear_override(name, group='libvirt')


@contextlib.contextmanager
def started_cluster(shape):
    started = time.monotonic()
    box = ceph.CephSandbox.start(osd_bytes=512 * MiB, **shape)
    try:
        yield box, time.monotonic() - started
    finally:
        box.stop()


@contextlib.contextmanager
def libvirt_objects(host, secret_uuid, key):
    """A ceph secret holding ``key``; every domain named here is removed."""
    conn = host.connect()
    secret = conn.secretDefineXML(
        "<secret ephemeral='no' private='no'><uuid>%s</uuid><usage "
        "type='ceph'><name>shape %s</name></usage></secret>"
        % (secret_uuid, secret_uuid))
    names = []
    try:
        secret.setValue(base64.b64decode(key))
        yield conn, names
    finally:
        for name in names:
            libvirtd.LibvirtSandbox.remove_domain(conn, name)
        secret.undefine()
        conn.close()


def _wait_for(path, text, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            with open(path, errors='replace') as f:
                if text in f.read():
                    return True
        time.sleep(0.1)
    return False


@pytest.mark.shapes
@pytest.mark.parametrize('shape', SHAPES)
def test_guest_boots_from_the_plugin_xml(shape, libvirt_hosts):
    host = libvirt_hosts[0]
    token = uuid.uuid4().hex[:12]
    marker = 'shape %s reads its disk' % token
    instance = types.SimpleNamespace(uuid=str(uuid.uuid4()))
    secret_uuid = str(uuid.uuid4())
    with started_cluster(shape) as (box, took):
        print('%s: cluster ready in %.1f s' % (sorted(shape.items()), took))
        with contextlib.ExitStack() as stack:
            nova = rados.Rados(conffile=box.conf_path, rados_id='nova')
            nova.connect(timeout=10)
            stack.callback(nova.shutdown)
            vms = stack.enter_context(nova.open_ioctx('vms'))
            stack.enter_context(plugin_conf(box, secret_uuid))
            disk = imagebackend.RbdImage(
                instance=instance, disk_name='disk', disk_info_mapping={
                    'bus': 'virtio', 'dev': 'vda', 'type': 'disk'})
            rbd.RBD().create(vms, disk.rbd_name, 8 * MiB)
            with rbd.Image(vms, disk.rbd_name) as image:
                image.write(boot_sector(marker + '\r\n'), 0)

            # Every monitor, in the form the plugin hands to libvirt.
            info = disk.libvirt_info('none', {}, boot_order='1')
            hosts = list(zip(info.source_hosts, info.source_ports))
            assert sorted(hosts) == sorted(
                (h, str(p)) for h, p in box.mon_addrs)
            assert len(hosts) == shape['mons']
            print('%s: <host> %s' % (sorted(shape.items()), hosts))

            conn, names = stack.enter_context(libvirt_objects(
                host, secret_uuid, box.key('client.nova')))
            name = 'shape-%s' % token
            names.append(name)
            console = os.path.join(host.directory, name + '.console')
            started = time.monotonic()
            dom = conn.defineXMLFlags(DOMAIN.format(
                name=name, disk=info.to_xml(), console=console),
                libvirt.VIR_DOMAIN_DEFINE_VALIDATE)
            dom.create()
            assert _wait_for(console, marker, 60), (
                'no marker on the console; QEMU log:\n%s' % open(
                    host.domain_log(name), errors='replace').read()[-3000:])
            print('%s: guest booted from its disk in %.1f s' % (
                sorted(shape.items()), time.monotonic() - started))
            # QEMU got its monitors from the XML (there is no ceph.conf
            # it could read): libvirt passes them on its command line.
            with open(host.domain_log(name)) as f:
                qemu_log = f.read()
            servers = ','.join('{"host":"%s","port":"%s"}' % hp
                               for hp in hosts)
            assert '"server":[%s]' % servers in qemu_log, qemu_log[-3000:]

            out = guest_io(host, dom, 'write -P 0x5a 1048576 4096')
            assert 'wrote 4096/4096 bytes' in out, out
            guest_io(host, dom, 'flush')
            with rbd.Image(vms, disk.rbd_name) as image:
                assert image.read(MiB, 4096) == b'\x5a' * 4096
