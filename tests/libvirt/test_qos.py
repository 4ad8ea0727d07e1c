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

"""A flavor's librbd QoS, as a real QEMU guest meets it.

Nova boots two servers from one image: one with a flavor carrying
``rbd:qos_iops_limit``, one without.  Nova's driver makes each root disk
through the plugin's ``RbdImage.cache``; the limit lands on the disk as
librbd's image metadata ``conf_rbd_qos_iops_limit``.  QEMU's librbd then
throttles the limited guest's reads to it and not the other's, and the
limit travels with the disk when the guest live-migrates to another host:
it is librbd's own QoS, not QEMU's throttling.
"""

import os
import time

import libvirt_qemu
import pytest

from tests.ceph.test_osd_failure import report
from tests.libvirt.test_real_libvirt import DISK_BACKEND
from tests.libvirt.test_real_libvirt import LibvirtCase

LIMIT = 20  # reads per second
QOS_FLAVOR = 'qos1'
QOS_METADATA = 'conf_rbd_qos_iops_limit'
READ = 4096
# The image holds 2 MiB of data; reads cycle over it.
OFFSETS = 2 * 1024 ** 2 // READ
# librbd's token bucket starts full: without a burst set, up to a second's
# worth of reads may pass at once.  Reading for a while first spends it.
BURST = LIMIT
WARM_UP = 1.5  # seconds
WINDOW = 5  # seconds measured
# Reads librbd may let through beyond limit and burst: the bucket fills
# per tick (50 ms), and a window's edges need not fall on ticks.
SLACK = 5
HMP = libvirt_qemu.VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP


@pytest.fixture(autouse=True)
def _figures(request):
    """The test reports its figures past pytest's capture."""
    request.instance.report = lambda text: report(request, text)


def reported_reads(log, offset):
    """4 KiB reads QEMU reported as done in its log since ``offset``."""
    with open(log) as f:
        f.seek(offset)
        return f.read().count('read %d/%d bytes' % (READ, READ))


def read_for(host, dom, seconds):
    """Read 4 KiB at a time, one read after another, for ``seconds``.

    Each monitor command returns once its read has finished, so the
    count over the time taken is the rate the guest's disk gives.
    Returns (reads, seconds taken, reads QEMU reported as done).
    """
    log = host.domain_log(dom.name())
    offset = os.path.getsize(log)
    reads = 0
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        libvirt_qemu.qemuMonitorCommand(
            dom, 'qemu-io -d %s "read %d %d"' % (
                DISK_BACKEND, (reads % OFFSETS) * READ, READ), HMP)
        reads += 1
    took = time.monotonic() - started
    # The reports reach the log a moment after the commands return.
    LibvirtCase._eventually(lambda: reported_reads(log, offset) >= reads)
    return reads, took, reported_reads(log, offset)


class LibrbdQosTest(LibvirtCase):
    """The server of setUp has no policy; a second one has the limit."""

    def setUp(self):
        super().setUp()
        self.api.post_flavor({'flavor': {
            'id': QOS_FLAVOR, 'name': QOS_FLAVOR, 'ram': 512, 'vcpus': 1,
            'disk': 1}})
        self.api.post_extra_spec(QOS_FLAVOR, {'extra_specs': {
            'rbd:qos_iops_limit': str(LIMIT)}})
        self.limited = self.boot(self.image_id, flavor=QOS_FLAVOR)
        self.limited_xml, _name = self._domain_of(self.limited)

    def _metadata(self, server):
        return dict(self.rbd_image(server['id'] + '_disk').metadata_list())

    def _measure(self, host, dom):
        """Reads per second, once the initial burst is spent."""
        read_for(host, dom, WARM_UP)
        reads, took, reported = read_for(host, dom, WINDOW)
        self.assertEqual(reads, reported, 'every read reports success')
        return reads, took

    def _assert_limited(self, reads, took):
        # Load on the machine only slows reads down; the bound is librbd's.
        self.assertLessEqual(reads, LIMIT * took + BURST + SLACK)

    def test_the_limit_throttles_qemu_and_moves_with_the_disk(self):
        host_a, host_b = self.hosts
        self.assertEqual(str(LIMIT), self._metadata(self.limited)[
            QOS_METADATA])
        self.assertNotIn(QOS_METADATA, self._metadata(self.server))

        plain, _took = self._start_on(host_a)
        unlimited = self._measure(host_a, plain)
        plain.destroy()  # one guest at a time on the shared cores
        dom, _took = self._start_on(host_a, self.limited_xml)
        limited = self._measure(host_a, dom)
        moved, migration = self._migrate(dom, host_b)
        migrated = self._measure(host_b, moved)

        self.report(
            'librbd qos_iops_limit=%d, 4 KiB reads in QEMU: limited %.1f '
            'ops/s, unlimited %.1f ops/s, limited after live migration '
            '(%.2f s) %.1f ops/s' % (
                LIMIT, limited[0] / limited[1],
                unlimited[0] / unlimited[1], migration,
                migrated[0] / migrated[1]))
        self.assertGreater(unlimited[0] / unlimited[1], 2 * LIMIT)
        self._assert_limited(*limited)
        self._assert_limited(*migrated)
