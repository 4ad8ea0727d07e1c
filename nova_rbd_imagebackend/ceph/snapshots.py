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
"""Snapshot operations, and flattening a clone away from its parent.

Creating or removing a snapshot asks the monitors for (or gives back) a
snapshot id.  Right after a monitor election the new leader can refuse
such a request, re-routed from the old one, with EPERM although the
user's caps allow it (Ceph 16.2 logs "got unmanaged-snap pool op from
entity with insufficient privileges").  The refusal changes nothing, so
those calls are made again, a few times; caps that really lack the right
fail the same way each time.
"""

import json
import time

from oslo_log import log as logging

from nova_rbd_imagebackend.ceph.bindings import rbd
from nova_rbd_imagebackend.ceph import runner
from nova_rbd_imagebackend import exceptions

LOG = logging.getLogger(__name__)
SNAP_ID_ATTEMPTS = 3
SNAP_ID_RETRY_SECONDS = 1.0

# A rollback copies every block of the image and reports no progress: it
# is bounded by librados's per-op timeout, not by one deadline.
LONG_COPY = 24 * 3600


class SnapshotOps(object):
    """Mixed into CephClient: snapshots and flattening."""

    def _snap_id_call(self, op, run, name):
        """``call``, again after an EPERM (see the module docstring).

        ``run(retry)`` is told whether an attempt was refused before it.
        """
        for attempt in range(1, SNAP_ID_ATTEMPTS + 1):
            try:
                return self.call(op, lambda: run(attempt > 1), name)
            except exceptions.RbdPermissionDenied as exc:
                if attempt == SNAP_ID_ATTEMPTS:
                    raise
                LOG.warning('Ceph refused to %s %s (%s); monitors refuse '
                            'snapshot ids wrongly right after an election: '
                            'trying again (%d of %d)', op, name,
                            exc.format_message(), attempt + 1,
                            SNAP_ID_ATTEMPTS)
                time.sleep(SNAP_ID_RETRY_SECONDS)

    def create_snap(self, pool, name, snap, protect=False):
        def run(retry):
            with self._open(pool, name) as image:
                # An existing snapshot is an error (it would be stale),
                # unless an attempt refused before made it after all.
                if not (retry and _has_snap(image, snap)):
                    image.create_snap(snap)
                if protect and not image.is_protected_snap(snap):
                    image.protect_snap(snap)
        self._snap_id_call('create snapshot', run,
                           '%s/%s@%s' % (pool, name, snap))

    def remove_snap(self, pool, name, snap, force=False):
        """Remove a snapshot; False if it does not exist.

        With ``force`` a protected snapshot is unprotected first (this fails
        with RbdBusy while it still has clones).
        """
        def run(retry):
            with self._open(pool, name) as image:
                if not _has_snap(image, snap):
                    return retry  # gone: by the attempt refused before
                if force and image.is_protected_snap(snap):
                    image.unprotect_snap(snap)
                image.remove_snap(snap)
                return True
        return self._snap_id_call('remove snapshot', run,
                                  '%s/%s@%s' % (pool, name, snap))

    def rollback_to_snap(self, pool, name, snap):
        def run():
            with self._open(pool, name) as image:
                if snap not in {s['name'] for s in image.list_snaps()}:
                    raise rbd.ImageNotFound('no snapshot %s' % snap)
                image.rollback_to_snap(snap)
        self.call('roll back', run, '%s/%s@%s' % (pool, name, snap),
                  timeout=LONG_COPY)

    def snaps(self, pool, name):
        def run():
            with self._open(pool, name, read_only=True) as image:
                return [s['name'] for s in image.list_snaps()]
        return self.call('list snapshots', run, '%s/%s' % (pool, name))

    def clone_count(self, pool, name, snap):
        """How many clones the snapshot has (in any pool, trash included)."""
        def run():
            with self._open(pool, name, snapshot=snap,
                            read_only=True) as image:
                return len(list(image.list_children2()))
        return self.call('count clones', run, '%s/%s@%s' % (pool, name, snap))

    def snap_if_deep_flatten(self, pool, name, snap):
        """Create and protect ``snap`` if the image has deep-flatten.

        With deep-flatten, flattening the image later also detaches this
        snapshot from the clone parent.  Returns whether it was created.
        """
        def run(retry):
            with self._open(pool, name) as image:
                if not image.features() & rbd.RBD_FEATURE_DEEP_FLATTEN:
                    return False
                if not (retry and _has_snap(image, snap)):
                    image.create_snap(snap)
                if not image.is_protected_snap(snap):
                    image.protect_snap(snap)
                return True
        return self._snap_id_call('create snapshot', run,
                                  '%s/%s@%s' % (pool, name, snap))

    def request_flatten(self, pool, name):
        """Ask the manager's rbd_support module to flatten in background.

        Returns False when the manager will not (no such module, or the
        user lacks "mgr profile rbd" on the pool).
        """
        def run():
            ret, _out, err = self._connected().mgr_command(json.dumps({
                'prefix': 'rbd task add flatten',
                'image_spec': '%s/%s' % (pool, name)}), b'',
                timeout=int(self.op_timeout))
            return ret, err
        ret, err = self.call('request flatten', run, '%s/%s' % (pool, name))
        if ret:
            LOG.warning('The Ceph manager will not flatten %s/%s (%s: %s); '
                        'flattening here instead. Grant %s "mgr profile rbd '
                        'pool=%s" to avoid it', pool, name, ret, err,
                        self.entity, pool)
            return False
        return True

    def flatten(self, pool, name, progress=None):
        """Copy the parent's data into the image, detaching it.

        The deadline counts from the last object copied.
        """
        beat = runner.Progress()

        def on_progress(done, total):
            beat.beat()
            return progress(done, total) if progress else 0

        def run():
            with self._open(pool, name) as image:
                image.flatten(on_progress=on_progress)
        self.call('flatten', run, '%s/%s' % (pool, name), progress=beat)


def _has_snap(image, snap):
    return snap in {s['name'] for s in image.list_snaps()}
