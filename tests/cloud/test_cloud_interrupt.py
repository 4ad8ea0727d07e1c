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
"""Ctrl-C during ``./run demo`` leaves no process of its cloud running.

The demo runs as operators run it (``python -m sandbox.cloud.demo``) and
gets SIGINT once the cloud's OpenStack services are starting: every
process the cloud recorded while starting, and every process whose
command line names the cloud folder, must be gone when it exits.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from sandbox import procs

LEDGER = 'processes.json'


def _recorded(directory):
    try:
        with open(os.path.join(directory, LEDGER)) as f:
            return json.load(f)
    except (FileNotFoundError, ValueError):
        return []  # not yet written, or being rewritten


def _naming(directory):
    """Pids of the processes whose command line names ``directory``."""
    found = []
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            with open('/proc/%s/cmdline' % pid, 'rb') as f:
                if directory.encode() in f.read():
                    found.append(int(pid))
        except OSError:
            pass
    return found


def test_ctrl_c_while_starting_stops_everything(cloud):
    # ``cloud`` only orders this after the layer's shared cloud is up,
    # so both never start at once on a small machine.
    directory = tempfile.mkdtemp(prefix='nova-rbd-int-', dir='/tmp')
    # A run started in the background by a shell inherits SIGINT ignored,
    # and Python keeps it so: the demo gets Ctrl-C's default, as from a
    # terminal.
    demo = subprocess.Popen(
        [sys.executable, '-m', 'sandbox.cloud.demo', '--dir', directory],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    seen = {}
    try:
        deadline = time.monotonic() + 300
        while not any(e['name'] == 'nova-api' for e in seen.values()):
            assert demo.poll() is None, demo.stdout.read()
            assert time.monotonic() < deadline, 'nova-api never started'
            for entry in _recorded(directory):
                seen[entry['name']] = entry
            time.sleep(0.2)
        demo.send_signal(signal.SIGINT)
        output, _ = demo.communicate(timeout=180)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    assert demo.returncode != 0, output
    assert {'ceph', 'rabbitmq', 'postgres', 'nova-api'} <= set(seen), seen
    left = [e['name'] for e in seen.values()
            if procs.is_ours(e['pid'], e['marker'])]
    assert left == [], output
    assert _naming(directory) == [], output
    shutil.rmtree(directory)  # only the logs of the interrupted start
