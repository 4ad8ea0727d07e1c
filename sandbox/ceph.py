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

One monitor, one manager and one OSD (memstore by default, bluestore on a
file as an option), cephx on, every daemon bound to 127.0.0.1, all state in
one directory.  The sandbox records the pid of every daemon it starts and
stops exactly those.  This is development tooling: it is not part of the
installed package, which never starts a process.
"""

import json
import os
import random
import shutil
import socket
import tempfile
import time
import uuid

from sandbox import cephx
from sandbox import procs
from sandbox import SandboxError

IMAGES_POOL = 'images'
VMS_POOL = 'vms'
STATE_FILE = 'sandbox.json'

# The compute user needs write access to the images pool, not just read:
# a direct snapshot clones the instance disk *into* the images pool (that
# is where Glance keeps images), and shelve is a snapshot too.  Read-only
# access to images is enough to boot, but createImage then fails with
# EPERM and Nova falls back to a slow, guest-suspending snapshot.
USERS = {
    'client.glance': {
        'mon': 'profile rbd',
        'osd': 'profile rbd pool=%s' % IMAGES_POOL,
        'mgr': 'profile rbd pool=%s' % IMAGES_POOL,
    },
    'client.nova': {
        'mon': 'profile rbd',
        'osd': 'profile rbd pool=%s, profile rbd pool=%s' % (VMS_POOL,
                                                             IMAGES_POOL),
        'mgr': 'profile rbd pool=%s, profile rbd pool=%s' % (VMS_POOL,
                                                             IMAGES_POOL),
    },
}
# A second compute identity, as a second hypervisor would have.
USERS['client.nova2'] = dict(USERS['client.nova'])

ADMIN_CAPS = {'mon': 'allow *', 'osd': 'allow *', 'mds': 'allow *',
              'mgr': 'allow *'}

CONF_TEMPLATE = """\
[global]
fsid = {fsid}
mon host = v1:127.0.0.1:{mon_port}
public addr = 127.0.0.1
public network = 127.0.0.0/8
ms bind msgr2 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
auth allow insecure global id reclaim = false
run dir = {dir}/run
admin socket = {dir}/run/$cluster-$name.asok
log file = {dir}/log/$cluster-$name.log
keyring = {dir}/$cluster.$name.keyring
osd pool default size = 1
osd pool default min size = 1
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon data avail warn = 2
mon data avail crit = 1
client mount timeout = 10
rbd default features = 61

[mon]
mon data = {dir}/mon.$id
# A one-monitor cluster gains nothing from batching proposals; the
# default one-second interval would add a second to every pool and user.
paxos propose interval = 0.01
paxos min wait = 0.01
keyring = {dir}/mon.$id/keyring

[mgr]
mgr data = {dir}/mgr.$id
keyring = {dir}/mgr.$id/keyring

