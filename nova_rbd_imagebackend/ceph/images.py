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
"""Image operations: create, clone, grow, find, rename and remove.

Instance images are found through rbd's own directory object by key
prefix, in time proportional to what matches rather than to the pool.
A name is an image's only when that directory says so (directory.py):
a rename cut short leaves id objects that open an image by another name.
"""

import errno

from oslo_log import log as logging

from nova_rbd_imagebackend.ceph.bindings import rados
from nova_rbd_imagebackend.ceph.bindings import rbd
from nova_rbd_imagebackend.ceph import directory
from nova_rbd_imagebackend.ceph import inventory
from nova_rbd_imagebackend.ceph import layouts
from nova_rbd_imagebackend.ceph import writers
from nova_rbd_imagebackend import exceptions

LOG = logging.getLogger(__name__)

# rbd's own directory object: omap keys "name_<image>" for every image in
# the pool.  Reading keys by prefix finds one instance's images in time
# proportional to what matches, not to the size of the pool.
RBD_DIRECTORY = directory.DIRECTORY
_NAME_KEY = directory.NAME_KEY
_OMAP_PAGE = 256


class ImageOps(object):
    """Mixed into CephClient: whole-image operations."""

    def exists(self, pool, name, snapshot=None):
        """True if the pool lists an image ``name`` (with ``snapshot``).

        Not merely if ``name`` opens: after a rename to ``name`` cut short,
        it opens the image that the pool still lists under its old name.
        """
        def run():
            try:
                with self._open(pool, name, snapshot, read_only=True) as im:
                    image_id = None if im.old_format() else im.id()
            except rbd.ImageNotFound:
                return False
            return image_id is None or image_id == directory.listed_id(
                self._ioctx(pool), name)
        return self.call('check image', run, '%s/%s' % (pool, name))

    def size(self, pool, name):
        def run():
            with self._open(pool, name, read_only=True) as image:
                return image.size()
        return self.call('get size', run, '%s/%s' % (pool, name))

    def create(self, pool, name, size, replace=False, layout=None):
        """Create an image; with ``replace``, over a leftover of that name.

        ``layout``: object size, striping, features and data pool
        (layouts.create_options); librbd's defaults for what it omits.
        """
        options = layouts.create_options(layout or {})

        def run():
            ioctx = self._ioctx(pool)
            try:
                rbd.RBD().create(ioctx, name, size, old_format=False,
                                 **options)
            except rbd.ImageExists:
                if not replace:
                    raise
                self._remove(pool, name)
                rbd.RBD().create(ioctx, name, size, old_format=False,
                                 **options)
        self.call('create', run, '%s/%s' % (pool, name),
                  undo=lambda: self._remove(pool, name))

    def grow(self, pool, name, size):
        """Grow the image to ``size`` if smaller; return its former size.

        A resize takes the image's exclusive lock, which a process killed
        in the middle keeps until its watch times out (about 30 s).  So a
        grow is recorded as this process's write (writers.py) before the
        image is opened for it, and a grow that finds a writer of this
        host dead cuts it off first instead of waiting for its lock.
        """
        current = self.size(pool, name)
        if size <= current:
            return current  # no lock taken, nothing recorded

        def run():
            with self._open(pool, name) as image:
                former = image.size()
                if size > former:
                    image.resize(size)
                return former
        writers.take_over(self, pool, name, 'grow')
        try:
            current = self.call('grow', run, '%s/%s' % (pool, name))
        except exceptions.CephTimeout:
            raise  # the record stays: the cluster is not answering
        except BaseException:
            writers.done(self, pool, name)
            raise
        writers.done(self, pool, name)
        return current

    def clone(self, src_pool, src_name, src_snap, dst_pool, dst_name,
              layout=None):
        """Copy-on-write clone of src_pool/src_name@src_snap.

        ``layout`` as for ``create``.  librbd copies the parent's image
        metadata to the clone.
        """
        options = layouts.create_options(layout or {})

        def run():
            rbd.RBD().clone(self._ioctx(src_pool), src_name, src_snap,
                            self._ioctx(dst_pool), dst_name, **options)
        self.call('clone', run, '%s/%s@%s' % (src_pool, src_name, src_snap),
                  undo=lambda: self._remove(dst_pool, dst_name))

    def parent(self, pool, name):
        """Return (pool, image, snapshot) of the clone parent, or None."""
        def run():
            with self._open(pool, name, read_only=True) as image:
                try:
                    return tuple(image.parent_info())
                except rbd.ImageNotFound:
                    return None
        return self.call('get parent', run, '%s/%s' % (pool, name))

    def list_prefix(self, pool, prefix):
        """Return the names of the images in ``pool`` starting ``prefix``."""
        def run():
            ioctx = self._ioctx(pool)
            names, start = [], ''
            while True:
                with rados.ReadOpCtx() as op:
                    vals, _ret = ioctx.get_omap_vals(
                        op, start, _NAME_KEY + prefix, _OMAP_PAGE)
                    try:
                        ioctx.operate_read_op(op, RBD_DIRECTORY)
                    except rados.ObjectNotFound:
                        return names  # an empty pool has no directory
                    keys = [k for k, _v in vals]
                names += [k[len(_NAME_KEY):] for k in keys]
                if len(keys) < _OMAP_PAGE:
                    return names
                start = keys[-1]
        return self.call('list images', run, '%s/%s*' % (pool, prefix))

    def rename(self, pool, src, dst):
        self.call('rename', lambda: rbd.RBD().rename(self._ioctx(pool), src,
                                                     dst),
                  '%s/%s' % (pool, src))

    def drop_stray_id(self, pool, name):
        """Free ``name`` of what a rename to it cut short left.

        That is an id object ``rbd_id.<name>`` with no image listed under
        ``name`` (directory.py); it would make the next rename or clone to
        ``name`` fail as existing.  Returns True if there was one.
        """
        def run():
            stray = directory.drop_stray_id(self._ioctx(pool), name)
            if stray:
                LOG.info('Removed the id object of %s/%s, left by a rename '
                         'cut short (it named image id %s)', pool, name,
                         stray)
            return stray is not None
        return self.call('remove stray id', run, '%s/%s' % (pool, name))

    def remove(self, pool, name):
        """Remove an image and all of its snapshots; False if absent."""
        return self.call('remove', lambda: self._remove(pool, name),
                         '%s/%s' % (pool, name))

    def _remove(self, pool, name):
        ioctx = self._ioctx(pool)
        if directory.drop_stray_id(ioctx, name):
            # librbd would open the image through it and remove the image
            # the directory lists under another name.
            LOG.info('%s/%s was only the id object of a rename cut short; '
                     'removed that, not the image it named', pool, name)
            return False
        try:
            rbd.RBD().remove(ioctx, name)
            return True
        except rbd.ImageNotFound:
            return False
        except rbd.ImageHasSnapshots:
            pass
        except rbd.Error as exc:
            if getattr(exc, 'errno', None) != errno.ESTALE or \
                    directory.listed_id(ioctx, name) is not None:
                raise
            # librbd found the directory entry changed under its removal:
            # another call removed the image meanwhile (a call of this
            # process that gave up at its deadline, say).
            LOG.info('%s/%s was removed by another call meanwhile', pool,
                     name)
            return False
        # Rare: snapshots first (nova-resize, a failed snapshot's leftover).
        with rbd.Image(ioctx, name) as image:
            for snap in list(image.list_snaps()):
                if snap.get('namespace', rbd.RBD_SNAP_NAMESPACE_TYPE_USER) \
                        != rbd.RBD_SNAP_NAMESPACE_TYPE_USER:
                    continue
                if image.is_protected_snap(snap['name']):
                    image.unprotect_snap(snap['name'])
                image.remove_snap(snap['name'])
        try:
            rbd.RBD().remove(ioctx, name)
        except rbd.ImageHasSnapshots:
            # Only snapshots in the trash namespace are left: a clone (an
            # instance snapshot being flattened) still reads from them.
            # The image leaves the pool now and is purged from the RBD
            # trash once nothing depends on it (purge_trash).
            rbd.RBD().trash_move(ioctx, name, 0)
            LOG.info('Moved %s/%s to the RBD trash until its clones are '
                     'flattened', pool, name)
        return True

    def purge_trash(self, pool, suffix='_disk'):
        """Remove trashed images named ``*<suffix>*`` that are free now.

        Returns the names removed; images still needed stay in the trash.
        """
        def run():
            ioctx = self._ioctx(pool)
            removed = []
            for entry in list(rbd.RBD().trash_list(ioctx)):
                if suffix not in entry['name']:
                    continue
                try:
                    rbd.RBD().trash_remove(ioctx, entry['id'])
                    removed.append(entry['name'])
                except (rbd.ImageHasSnapshots, rbd.ImageBusy,
                        rbd.PermissionError):
                    continue
                except rbd.Error as exc:
                    if not inventory.is_moving(exc):
                        raise
                    # Half-moved by a process that died: the retry of its
                    # delete, or the audit, finishes it.
                    continue
            return removed
        return self.call('purge trash', run, '%s trash' % pool)
