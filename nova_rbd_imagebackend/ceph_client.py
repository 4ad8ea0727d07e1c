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

"""The Ceph client: the only module that imports rados and rbd.

One persistent connection per (ceph.conf, user) per process, opened on
first use and reopened after it breaks.  Every call runs on a worker
thread under a deadline (see runner.py) and librados's own timeouts are set
to the same value.  librados/librbd errors are translated here, and only
here, into the plugin's exceptions.
"""

import collections
import json
import os
import threading

from oslo_log import log as logging

from nova_rbd_imagebackend import exceptions
from nova_rbd_imagebackend import runner

try:
    import rados
    import rbd
except ImportError:  # pragma: no cover - depends on the host
    rados = rbd = None

LOG = logging.getLogger(__name__)

# rbd's own directory object: omap keys "name_<image>" for every image in
# the pool.  Reading keys by prefix finds one instance's images in time
# proportional to what matches, not to the size of the pool.
RBD_DIRECTORY = 'rbd_directory'
_NAME_KEY = 'name_'
_OMAP_PAGE = 256

_clients = {}
_clients_lock = threading.Lock()


def get_client(conf_path, user, connect_timeout, op_timeout, max_workers):
    """Return the process-wide client for (conf_path, user)."""
    key = (conf_path or '', user or '')
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = CephClient(conf_path, user, connect_timeout, op_timeout,
                                max_workers)
            _clients[key] = client
        else:
            client.set_timeouts(connect_timeout, op_timeout)
        return client


def reset_clients():
    """Close every cached connection (service stop, tests)."""
    with _clients_lock:
        clients = list(_clients.values())
        _clients.clear()
    for client in clients:
        client.close()


