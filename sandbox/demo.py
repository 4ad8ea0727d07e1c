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

"""The main job on the embedded default: a throwaway Ceph cluster."""

import sys
import tempfile
import time

from sandbox import ceph
from sandbox import SandboxError


def main():
    started = time.time()
    workdir = tempfile.mkdtemp(prefix='nova-rbd-demo-')
    print('Starting a throwaway Ceph cluster in %s' % workdir)
    try:
        box = ceph.CephSandbox.start(workdir + '/ceph')
    except SandboxError as exc:
        print('error: %s' % exc, file=sys.stderr)
        return 1
    try:
        status = box.status()
        print('  ready in %.1f s, fsid %s'
              % (status['ready_seconds'], status['fsid']))
        print('  health: %s' % status['health']['status'])
        print('  pools:  %s' % ', '.join(status['pools']))
        print('  users:  %s' % ', '.join(box.users))
    finally:
        box.stop()
    print('Stopped the cluster; total %.1f s' % (time.time() - started))
    return 0


if __name__ == '__main__':
    sys.exit(main())
