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

"""The quick main job: a throwaway Ceph cluster, Nova in-process.

``./run demo --quick``.  Starts the cluster, runs Nova's control plane
in-process with the plugin on two computes (Nova's fake libvirt), and
walks through booting servers from one image, the disk XML, a snapshot,
a live migration, an evacuation and deletion, timing each step.
Everything it starts, it stops.  ``./run demo`` does the same on a real
cloud (sandbox/cloud/demo.py).

    python -m sandbox.demo [--servers N]
"""

# Nova's services need their concurrency mode applied first.
from nova import monkey_patch  # noqa: I100
monkey_patch.patch()

import argparse  # noqa: E402
import logging  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import unittest  # noqa: E402

from lxml import etree  # noqa: E402

from sandbox import ceph  # noqa: E402
from sandbox import controlplane  # noqa: E402
from sandbox import SandboxError  # noqa: E402
from sandbox import steps as steps_mod  # noqa: E402

MiB = 1024 ** 2


class MainJob(controlplane.RbdNovaTestCase):
    """The walk-through, run as one case so Nova's fixtures clean up."""

    servers = 3

    def runTest(self):
        # Runs first among the clean-ups: Nova's services then stop quietly.
        self.addCleanup(logging.disable, logging.INFO)
        steps = self.steps
        with steps.step('Start two compute services with the plugin'):
            for host in ('host1', 'host2'):
                self.start_compute(host)
                print('    %s: %s' % (host, type(
                    self.computes[host].driver).__name__))
        with steps.step('Upload a 64 MiB raw image as glance_store does'):
            image_id = self.upload_rbd_image(b'demo-image' * 1000)
            print('    images/%s@snap (protected)' % image_id)
        with steps.step('Boot %d servers from that image' % self.servers):
            servers = [self.boot(image_id, host='host1')
                       for _ in range(self.servers)]
            for server in servers:
                name = server['id'] + '_disk'
                parent = self.rbd_image(name).parent_info()
                print('    vms/%s  clone of %s/%s@%s' % (
                    name, parent[0], parent[1], parent[2]))
        with steps.step('The disk XML Nova gave libvirt for one server'):
            disk = self.disk_xml(servers[0])
            print(etree.tostring(disk, pretty_print=True).decode().rstrip())
        with steps.step('Snapshot a server inside Ceph, register in Glance'):
            snap_id = self.api.post_server_action(
                servers[0]['id'],
                {'createImage': {'name': 'demo-snap'}})['image_id']
            self.notifier.wait_for_versioned_notifications(
                'instance.snapshot.end')
            print('    Glance image %s at %s' % (
                snap_id, self.glance.images[snap_id]['locations'][0]['url']))
        with steps.step('Live-migrate a server host1 -> host2 (no copy)'):
            self.allow_live_migration()
            self._live_migrate(servers[1], 'completed')
            print('    now on %s, disk vms/%s_disk untouched' % (
                self.api.get_server(servers[1]['id'])[
                    'OS-EXT-SRV-ATTR:host'], servers[1]['id']))
        with steps.step('host1 fails: evacuate its servers onto their '
                        'disks'):
            self.computes['host1'].stop()
            self.api.microversion = '2.14'
            self.api.force_down_service('host1', 'nova-compute', True)
            for server in servers:
                if server is servers[1]:
                    continue  # already moved to host2
                self._evacuate_server(server, expected_host='host2',
                                      expected_state='ACTIVE')
                print('    %s ACTIVE on host2, same disk' % server['id'])
            self.api.microversion = self.microversion
        with steps.step('Delete every server'):
            for server in servers:
                self._delete_server(server)
            left = [n for n in self.rbd_images()
                    if any(n.startswith(s['id']) for s in servers)]
            print('    instance images left in vms: %d' % len(left))
            if left:
                raise AssertionError('left behind: %s' % left)


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m sandbox.demo',
                                     description=__doc__.split('\n')[0])
    parser.add_argument('--servers', type=int, default=3)
    args = parser.parse_args(argv)
    # A SIGTERM unwinds like Ctrl-C, so the clean-up below stops the
    # cluster this run started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    logging.basicConfig(level=logging.WARNING)
    steps = steps_mod.Steps()
    workdir = tempfile.mkdtemp(prefix='nova-rbd-demo-')
    with steps.step('Start a throwaway Ceph cluster'):
        try:
            box = ceph.CephSandbox.start(workdir + '/ceph',
                                         osd_bytes=16 * 1024 ** 3)
        except SandboxError as exc:
            print('error: %s' % exc, file=sys.stderr)
            return 1
        status = box.status()
        print('    cluster in %s' % box.directory)
        print('    fsid %s, %s, pools %s' % (
            box.fsid, status['health']['status'],
            ', '.join(status['pools'])))
    try:
        MainJob.ceph = box
        MainJob.steps = steps
        MainJob.servers = args.servers
        result = unittest.TestResult()
        MainJob().run(result)
        logging.disable(logging.NOTSET)
    finally:
        with steps.step('Stop the cluster'):
            box.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    steps.summary()
    for _case, trace in result.errors + result.failures:
        print(trace, file=sys.stderr)
    return 0 if result.wasSuccessful() else 1


if __name__ == '__main__':
    sys.exit(main())
