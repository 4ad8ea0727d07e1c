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
"""What a pool holds: images with their age, users and snapshots; trash.

Read-only questions for the audit, plus removing a trash entry.
"""

import datetime
import errno
import struct

from oslo_log import log as logging

from nova_rbd_imagebackend.ceph.bindings import rados
from nova_rbd_imagebackend.ceph.bindings import rbd

LOG = logging.getLogger(__name__)
RBD_TRASH = 'rbd_trash'
# cls_rbd's trash image states (cls::rbd::TrashImageState).
TRASH_NORMAL, TRASH_MOVING = 0, 1


def is_moving(exc):
    """True for librbd's refusal to remove a trash entry still MOVING."""
    return getattr(exc, 'errno', None) == errno.EUCLEAN


def set_trash_state(ioctx, image_id, state, expect):
    """cls_rbd's trash_state_set: ``state`` if the entry is ``expect``."""
    data = struct.pack('<I', len(image_id)) + image_id.encode() + bytes(
        [state, expect])
    ioctx.execute(RBD_TRASH, 'rbd', 'trash_state_set', data)


def _epoch(value):
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return value.timestamp()
    return float(value or 0)


def _children_of(image, snap_id):
    image.set_snap_by_id(snap_id)
    try:
        return len(list(image.list_children2()))
    finally:
        image.set_snap(None)


class InventoryOps(object):
    """Mixed into CephClient: the audit's view of a pool."""

    def image_facts(self, pool, name):
        """Age, users and snapshots of one image; None if it is gone.

        Returns {'created', 'watchers', 'snaps': [{'name', 'protected',
        'created'}], 'trashed': [{'id', 'original', 'created',
        'children'}]}, times in seconds since the epoch.  ``trashed`` are
        the snapshots librbd moved to its trash namespace: they wait for
        their last clone to go, or for a removal cut short to finish.
        """
        def run():
            try:
                image = self._open(pool, name, read_only=True)
            except rbd.ImageNotFound:
                return None
            with image:
                snaps, trashed = [], []
                for snap in image.list_snaps():
                    namespace = snap.get('namespace',
                                         rbd.RBD_SNAP_NAMESPACE_TYPE_USER)
                    created = _epoch(image.get_snap_timestamp(snap['id']))
                    if namespace == rbd.RBD_SNAP_NAMESPACE_TYPE_USER:
                        snaps.append({
                            'name': snap['name'], 'created': created,
                            'protected': image.is_protected_snap(
                                snap['name'])})
                    elif namespace == rbd.RBD_SNAP_NAMESPACE_TYPE_TRASH:
                        trashed.append({
                            'id': snap['id'], 'created': created,
                            'original': snap.get('trash', {}).get(
                                'original_name', ''),
                            'children': _children_of(image, snap['id'])})
                return {'created': _epoch(image.create_timestamp()),
                        'watchers': len(list(image.watchers_list())),
                        'snaps': snaps, 'trashed': trashed}
        return self.call('inspect image', run, '%s/%s' % (pool, name))

    def remove_trashed_snap(self, pool, name, snap_id):
        """Remove a snapshot of the trash namespace by its id."""
        def run():
            with self._open(pool, name) as image:
                image.remove_snap_by_id(snap_id)
        self.call('remove snapshot', run, '%s/%s@%s' % (pool, name, snap_id))

    def get_record(self, pool, obj, key):
        """The value of ``key`` in object ``obj``'s omap, or None."""
        def run():
            with rados.ReadOpCtx() as op:
                vals, _ret = self._ioctx(pool).get_omap_vals_by_keys(
                    op, (key,))
                try:
                    self._ioctx(pool).operate_read_op(op, obj)
                except rados.ObjectNotFound:
                    return None
                found = dict(vals)
            value = found.get(key)
            return value.decode() if value is not None else None
        return self.call('read record', run, '%s/%s' % (pool, obj))

    def all_records(self, pool, obj):
        """Every key and value of object ``obj``'s omap, as a dict."""
        def run():
            ioctx, found, start = self._ioctx(pool), {}, ''
            while True:
                with rados.ReadOpCtx() as op:
                    vals, _ret = ioctx.get_omap_vals(op, start, '', 256)
                    try:
                        ioctx.operate_read_op(op, obj)
                    except rados.ObjectNotFound:
                        return found
                    page = [(k, v.decode()) for k, v in vals]
                found.update(page)
                if len(page) < 256:
                    return found
                start = page[-1][0]
        return self.call('read records', run, '%s/%s' % (pool, obj))

    def set_record(self, pool, obj, key, value):
        """Set ``key`` in object ``obj``'s omap (the object is created)."""
        def run():
            with rados.WriteOpCtx() as op:
                self._ioctx(pool).set_omap(op, (key,), (value.encode(),))
                self._ioctx(pool).operate_write_op(op, obj)
        self.call('write record', run, '%s/%s' % (pool, obj))

    def remove_record(self, pool, obj, key):
        def run():
            with rados.WriteOpCtx() as op:
                self._ioctx(pool).remove_omap_keys(op, (key,))
                try:
                    self._ioctx(pool).operate_write_op(op, obj)
                except rados.ObjectNotFound:
                    pass
        self.call('remove record', run, '%s/%s' % (pool, obj))

    def trash(self, pool):
        """[{'id', 'name', 'source', 'deleted'}] of the pool's trash."""
        def run():
            return [{'id': e['id'], 'name': e['name'],
                     'source': str(e.get('source', '')),
                     'deleted': _epoch(e.get('deletion_time'))}
                    for e in rbd.RBD().trash_list(self._ioctx(pool))]
        return self.call('list trash', run, '%s trash' % pool)

    def listed(self, pool, prefix):
        """[{'id', 'name'}] of every image starting ``prefix``, any state.

        Unlike the image directory (list_prefix), this includes images
        whose removal was cut short: they sit in the trash with source
        REMOVING, which the trash listing leaves out.  It reads the whole
        pool's listing, so it is for clean-up paths, not hot ones.
        """
        def run():
            return [{'id': i['id'], 'name': i['name']}
                    for i in rbd.RBD().list2(self._ioctx(pool))
                    if i['name'].startswith(prefix)]
        return self.call('list images', run, '%s/%s*' % (pool, prefix))

    def trash_remove(self, pool, image_id, name='', finish_moving=False):
        """Purge one trash entry; RbdBusy while clones still read it.

        librbd moves an image into the trash in three steps: it adds the
        entry as MOVING, removes the image from the pool's directory,
        then marks the entry NORMAL.  A process killed in between leaves
        an entry librbd refuses to remove for ever (EUCLEAN).  With
        ``finish_moving`` (the caller knows the mover is gone) the last
        step is done here, then the entry purged.
        """
        def run():
            ioctx = self._ioctx(pool)
            try:
                rbd.RBD().trash_remove(ioctx, image_id, force=True)
            except rbd.Error as exc:
                if not is_moving(exc):
                    raise
                if not finish_moving:
                    raise rbd.ImageBusy('half-moved into the trash by a '
                                        'process that may still run')
                set_trash_state(ioctx, image_id, TRASH_NORMAL, TRASH_MOVING)
                LOG.info('%s/%s was left half-moved into the RBD trash by '
                         'a process that died; finished the move',
                         pool, name or image_id)
                rbd.RBD().trash_remove(ioctx, image_id, force=True)
        self.call('purge from trash', run, '%s/%s' % (pool, name or image_id))
