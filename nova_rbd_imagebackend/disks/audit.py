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
"""Find what operations left behind, and remove what provably is a leftover.

Only what the pool and this host can prove is reported: nothing here asks
Nova or Glance.  A finding is a leftover when nothing uses it any more
and it is older than a grace period that no running operation lasts:

* ``partial``: a ``<name>.part`` image with no watcher (an import that is
  still running holds it open);
* ``scratch``: a host-check scratch image with no watcher;
* ``trash``: an instance disk in the pool's RBD trash (a delete parked it
  while clones still read its snapshots, or a delete was cut short);
  purged only when nothing reads from it any more;
* ``snapshot``: a direct-snapshot snapshot (32 hex digits) still on an
  instance disk; reported, never removed by the periodic task;
* ``staging``: a staging folder under this host's instances path.
"""

import collections
import os
import re
import shutil
import time

from oslo_log import log as logging

from nova_rbd_imagebackend.disks import names
from nova_rbd_imagebackend.disks import staging
from nova_rbd_imagebackend import exceptions

LOG = logging.getLogger(__name__)

# ref: what removing it needs beyond ``where`` (a trash entry's id).
Finding = collections.namedtuple('Finding', 'kind where detail age ref')
# What the compute service's periodic task may remove on its own.
SAFE_KINDS = ('partial', 'scratch', 'trash', 'staging')
_INSTANCE_DISK = re.compile(r'^[0-9a-f-]{36}_disk')
_DIRECT_SNAPSHOT = re.compile(r'^[0-9a-f]{32}$')


def find(client, pool, instances_path, older_than, now=None):
    """Every provable leftover older than ``older_than`` seconds."""
    now = time.time() if now is None else now
    found = []
    for name in client.list_prefix(pool, ''):
        kind = _image_kind(name)
        if kind is None:
            continue
        facts = client.image_facts(pool, name)
        if facts is None:
            continue  # removed meanwhile
        if kind in ('partial', 'scratch'):
            age = now - facts['created']
            if not facts['watchers'] and age >= older_than:
                found.append(Finding(kind, '%s/%s' % (pool, name),
                                     'no watcher', age, ''))
            continue
        for snap in facts['snaps']:
            age = now - snap['created']
            if _DIRECT_SNAPSHOT.match(snap['name']) and age >= older_than:
                found.append(Finding(
                    'snapshot', '%s/%s@%s' % (pool, name, snap['name']),
                    'protected' if snap['protected'] else 'unprotected',
                    age, ''))
    for entry in client.trash(pool):
        age = now - entry['deleted']
        if _INSTANCE_DISK.match(entry['name']) and age >= older_than:
            found.append(Finding('trash', '%s/%s' % (pool, entry['name']),
                                 'in the RBD trash (source %s)'
                                 % entry['source'], age, entry['id']))
    found += _staging_folders(instances_path, older_than, now)
    return found


def _image_kind(name):
    if name.endswith(names.PART_SUFFIX):
        return 'partial'
    if name.startswith(names.SCRATCH_PREFIX):
        return 'scratch'
    if _INSTANCE_DISK.match(name):
        return 'disk'
    return None


def _staging_folders(instances_path, older_than, now):
    try:
        entries = list(os.scandir(instances_path))
    except FileNotFoundError:
        return []
    found = []
    for entry in entries:
        if entry.name.startswith(staging.STAGING_PREFIX) and entry.is_dir():
            age = now - entry.stat().st_mtime
            if age >= older_than:
                found.append(Finding('staging', entry.path, 'folder', age,
                                     ''))
    return found


def purge(client, findings):
    """Remove each finding; return [(finding, 'removed' or why not)]."""
    outcomes = []
    for finding in findings:
        try:
            _remove(client, finding)
        except exceptions.RbdBusy as exc:
            outcomes.append((finding, 'kept: %s' % exc.format_message()))
            continue
        except (exceptions.CephError, OSError) as exc:
            outcomes.append((finding, 'failed: %s' % exc))
            continue
        outcomes.append((finding, 'removed'))
        LOG.info('Removed leftover %s %s (%s, %d s old)', finding.kind,
                 finding.where, finding.detail, finding.age)
    return outcomes


def _remove(client, finding):
    if finding.kind == 'staging':
        shutil.rmtree(finding.where)
        return
    pool, _sep, rest = finding.where.partition('/')
    if finding.kind == 'snapshot':
        name, _sep, snap = rest.partition('@')
        client.remove_snap(pool, name, snap, force=True)
    elif finding.kind == 'trash':
        client.trash_remove(pool, finding.ref, rest)
    else:
        client.remove(pool, rest)
        if finding.kind == 'partial':
            # A rename of it cut short may have left the disk's name an
            # id object, which would fail the next creation of that disk.
            client.drop_stray_id(pool, rest[:-len(names.PART_SUFFIX)])
