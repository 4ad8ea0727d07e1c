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
"""``fence`` and ``fence-status``: cut a failed host's clients off.

    fence --instance UUID      blocklist the clients of the instance's disks
    fence --host IP            blocklist every client of that host's IP
    fence-status --instance UUID | --host IP

Evacuation fences on its own; these are for an operator who evacuates
by hand, or was refused an evacuation because fencing failed.
``fence-status`` exits 1 while any client of those disks (or that host)
is not fenced.
"""

import json
import sys
import types

from nova_rbd_imagebackend.ceph import cluster
from nova_rbd_imagebackend.disks import fencing
from nova_rbd_imagebackend.disks import instances
from nova_rbd_imagebackend import exceptions


def _target(parser):
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument('--instance', metavar='UUID',
                       help='the instance whose disks the clients use')
    which.add_argument('--host', metavar='IP',
                       help="the failed host's IP address, as the Ceph "
                            'cluster sees its clients')
    parser.add_argument('--format', choices=('text', 'json'),
                        default='text')


def add_parsers(commands):
    parser = commands.add_parser(
        'fence', help='blocklist the Ceph clients of an instance or host')
    _target(parser)
    parser.set_defaults(run=run_fence)
    parser = commands.add_parser(
        'fence-status', help='which clients of an instance or host are '
                             'fenced')
    _target(parser)
    parser.set_defaults(run=run_status)


def _print(args, found, verb):
    if args.format == 'json':
        print(json.dumps(found, indent=1, sort_keys=True))
        return
    if not found:
        print('no client uses %s' % (args.instance or args.host))
    for name, addrs in sorted(found.items()):
        for addr in addrs:
            state = addrs[addr] if isinstance(addrs, dict) else verb
            if state is True:
                state = 'fenced'
            elif state is False:
                state = 'NOT fenced'
            print('%s  %s  %s' % (name, addr, state))


def run_fence(conf, args):
    client, pool = cluster.client(), cluster.pool()
    try:
        if args.instance:
            found = fencing.fence_instance(
                client, pool, types.SimpleNamespace(uuid=args.instance),
                required=True)
        else:
            found = fencing.fence_host(client, pool, args.host)
    except (exceptions.FencingFailed, exceptions.CephError) as exc:
        print('error: %s' % exc.format_message(), file=sys.stderr)
        return 1
    _print(args, found, 'blocklisted')
    return 0


def run_status(conf, args):
    client, pool = cluster.client(), cluster.pool()
    if args.instance:
        names = instances.instance_disks(client, pool, args.instance)
        found = fencing.status(client, pool, names)
    else:
        used = fencing.clients_of_host(client, pool, args.host)
        found = fencing.status(client, pool, sorted(used))
        found = {n: {a: f for a, f in addrs.items()
                     if fencing.host_of(a) == args.host}
                 for n, addrs in found.items()}
    found = {n: addrs for n, addrs in found.items() if addrs}
    _print(args, found, None)
    return 1 if any(not f for addrs in found.values()
                    for f in addrs.values()) else 0
