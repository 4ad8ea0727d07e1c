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

"""PostgreSQL 15 from Debian as a private cluster, for every service.

sqlite would do for one service at a time, but Nova's conductor,
scheduler and computes then fail with ``database is locked``.  The
cluster lives in ``<dir>/postgres``, runs as the ``postgres`` user (it
refuses root), listens on 127.0.0.1 and a socket in its own folder,
trusts every local connection and skips fsync: it is thrown away.
"""

import os
import pwd
import time

from sandbox import ceph as ceph_sandbox
from sandbox import procs
from sandbox import SandboxError

BIN = '/usr/lib/postgresql/15/bin'
USER = 'postgres'


def _as_postgres(argv):
    return ['setpriv', '--reuid=%s' % USER, '--regid=%s' % USER,
            '--init-groups', '--inh-caps=-all'] + argv


def start(ledger, directory, deadline):
    """Create and start the cluster; return a function making URLs."""
    base = os.path.join(directory, 'postgres')
    data = os.path.join(base, 'data')
    os.makedirs(base, exist_ok=True)
    user = pwd.getpwnam(USER)
    os.chown(base, user.pw_uid, user.pw_gid)
    port = ceph_sandbox.free_port()
    procs.run(_as_postgres([os.path.join(BIN, 'initdb'), '-D', data,
                            '-A', 'trust', '-U', USER, '-E', 'UTF8',
                            '--no-sync']), timeout=120)
    with open(os.path.join(data, 'postgresql.conf'), 'a') as f:
        f.write("\nlisten_addresses = '127.0.0.1'\nport = %d\n"
                "unix_socket_directories = '%s'\nfsync = off\n"
                "synchronous_commit = off\nfull_page_writes = off\n"
                "max_connections = 300\nshared_buffers = 128MB\n"
                % (port, base))
    log = os.path.join(base, 'postgres.log')
    ledger.spawn('postgres', _as_postgres([os.path.join(BIN, 'postgres'),
                                           '-D', data]),
                 log, data, log=log)
    procs.wait_listening('127.0.0.1', port, deadline,
                         lambda: ledger.check('postgres', log))
    return port


def create_databases(port, names, deadline):
    """Create empty databases; return {name: SQLAlchemy URL}."""
    import psycopg2
    while True:
        try:
            conn = psycopg2.connect(host='127.0.0.1', port=port, user=USER,
                                    dbname='postgres')
            break
        except psycopg2.OperationalError:
            # accepting TCP before it accepts logins
            if time.time() > deadline:
                raise SandboxError('postgres refuses connections')
            time.sleep(0.1)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            for name in names:
                cur.execute('CREATE DATABASE %s' % name)
    finally:
        conn.close()
    return {name: 'postgresql+psycopg2://%s@127.0.0.1:%d/%s' % (
        USER, port, name) for name in names}
