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

Nova 34 runs nova-compute with native threads; its test suite and older
deployments still use eventlet.  Under eventlet a plain thread pool would
create green threads that block the hub, so there the work goes to
eventlet's pool of real threads instead.
"""

import concurrent.futures
import importlib
import threading

from nova import utils


class DeadlineExceeded(Exception):
    """The call did not finish within its deadline."""


class Runner(object):
    """A bounded set of worker threads with a per-call deadline."""

    def __init__(self, max_workers):
        self._max_workers = max_workers
        self._executor = None
        self._lock = threading.Lock()

    def _pool(self):
        with self._lock:
            if self._executor is None:
                self._executor = concurrent.futures.ThreadPoolExecutor(
                    max_workers=self._max_workers,
                    thread_name_prefix='nova-rbd')
            return self._executor

    def run(self, fn, timeout):
        """Return ``fn()``, or raise DeadlineExceeded after ``timeout`` s.

        Exceptions raised by ``fn`` propagate unchanged.
        """
        if utils.concurrency_mode_threading():
            future = self._pool().submit(fn)
            try:
                return future.result(timeout=timeout)
            except concurrent.futures.TimeoutError:
                future.cancel()
                raise DeadlineExceeded()
        eventlet = utils.get_eventlet()
        tpool = importlib.import_module('eventlet.tpool')
        try:
            with eventlet.Timeout(timeout):
                return tpool.execute(fn)
        except eventlet.Timeout:
            raise DeadlineExceeded()

    def shutdown(self):
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
