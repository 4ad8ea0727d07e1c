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

"""A throwaway single-node Ceph cluster for tests and demos.

One monitor, one manager and one OSD by default (memstore, or bluestore on
a file), cephx on, every daemon bound to 127.0.0.1, all state in one
directory.  Other shapes (3 or 5 monitors, more OSDs, msgr v2 or both,
IPv6 on ::1) are in sandbox/ceph_conf.py; monitor faults and moves in
sandbox/ceph_mons.py, OSD faults in sandbox/ceph_osds.py.  The sandbox
records the pid of every daemon it starts and stops exactly those.  This
is development tooling: it is not part of the installed package, which
never starts a process.
"""

import json
import os
import random
import shutil
import socket
import tempfile
import time
import uuid

from sandbox import ceph_bootstrap
from sandbox import ceph_conf
from sandbox import ceph_mons
from sandbox import cephx
from sandbox import procs
from sandbox import SandboxError

IMAGES_POOL = ceph_bootstrap.IMAGES_POOL
VMS_POOL = ceph_bootstrap.VMS_POOL
USERS = ceph_bootstrap.USERS
STATE_FILE = 'sandbox.json'

# Below the kernel's ephemeral range (32768-60999 by default): a port
# handed out from that range can be taken by any outgoing connection
# (the tests open many) before the daemon that is to listen on it binds.
PORT_RANGE = (20000, 32767)


