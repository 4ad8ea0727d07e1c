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
"""In-memory stand-ins for the subset of rados and rbd the client uses.

For edge cases a live cluster cannot easily produce (a connection cut by
a blocklist, a busy image, a call still running when its connection is
retired).  The real behaviour is proven against a real cluster in
tests/ceph and above.
"""

import json
import struct


class Error(Exception):
    pass


class ObjectNotFound(Error):
    pass


class PermissionError(Error):  # noqa: A001 - mirrors rados.PermissionError
    pass


class ConnectionShutdown(Error):
    pass


class TimedOut(Error):
    pass


class ImageNotFound(Error):
    pass


class ImageBusy(Error):
    pass


class ImageExists(Error):
    pass


class ImageHasSnapshots(Error):
    pass


class Timeout(Error):
    pass


class Cluster(object):
    """The cluster's state, shared by every connection to it."""

    def __init__(self):
        self.fsid = 'fake-fsid'
        self.pools = {'vms': {}, 'images': {}}
        # Id objects the directory does not list: name -> FakeImage, as a
        # rename cut short leaves them (an image open by a second name).
        self.strays = {'vms': {}, 'images': {}}
        self.omaps = {}          # (pool, object) -> {key: bytes}
        self.blocklist = []
        self.next_id = 0x1000
        self.connections = []
        self.fail_next = []      # exceptions raised by the next image calls
        self.gate = None         # a threading.Event image calls wait for


class Rados(object):
    cluster = None  # set per test

    def __init__(self, rados_id=None, conffile=None):
        self.conf = {}
        self.state = 'configuring'
        self.cluster.connections.append(self)

    def conf_set(self, key, value):
        self.conf[key] = value

    def connect(self, timeout=0):
        self.state = 'connected'

    def shutdown(self):
        self.state = 'shutdown'

    def get_fsid(self):
        return self.cluster.fsid

    def open_ioctx(self, pool):
        if pool not in self.cluster.pools:
            raise ObjectNotFound(pool)
        return Ioctx(self, pool)

    def pool_exists(self, pool):
        return pool in self.cluster.pools

    def get_addrs(self):
        return '127.0.0.1:0/%d' % id(self)

    def mon_command(self, cmd, inbuf, timeout=0):
        self.cluster.blocklist.append(json.loads(cmd)['addr'])
        return 0, b'', ''


def _encoded(image_id):
    return struct.pack('<I', len(image_id)) + image_id.encode()


class _Op(object):
    """rados.ReadOpCtx / WriteOpCtx: omap steps run by operate_*_op."""

    def __init__(self):
        self.steps = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class Ioctx(object):
    def __init__(self, conn, pool):
        self.conn = conn
        self.pool = pool
        self.images = conn.cluster.pools[pool]
        self.strays = conn.cluster.strays[pool]
        self.closed = False

    def close(self):
        self.closed = True

    def _omap(self, obj):
        if obj == 'rbd_directory':
            return {'name_' + n: _encoded(i.id)
                    for n, i in self.images.items()}
        return self.conn.cluster.omaps.get((self.pool, obj))

    def get_omap_vals_by_keys(self, op, keys):
        found = []
        op.steps.append(lambda omap: found.extend(
            (k, omap[k]) for k in keys if k in omap))
        return found, 0

    def get_omap_vals(self, op, start, prefix, count):
        found = []
        op.steps.append(lambda omap: found.extend(sorted(
            (k, v) for k, v in omap.items()
            if k > start and k.startswith(prefix))[:count]))
        return found, 0

    def operate_read_op(self, op, obj):
        omap = self._omap(obj)
        if omap is None:
            raise ObjectNotFound(obj)
        for step in op.steps:
            step(omap)

    def set_omap(self, op, keys, values):
        op.steps.append(lambda omap: omap.update(zip(keys, values)))

    def remove_omap_keys(self, op, keys):
        op.steps.append(lambda omap: [omap.pop(k, None) for k in keys])

    def operate_write_op(self, op, obj):
        omap = self.conn.cluster.omaps.setdefault((self.pool, obj), {})
        for step in op.steps:
            step(omap)

    def read(self, obj, length=8192, offset=0):
        name = obj[len('rbd_id.'):]
        image = self.images.get(name) or self.strays.get(name)
        if not obj.startswith('rbd_id.') or image is None:
            raise ObjectNotFound(obj)
        return _encoded(image.id)

    def remove_object(self, obj):
        if self.strays.pop(obj[len('rbd_id.'):], None) is None:
            raise ObjectNotFound(obj)


