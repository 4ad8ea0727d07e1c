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

"""Serve one WSGI application under gunicorn on loopback.

One gunicorn master and one worker with a few threads per service; the
master's pid is recorded (it stops its worker on SIGTERM).  The process
title names the service's folder, which is the marker checked before any
signal is sent.
"""

import os
import sys
import time
import urllib.error
import urllib.request

from sandbox import SandboxError

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def serve(ledger, name, app, port, directory, env=None, threads=4):
    """Start gunicorn for ``app`` ("module:callable"); return its pid."""
    bindir = os.path.dirname(sys.executable)
    env = dict(os.environ if env is None else env)
    env['PYTHONPATH'] = TOP
    log = os.path.join(directory, 'gunicorn.log')
    argv = [os.path.join(bindir, 'gunicorn'), '--bind',
            '127.0.0.1:%d' % port, '--workers', '1', '--threads',
            str(threads), '--timeout', '300', '--graceful-timeout', '5',
            '--name', '%s-%s' % (name, directory), '--no-control-socket',
            '--chdir', directory, app]
    return ledger.spawn(name, argv, log, directory, env=env, log=log)


def wait_http(url, deadline, check, accept=(200, 300, 401)):
    """Wait until ``url`` answers with one of the ``accept`` statuses."""
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as reply:
                if reply.status in accept:
                    return
        except urllib.error.HTTPError as exc:
            if exc.code in accept:
                return
        except OSError:
            pass
        check()
        if time.time() > deadline:
            raise SandboxError('%s not answering' % url)
        time.sleep(0.2)