def free_port(host='127.0.0.1'):
    """Return a TCP port on ``host`` that nothing uses right now."""
    family = socket.AF_INET6 if ':' in host else socket.AF_INET
    for _ in range(100):
        port = random.randint(*PORT_RANGE)
        with socket.socket(family) as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return port
    with socket.socket(family) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class CephSandbox(object):
    """A one-machine cluster living in ``directory``.

    Use :meth:`start` to create one and :meth:`attach` to talk to one that
    another process started.  ``stop()`` ends its daemons and removes the
    directory.
    """

    def __init__(self, directory, state):
        self.directory = directory
        self._state = state

    # -- facts about the running cluster ---------------------------------

    @property
    def fsid(self):
        return self._state['fsid']

    @property
    def conf_path(self):
        return os.path.join(self.directory, 'ceph.conf')

    @property
    def shape(self):
        """Monitors, OSDs, messenger and address family (a Shape)."""
        return ceph_conf.Shape(**self._state.get('shape', {}))

    @property
    def mon_ports(self):
        """{monitor name: {protocol: port}}."""
        if 'mons' not in self._state:  # recorded by an older sandbox
            return {'a': {'v1': self._state['mon_port']}}
        return self._state['mons']

    @property
    def mon_addrs(self):
        """Monitor (host, port) pairs, as libvirt's <host> wants them.

        One per monitor, in name order (a, b, ...): its v1 port when it
        has one, else its v2 port; an IPv6 host without brackets.
        """
        host = self.shape.host
        return [ceph_conf.libvirt_addr(host, ports)
                for _name, ports in sorted(self.mon_ports.items())]

    @property
    def pids(self):
        return dict(self._state['pids'])

    @property
    def users(self):
        return sorted(USERS)

    def keyring_path(self, entity):
        return os.path.join(self.directory, 'ceph.%s.keyring' % entity)

    def key(self, entity):
        return cephx.key_from_keyring(self.keyring_path(entity))

    def env(self):
        """Environment variables that point Ceph tools at this cluster."""
        return {'CEPH_CONF': self.conf_path,
                'CEPH_SANDBOX_DIR': self.directory}

    # -- lifecycle --------------------------------------------------------

    @classmethod
    def start(cls, directory=None, objectstore='memstore',
              osd_bytes=2 * 1024 ** 3, timeout=None, log=None, mons=1,
              osds=1, msgr='v1', ipv6=False):
        """Create and start a cluster; return it once its PGs are clean.

        :param directory: an empty or missing folder; a new temporary
            folder when None.
        :param objectstore: ``memstore`` (RAM, fastest) or ``bluestore``
            (a sparse file in the folder, for more data than fits in RAM).
        :param mons: 1, 3 or 5 monitors, each on ports of its own.
        :param osds: how many OSDs; pools keep min(3, osds) copies.
        :param msgr: ``v1``, ``v2`` or ``both``: what every daemon speaks.
        :param ipv6: bind every daemon to ::1 instead of 127.0.0.1.
        :raises SandboxError: when a daemon fails or the cluster is not
            ready within ``timeout`` seconds (60, and 20 more for each
            further daemon, by default); whatever was started is stopped
            again first.
        """
        if objectstore not in ('memstore', 'bluestore'):
            raise SandboxError('objectstore must be memstore or bluestore')
        shape = ceph_conf.Shape(mons, osds, msgr, ipv6)
        if timeout is None:
            timeout = 60 + 20 * (mons + osds - 2)
        if directory is None:
            directory = tempfile.mkdtemp(prefix='ceph-sandbox-')
        directory = os.path.abspath(directory)
        if os.path.isdir(directory) and os.listdir(directory):
            raise SandboxError('%s is not empty; is a sandbox already '
                               'there?' % directory)
        os.makedirs(directory, mode=0o700, exist_ok=True)
        state = {'fsid': str(uuid.uuid4()), 'shape': shape._asdict(),
                 'mons': ceph_conf.mon_ports(shape, free_port),
                 'objectstore': objectstore, 'pids': {},
                 'started_at': time.time()}
        box = cls(directory, state)
        try:
            ceph_bootstrap.bootstrap(box, objectstore, osd_bytes, timeout,
                                     log or _quiet)
        except BaseException:
            box.stop()
            raise
        state['ready_seconds'] = round(time.time() - state['started_at'], 2)
        box._save_state()
        return box

    @classmethod
    def attach(cls, directory):
        """Return the sandbox whose state is recorded in ``directory``."""
        path = os.path.join(os.path.abspath(directory), STATE_FILE)
        try:
            with open(path) as f:
                state = json.load(f)
        except FileNotFoundError:
            raise SandboxError('no sandbox in %s' % directory)
        return cls(os.path.dirname(path), state)

    def stop(self):
        """Stop the daemons this sandbox started and delete its folder.

        The manager and OSDs go first, the monitors last.
        """
        order = {'mgr': 0, 'osd': 1, 'mon': 2}
        for name in sorted(self._state['pids'],
                           key=lambda n: (order.get(n.split('.')[0], 1), n)):
            pid = self._state['pids'].pop(name)
            procs.terminate(pid, self.conf_path)
        shutil.rmtree(self.directory, ignore_errors=True)

    def status(self):
        """Return daemon liveness and, if the monitor answers, health."""
        daemons = {name: procs.is_ours(pid, self.conf_path)
                   for name, pid in self.pids.items()}
        host = self.shape.host
        result = {'directory': self.directory, 'fsid': self.fsid,
                  'conf': self.conf_path, 'daemons': daemons,
                  'shape': self.shape._asdict(),
                  'mons': {name: ceph_conf.addrvec(host, ports)
                           for name, ports in self.mon_ports.items()},
                  'ready_seconds': self._state.get('ready_seconds')}
        if any(alive for name, alive in daemons.items()
               if name.startswith('mon.')):
            with self.admin() as admin:
                result['health'] = admin.health()
                result['pools'] = admin.pools()
                result['pgs'] = admin.pg_states()
                result['quorum'] = admin.json(
                    {'prefix': 'quorum_status'})['quorum_names']
                result['osds_up'] = sorted(
                    'osd.%d' % o['osd'] for o in
                    admin.json({'prefix': 'osd dump'})['osds'] if o['up'])
        return result

    # -- one monitor at a time (sandbox/ceph_mons.py) --------------------

    def stop_mon(self, name):
        """Stop monitor ``name`` by its recorded pid; it stays in the map."""
        ceph_mons.stop(self, name)

    def start_mon(self, name, timeout=30):
        """Start monitor ``name`` again; return once it listens."""
        ceph_mons.start(self, name, timeout)

    def leader(self):
        """The name of the monitor leading the quorum."""
        return ceph_mons.quorum_status(self)['quorum_leader_name']

    def quorum(self):
        """Names of the monitors in quorum."""
        return sorted(ceph_mons.quorum_status(self)['quorum_names'])

    def wait_quorum(self, names, timeout=60):
        """Wait until the quorum is exactly ``names``; return seconds."""
        return ceph_mons.wait_quorum(self, names, timeout)

    def mon_serving(self, client_addr):
        """The monitor whose session the client at ``client_addr`` has."""
        return ceph_mons.serving(self, client_addr)

    def replace_mon(self, old, new, timeout=60):
        """Remove monitor ``old``, add ``new`` on new ports; wait quorum."""
        ceph_mons.remove(self, old)
        ceph_mons.add(self, new, free_port, timeout)

    def admin(self, timeout=10):
        """Return an admin connection (a context manager)."""
        from sandbox import admin
        return admin.AdminClient(self.conf_path, timeout=timeout)

    # -- bootstrap steps --------------------------------------------------

    def _save_state(self):
        cephx.write_private(os.path.join(self.directory, STATE_FILE),
                            json.dumps(self._state, indent=1))

    def _path(self, *parts):
        return os.path.join(self.directory, *parts)

    def _spawn(self, name, args):
        kind, ident = name.split('.')
        log_path = self._path('log', '%s.stdout' % name)
        pid = procs.spawn(['ceph-%s' % kind, '-f', '-c', self.conf_path,
                           '-i', ident] + args, log_path)
        self._state['pids'][name] = pid
        self._save_state()

    def _check_daemons(self):
        for name, pid in self.pids.items():
            if not procs.is_ours(pid, self.conf_path):
                # The folder goes with the failed start: keep the reason.
                raise SandboxError('%s (pid %d) died:\n%s' % (
                    name, pid, self._log_tail(name)))

    def _log_tail(self, name, lines=15):
        text = []
        for path in (self._path('log', '%s.stdout' % name),
                     self._path('log', 'ceph-%s.log' % name)):
            try:
                with open(path, errors='replace') as f:
                    text += f.read().splitlines()[-lines:]
            except FileNotFoundError:
                pass
        return '\n'.join(text) or '(no log)'


def _quiet(message):
    pass
