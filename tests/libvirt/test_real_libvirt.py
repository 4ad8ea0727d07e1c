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

"""The plugin's domain XML in real libvirtd and QEMU.

Nova's services produce the XML (nova layer); two isolated libvirt
daemons run it: the guest reads its clone through QEMU's librbd with the
cephx key from the libvirt secret, writes land in the clone, a running
guest live-migrates over the shared disk, and a frozen host is fenced.
"""

import os
import re
import signal
import time

import libvirt
import libvirt_qemu
from lxml import etree

from sandbox import ceph as ceph_sandbox
from sandbox import controlplane as base

MiB = base.MiB
RNG = '/usr/share/libvirt/schemas/domain.rng'
# What qemu-io prints when a read or write has finished, well or not.
RESULT = re.compile(r'bytes at offset|failed|error', re.IGNORECASE)
DISK_BACKEND = '/machine/peripheral/virtio-disk0/virtio-backend'
MIGRATE = (libvirt.VIR_MIGRATE_LIVE | libvirt.VIR_MIGRATE_PEER2PEER |
           libvirt.VIR_MIGRATE_PERSIST_DEST |
           libvirt.VIR_MIGRATE_UNDEFINE_SOURCE)


def replayable(doc):
    """Nova's XML with only host-specific paths removed.

    The serial console log lives in Nova's instance folder, which this
    daemon's unprivileged user cannot write.
    """
    doc = etree.fromstring(etree.tostring(doc))
    for log in doc.findall('.//log'):
        log.getparent().remove(log)
    return etree.tostring(doc).decode()


def guest_io(host, dom, command, wait=30):
    """Run a qemu-io command on the guest's root disk; return its output.

    It goes through QEMU's block layer and librbd, like guest I/O.  QEMU
    prints qemu-io's output on its stdout, which libvirt keeps in the
    domain log.
    """
    log = host.domain_log(dom.name())
    offset = os.path.getsize(log)
    libvirt_qemu.qemuMonitorCommand(
        dom, 'qemu-io -d %s "%s"' % (DISK_BACKEND, command),
        libvirt_qemu.VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP)
    # The output reaches the log a moment after the command returns; read
    # and write always report a result (flush prints nothing).
    deadline = time.monotonic() + (wait if command.split()[0] in (
        'read', 'write') else 0)
    while True:
        with open(log) as f:
            f.seek(offset)
            out = f.read()
        if RESULT.search(out) or time.monotonic() > deadline:
            time.sleep(0.1)  # the rest of the report
            with open(log) as f:
                f.seek(offset)
                return f.read()
        time.sleep(0.05)


class LibvirtCase(base.RbdNovaTestCase):
    """A server booted through Nova; its XML ready for real libvirt."""

    hosts = None  # [host A, host B], set by tests/libvirt/conftest.py

    def setUp(self):
        super().setUp()
        self.start_compute('host1')
        self.image_id = self.upload_rbd_image(b'\x47' * (2 * MiB))
        self.server = self.boot(self.image_id)
        self.disk = self.server['id'] + '_disk'
        self.xml_text, self.name = self._domain_of(self.server)

    def _domain_of(self, server):
        """Nova's XML of ``server`` for real libvirt, and the domain's name.

        Whatever runs under that name is removed from both hosts at the end.
        """
        xml_text = replayable(self.xml.latest(server['id']))
        name = etree.fromstring(xml_text).findtext('name')
        self.addCleanup(self._remove_domains, name)
        return xml_text, name

    def _remove_domains(self, name):
        for host in self.hosts:
            conn = host.connect()
            try:
                dom = conn.lookupByName(name)
                if dom.isActive():
                    dom.destroy()
                dom.undefine()
            except libvirt.libvirtError:
                pass
            finally:
                conn.close()

    def _start_on(self, host, xml_text=None):
        conn = host.connect()
        self.addCleanup(conn.close)
        started = time.monotonic()
        dom = conn.defineXMLFlags(xml_text or self.xml_text,
                                  libvirt.VIR_DOMAIN_DEFINE_VALIDATE)
        dom.create()
        return dom, time.monotonic() - started

    def _migrate(self, dom, host):
        """Live-migrate ``dom`` to ``host``: the domain there, and the time."""
        name = dom.name()
        port = ceph_sandbox.free_port()
        started = time.monotonic()
        dom.migrateToURI3(host.uri, {
            libvirt.VIR_MIGRATE_PARAM_URI: 'tcp://127.0.0.1:%d' % port},
            MIGRATE)
        took = time.monotonic() - started
        conn = host.connect()
        self.addCleanup(conn.close)
        return conn.lookupByName(name), took

    @staticmethod
    def _eventually(predicate, timeout=10):
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True

    def _watchers(self):
        return [w['addr'] for w in self.rbd_image(self.disk).watchers_list()]