class CephClient(object):
    """A cluster connection shared by every disk of this process."""

    def __init__(self, conf_path, user, connect_timeout, op_timeout,
                 max_workers):
        if rados is None:
            raise exceptions.ActivationError(
                reason='the python3-rados and python3-rbd modules are not '
                       'importable')
        self.conf_path = conf_path or ''
        self.user = user
        self.connect_timeout = connect_timeout
        self.op_timeout = op_timeout
        self._runner = runner.Runner(max_workers)
        self._lock = threading.Lock()
        self._handle = None
        self._local = threading.local()
        self._clone_v2 = None

    def set_timeouts(self, connect_timeout, op_timeout):
        self.connect_timeout = connect_timeout
        self.op_timeout = op_timeout

    @property
    def entity(self):
        return 'client.%s' % (self.user or 'admin')

    # -- connection ---------------------------------------------------------

    def _connect(self):
        cluster = rados.Rados(rados_id=self.user, conffile=self.conf_path)
        timeout = str(int(self.op_timeout))
        cluster.conf_set('client_mount_timeout',
                         str(int(self.connect_timeout)))
        cluster.conf_set('rados_mon_op_timeout', timeout)
        cluster.conf_set('rados_osd_op_timeout', timeout)
        try:
            cluster.connect(timeout=int(self.connect_timeout))
        except Exception:
            cluster.shutdown()
            raise
        LOG.info('Connected to Ceph cluster %s as %s', cluster.get_fsid(),
                 self.entity)
        return _Handle(cluster)

    def _acquire(self):
        """The live handle, connecting if needed; counted as in use."""
        with self._lock:
            if self._handle is None:
                self._handle = self._connect()
            self._handle.users += 1
            return self._handle

    def _release(self, handle):
        with self._lock:
            handle.users -= 1
            done = handle.retired and handle.users == 0
        if done:
            handle.shutdown()

    def _run_with_handle(self, fn):
        handle = self._acquire()
        self._local.handle = handle
        try:
            return fn()
        finally:
            self._local.handle = None
            self._release(handle)

    def _connected(self):
        """The cluster handle of the call running on this worker."""
        return self._local.handle.cluster

    def _ioctx(self, pool):
        handle = self._local.handle
        with self._lock:
            ioctx = handle.ioctxs.get(pool)
            if ioctx is None:
                ioctx = handle.cluster.open_ioctx(pool)
                handle.ioctxs[pool] = ioctx
            return ioctx

    def _drop_connection(self):
        """Retire the handle; the next call connects afresh.

        A handle still used by a call (one stuck on a hung cluster, say)
        is shut down by that call when it ends: shutting librados down
        under a running operation would wedge that operation for good.
        """
        with self._lock:
            handle, self._handle = self._handle, None
            if handle is None:
                return
            handle.retired = True
            idle = handle.users == 0
        if idle:
            handle.shutdown()

    def close(self):
        self._drop_connection()
        self._runner.shutdown()

    # -- calling --------------------------------------------------------------

    def call(self, op, fn, name='', timeout=None):
        """Run ``fn()`` on a worker under the deadline; translate errors.

        ``op`` and ``name`` only label errors and logs.
        """
        connecting = self._handle is None
        timeout = timeout or (self.op_timeout + (self.connect_timeout
                                                 if connecting else 0))
        try:
            return self._runner.run(lambda: self._run_with_handle(fn),
                                    timeout)
        except runner.DeadlineExceeded:
            if connecting and self._handle is None:
                raise exceptions.CephUnavailable(
                    conf=self.conf_path or '(default)', user=self.entity,
                    timeout=timeout, reason='no answer')
            raise exceptions.CephTimeout(op=op, timeout=timeout)
        except Exception as exc:
            raise self._translate(exc, op, name, connecting)

    def _translate(self, exc, op, name, connecting):
        if rados is None or not isinstance(exc, (rados.Error, rbd.Error)):
            return exc
        if isinstance(exc, (rados.ConnectionShutdown, rbd.ConnectionShutdown)):
            # Blocklisted or shut down: the next call reconnects.
            self._drop_connection()
        if connecting and self._handle is None:
            return exceptions.CephUnavailable(
                conf=self.conf_path or '(default)', user=self.entity,
                timeout=self.connect_timeout, reason=str(exc))
        if isinstance(exc, (rbd.ImageNotFound, rados.ObjectNotFound)):
            return exceptions.RbdNotFound(name=name or op)
        if isinstance(exc, (rbd.PermissionError, rados.PermissionError)):
            return exceptions.RbdPermissionDenied(
                user=self.entity, op=op, name=name, reason=str(exc))
        if isinstance(exc, (rbd.ImageBusy, rbd.ImageHasSnapshots)):
            return exceptions.RbdBusy(name=name, reason=str(exc))
        if isinstance(exc, (rados.TimedOut, rbd.Timeout)):
            return exceptions.CephTimeout(op=op, timeout=self.op_timeout)
        return exceptions.CephError(op=op, reason=str(exc))

    # -- cluster facts --------------------------------------------------------

    def fsid(self):
        return self.call('get fsid', lambda: self._connected().get_fsid())

    def _mon_command(self, cmd):
        def run():
            ret, out, err = self._connected().mon_command(
                json.dumps(dict(cmd, format='json')), b'',
                timeout=int(self.op_timeout))
            if ret:
                raise exceptions.CephError(op=cmd['prefix'],
                                           reason='%s (%d)' % (err, ret))
            return json.loads(out)
        return self.call(cmd['prefix'], run)

    def mon_addrs(self):
        """Return [(host, port)] for every monitor, for libvirt's <host>.

        Each monitor's legacy (v1) address is preferred, as Nova's in-tree
        backend uses it and QEMU's librbd accepts it on every release; a
        monitor that only has a v2 address contributes that.
        """
        addrs = []
        for mon in self._mon_command({'prefix': 'mon dump'})['mons']:
            vec = mon.get('public_addrs', {}).get('addrvec', [])
            chosen = ([a for a in vec if a['type'] == 'v1'] or
                      [a for a in vec if a['type'] == 'v2'])
            addr = chosen[0]['addr'] if chosen else mon['addr'].split('/')[0]
            host, _sep, port = addr.rpartition(':')
            addrs.append((host.strip('[]'), port))
        return addrs

    def pool_usage(self, pool):
        """Return {'total', 'free', 'used'} in bytes for ``pool``.

        ``free`` is the pool's ``max_avail`` (what can still be written,
        after replication); ``total`` is that plus what is stored.
        """
        for entry in self._mon_command({'prefix': 'df'})['pools']:
            if entry['name'] == pool:
                stats = entry['stats']
                used = stats.get('stored', stats.get('bytes_used', 0))
                free = stats['max_avail']
                return {'total': used + free, 'free': free, 'used': used}
        raise exceptions.RbdNotFound(name='pool %s' % pool)

    def pool_exists(self, pool):
        return self.call('check pool', lambda: self._connected().pool_exists(
            pool), name=pool)

    def pool_applications(self, pool):
        return self._mon_command({'prefix': 'osd pool application get',
                                  'pool': pool})

    def require_min_compat_client(self):
        return self._mon_command({'prefix': 'osd dump'}).get(
            'require_min_compat_client')

    # -- images -------------------------------------------------------------

    def _open(self, pool, name, snapshot=None, read_only=False):
        return rbd.Image(self._ioctx(pool), name, snapshot=snapshot,
                         read_only=read_only)

    def exists(self, pool, name, snapshot=None):
        def run():
            try:
                with self._open(pool, name, snapshot, read_only=True):
                    return True
            except rbd.ImageNotFound:
                return False
        return self.call('check image', run, '%s/%s' % (pool, name))

    def size(self, pool, name):
        def run():
            with self._open(pool, name, read_only=True) as image:
                return image.size()
        return self.call('get size', run, '%s/%s' % (pool, name))

    def create(self, pool, name, size, replace=False):
        """Create an image; with ``replace``, over a leftover of that name."""
        def run():
            ioctx = self._ioctx(pool)
            try:
                rbd.RBD().create(ioctx, name, size, old_format=False)
            except rbd.ImageExists:
                if not replace:
                    raise
                self._remove(pool, name)
                rbd.RBD().create(ioctx, name, size, old_format=False)
        self.call('create', run, '%s/%s' % (pool, name))

    def grow(self, pool, name, size):
        """Grow the image to ``size`` if smaller; return its former size."""
        def run():
            with self._open(pool, name) as image:
                current = image.size()
                if size > current:
                    image.resize(size)
                return current
        return self.call('grow', run, '%s/%s' % (pool, name))

    def clone(self, src_pool, src_name, src_snap, dst_pool, dst_name):
        """Copy-on-write clone of src_pool/src_name@src_snap."""
        def run():
            rbd.RBD().clone(self._ioctx(src_pool), src_name, src_snap,
                            self._ioctx(dst_pool), dst_name)
        self.call('clone', run, '%s/%s@%s' % (src_pool, src_name, src_snap))

    def parent(self, pool, name):
        """Return (pool, image, snapshot) of the clone parent, or None."""
        def run():
            with self._open(pool, name, read_only=True) as image:
                try:
                    return tuple(image.parent_info())
                except rbd.ImageNotFound:
                    return None
        return self.call('get parent', run, '%s/%s' % (pool, name))

    def clone_v2_allowed(self):
        """True when clones need no protected snapshot (min compat mimic)."""
        if self._clone_v2 is None:
            compat = self.require_min_compat_client() or ''
            self._clone_v2 = compat >= 'mimic'
        return self._clone_v2

    def snap_if_deep_flatten(self, pool, name, snap):
        """Create and protect ``snap`` if the image has deep-flatten.

        With deep-flatten, flattening the image later also detaches this
        snapshot from the clone parent.  Returns whether it was created.
        """
        def run():
            with self._open(pool, name) as image:
                if not image.features() & rbd.RBD_FEATURE_DEEP_FLATTEN:
                    return False
                image.create_snap(snap)
                image.protect_snap(snap)
                return True
        return self.call('create snapshot', run,
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
        def run():
            with self._open(pool, name) as image:
                if progress is None:
                    image.flatten()
                else:
                    image.flatten(on_progress=progress)
        # A flatten copies every parent block: it is bounded by librados's
        # per-op timeout, not by one deadline for the whole copy.
        self.call('flatten', run, '%s/%s' % (pool, name), timeout=24 * 3600)

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

    def remove(self, pool, name):
        """Remove an image and all of its snapshots; False if absent."""
        return self.call('remove', lambda: self._remove(pool, name),
                         '%s/%s' % (pool, name))

    def _remove(self, pool, name):
        ioctx = self._ioctx(pool)
        try:
            rbd.RBD().remove(ioctx, name)
            return True
        except rbd.ImageNotFound:
            return False
        except rbd.ImageHasSnapshots:
            pass
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
            return removed
        return self.call('purge trash', run, '%s trash' % pool)

    # -- snapshots ----------------------------------------------------------

    def create_snap(self, pool, name, snap, protect=False):
        def run():
            with self._open(pool, name) as image:
                image.create_snap(snap)
                if protect:
                    image.protect_snap(snap)
        self.call('create snapshot', run, '%s/%s@%s' % (pool, name, snap))

    def remove_snap(self, pool, name, snap, force=False):
        """Remove a snapshot; False if it does not exist.

        With ``force`` a protected snapshot is unprotected first (this fails
        with RbdBusy while it still has clones).
        """
        def run():
            with self._open(pool, name) as image:
                if snap not in {s['name'] for s in image.list_snaps()}:
                    return False
                if force and image.is_protected_snap(snap):
                    image.unprotect_snap(snap)
                image.remove_snap(snap)
                return True
        return self.call('remove snapshot', run,
                         '%s/%s@%s' % (pool, name, snap))

    def rollback_to_snap(self, pool, name, snap):
        def run():
            with self._open(pool, name) as image:
                if snap not in {s['name'] for s in image.list_snaps()}:
                    raise rbd.ImageNotFound('no snapshot %s' % snap)
                image.rollback_to_snap(snap)
        self.call('roll back', run, '%s/%s@%s' % (pool, name, snap),
                  timeout=24 * 3600)

    def snaps(self, pool, name):
        def run():
            with self._open(pool, name, read_only=True) as image:
                return [s['name'] for s in image.list_snaps()]
        return self.call('list snapshots', run, '%s/%s' % (pool, name))

    # -- data ---------------------------------------------------------------

    def write(self, pool, name, data, offset):
        def run():
            with self._open(pool, name) as image:
                image.write(data, offset)
        self.call('write', run, '%s/%s' % (pool, name))

    def read(self, pool, name, offset, length, snapshot=None):
        def run():
            with self._open(pool, name, snapshot, read_only=True) as image:
                return image.read(offset, length)
        return self.call('read', run, '%s/%s' % (pool, name))

    def import_sparse(self, path, pool, name, extents, progress=None,
                      window=8):
        """Create ``name`` with the file's size and copy only ``extents``.

        ``extents`` yields (offset, length) of the file's data regions;
        holes and zero-filled chunks are skipped, so a sparse file stays
        sparse.  One open image, up to ``window`` writes in flight.  Like
        a flatten, the whole copy is one call bounded per write by
        librados's op timeout rather than by one deadline.
        """
        size = os.path.getsize(path)
        self.create(pool, name, size, replace=True)

        def run():
            pending = collections.deque()
            failures = []

            def done(completion):
                if completion.get_return_value() < 0:
                    failures.append(completion.get_return_value())

            written = 0
            with open(path, 'rb') as src, self._open(pool, name) as image:
                for offset, length in extents:
                    src.seek(offset)
                    data = src.read(length)
                    # The new image reads as zeroes already.
                    if data.count(0) != len(data):
                        while len(pending) >= window:
                            pending.popleft()[0].wait_for_complete_and_cb()
                        # The buffer stays referenced until it is written.
                        pending.append((image.aio_write(data, offset, done),
                                        data))
                        written += len(data)
                    if progress:
                        progress(offset + length, size)
                while pending:
                    pending.popleft()[0].wait_for_complete_and_cb()
                if failures:
                    raise exceptions.CephError(
                        op='import', reason='%d writes failed (first error '
                        '%d)' % (len(failures), failures[0]))
                image.flush()
            return written
        return self.call('import', run, '%s/%s' % (pool, name),
                         timeout=24 * 3600)

    def rename(self, pool, src, dst):
        self.call('rename', lambda: rbd.RBD().rename(self._ioctx(pool), src,
                                                     dst),
                  '%s/%s' % (pool, src))

    def export_sparse(self, pool, name, snapshot, dst_file, chunk, progress):
        """Write the image's allocated extents into an open file."""
        def extents():
            found = []

            def record(offset, length, exists):
                if exists:
                    found.append((offset, length))
                return 0
            with self._open(pool, name, snapshot, read_only=True) as image:
                size = image.size()
                image.diff_iterate(0, size, None, record)
            return size, found
        size, found = self.call('map extents', extents,
                                '%s/%s@%s' % (pool, name, snapshot))
        dst_file.truncate(size)
        done = 0
        for offset, length in found:
            end = offset + length
            while offset < end:
                step = min(chunk, end - offset)
                dst_file.seek(offset)
                dst_file.write(self.read(pool, name, offset, step, snapshot))
                offset += step
                done += step
                progress(done, size)
        return size

    # -- locks (fencing) ----------------------------------------------------

    def fence(self, pool, name):
        """Blocklist every client watching the image; return addresses.

        A blocklisted client (a failed host's QEMU that may wake up) can
        never write to the cluster again, and its watch and exclusive lock
        go with it, so the next QEMU takes the image at once.
        """
        def run():
            # Opened read-only: no watch of our own in the list.
            with self._open(pool, name, read_only=True) as image:
                addrs = sorted({w['addr'] for w in image.watchers_list()})
            for addr in addrs:
                ret, _out, err = self._connected().mon_command(json.dumps({
                    'prefix': 'osd blocklist', 'blocklistop': 'add',
                    'addr': addr}), b'', timeout=int(self.op_timeout))
                if ret:
                    raise exceptions.CephError(op='blocklist %s' % addr,
                                               reason='%s (%d)' % (err, ret))
            return addrs
        return self.call('fence', run, '%s/%s' % (pool, name))


def auth_sources(conf_path, user):
    """Where librados would look for this user's key, without connecting.

    Returns {'keyring': [paths], 'key': bool, 'keyfile': path or ''} with
    librados's metavariables ($cluster, $name) already expanded.
    """
    if rados is None:
        raise exceptions.ActivationError(
            reason='the python3-rados module is not importable')
    cluster = rados.Rados(rados_id=user, conffile=conf_path or '')
    try:
        keyrings = [p.strip() for p in cluster.conf_get('keyring').split(',')
                    if p.strip()]
        return {'keyring': keyrings, 'key': bool(cluster.conf_get('key')),
                'keyfile': cluster.conf_get('keyfile') or ''}
    finally:
        cluster.shutdown()


class _Handle(object):
    """One librados connection, its open pools and its users."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.ioctxs = {}
        self.users = 0
        self.retired = False

    def shutdown(self):
        for ioctx in self.ioctxs.values():
            ioctx.close()
        self.cluster.shutdown()
