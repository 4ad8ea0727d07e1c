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
"""Which name an image really has: the pool's directory, not its id objects.

A format 2 image has an id.  The pool's directory object
(``rbd_directory``) maps each image name to its id (omap key
``name_<name>``), and an id object ``rbd_id.<name>`` maps the name to the
id again.  librbd opens an image by name through the id object alone,
and renames one in three writes: it creates the new name's id object,
renames the directory entry, then removes the old name's id object.  A
rename cut short (its process killed) therefore leaves an id object the
directory does not agree with:

* after the first write, the new name opens the image while the
  directory, and so ``rbd ls`` and every listing, still has the old one;
* after the second, the old name still opens the image, and removing the
  image by that name removes the image listed under the new one.

Such a stray id object also makes any later rename or clone to its name
fail as "already exists".  Only the directory says which name an image
has; these helpers read it, and remove strays.  They run inside a call
(connection.Connection.call) on an open pool.
"""

import struct

from nova_rbd_imagebackend.ceph.bindings import rados

DIRECTORY = 'rbd_directory'
ID_PREFIX = 'rbd_id.'
NAME_KEY = 'name_'


def _decode(raw):
    """An id as the directory and id objects store it (length, bytes)."""
    if raw is None or len(raw) < 4:
        return None
    (length,) = struct.unpack('<I', raw[:4])
    return raw[4:4 + length].decode()


def listed_id(ioctx, name):
    """The id the directory lists ``name`` under, or None."""
    with rados.ReadOpCtx() as op:
        vals, _ret = ioctx.get_omap_vals_by_keys(op, (NAME_KEY + name,))
        try:
            ioctx.operate_read_op(op, DIRECTORY)
        except rados.ObjectNotFound:
            return None
        found = dict(vals)
    return _decode(found.get(NAME_KEY + name))


def id_object(ioctx, name):
    """The id that ``rbd_id.<name>`` names, or None if there is none."""
    try:
        return _decode(ioctx.read(ID_PREFIX + name))
    except rados.ObjectNotFound:
        return None


def drop_stray_id(ioctx, name):
    """Remove ``rbd_id.<name>`` if the directory lists no image ``name``.

    Returns the id it named, or None when there was no stray.  Safe unless
    a live process is renaming an image to ``name`` at this very moment:
    undoing the first write of a rename leaves the image under its old
    name, as if the rename had not started.
    """
    if listed_id(ioctx, name) is not None:
        return None
    stray = id_object(ioctx, name)
    if stray is None:
        return None
    try:
        ioctx.remove_object(ID_PREFIX + name)
    except rados.ObjectNotFound:
        return None
    return stray
