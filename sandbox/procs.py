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

"""Start, identify and stop the processes a sandbox owns, by pid."""

import os
import signal
import socket
import subprocess
import time

from sandbox import SandboxError


class CommandFailed(SandboxError):
    """A setup command exited non-zero."""


def run(argv, env=None, timeout=60):
    """Run a short setup command; raise with its output if it fails."""
    result = subprocess.run(argv, env=env, timeout=timeout,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    if result.returncode:
        raise CommandFailed('%s exited %d:\n%s' % (
            ' '.join(argv), result.returncode,
            result.stdout.decode(errors='replace')[-2000:]))
    return result.stdout.decode(errors='replace')


def spawn(argv, log_path, env=None):
    """Start a long-running daemon in its own session; return its pid.

    The daemon gets its own session so that a Ctrl-C aimed at the test
    runner reaches the runner, whose clean-up then stops the daemon in
    order, instead of killing every daemon at once mid-write.
    """
    with open(log_path, 'ab') as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env,
                                start_new_session=True)
    return proc.pid


def cmdline(pid):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            return f.read().decode(errors='replace').split('\0')
    except (FileNotFoundError, ProcessLookupError):
        return []


def is_ours(pid, marker):
    """True if ``pid`` runs and its command line names ``marker``.

    Checking the command line guards against a recycled pid: we never
    signal a process that is not the one we started.
    """
    # A process in the middle of execve (setpriv starting libvirtd, say)
    # shows an empty command line for a moment: look again.
    for _ in range(50):
        try:
            with open('/proc/%d/stat' % pid) as f:
                if f.read().rsplit(')', 1)[1].split()[0] == 'Z':
                    _reap(pid)
                    return False
        except (FileNotFoundError, ProcessLookupError, IndexError):
            return False
        line = cmdline(pid)
        if any(line):
            # Text search: some daemons (gunicorn) rewrite their command
            # line into a title that still names their folder.
            return marker in ' '.join(line)
        time.sleep(0.01)
    return False


def _reap(pid):
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def terminate(pid, marker, grace=15.0):
    """Stop ``pid`` if it is still ours: SIGTERM, then SIGKILL."""
    if not is_ours(pid, marker):
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.time() + wait
        while time.time() < deadline:
            _reap(pid)
            if not is_ours(pid, marker):
                return
            time.sleep(0.05)


def wait_listening(host, port, deadline, check):
    """Wait until something accepts connections on ``host:port``.

    ``check`` is called between attempts and should raise if the process
    that is meant to listen has died, so that a failed start is reported
    at once rather than at the deadline.
    """
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            check()
            if time.time() > deadline:
                raise SandboxError('nothing listens on %s:%d' % (host, port))
            time.sleep(0.05)


def _kernel_thread(pid):
    """True for kthreadd and its children, which have no command line."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            ppid = int(f.read().rsplit(')', 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return False
    return pid == 2 or ppid == 2


def find(marker):
    """Pids of running processes whose command line names ``marker``."""
    # Kernel threads are skipped: is_ours() would wait half a second on
    # each of their empty command lines, as on a process mid-exec.
    return [int(p) for p in os.listdir('/proc')
            if p.isdigit() and not _kernel_thread(int(p)) and
            is_ours(int(p), marker)]
