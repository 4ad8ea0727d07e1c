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
"""Instance snapshots taken inside Ceph and handed to Glance.

A direct snapshot snapshots the disk, clones the snapshot into the pool
Glance uses, flattens the clone and gives it the protected snap that
glance_store gives uploaded images; Glance then registers
rbd://<fsid>/<pool>/<image id>/snap.  Unlike Nova's in-tree code, a
failure removes what was created in reverse order, so neither the clone
nor a protected snapshot that would block deleting the instance is left.

A shelve that offloads is this snapshot, then the instance delete
(disks/instances.py); Nova records the instance as shelved in between.
Killed in the snapshot, Nova shelves again with a new image and the
audit settles the killed run (direct_snapshot); killed in the delete,
the offload's retry finishes it.  Deleted while the Ceph manager still
flattens Glance's clone, the disk waits in the trash until the clone no
longer needs it; the next delete or the audit removes it.
"""

import os

from nova import exception
from oslo_log import log as logging
from oslo_utils import excutils

from nova_rbd_imagebackend.disks import inflight
from nova_rbd_imagebackend.disks import locations
from nova_rbd_imagebackend.disks import policy_on_disk
from nova_rbd_imagebackend.disks import snapshot_runs
from nova_rbd_imagebackend.disks import undo
from nova_rbd_imagebackend import exceptions

LOG = logging.getLogger(__name__)
GLANCE_SNAPSHOT = 'snap'
CHUNK = 4 * 1024 * 1024
# Failures that say the cluster did not answer in time, not that it
# refused: any clean-up call would wait out its deadline too.
NOT_ANSWERING = (exceptions.CephTimeout, exceptions.CephBusy,
                 exceptions.CephUnavailable)


def parent_pool(image, base_image_locations, base_image_id, fsid):
    """The pool Glance keeps images in, as seen from this disk.

    The clone parent's pool if the disk is a clone, else the pool of the
    base image's location in this cluster.

    :param base_image_locations: returns the base image's location URLs;
        called only when the disk is not a clone.
    """
    parent = image.client.parent(image.pool, image.rbd_name)
    if parent:
        return parent[0]
    for url in base_image_locations():
        try:
            parsed = locations.parse_url(url)
        except locations.BadLocation:
            continue
        if parsed.fsid == fsid:
            return parsed.pool
    raise exception.ImageUnacceptable(
        image_id=base_image_id,
        reason='cannot tell which pool Glance uses: %s is not a clone and '
               'its image has no location in this cluster' % image.spec)


def direct_snapshot(image, snapshot_name, image_format, image_id,
                    base_image_id, base_image_locations):
    """Snapshot image into Glance's pool; return the location URL.

    :param image: the instance disk (its ``client``, ``pool``,
        ``rbd_name`` and ``spec``).
    :param base_image_locations: see parent_pool.

    The steps, and what a crash between two of them leaves:

    1. record the run (disks/snapshot_runs.py) in the disk's pool;
    2. snapshot the disk (``snapshot_name``: 32 hex digits, Nova's);
    3. clone that snapshot to ``<Glance's pool>/<image id>``;
    4. give the clone its ``snap`` and flatten it (or let the Ceph
       manager flatten it);
    5. remove the disk's snapshot;
    6. Nova registers the location in Glance, then the driver drops the
       record (``finished``).

    Killed anywhere after 1, the record names a process that is gone.
    Glance is the only witness of step 6, so the audit asks it: an active
    image was registered, and only the disk's snapshot and the record
    are left to remove; any other answer means nobody will register the
    clone, and the clone, its snapshot and the disk's snapshot go.  A
    failure that is not a crash removes what it made here (in reverse
    order) and drops the record, or marks it abandoned when the removal
    failed too.  A failure because the cluster did not answer (a call
    ran out of its deadline) fails at once: each removal would wait out
    a deadline of its own.  The run is remembered as given up, and the
    next direct snapshot of this process that succeeds removes what it
    made (the service's periodic audit does, should none come).
    """
    if image_format not in (None, 'raw'):
        # Registering raw data under another disk_format makes the image
        # unbootable; Nova's regular snapshot converts the format instead.
        raise exception.ImageUnacceptable(
            image_id=image_id,
            reason='direct snapshots are raw and %s was requested'
                   % image_format)
    client = image.client
    fsid = client.fsid()
    dst_pool = parent_pool(image, base_image_locations,
                           base_image_id, fsid)
    run = (image.pool, image_id, image.rbd_name, snapshot_name, dst_pool)
    try:
        snapshot_runs.begin(client, *run)
        # The disk's snapshot operations take its exclusive lock: a killed
        # run of this host that held it is cut off rather than waited for.
        inflight.claim(client, image.pool, image.rbd_name,
                       'direct snapshot')
        with inflight.recorded(client, image.pool, image.rbd_name):
            _build(client, image, snapshot_name, dst_pool, image_id)
    except Exception as exc:
        with excutils.save_and_reraise_exception():
            if isinstance(exc, NOT_ANSWERING):
                LOG.warning('Direct snapshot %s of %s failed: %s; what it '
                            'made is removed by the next direct snapshot '
                            'of this service, or by the audit', image_id,
                            image.spec, exc.format_message())
                snapshot_runs.give_up(*run)
            else:
                _remove_run(client, *run)
    url = locations.format_url(fsid, dst_pool, image_id, GLANCE_SNAPSHOT)
    LOG.info('Snapshot of %s is %s', image.spec, url)
    for pool, given_up, made in snapshot_runs.given_up():
        _remove_run(client, pool, given_up, made['disk'], made['snap'],
                    made['glance_pool'])
    return url