class RealLibvirtTest(LibvirtCase):

    def test_nova_xml_runs_and_the_guest_reads_its_clone(self):
        rng = etree.RelaxNG(etree.parse(RNG))
        doc = etree.fromstring(self.xml_text)
        self.assertTrue(rng.validate(doc), rng.error_log.last_error)

        dom, took = self._start_on(self.hosts[0])
        self.assertTrue(dom.isActive())
        print('domain defined and started in %.2f s' % took)
        disk = doc.find('./devices/disk')
        self.assertEqual('network', disk.get('type'))

        # The guest reads the Glance image's bytes through its clone.
        out = guest_io(self.hosts[0], dom, 'read -P 0x47 0 65536')
        self.assertIn('read 65536/65536 bytes at offset 0', out)
        self.assertNotIn('verification failed', out)
        out = guest_io(self.hosts[0], dom, 'read -P 0x48 0 512')
        self.assertIn('Pattern verification failed', out)

        # A guest write lands in the clone, never in the parent.
        out = guest_io(self.hosts[0], dom, 'write -P 0xab 1048576 4096')
        self.assertIn('wrote 4096/4096 bytes', out)
        guest_io(self.hosts[0], dom, 'flush')
        clone = self.rbd_image(self.disk)
        self.assertEqual(b'\xab' * 4096, clone.read(MiB, 4096))
        parent = self.rbd_image(self.image_id, pool='images',
                                snapshot='snap')
        self.assertEqual(b'\x47' * 4096, parent.read(MiB, 4096))

    def test_live_migration_moves_the_running_guest_not_the_disk(self):
        host_a, host_b = self.hosts
        dom, _took = self._start_on(host_a)
        self.assertIn('wrote', guest_io(host_a, dom, 'write -P 0xab 0 4096'))
        source_watchers = self._watchers()
        self.assertEqual(1, len(source_watchers))

        moved, took = self._migrate(dom, host_b)
        print('live migration took %.2f s' % took)
        self.assertTrue(moved.isActive())
        # The source QEMU exits right after the migration completes.
        self.assertTrue(self._eventually(lambda: host_a.qemu_pids() == []))
        # Written before the move, read after it on the destination.
        out = guest_io(host_b, moved, 'read -P 0xab 0 4096')
        self.assertIn('read 4096/4096 bytes', out)
        self.assertNotIn('verification failed', out)
        self.assertIn('wrote',
                      guest_io(host_b, moved, 'write -P 0xcd 8192 512'))
        # The destination's QEMU holds the only watch and the lock.
        self.assertTrue(self._eventually(lambda: len(self._watchers()) == 1))
        watchers = self._watchers()
        self.assertNotEqual(source_watchers, watchers)
        lockers = self.rbd_image(self.disk).list_lockers()
        self.assertEqual(watchers, [addr for _c, _k, addr
                                    in lockers['lockers']])


class FencingDrillTest(LibvirtCase):
    """A frozen host's QEMU still owns the disk; another host takes over."""

    def _take_over(self, fence):
        host_a, host_b = self.hosts
        dom_a, _took = self._start_on(host_a)
        self.assertIn('wrote',
                      guest_io(host_a, dom_a, 'write -P 0xaa 0 4096'))
        (frozen_addr,) = self._watchers()
        (qemu_a,) = host_a.qemu_pids()
        os.kill(qemu_a, signal.SIGSTOP)
        self.addCleanup(self._continue, qemu_a)
        if fence:
            self.blocklist('add', frozen_addr)
        self.addCleanup(self.blocklist, 'rm', frozen_addr)

        dom_b, _took = self._start_on(host_b)
        started = time.monotonic()
        out = guest_io(host_b, dom_b, 'write -P 0xbb 0 4096')
        waited = time.monotonic() - started
        self.assertIn('wrote 4096/4096 bytes', out)

        os.kill(qemu_a, signal.SIGCONT)
        # A write that works reports within milliseconds; the fenced
        # host's write only fails, after librbd's retries (about a
        # minute), so a few seconds without success are enough here.
        out_a = guest_io(host_a, dom_a, 'write -P 0xaa 0 4096', wait=5)
        guest_io(host_b, dom_b, 'flush')
        return waited, out_a, frozen_addr

    def _continue(self, pid):
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass

    def test_with_fencing_the_new_host_writes_at_once(self):
        waited, out_a, frozen = self._take_over(fence=True)
        print('fenced takeover: first write after %.2f s' % waited)
        self.assertNotIn('wrote', out_a)
        self.assertEqual(b'\xbb' * 4096,
                         self.rbd_image(self.disk).read(0, 4096))

    def test_without_fencing_the_new_host_waits_for_the_lock(self):
        waited, out_a, frozen = self._take_over(fence=False)
        print('unfenced takeover: first write after %.2f s' % waited)
        # librbd broke the dead owner's lock and blocklisted it itself.
        self.assertIn(frozen, self.blocklisted())
        self.assertNotIn('wrote', out_a)
        self.assertEqual(b'\xbb' * 4096,
                         self.rbd_image(self.disk).read(0, 4096))
