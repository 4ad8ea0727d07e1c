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


class Ioctx(object):
    def __init__(self, conn, pool):
        self.conn = conn
        self.images = conn.cluster.pools[pool]
        self.closed = False

    def close(self):
        self.closed = True


class FakeImage(object):
    def __init__(self, size):
        self.size = size
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
        if name in ioctx.images:
            raise ImageExists(name)
        ioctx.images[name] = FakeImage(size)

    def remove(self, ioctx, name):
        _checked(ioctx.conn)
        image = ioctx.images.get(name)
        if image is None:
            raise ImageNotFound(name)
        if image.watchers:
            raise ImageBusy(name)
        if image.snaps:
            raise ImageHasSnapshots(name)
        del ioctx.images[name]

    def rename(self, ioctx, src, dst):
        _checked(ioctx.conn)
        ioctx.images[dst] = ioctx.images.pop(src)

    def list(self, ioctx):
        return sorted(ioctx.images)


class Image(object):
    def __init__(self, ioctx, name, snapshot=None, read_only=False):
        _checked(ioctx.conn)
        if name not in ioctx.images:
            raise ImageNotFound(name)
        self.image = ioctx.images[name]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def close(self):
        pass

    def size(self):
        return self.image.size

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
