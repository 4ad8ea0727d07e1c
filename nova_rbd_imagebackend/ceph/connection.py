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
"""One librados connection per process, shared, with deadlines.

The connection is opened on first use, reference-counted by the calls
running on it, and retired (then reopened by the next call) when librados
reports it shut down, as after a blocklist.  ``call`` runs every operation
on a worker under the deadline and translates librados/librbd errors into
the plugin's exceptions: this is the only place that does so.
"""

import threading

from oslo_log import log as logging

from nova_rbd_imagebackend.ceph import bindings
from nova_rbd_imagebackend.ceph.bindings import rados
from nova_rbd_imagebackend.ceph.bindings import rbd
from nova_rbd_imagebackend.ceph import runner
from nova_rbd_imagebackend import exceptions

LOG = logging.getLogger(__name__)


class Connection(object):
    """A cluster connection shared by every disk of this process."""

    def __init__(self, conf_path, user, connect_timeout, op_timeout,
                 max_workers, queue_timeout=None):
        bindings.require()
        self.conf_path = conf_path or ''
        self.user = user
        self.connect_timeout = connect_timeout
        self.op_timeout = op_timeout
        self.max_workers = max_workers
        self.queue_timeout = queue_timeout
        self._runner = runner.Runner(max_workers)
        self._lock = threading.Lock()
        self._handle = None
        self._local = threading.local()
        self._clone_v2 = None

    def set_timeouts(self, connect_timeout, op_timeout, queue_timeout=None):
        self.connect_timeout = connect_timeout
        self.op_timeout = op_timeout
        self.queue_timeout = queue_timeout

    @property
    def stats(self):
        """Calls that timed out, queued for a worker or on the cluster."""
        return {'queue_timeouts': self._runner.queue_timeouts,
                'deadline_timeouts': self._runner.deadline_timeouts}

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

    def _open(self, pool, name, snapshot=None, read_only=False):
        return rbd.Image(self._ioctx(pool), name, snapshot=snapshot,
                         read_only=read_only)

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

    def call(self, op, fn, name='', timeout=None, undo=None, progress=None):
        """Run ``fn()`` on a worker under the deadline; translate errors.

        ``op`` and ``name`` only label errors and logs.  ``undo`` reverses
        what ``fn`` did; it runs if ``fn`` succeeds after the deadline,
        when the caller has already been told the operation failed.  With
        a ``progress`` (runner.Progress) that ``fn`` beats, the deadline
        counts from the last beat: long copies fail one deadline after
        the cluster stops answering.
        """
        connecting = self._handle is None
        timeout = timeout or (self.op_timeout + (self.connect_timeout
                                                 if connecting else 0))
        queue_timeout = self.queue_timeout or self.op_timeout
        if undo is not None:
            undo = self._logged_undo(op, name, undo)
        try:
            return self._runner.run(
                lambda: self._run_with_handle(fn), timeout, queue_timeout,
                undo and (lambda: self._run_with_handle(undo)), progress)
        except runner.QueueTimeout:
            LOG.warning('Ceph operation %s %s waited %s s for a worker and '
                        'was not run (%s)', op, name, queue_timeout,
                        self.stats)
            raise exceptions.CephBusy(op=op, timeout=queue_timeout,
                                      workers=self.max_workers)
        except runner.DeadlineExceeded:
            if connecting and self._handle is None:
                raise exceptions.CephUnavailable(
                    conf=self.conf_path or '(default)', user=self.entity,
                    timeout=timeout, reason='no answer')
            raise exceptions.CephTimeout(op=op, timeout=timeout)
        except Exception as exc:
            raise self._translate(exc, op, name, connecting)

    @staticmethod
    def _logged_undo(op, name, undo):
        def run():
            undo()
            LOG.warning('Ceph operation %s %s finished after its caller '
                        'gave up at the deadline; undone', op, name)
        return run

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
