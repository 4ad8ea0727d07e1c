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
"""nova-rbd-imagebackend: operator commands for a compute host.

doctor runs the same checks as the nova-rbd-compute launcher and prints
every verdict.

    nova-rbd-imagebackend [--config-file nova.conf ...] doctor [--format json]
"""

import argparse
import json
import sys

import nova.conf

from nova_rbd_imagebackend.checks import results as check_results
from nova_rbd_imagebackend.checks import suite
from nova_rbd_imagebackend import conf as plugin_conf

CONF = nova.conf.CONF
MARKS = {check_results.OK: 'ok  ', check_results.WARN: 'WARN',
         check_results.FAIL: 'FAIL'}


def _parse(argv):
    parser = argparse.ArgumentParser(
        prog='nova-rbd-imagebackend',
        description='Operator commands for the RBD image backend plugin.')
    parser.add_argument('--config-file', action='append', default=[],
                        help="Nova's configuration (default: Nova's usual "
                             'search path, e.g. /etc/nova/nova.conf)')
    commands = parser.add_subparsers(dest='command', required=True)
    check = commands.add_parser(
        'doctor', help="check this host's Ceph and libvirt setup")
    check.add_argument('--format', choices=('text', 'json'), default='text')
    check.add_argument('--images-pool', default=None,
                       help="the pool Glance keeps images in (default: "
                            "[rbd_imagebackend] glance_pool)")
    return parser.parse_args(argv)


def _print_text(results):
    width = max(len(r.check) for r in results)
    for r in results:
        print('%s  %-*s  %s' % (MARKS[r.status], width, r.check, r.detail))
        if r.fix:
            print('      %*s  fix: %s' % (width, '', r.fix))


def main(argv=None):
    args = _parse(sys.argv[1:] if argv is None else argv)
    config_args = []
    for path in args.config_file:
        config_args += ['--config-file', path]
    CONF(config_args, project='nova',
         default_config_files=[] if args.config_file else None)
    plugin_conf.register_opts(CONF)
    results = suite.run(CONF, args.images_pool)
    if args.format == 'json':
        print(json.dumps([r._asdict() for r in results], indent=1))
    else:
        _print_text(results)
    return 1 if check_results.failures(results) else 0


if __name__ == '__main__':
    sys.exit(main())
