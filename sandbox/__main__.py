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

"""Command line for the throwaway Ceph cluster.

    python -m sandbox start  [--dir D] [--objectstore bluestore]
                             [--mons 1|3|5] [--osds N] [--msgr v1|v2|both]
                             [--ipv6]
    python -m sandbox status [--dir D] [--json]
    python -m sandbox env    [--dir D]
    python -m sandbox stop   [--dir D]
    python -m sandbox cloud start|stop|status [--dir D]   (sandbox/cloud)
"""

import argparse
import json
import os
import shlex
import sys
import time

from sandbox import ceph
from sandbox import SandboxError

DEFAULT_DIR = '/tmp/nova-rbd-ceph-sandbox'


def _print_status(status):
    print('cluster   %s' % status['fsid'])
    print('conf      %s' % status['conf'])
    shape = status.get('shape', {})
    if shape:
        print('shape     %d mon, %d osd, msgr %s, %s' % (
            shape['mons'], shape['osds'], shape['msgr'],
            'IPv6' if shape['ipv6'] else 'IPv4'))
    mons = status.get('mons', {})
    for name, alive in sorted(status['daemons'].items()):
        addrs = mons.get(name[4:], '') if name.startswith('mon.') else ''
        print(('%-9s %-11s %s' % (
            name, 'running' if alive else 'NOT RUNNING', addrs)).rstrip())
    if 'health' in status:
        print('health    %s' % status['health']['status'])
        print('pools     %s' % ', '.join(status['pools']))
        print('pgs       %s' % ', '.join(
            '%d %s' % (n, state) for state, n in status['pgs'].items()))
        print('quorum    %s' % ', '.join(status['quorum']))
        print('osds up   %s' % (', '.join(status['osds_up']) or 'none'))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ['cloud']:
        from sandbox.cloud import cli
        return cli.main(argv[1:])
    parser = argparse.ArgumentParser(prog='python -m sandbox',
                                     description=__doc__.split('\n')[0])
    parser.add_argument('command', choices=('start', 'stop', 'status', 'env'))
    parser.add_argument('--dir',
                        default=os.environ.get('CEPH_SANDBOX_DIR',
                                               DEFAULT_DIR),
                        help='folder holding all of the cluster state '
                             '(default: $CEPH_SANDBOX_DIR or %s)'
                             % DEFAULT_DIR)
    parser.add_argument('--objectstore', choices=('memstore', 'bluestore'),
                        default='memstore',
                        help='memstore keeps data in RAM; bluestore in a '
                             'sparse file in --dir (start only)')
    parser.add_argument('--osd-gib', type=int, default=2,
                        help='OSD capacity in GiB (start only)')
    parser.add_argument('--mons', type=int, choices=(1, 3, 5), default=1,
                        help='monitors, each on ports of its own (start '
                             'only)')
    parser.add_argument('--osds', type=int, default=1,
                        help='OSDs; pools keep min(3, OSDs) copies (start '
                             'only)')
    parser.add_argument('--msgr', choices=('v1', 'v2', 'both'),
                        default='v1',
                        help='messenger protocols the daemons speak (start '
                             'only)')
    parser.add_argument('--ipv6', action='store_true',
                        help='bind every daemon to ::1 instead of '
                             '127.0.0.1 (start only)')
    parser.add_argument('--json', action='store_true',
                        help='machine-readable status')
    args = parser.parse_args(argv)
    try:
        if args.command == 'start':
            started = time.time()
            box = ceph.CephSandbox.start(
                args.dir, objectstore=args.objectstore,
                osd_bytes=args.osd_gib * 1024 ** 3, mons=args.mons,
                osds=args.osds, msgr=args.msgr, ipv6=args.ipv6,
                log=lambda m: print('  %5.1fs  %s' % (time.time() - started,
                                                      m)))
            print('Ceph sandbox ready in %.1f s (PGs active+clean)'
                  % (time.time() - started))
            _print_status(box.status())
        elif args.command == 'env':
            box = ceph.CephSandbox.attach(args.dir)
            for name, value in sorted(box.env().items()):
                print('export %s=%s' % (name, shlex.quote(value)))
        elif args.command == 'status':
            status = ceph.CephSandbox.attach(args.dir).status()
            if args.json:
                print(json.dumps(status, indent=1, sort_keys=True))
            else:
                _print_status(status)
        else:
            ceph.CephSandbox.attach(args.dir).stop()
            print('stopped and removed %s' % args.dir)
    except SandboxError as exc:
        print('error: %s' % exc, file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
