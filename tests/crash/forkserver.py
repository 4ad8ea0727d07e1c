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
"""Crash workers forked from one process that has imported Nova already.

    python -m tests.crash.forkserver

A fresh interpreter spends about two seconds importing Nova before the
operation starts; forked from here, a worker starts at once, so a
kill-retry-audit cycle costs what the operation costs.  Each worker is
an ordinary process of its own with its own cluster connection (this
process never connects), killed with SIGKILL like any other.

Requests, one JSON object per line on stdin:
``{"conf": PATH, "op": OP, "uuid": UUID, "args": [...]}`` forks a worker
(tests/crash/worker.py); ``{"wait": PID}`` reaps it.  Replies on stdout,
one JSON object per line: ``{"pid": PID}``, then from the worker
``{"go": PID}`` and ``{"done": PID}`` (or ``{"failed": PID}``), and
``{"exit": PID, "status": N}``.
The worker's errors go to this process's stderr.
"""

import json
import os
import select
import signal
import subprocess
import sys
import time
import traceback

from tests.crash import worker


def reply(message):
    sys.stdout.write(json.dumps(message) + '\n')
    sys.stdout.flush()


def fork_worker(request):
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        worker.serve(request['conf'], request['op'], request['uuid'],
                     request['args'],
                     lambda word: reply({word: os.getpid()}))
        code = 0
    except BaseException:
        traceback.print_exc()
        reply({'failed': os.getpid()})
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def main():
    for line in sys.stdin:
        request = json.loads(line)
        if 'wait' in request:
            _pid, status = os.waitpid(request['wait'], 0)
            reply({'exit': request['wait'], 'status': status})
        else:
            reply({'pid': fork_worker(request)})


if __name__ == '__main__':
    main()


class ForkServer(object):
    """The test's end: start, kill and reap workers through the server."""

    def __init__(self, cwd, stderr):
        # Unbuffered: select() must see every byte not yet read, so lines
        # are split here rather than in a buffer of Python's.
        self._server = subprocess.Popen(
            [sys.executable, '-m', 'tests.crash.forkserver'], cwd=cwd,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
            bufsize=0)
        self._pending = b''

    def _send(self, message):
        self._server.stdin.write((json.dumps(message) + '\n').encode())

    def _line(self, deadline):
        while b'\n' not in self._pending:
            ready, _w, _x = select.select(
                [self._server.stdout], [], [],
                max(0, deadline - time.monotonic()))
            if not ready:
                return None
            chunk = os.read(self._server.stdout.fileno(), 65536)
            assert chunk, 'the fork server exited'
            self._pending += chunk
        line, _nl, self._pending = self._pending.partition(b'\n')
        return json.loads(line)

    def _until(self, key, pid=None, timeout=600):
        """Read replies until ``{key: pid}``; return it."""
        deadline = time.monotonic() + timeout
        while True:
            message = self._line(deadline)
            assert message is not None, 'no %s from worker %s within ' \
                '%d s' % (key, pid, timeout)
            assert message.get('failed') is None or \
                message['failed'] != pid, 'worker %s failed (its traceback ' \
                'is in workers.log)' % pid
            if key in message and pid in (None, message[key]):
                return message

    def start(self, conf_path, op, instance_uuid, args):
        """Fork a worker; return its pid once it says "go"."""
        self._send({'conf': conf_path, 'op': op, 'uuid': instance_uuid,
                    'args': args})
        pid = self._until('pid')['pid']
        self._until('go', pid)
        return pid

    def wait_done(self, pid, timeout=600):
        """Wait for the worker to say "done", then reap it."""
        self._until('done', pid, timeout)
        return self.reap(pid)

    def kill(self, pid):
        """SIGKILL the worker and reap it (a zombie still looks alive)."""
        os.kill(pid, signal.SIGKILL)
        return self.reap(pid)

    def reap(self, pid):
        self._send({'wait': pid})
        return self._until('exit', pid)['status']

    def close(self):
        self._server.stdin.close()
        self._server.wait(timeout=30)