[osd]
osd data = {dir}/osd.$id
keyring = {dir}/osd.$id/keyring
osd objectstore = {objectstore}
memstore device bytes = {osd_bytes}
bluestore block path = {dir}/osd.$id.block
bluestore block create = true
bluestore block size = {osd_bytes}
bluestore fsck on mount = false
osd memory target = 939524096
"""


# Below the kernel's ephemeral range (32768-60999 by default): a port
# handed out from that range can be taken by any outgoing connection
# (the tests open many) before the daemon that is to listen on it binds.
PORT_RANGE = (20000, 32767)


def free_port():
    """Return a TCP port on 127.0.0.1 that nothing uses right now."""
    for _ in range(100):
        port = random.randint(*PORT_RANGE)
        with socket.socket() as s:
            try:
                s.bind(('127.0.0.1', port))
            except OSError:
                continue
            return port
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class CephSandbox(object):
    """A single-node cluster living in ``directory``.

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
    def mon_addrs(self):
        """Monitor (host, port) pairs, as libvirt's <host> wants them."""
        return [('127.0.0.1', self._state['mon_port'])]

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
              osd_bytes=2 * 1024 ** 3, timeout=60, log=None):
        """Create and start a cluster; return it once its PGs are clean.

        :param directory: an empty or missing folder; a new temporary
            folder when None.
        :param objectstore: ``memstore`` (RAM, fastest) or ``bluestore``
            (a sparse file in the folder, for more data than fits in RAM).
        :raises SandboxError: when a daemon fails or the cluster is not
            ready within ``timeout`` seconds; whatever was started is
            stopped again first.
        """
        if objectstore not in ('memstore', 'bluestore'):
            raise SandboxError('objectstore must be memstore or bluestore')
        if directory is None:
            directory = tempfile.mkdtemp(prefix='ceph-sandbox-')
        directory = os.path.abspath(directory)
        if os.path.isdir(directory) and os.listdir(directory):
            raise SandboxError('%s is not empty; is a sandbox already '
                               'there?' % directory)
        os.makedirs(directory, mode=0o700, exist_ok=True)
        state = {'fsid': str(uuid.uuid4()), 'mon_port': free_port(),
                 'objectstore': objectstore, 'pids': {},
                 'started_at': time.time()}
        box = cls(directory, state)
        try:
            box._bootstrap(objectstore, osd_bytes, timeout, log or _quiet)
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
        """Stop the daemons this sandbox started and delete its folder."""
        for name in ('mgr.x', 'osd.0', 'mon.a'):
            pid = self._state['pids'].pop(name, None)
            if pid is not None:
                procs.terminate(pid, self.conf_path)
        shutil.rmtree(self.directory, ignore_errors=True)

    def status(self):
        """Return daemon liveness and, if the monitor answers, health."""
        daemons = {name: procs.is_ours(pid, self.conf_path)
                   for name, pid in self.pids.items()}
        result = {'directory': self.directory, 'fsid': self.fsid,
                  'conf': self.conf_path, 'daemons': daemons,
                  'ready_seconds': self._state.get('ready_seconds')}
        if daemons.get('mon.a'):
            with self.admin() as admin:
                result['health'] = admin.health()
                result['pools'] = admin.pools()
                result['pgs'] = admin.pg_states()
        return result

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

    def _bootstrap(self, objectstore, osd_bytes, timeout, log):
        deadline = time.time() + timeout
        # ceph-mon --mkfs creates its own data folder and refuses one that
        # already has files in it.
        for sub in ('run', 'log', 'mgr.x', 'osd.0'):
            os.makedirs(self._path(sub), mode=0o700, exist_ok=True)
        cephx.write_private(self.conf_path, CONF_TEMPLATE.format(
            fsid=self.fsid, mon_port=self._state['mon_port'],
            dir=self.directory, objectstore=objectstore,
            osd_bytes=osd_bytes))
        self._save_state()

        admin_key = cephx.generate_key()
        cephx.write_private(self.keyring_path('client.admin'),
                            cephx.keyring_text('client.admin', admin_key,
                                               ADMIN_CAPS))
        mon_keyring = self._path('mon-bootstrap.keyring')
        cephx.write_private(mon_keyring, cephx.keyring_text(
            'mon.', cephx.generate_key(), {'mon': 'allow *'}) +
            cephx.keyring_text('client.admin', admin_key, ADMIN_CAPS))
        monmap = self._path('monmap')
        procs.run(['monmaptool', '--create', '--fsid', self.fsid,
                   '--addv', 'a',
                   '[v1:127.0.0.1:%d]' % self._state['mon_port'],
                   monmap])
        procs.run(['ceph-mon', '-c', self.conf_path, '--mkfs', '-i', 'a',
                   '--monmap', monmap, '--keyring', mon_keyring])
        self._spawn('mon.a', [])
        procs.wait_listening('127.0.0.1', self._state['mon_port'], deadline,
                             self._check_daemons)
        log('monitor started on 127.0.0.1:%d' % self._state['mon_port'])

        with self.admin(timeout=max(1, deadline - time.time())) as admin:
            osd_uuid = str(uuid.uuid4())
            osd_key = cephx.generate_key()
            admin.command({'prefix': 'osd new', 'uuid': osd_uuid, 'id': 0},
                          inbuf=json.dumps({'cephx_secret': osd_key}))
            cephx.write_private(self._path('osd.0', 'keyring'),
                                cephx.keyring_text('osd.0', osd_key))
            mgr_keyring = admin.command(
                {'prefix': 'auth get-or-create', 'entity': 'mgr.x',
                 'caps': ['mon', 'allow profile mgr', 'osd', 'allow *',
                          'mds', 'allow *']})
            cephx.write_private(self._path('mgr.x', 'keyring'), mgr_keyring)
            self._spawn('mgr.x', [])
            procs.run(['ceph-osd', '-c', self.conf_path, '-i', '0', '--mkfs',
                       '--osd-uuid', osd_uuid])
            self._spawn('osd.0', [])
            log('manager and OSD (%s) started' % objectstore)

            admin.command({'prefix': 'osd set-require-min-compat-client',
                           'version': 'mimic', 'yes_i_really_mean_it': True})
            for pool in (IMAGES_POOL, VMS_POOL):
                admin.create_rbd_pool(pool)
            for entity, caps in sorted(USERS.items()):
                keyring = admin.create_user(entity, caps)
                cephx.write_private(self.keyring_path(entity), keyring)
            log('pools %s and users %s created' % (
                ', '.join((IMAGES_POOL, VMS_POOL)), ', '.join(sorted(USERS))))
            admin.wait_clean(deadline, self._check_daemons)
            for pool in (IMAGES_POOL, VMS_POOL):
                admin.rbd_pool_init(pool)

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
