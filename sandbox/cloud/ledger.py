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

"""The processes a cloud runs, recorded on disk as each one starts.

Every process is written to ``<dir>/processes.json`` (name, pid and a
marker that its command line must contain) the moment it is spawned, so
``stop`` works from any process, after a crash of the one that started
the cloud, and never signals a recycled pid.
"""

import json
import os
import threading

from sandbox import cephx
from sandbox import procs

LEDGER = 'processes.json'


class Ledger(object):
    """An ordered record of (name, pid, marker, kind, extra)."""

    def __init__(self, directory):
        self._lock = threading.Lock()
        self.path = os.path.join(directory, LEDGER)
        try:
            with open(self.path) as f:
                self.entries = json.load(f)
        except FileNotFoundError:
            self.entries = []

    def _save(self):
        cephx.write_private(self.path, json.dumps(self.entries, indent=1))

    def add(self, name, pid, marker, kind='process', **extra):
        with self._lock:
            self.entries.append(dict(extra, name=name, pid=pid,
                                     marker=marker, kind=kind))
            self._save()

    def spawn(self, name, argv, log_path, marker, env=None, **extra):
        """Start a daemon with procs.spawn and record it at once."""
        pid = procs.spawn(argv, log_path, env=env)
        self.add(name, pid, marker, **extra)
        return pid

    def remove(self, name):
        with self._lock:
            self.entries = [e for e in self.entries if e['name'] != name]
            self._save()

    def get(self, name):
        for entry in self.entries:
            if entry['name'] == name:
                return entry
        return None

    def alive(self, name):
        entry = self.get(name)
        return bool(entry) and procs.is_ours(entry['pid'], entry['marker'])

    def check(self, name, log_path=None):
        """Raise if ``name`` is no longer running (for wait loops)."""
        if not self.alive(name):
            from sandbox import SandboxError
            tail = ''
            if log_path and os.path.exists(log_path):
                with open(log_path, errors='replace') as f:
                    tail = '\n'.join(f.read().splitlines()[-20:])
            raise SandboxError('%s died during start-up:\n%s'
                               % (name, tail or '(no log)'))
