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
"""``audit``: list what operations left behind; ``--purge`` removes it."""

import json
import sys

from nova_rbd_imagebackend.ceph import cluster
from nova_rbd_imagebackend.disks import audit
from nova_rbd_imagebackend.nova import glance
from nova_rbd_imagebackend.nova import instance_records


def add_parser(commands):
    parser = commands.add_parser(
        'audit', help='find leftovers of failed or interrupted operations')
    parser.add_argument('--format', choices=('text', 'json'), default='text')
    parser.add_argument('--older-than', type=int, default=None,
                        metavar='SECONDS',
                        help='report only leftovers at least this old '
                             '(default: [rbd_imagebackend] '
                             'leftover_grace_seconds)')
    parser.add_argument('--purge', action='store_true',
                        help='remove what was found, after a confirmation')
    parser.add_argument('--yes', action='store_true',
                        help='with --purge: do not ask')
    parser.set_defaults(run=run)


def _confirmed(count, args):
    if args.yes:
        return True
    if not sys.stdin.isatty():
        print('--purge asks for a confirmation; add --yes to run it '
              'without a terminal', file=sys.stderr)
        return False
    answer = input('Remove these %d leftovers? [y/N] ' % count)
    return answer.strip().lower() in ('y', 'yes')


def run(conf, args):
    older_than = (conf.rbd_imagebackend.leftover_grace_seconds
                  if args.older_than is None else args.older_than)
    context = glance.service_context()
    nova_asked = instance_records.through_conductor(conf)
    findings = audit.find(
        cluster.client(), conf.libvirt.images_rbd_pool, conf.instances_path,
        older_than, glance_status=lambda image_id: glance.image_status(
            context, image_id),
        deleted_instances=(lambda uuids: instance_records.deleted(
            instance_records.admin_context(), uuids)) if nova_asked
        else None)
    if not nova_asked:
        print('Nova was not asked (nova.conf sets no transport_url): disks '
              'of deleted instances are not looked for', file=sys.stderr)
    outcomes = {}
    if args.format == 'text':
        for f in findings:
            print('%-8s  %s  (%s, %d s old)' % (f.kind, f.where, f.detail,
                                                f.age))
        if not findings:
            print('no leftovers older than %d s' % older_than)
    if findings and args.purge:
        if not _confirmed(len(findings), args):
            return 2
        outcomes = dict(audit.purge(cluster.client(), findings))
        if args.format == 'text':
            for f in findings:
                print('%s: %s' % (f.where, outcomes[f]))
    if args.format == 'json':
        print(json.dumps([dict(f._asdict(), outcome=outcomes.get(f))
                          for f in findings], indent=1))
    return 1 if findings else 0
