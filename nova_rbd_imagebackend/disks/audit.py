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
* ``trashed-snapshot``: a snapshot of an instance disk that librbd moved
  to its trash namespace and that no clone reads from: a snapshot removal
  cut short (librbd trashes a snapshot before removing it);
* ``staging``: a staging folder under this host's instances path;
* ``snapshot-run``: a direct snapshot whose process died or gave up
  (disks/snapshot_runs.py).  Glance, asked through ``glance_status``,
  tells what is left: the image is registered (the disk's snapshot and
  the record go) or never will be (its clone in Glance's pool goes too).
  Without an answer from Glance it is reported and kept;
* ``deleted-instance``: the disks of an instance Nova has deleted (asked
  through ``deleted_instances``), for example one deleted while its host
  was down.  A disk still open by a guest is kept.
"""

import collections
import json
import os
import re
import shutil
import time
import types

from oslo_log import log as logging

from nova_rbd_imagebackend.ceph import writers
from nova_rbd_imagebackend.disks import instances
from nova_rbd_imagebackend.disks import names
from nova_rbd_imagebackend.disks import pool_cache
from nova_rbd_imagebackend.disks import snapshot_runs
from nova_rbd_imagebackend.disks import staging
from nova_rbd_imagebackend import exceptions

LOG = logging.getLogger(__name__)

# ref: what removing it needs beyond ``where`` (a trash entry's id).
Finding = collections.namedtuple('Finding', 'kind where detail age ref')
# What the compute service's periodic task may remove on its own.
SAFE_KINDS = ('partial', 'scratch', 'trash', 'staging', 'snapshot-run',
              'deleted-instance', 'trashed-snapshot')
# Glance statuses of an image that will never be given data by the run
# that recorded it: its clone is nobody's.  'gone' is Glance's 404.
NEVER_REGISTERED = ('gone', 'queued', 'killed', 'deleted', 'pending_delete')
REGISTERED = ('active', 'deactivated')
_INSTANCE_DISK = re.compile(r'^[0-9a-f-]{36}_disk')
_DIRECT_SNAPSHOT = re.compile(r'^[0-9a-f]{32}$')


class Kept(Exception):
    """A finding that is not provably a leftover yet."""


def find(client, pool, instances_path, older_than, now=None,
         glance_status=None, deleted_instances=None):
    """Every provable leftover older than ``older_than`` seconds.

    :param glance_status: image id -> Glance's status of it, 'gone' when
        Glance has none, None when Glance could not be asked.
    :param deleted_instances: instance uuids -> {uuid: time of deletion}
        for those Nova has deleted; None when Nova could not be asked.
    """
    now = time.time() if now is None else now
    found = _snapshot_runs(client, pool, older_than, now, glance_status)
    in_flight = snapshot_runs.recorded_snaps(client, pool)
    disks_of, held = collections.defaultdict(list), set()
    for name in client.list_prefix(pool, ''):
        kind = _image_kind(name)
        if kind is None:
            continue
        if kind == 'disk':
            disks_of[name[:36]].append(name)
        facts = client.image_facts(pool, name)
        if facts is None:
            continue  # removed meanwhile
        if kind == 'disk' and facts['watchers']:
            held.add(name[:36])
        if kind in ('partial', 'scratch'):
            age = now - facts['created']
            if not facts['watchers'] and age >= older_than:
                found.append(Finding(kind, '%s/%s' % (pool, name),
                                     'no watcher', age, ''))
            continue
        for snap in facts['trashed']:
            age = now - snap['created']
            if not snap['children'] and age >= older_than:
                found.append(Finding(
                    'trashed-snapshot', '%s/%s@%s' % (pool, name, snap['id']),
                    'in the trash namespace (was %s), no clone'
                    % (snap['original'] or 'unnamed'), age, ''))
        for snap in facts['snaps']:
            age = now - snap['created']
            if _DIRECT_SNAPSHOT.match(snap['name']) and age >= older_than \
                    and (name, snap['name']) not in in_flight:
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
    found += _deleted_instances(pool, disks_of, held, older_than, now,
                                deleted_instances)
    return found


def _deleted_instances(pool, disks_of, held, older_than, now,
                       deleted_instances):
    if not disks_of or deleted_instances is None:
        return []
    deleted = deleted_instances(sorted(disks_of)) or {}
    return [Finding('deleted-instance', '%s/%s' % (pool, uuid),
                    'deleted in Nova; disks %s%s' % (
                        ', '.join(sorted(disks_of[uuid])),
                        '; open by a client' if uuid in held else ''),
                    now - when, json.dumps({'uuid': uuid,
                                            'held': uuid in held}))
            for uuid, when in sorted(deleted.items())
            if uuid in disks_of and now - when >= older_than]


def _snapshot_runs(client, pool, older_than, now, glance_status):
    found = []
    for image_id, run in snapshot_runs.unfinished(client, pool).items():
        age = now - run.get('since', 0)
        if age < older_than:
            continue
        status = glance_status(image_id) if glance_status else None
        found.append(Finding(
            'snapshot-run', '%s/%s' % (run['glance_pool'], image_id),
            'direct snapshot of %s/%s@%s by process %s on %s, %s; Glance: '
            '%s' % (pool, run['disk'], run['snap'], run['pid'], run['host'],
                    'abandoned' if run.get('abandoned') else 'gone',
                    status or 'not asked'),
            age, json.dumps(dict(run, pool=pool, glance=status))))
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
        except Kept as exc:
            outcomes.append((finding, 'kept: %s' % exc))
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
    if finding.kind == 'deleted-instance':
        ref = json.loads(finding.ref)
        if ref['held']:
            # A guest of the deleted instance still runs somewhere: Nova
            # removes it first (running_deleted_instance_action).
            raise Kept('a client still has a disk open')
        instances.remove_instance_disks(
            client, pool, types.SimpleNamespace(uuid=ref['uuid']))
    elif finding.kind == 'snapshot-run':
        _finish_snapshot_run(client, pool, rest, json.loads(finding.ref))
    elif finding.kind == 'trashed-snapshot':
        name, _sep, snap_id = rest.partition('@')
        client.remove_trashed_snap(pool, name, int(snap_id))
    elif finding.kind == 'snapshot':
        name, _sep, snap = rest.partition('@')
        client.remove_snap(pool, name, snap, force=True)
    elif finding.kind == 'trash':
        # Older than the grace period: whoever moved it is gone.
        client.trash_remove(pool, finding.ref, rest, finish_moving=True)
    elif finding.kind == 'partial' and rest.startswith(pool_cache.PREFIX):
        # A fill that died: its lease object goes with its image.
        if not pool_cache.remove_abandoned_fill(client, pool, rest):
            raise Kept('a lease on it is still held')
    else:
        client.remove(pool, rest)
        if finding.kind == 'partial':
            # A rename of it cut short may have left the disk's name an
            # id object, which would fail the next creation of that disk.
            client.drop_stray_id(pool, rest[:-len(names.PART_SUFFIX)])


def _finish_snapshot_run(client, glance_pool, image_id, run):
    """Finish a killed direct snapshot as Glance's answer allows."""
    status = run['glance']
    if status not in REGISTERED + NEVER_REGISTERED:
        raise Kept('Glance says %s; only registered or never-registered '
                   'images are provable' % (status or 'nothing'))
    # A killed run's process may still hold either image: cut it off.
    for pool, name in ((glance_pool, image_id), (run['pool'], run['disk'])):
        if writers.dead_here(run):
            try:
                writers.break_dead_writer(client, pool, name, run)
            except exceptions.RbdNotFound:
                pass  # never made, or removed since
    if status in NEVER_REGISTERED:
        client.remove(glance_pool, image_id)
    try:
        client.remove_snap(run['pool'], run['disk'], run['snap'],
                           force=True)
    except exceptions.RbdNotFound:
        pass  # the instance's disk is gone, and its snapshot with it
    snapshot_runs.finished(client, run['pool'], image_id)
