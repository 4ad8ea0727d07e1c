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

    nova-rbd-imagebackend [--config-file nova.conf ...] doctor [--format json]
    nova-rbd-imagebackend [--config-file nova.conf ...] audit [--purge]
    nova-rbd-imagebackend [--config-file nova.conf ...] fence \
        (--instance UUID | --host IP)
    nova-rbd-imagebackend [--config-file nova.conf ...] fence-status \
        (--instance UUID | --host IP)
    nova-rbd-imagebackend [--config-file nova.conf ...] cache list
    nova-rbd-imagebackend [--config-file nova.conf ...] cache prune \
        [--older-than SECONDS]

doctor runs the same checks as the nova-rbd-compute launcher and prints
every verdict; audit lists leftovers of failed or interrupted operations;
fence cuts a failed host's Ceph clients off, and fence-status shows
which still can write; cache lists and prunes the pool image cache.
"""

import argparse
import sys

import nova.conf

from nova_rbd_imagebackend.cmd import audit
from nova_rbd_imagebackend.cmd import cache
from nova_rbd_imagebackend.cmd import doctor
from nova_rbd_imagebackend.cmd import fence
from nova_rbd_imagebackend import conf as plugin_conf

CONF = nova.conf.CONF


def _parse(argv):
    parser = argparse.ArgumentParser(
        prog='nova-rbd-imagebackend',
        description='Operator commands for the RBD image backend plugin.')
    parser.add_argument('--config-file', action='append', default=[],
                        help="Nova's configuration (default: Nova's usual "
                             'search path, e.g. /etc/nova/nova.conf)')
    commands = parser.add_subparsers(dest='command', required=True)
    doctor.add_parser(commands)
    audit.add_parser(commands)
    fence.add_parsers(commands)
    cache.add_parsers(commands)
    return parser.parse_args(argv)


def main(argv=None):
    args = _parse(sys.argv[1:] if argv is None else argv)
    config_args = []
    for path in args.config_file:
        config_args += ['--config-file', path]
    CONF(config_args, project='nova',
         default_config_files=[] if args.config_file else None)
    plugin_conf.register_opts(CONF)
    return args.run(CONF, args)


if __name__ == '__main__':
    sys.exit(main())