class FakeImage(object):
    def __init__(self, size, image_id='fake'):
        self.size = size
        self.id = image_id
        self.data = {}
        self.snaps = {}          # name -> protected
        self.watchers = 0


def _checked(conn):
    cluster = conn.cluster
    if conn.state != 'connected':
        raise AssertionError('call on a connection in state %s' % conn.state)
    if cluster.gate is not None:
        cluster.gate.wait(5)
    if cluster.fail_next:
        raise cluster.fail_next.pop(0)


class RBD(object):
    def create(self, ioctx, name, size, old_format=False):
        _checked(ioctx.conn)
        if name in ioctx.images or name in ioctx.strays:
            raise ImageExists(name)
        ioctx.conn.cluster.next_id += 1
        ioctx.images[name] = FakeImage(size,
                                       '%x' % ioctx.conn.cluster.next_id)

    def remove(self, ioctx, name):
        _checked(ioctx.conn)
        image = ioctx.images.get(name)
        if image is None:
            # librbd removes through the id object when the directory
            # has no entry: the image listed under another name goes.
            stray = ioctx.strays.pop(name, None)
            for other, listed in list(ioctx.images.items()):
                if stray is not None and listed is stray:
                    del ioctx.images[other]
            raise ImageNotFound(name)
        if image.watchers:
            raise ImageBusy(name)
        if image.snaps:
            raise ImageHasSnapshots(name)
        del ioctx.images[name]

    def rename(self, ioctx, src, dst):
        _checked(ioctx.conn)
        if dst in ioctx.images or dst in ioctx.strays:
            raise ImageExists(dst)
        ioctx.images[dst] = ioctx.images.pop(src)

    def list(self, ioctx):
        return sorted(ioctx.images)


class Image(object):
    def __init__(self, ioctx, name, snapshot=None, read_only=False):
        _checked(ioctx.conn)
        self.image = ioctx.images.get(name) or ioctx.strays.get(name)
        if self.image is None:
            raise ImageNotFound(name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def close(self):
        pass

    def size(self):
        return self.image.size

    def id(self):
        return self.image.id

    def old_format(self):
        return False

    def watchers_list(self):
        return [{'addr': '127.0.0.1:0/%d' % n}
                for n in range(self.image.watchers)]

    def list_lockers(self):
        return []  # as librbd says it: no lock held

    def resize(self, size):
        self.image.size = size

    def list_snaps(self):
        return [{'name': n} for n in self.image.snaps]

    def create_snap(self, name):
        self.image.snaps[name] = False

    def protect_snap(self, name):
        self.image.snaps[name] = True

    def unprotect_snap(self, name):
        self.image.snaps[name] = False

    def is_protected_snap(self, name):
        return self.image.snaps[name]

    def remove_snap(self, name):
        if self.image.snaps[name]:
            raise ImageBusy('snapshot %s is protected' % name)
        del self.image.snaps[name]


def install(monkeypatch):
    """Point every module of the ceph package at a fresh fake cluster.

    Each module there binds ``rados`` and ``rbd`` from
    ``nova_rbd_imagebackend.ceph.bindings`` at import; all of them are
    patched.  Returns the fake cluster.
    """
    import importlib
    import pkgutil
    import types

    from nova_rbd_imagebackend import ceph
    cluster = Cluster()
    rados = types.SimpleNamespace(
        Rados=type('Rados', (Rados,), {'cluster': cluster}),
        ReadOpCtx=_Op, WriteOpCtx=_Op,
        Error=Error, ObjectNotFound=ObjectNotFound,
        PermissionError=PermissionError,
        ConnectionShutdown=ConnectionShutdown, TimedOut=TimedOut)
    rbd = types.SimpleNamespace(
        RBD=RBD, Image=Image, Error=Error, ImageNotFound=ImageNotFound,
        ImageBusy=ImageBusy, ImageExists=ImageExists,
        ImageHasSnapshots=ImageHasSnapshots, PermissionError=PermissionError,
        ConnectionShutdown=ConnectionShutdown, Timeout=Timeout,
        RBD_SNAP_NAMESPACE_TYPE_USER=0)
    for info in pkgutil.iter_modules(ceph.__path__):
        module = importlib.import_module('%s.%s' % (ceph.__name__,
                                                    info.name))
        for name, fake in (('rados', rados), ('rbd', rbd)):
            if hasattr(module, name):
                monkeypatch.setattr(module, name, fake)
    return cluster
