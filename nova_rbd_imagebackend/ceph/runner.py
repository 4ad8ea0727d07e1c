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
"""Run blocking calls on a bounded pool of OS threads, under a deadline.

librados and librbd calls block the calling OS thread.  nova-compute must
keep answering RPCs and periodic tasks even when the cluster hangs, so
every call runs on a worker thread and the caller stops waiting at the
deadline.  The worker itself ends when librados's own op timeout (set to
the same deadline) fires.

With native threads the deadline counts time on the cluster, from the
moment a worker picks the call up; time spent waiting for a free worker
has its own limit and its own error.  A call whose caller gave up is
either never started (it was still queued) or, if it ends well after all,
undone: the caller was told it failed, so nothing it created may stay.

Nova 34 runs nova-compute with native threads; its test suite and older
deployments still use eventlet.  Under eventlet a plain thread pool would
create green threads that block the hub, so there the work goes to
eventlet's pool of real threads instead; that pool has its own size and
queue, so there the deadline counts from submission.
"""

import concurrent.futures
import importlib
import threading
import time

from nova import utils
from oslo_log import log as logging

LOG = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, ABANDONED = 'queued', 'running', 'done', 'abandoned'


class DeadlineExceeded(Exception):
    """The call did not finish within its deadline once started."""


class QueueTimeout(Exception):
    """No worker was free to start the call in time; it never ran."""


class Progress(object):
    """Heartbeat of a long call: its deadline counts from the last beat.

    A copy of gigabytes has no sensible total deadline, but each of its
    steps has one: the caller gives up when no step has finished for a
    whole deadline, which is when the cluster stopped answering.
    """

    def __init__(self):
        self.last = time.monotonic()

    def beat(self):
        self.last = time.monotonic()

    def idle(self):
        return time.monotonic() - self.last


def _real_lock():
    # Taken on real OS threads in eventlet mode too, so never a green lock.
    if utils.concurrency_mode_threading():
        return threading.Lock()
    return utils.get_eventlet().patcher.original('threading').Lock()


class _Call(object):
    """One call, and whether its caller is still waiting for it."""

    def __init__(self, fn, undo):
        self.fn = fn
        self.undo = undo
        self.lock = _real_lock()
        self.state = QUEUED
        self.started_at = None
        self.running = threading.Event() if utils.concurrency_mode_threading(
        ) else None

    def __call__(self):
        with self.lock:
            if self.state == ABANDONED:
                return None  # the caller gave up while it was queued
            self.state = RUNNING
            self.started_at = time.monotonic()
        if self.running is not None:
            self.running.set()
        try:
            result = self.fn()
        except BaseException:
            with self.lock:
                self.state = DONE
            raise
        with self.lock:
            abandoned = self.state == ABANDONED
            self.state = DONE
        if abandoned and self.undo is not None:
            self._undo()
        return result

    def _undo(self):
        try:
            self.undo()
        except Exception as exc:
            LOG.error('Could not undo an operation that finished after its '
                      'caller gave up: %s', exc)

    def abandon_if_queued(self):
        """Give up on a call no worker has started; False if one has."""
        with self.lock:
            if self.state != QUEUED:
                return False
            self.state = ABANDONED
            return True

    def abandon(self):
        """Give up on the call; False if it has already finished."""
        with self.lock:
            if self.state == DONE:
                return False
            self.state = ABANDONED
            return True


def _outcome(tpool, call):
    """(True, result) or (False, exception) of ``call`` on a real thread.

    A green thread that dies of an exception has it printed by eventlet's
    hub, a traceback on stderr for every image that was not found: the
    exception is handed to the waiter instead.
    """
    try:
        return True, tpool.execute(call)
    except Exception as exc:
        return False, exc


class Runner(object):
    """A bounded set of worker threads with a per-call deadline."""

    def __init__(self, max_workers):
        self._max_workers = max_workers
        self._executor = None
        self._lock = threading.Lock()
        self.queue_timeouts = 0
        self.deadline_timeouts = 0

    def _pool(self):
        with self._lock:
            if self._executor is None:
                self._executor = concurrent.futures.ThreadPoolExecutor(
                    max_workers=self._max_workers,
                    thread_name_prefix='nova-rbd')
            return self._executor

    def run(self, fn, timeout, queue_timeout=None, undo=None,
            progress=None):
        """Return ``fn()``, run on a worker within ``timeout`` s of starting.

        :param queue_timeout: how long the call may wait for a worker
            (default: ``timeout``).
        :param undo: run on the worker if ``fn`` succeeds after the caller
            gave up at the deadline.
        :param progress: a Progress that ``fn`` beats; the deadline then
            counts from its last beat instead of from the start.
        :raises QueueTimeout: no worker started the call in time; it will
            not run.
        :raises DeadlineExceeded: the call did not finish in time.
        Exceptions raised by ``fn`` propagate unchanged.
        """
        call = _Call(fn, undo)
        if progress is not None:
            progress.beat()
        if utils.concurrency_mode_threading():
            future = self._pool().submit(call)
            if not call.running.wait(
                    timeout if queue_timeout is None else queue_timeout) \
                    and call.abandon_if_queued():
                self.queue_timeouts += 1
                raise QueueTimeout()
            wait = lambda t: future.result(timeout=t)  # noqa: E731
            timeout_error = concurrent.futures.TimeoutError
            remaining = timeout - (time.monotonic() - call.started_at)
        else:
            eventlet = utils.get_eventlet()
            tpool = importlib.import_module('eventlet.tpool')
            green = eventlet.spawn(_outcome, tpool, call)

            def wait(t):
                with eventlet.Timeout(t):
                    ok, value = green.wait()
                if ok:
                    return value
                raise value
            timeout_error = eventlet.Timeout
            remaining = timeout
        while True:
            try:
                return wait(max(remaining, 0))
            except timeout_error:
                if progress is not None and progress.idle() < timeout:
                    remaining = timeout - progress.idle()
                    continue
                if not call.abandon():
                    return wait(None)  # it finished just as time ran out
                self.deadline_timeouts += 1
                raise DeadlineExceeded()

    def shutdown(self):
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
