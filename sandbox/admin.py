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

"""Administer a sandbox cluster over one librados connection.

One connection for the whole bootstrap is much faster than one ``ceph``
process per step (each pays interpreter start-up plus a cephx handshake).
"""

import json
import time

import rados
import rbd

from sandbox import SandboxError


class AdminError(SandboxError):
    """A monitor command failed."""


class AdminClient(object):
    """``client.admin`` of a sandbox, as a context manager."""

    def __init__(self, conf_path, timeout=10):
        self._cluster = rados.Rados(conffile=conf_path, rados_id='admin')
        self._cluster.conf_set('client_mount_timeout', str(int(timeout)))
        self._cluster.conf_set('rados_mon_op_timeout', str(int(timeout)))
        self._timeout = timeout

    def __enter__(self):
        self._cluster.connect(timeout=int(self._timeout))
        return self

    def __exit__(self, *exc):
        self._cluster.shutdown()

    def command(self, cmd, inbuf='', mgr=False):
        """Run a monitor (or manager) command; return its output text."""
        send = self._cluster.mgr_command if mgr else self._cluster.mon_command
        ret, out, err = send(json.dumps(cmd), inbuf.encode())
        if ret:
            raise AdminError('%s failed (%d): %s' % (cmd['prefix'], ret, err))
        return out.decode()

    def command_bytes(self, cmd):
        """Run a monitor command whose output is binary (a monmap)."""
        ret, out, err = self._cluster.mon_command(json.dumps(cmd), b'')
        if ret:
            raise AdminError('%s failed (%d): %s' % (cmd['prefix'], ret, err))
        return out

    def tell_mon(self, name, cmd):
        """Run a command on monitor ``name`` itself; return its JSON."""
        ret, out, err = self._cluster.mon_command(
            json.dumps(dict(cmd, format='json')), b'',
            timeout=int(self._timeout), target=name)
        if ret:
            raise AdminError('%s on mon.%s failed (%d): %s' % (
                cmd['prefix'], name, ret, err))
        return json.loads(out)

    def json(self, cmd, mgr=False):
        return json.loads(self.command(dict(cmd, format='json'), mgr=mgr))

    def create_rbd_pool(self, pool, pg_num=8):
        self.command({'prefix': 'osd pool create', 'pool': pool,
                      'pg_num': pg_num, 'pgp_num': pg_num})
        self.command({'prefix': 'osd pool application enable', 'pool': pool,
                      'app': 'rbd'})

    def rbd_pool_init(self, pool):
        with self._cluster.open_ioctx(pool) as ioctx:
            rbd.RBD().pool_init(ioctx, True)

    def create_user(self, entity, caps):
        """Create ``entity`` with ``caps``; return its keyring text."""
        flat = []
        for service, cap in sorted(caps.items()):
            flat += [service, cap]
        return self.command({'prefix': 'auth get-or-create',
                             'entity': entity, 'caps': flat})

    def add_pools_to_caps(self, user, pools):
        """Give ``user`` ``profile rbd`` on ``pools`` on top of its caps."""
        (entry,) = self.json({'prefix': 'auth get', 'entity': user})
        caps = dict(entry['caps'])
        extra = ', '.join('profile rbd pool=%s' % p for p in pools)
        for service in ('osd', 'mgr'):
            caps[service] = ', '.join(c for c in (caps.get(service), extra)
                                      if c)
        flat = []
        for service, cap in sorted(caps.items()):
            flat += [service, cap]
        self.command({'prefix': 'auth caps', 'entity': user, 'caps': flat})

    def health(self):
        return self.json({'prefix': 'health'})

    def pools(self):
        return [p['pool_name'] for p in
                self.json({'prefix': 'osd pool ls', 'detail': 'detail'})]

    def pg_states(self):
        """Return {state: count} for every PG, e.g. {'active+clean': 17}."""
        status = self.json({'prefix': 'status'})
        return {s['state_name']: s['count']
                for s in status['pgmap'].get('pgs_by_state', [])}

    def wait_clean(self, deadline, check=None, interval=0.2, osds=1):
        """Wait until ``osds`` OSDs are up and every PG is active+clean."""
        while True:
            status = self.json({'prefix': 'status'})
            pgmap = status['pgmap']
            states = {s['state_name']: s['count']
                      for s in pgmap.get('pgs_by_state', [])}
            total = pgmap.get('num_pgs', 0)
            osds_up = status['osdmap'].get('num_up_osds', 0)
            if (osds_up >= osds and total and
                    states.get('active+clean', 0) == total and
                    status.get('mgrmap', {}).get('available', True)):
                return
            if check:
                check()
            if time.time() > deadline:
                raise AdminError('cluster not clean in time: %d OSD up, '
                                 'PGs %s' % (osds_up, states or 'unknown'))
            time.sleep(interval)
