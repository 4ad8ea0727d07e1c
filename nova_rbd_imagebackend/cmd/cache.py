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
"""``cache list`` and ``cache prune``: the pool image cache."""

import json
import time

from nova_rbd_imagebackend.ceph import cluster
from nova_rbd_imagebackend.disks import cache_aging


def add_parsers(commands):
    parser = commands.add_parser(
        'cache', help='the pool image cache: one copy per Glance image')
    actions = parser.add_subparsers(dest='action', required=True)
    listing = actions.add_parser('list', help='every cache image')
    listing.add_argument('--format', choices=('text', 'json'),
                         default='text')
    listing.set_defaults(run=run_list)
    prune = actions.add_parser(
        'prune', help='remove cache images with no clone, unused for a '
                      'while')
    prune.add_argument('--older-than', type=int, default=None,
                       metavar='SECONDS',
                       help='unused for at least this long (default: '
                            '[image_cache] remove_unused_original_minimum_'
                            'age_seconds)')
    prune.set_defaults(run=run_prune)


def run_list(conf, args):
    pool, now = conf.libvirt.images_rbd_pool, time.time()
    entries = cache_aging.cached(cluster.client(), pool)
    if args.format == 'json':
        print(json.dumps([e._asdict() for e in entries], indent=1))
        return 0
    for e in entries:
        print('%s/%s  image %s  %d clone(s)  last used %d s ago'
              % (pool, e.name, e.image_id, e.clones,
                 now - e.last_used))
    if not entries:
        print('the pool image cache of %s is empty' % pool)
    return 0


def run_prune(conf, args):
    pool = conf.libvirt.images_rbd_pool
    older_than = (conf.image_cache.remove_unused_original_minimum_age_seconds
                  if args.older_than is None else args.older_than)
    removed = cache_aging.prune(
        cluster.client(), pool, older_than,
        lease_seconds=conf.rbd_imagebackend.pool_image_cache_lease_seconds)
    for name in removed:
        print('removed %s/%s' % (pool, name))
    print('%d cache image(s) removed (no clone, unused for %d s or more)'
          % (len(removed), older_than))
    return 0
