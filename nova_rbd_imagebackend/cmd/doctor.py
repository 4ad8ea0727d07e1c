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
"""``doctor``: every host check, printed, with a fix for each problem."""

import json

from nova_rbd_imagebackend.checks import results as check_results
from nova_rbd_imagebackend.checks import suite
from nova_rbd_imagebackend.nova import internals

MARKS = {check_results.OK: 'ok  ', check_results.WARN: 'WARN',
         check_results.FAIL: 'FAIL'}


def add_parser(commands):
    check = commands.add_parser(
        'doctor', help="check this host's Ceph and libvirt setup")
    check.add_argument('--format', choices=('text', 'json'), default='text')
    check.add_argument('--images-pool', default=None,
                       help="the pool Glance keeps images in (default: "
                            "[rbd_imagebackend] glance_pool)")
    check.add_argument('--instance', default=None, metavar='UUID',
                       help='also report the storage policy (layout, '
                            'features, data pool, QoS) of this '
                            "instance's disks")
    check.set_defaults(run=run)


def _print_text(results):
    width = max(len(r.check) for r in results)
    for r in results:
        print('%s  %-*s  %s' % (MARKS[r.status], width, r.check, r.detail))
        if r.fix:
            print('      %*s  fix: %s' % (width, '', r.fix))


def run(conf, args):
    results = suite.run(conf, args.images_pool,
                        extra=(internals.verdict,), instance=args.instance)
    if args.format == 'json':
        print(json.dumps([r._asdict() for r in results], indent=1))
    else:
        _print_text(results)
    return 1 if check_results.failures(results) else 0