def _remove_run(client, pool, image_id, disk, snap, dst_pool):
    """Remove what a failed run made, in reverse order; drop its record.

    The record is marked abandoned, for the audit, when a removal fails.
    """
    if undo.remove_quietly(client, dst_pool, image_id, 'a failed snapshot') \
            and _remove_snap_quietly(client, pool, disk, snap):
        snapshot_runs.finished(client, pool, image_id)
    else:
        snapshot_runs.abandon(client, pool, image_id)


def _build(client, image, snapshot_name, dst_pool, image_id):
    """Steps 2 to 5 of direct_snapshot."""
    # With clone v2 the snapshot needs no protection, and the new image's
    # flatten runs in the Ceph manager after this returns; removing the
    # snapshot below then parks it in the trash namespace until the
    # flatten has detached the clone.  Otherwise flatten here, as Nova's
    # in-tree backend always does.
    background = client.clone_v2_allowed()
    client.create_snap(image.pool, image.rbd_name, snapshot_name,
                       protect=not background)
    client.clone(image.pool, image.rbd_name, snapshot_name, dst_pool,
                 image_id)
    # Keeps the disk's storage policy as a record only.
    policy_on_disk.as_snapshot_record(client, dst_pool, image_id)
    # Snapshot first: its creation would otherwise queue behind the
    # manager's flatten (which holds the image's lock), and with
    # deep-flatten that flatten detaches the snapshot too.
    if background and client.snap_if_deep_flatten(
            dst_pool, image_id, GLANCE_SNAPSHOT):
        if not client.request_flatten(dst_pool, image_id):
            client.flatten(dst_pool, image_id)
    else:
        client.flatten(dst_pool, image_id)
        client.create_snap(dst_pool, image_id, GLANCE_SNAPSHOT,
                           protect=True)
    # Not worth failing a whole snapshot for: a snapshot left here is
    # reported by the audit.
    _remove_snap_quietly(client, image.pool, image.rbd_name, snapshot_name)


def registered(client, pool, image_id):
    """Step 6 done: Glance has the image; the run is over."""
    snapshot_runs.finished(client, pool, image_id)


def cleanup(client, location, also_destroy_volume=False,
            ignore_errors=False, pool=None):
    """Remove a direct snapshot's snapshot and, optionally, its image.

    Nova calls it when registering the image failed.  With ``pool`` (the
    instance disks' pool) the run's record goes once the image is gone,
    or is marked abandoned for the audit when it could not be removed.
    """
    if not location:
        return
    image_id = None
    try:
        loc = locations.parse_url(location['url'])
        image_id = loc.image
        client.remove_snap(loc.pool, loc.image, loc.snapshot, force=True)
        if also_destroy_volume:
            client.remove(loc.pool, loc.image)
    except (exceptions.CephError, locations.BadLocation) as exc:
        if pool and image_id:
            snapshot_runs.abandon(client, pool, image_id)
        if not ignore_errors:
            raise
        LOG.warning('Could not clean up snapshot %s: %s', location, exc)
        return
    if pool and also_destroy_volume:
        snapshot_runs.finished(client, pool, image_id)


def extract(image, target, out_format, convert):
    """Write the disk's allocated data to target in out_format.

    Raw goes straight from librbd into the file; other formats are
    converted from that raw file by Nova's image converter.
    """
    raw_target = target if out_format == 'raw' else target + '.raw'
    with open(raw_target, 'wb') as out:
        image.client.export_sparse(image.pool, image.rbd_name, None, out,
                                   CHUNK, lambda done, total: 0)
    if raw_target != target:
        try:
            convert(raw_target, target, 'raw', out_format)
        finally:
            _unlink(raw_target)


def _unlink(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _remove_snap_quietly(client, pool, name, snap):
    """Remove a snapshot; never raise.  Returns True when it is gone."""
    try:
        client.remove_snap(pool, name, snap, force=True)
    except exceptions.RbdNotFound:
        return True
    except exceptions.CephError as exc:
        LOG.error('Could not remove snapshot %s/%s@%s: %s; the audit '
                  'removes it', pool, name, snap, exc)
        return False
    return True
