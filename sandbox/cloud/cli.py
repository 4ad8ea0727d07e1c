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

"""``python -m sandbox cloud start|stop|status --dir D``."""

import argparse
import json
import sys
import time

from sandbox.cloud import cloud as cloud_mod
from sandbox import SandboxError

DEFAULT_DIR = '/tmp/nova-rbd-cloud'


def main(argv):
    parser = argparse.ArgumentParser(prog='python -m sandbox cloud',
                                     description=__doc__)
    parser.add_argument('command', choices=('start', 'stop', 'status'))
    parser.add_argument('--dir', default=DEFAULT_DIR,
                        help='folder holding the whole cloud (default %s)'
                             % DEFAULT_DIR)
    parser.add_argument('--users', default='nova,nova2',
                        help='cephx users of compute1 and compute2 '
                             '(start only; default nova,nova2)')
    parser.add_argument('--debug', action='store_true',
                        help='debug logging in Nova (start only)')
    parser.add_argument('--no-ceph-cli', action='store_true',
                        help='no ceph or rbd command on the computes\' '
                             'PATH (start only)')
    parser.add_argument('--keep', action='store_true',
                        help='keep the folder (logs) after stopping')
    args = parser.parse_args(argv)
    try:
        if args.command == 'start':
            started = time.time()
            cloud = cloud_mod.Cloud.start(
                args.dir, users=tuple(args.users.split(',')),
                debug=args.debug, ceph_cli=not args.no_ceph_cli,
                log=lambda m: print('  %6.1fs  %s' % (
                    time.time() - started, m), flush=True))
            print('cloud ready in %.1f s: %s (admin / %s)' % (
                time.time() - started, cloud.auth_url,
                cloud_mod.keystone.ADMIN_PASSWORD))
        elif args.command == 'status':
            status = cloud_mod.Cloud.attach(args.dir).status()
            print(json.dumps(status, indent=1, sort_keys=True))
            return 0 if all(status['parts'].values()) else 1
        else:
            started = time.time()
            cloud_mod.Cloud.attach(args.dir).stop(
                remove=not args.keep, log=lambda m: print(
                    '  %6.1fs  %s' % (time.time() - started, m), flush=True))
            print('stopped %s' % args.dir)
    except SandboxError as exc:
        print('error: %s' % exc, file=sys.stderr)
        return 1
    return 0
