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

"""Monitor faults and moves in a running sandbox, one monitor at a time.

Stop and start a monitor by name (by its recorded pid, never by process
name), tell which monitor leads the quorum and which clients each one
serves, and replace a monitor by one on new ports: ``remove`` takes it
out of the monmap (the monitor then exits by itself), ``add`` makes a
new monitor that joins the quorum.  ceph.conf's ``mon host`` and the
recorded ports follow every move, as an operator would update them.
"""

import os
import re
import time

import rados

from sandbox import ceph_conf
from sandbox import cephx
from sandbox import procs
from sandbox import SandboxError


def quorum_status(box, timeout=20):
    """The monitors' ``quorum_status``: quorum_names, leader, monmap."""
    with box.admin(timeout=timeout) as admin:
        return admin.json({'prefix': 'quorum_status'})


def running(box):
    """Names of the monitors whose daemon this sandbox runs."""
    return sorted(name[4:] for name, pid in box.pids.items()
                  if name.startswith('mon.') and
                  procs.is_ours(pid, box.conf_path))


def stop(box, name):
    """Stop monitor ``name`` (SIGTERM, then SIGKILL) by its recorded pid."""
    pid = box._state['pids'].pop('mon.%s' % name, None)
    if pid is None:
        raise SandboxError('mon.%s is not running in this sandbox' % name)
    box._save_state()
    procs.terminate(pid, box.conf_path)


def start(box, name, timeout=30):
    """Start monitor ``name`` again; return once it listens."""
    if name not in box.mon_ports:
        raise SandboxError('no monitor %s in this sandbox' % name)
    if 'mon.%s' % name in box.pids:
        raise SandboxError('mon.%s is already running' % name)
    box._spawn('mon.%s' % name, [])
    _wait_listening(box, name, time.time() + timeout)


def wait_quorum(box, names, timeout=60):
    """Wait until the quorum is exactly ``names``; return seconds waited."""
    started = time.monotonic()
    want = sorted(names)
    while True:
        try:
            got = sorted(quorum_status(box, timeout=10)['quorum_names'])
        except (SandboxError, rados.Error):
            got = None  # no quorum to answer yet
        if got == want:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise SandboxError('quorum is %s after %d s, not %s'
                               % (got, timeout, want))
        time.sleep(0.2)


def sessions(box, name):
    """The client sessions monitor ``name`` serves (its ``sessions``)."""
    with box.admin() as admin:
        return admin.tell_mon(name, {'prefix': 'sessions'})


def serving(box, client_addr):
    """The monitor holding the session of the client at ``client_addr``.

    ``client_addr`` is a client's address as its watches show it
    (``127.0.0.1:0/3411187``); None when no running monitor serves it.
    """
    nonce = int(client_addr.rsplit('/', 1)[-1])
    for name in running(box):
        for session in sessions(box, name):
            vec = session.get('addrs', {}).get('addrvec', [])
            if nonce in [a.get('nonce') for a in vec]:
                return name
    return None


def remove(box, name):
    """Take ``name`` out of the monmap; its daemon exits, and is reaped."""
    with box.admin() as admin:
        admin.command({'prefix': 'mon remove', 'name': name})
    pid = box._state['pids'].pop('mon.%s' % name, None)
    del box._state['mons'][name]
    _write_mon_host(box)
    if pid is not None:
        procs.terminate(pid, box.conf_path)


def add(box, name, free_port, timeout=60):
    """Make monitor ``name`` on new ports and wait until it is in quorum.

    The new monitor starts from the cluster's current monmap, without
    itself, and asks the leader to be added: as a monitor added by hand.
    """
    if name in box.mon_ports:
        raise SandboxError('monitor %s already exists' % name)
    shape = box.shape
    ports = {}
    taken = {p for mon in box.mon_ports.values() for p in mon.values()}
    for proto in shape.protocols:
        port = free_port(shape.host)
        while port in taken:
            port = free_port(shape.host)
        taken.add(port)
        ports[proto] = port
    monmap = box._path('monmap.%s' % name)
    with box.admin() as admin:
        with open(monmap, 'wb') as f:
            f.write(admin.command_bytes({'prefix': 'mon getmap'}))
    procs.run(['ceph-mon', '-c', box.conf_path, '--mkfs', '-i', name,
               '--monmap', monmap, '--keyring',
               box._path('mon-bootstrap.keyring')])
    os.unlink(monmap)
    box._state['mons'][name] = ports
    box._save_state()
    box._spawn('mon.%s' % name, [
        '--public-addrv', ceph_conf.addrvec(shape.host, ports)])
    _wait_listening(box, name, time.time() + timeout)
    in_map = sorted(box.mon_ports)
    wait_quorum(box, in_map, timeout)
    _write_mon_host(box)


def _wait_listening(box, name, deadline):
    for port in box.mon_ports[name].values():
        procs.wait_listening(box.shape.host, port, deadline,
                             box._check_daemons)


def _write_mon_host(box):
    """ceph.conf's ``mon host`` names the monitors of the monmap."""
    box._save_state()
    line = 'mon host = %s' % ceph_conf.mon_host(box.shape, box.mon_ports)
    with open(box.conf_path) as f:
        text = f.read()
    text = re.sub(r'(?m)^mon host = .*$', lambda _m: line, text, count=1)
    # Written aside and renamed: a client starting now reads either.
    cephx.write_private(box.conf_path + '.new', text)
    os.replace(box.conf_path + '.new', box.conf_path)
