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
"""A cluster that stops answering in the middle of a boot."""

import os
import signal
import time

import fixtures
from nova.compute import rpcapi as compute_rpcapi
from nova import context as nova_context

from sandbox import ceph as ceph_sandbox
from sandbox import controlplane as base


class ClusterOutageTest(base.RbdNovaTestCase):

    def setUp(self):
        # A cluster of its own: this test freezes it.
        folder = self.useFixture(fixtures.TempDir()).path
        self.ceph = ceph_sandbox.CephSandbox.start(
            os.path.join(folder, 'ceph'), osd_bytes=8 * base.GiB)
        self.addCleanup(self.ceph.stop)
        self.addCleanup(self._thaw)
        self.frozen = False
        super().setUp()
        self.flags(op_timeout=3, group='rbd_imagebackend')
        self.flags(rbd_connect_timeout=3, group='libvirt')
        self.flags(max_attempts=1, group='scheduler')
        self.start_compute('host1')

    def _signal_all(self, sig):
        for pid in self.ceph.pids.values():
            os.kill(pid, sig)

    def _freeze(self):
        self._signal_all(signal.SIGSTOP)
        self.frozen = True

    def _thaw(self):
        if self.frozen:
            self._signal_all(signal.SIGCONT)
            self.frozen = False

    def test_boot_fails_within_the_deadline_and_compute_keeps_answering(self):
        image_id = self.upload_rbd_image(b'image')
        show = self.glance.show

        def show_then_freeze(context, image, *args, **kwargs):
            # The compute host is about to clone: the cluster hangs now.
            if image == image_id and kwargs.get('include_locations'):
                self._freeze()
            return show(context, image, *args, **kwargs)
        self.glance.show = show_then_freeze

        started = time.monotonic()
        server = self.api.post_server({'server': {
            'name': 'srv', 'imageRef': image_id, 'flavorRef': 'root1',
            'networks': 'none'}})
        # The clone times out, then so does Nova's clean-up of the failed
        # build: about two deadlines before the server is in ERROR.
        server = self._wait_for_state_change(server, 'ERROR',
                                             max_retries=100)
        self.failed_after = time.monotonic() - started
        self.assertTrue(self.frozen)
        message = server['fault']['message']
        self.assertIn('Cannot create disk vms/%s_disk' % server['id'],
                      message)
        self.assertIn('did not finish within 3 s', message)

        # The compute service still answers RPC while the cluster hangs.
        uptime = compute_rpcapi.ComputeAPI().get_host_uptime(
            nova_context.get_admin_context(), 'host1')
        self.assertTrue(uptime)
        print('boot failed %.1f s after the request' % self.failed_after)
