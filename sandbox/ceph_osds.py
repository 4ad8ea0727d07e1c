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

"""OSD faults in a running sandbox, one OSD at a time.

Stop an OSD by its recorded pid (SIGKILL, as a crash or power loss, or
SIGTERM, as a clean shutdown), freeze it (SIGSTOP: it keeps its
sockets and its data but answers nothing, as a hung host) and thaw or
start it again.  Only a bluestore OSD keeps its data over a stop: a
memstore OSD keeps it in RAM and cannot come back from a kill.

On one machine every OSD sits under the same CRUSH host, and monitors
by default count failure reports per host: a frozen OSD's peers could
never get it marked down.  ``detect_frozen`` makes them count per OSD,
as reports from OSDs on separate hosts would.  ``pools_on`` makes pools
that keep their one copy on a single OSD, so that stopping it leaves
their placement groups with no OSD at all.
"""

import os
import signal
import time

from sandbox import procs
from sandbox import SandboxError


def _name(osd_id):
    return 'osd.%d' % osd_id


def _pid(box, osd_id):
    pid = box.pids.get(_name(osd_id))
    if pid is None or not procs.is_ours(pid, box.conf_path):
        raise SandboxError('%s is not running in this sandbox'
                           % _name(osd_id))
    return pid


def stop(box, osd_id, sig=signal.SIGKILL):
    """Stop OSD ``osd_id`` by its recorded pid; return when it has exited.

    ``sig`` is SIGKILL (the default: no goodbye to the monitors, which
    learn of it from its peers) or SIGTERM (it tells the monitors first).
    """
    pid = _pid(box, osd_id)
    box._state['pids'].pop(_name(osd_id))
    box._save_state()
    if sig == signal.SIGKILL:
        _signal(pid, signal.SIGCONT)  # a frozen OSD dies as well
        _signal(pid, signal.SIGKILL)
        deadline = time.time() + 10
        while procs.is_ours(pid, box.conf_path):
            if time.time() > deadline:
                raise SandboxError('%s (pid %d) did not die'
                                   % (_name(osd_id), pid))
            time.sleep(0.02)
    else:
        _signal(pid, signal.SIGCONT)
        procs.terminate(pid, box.conf_path)


def freeze(box, osd_id):
    """Stop OSD ``osd_id`` answering (SIGSTOP); it keeps its data."""
    _signal(_pid(box, osd_id), signal.SIGSTOP)


def thaw(box, osd_id):
    """Let a frozen OSD go on (SIGCONT)."""
    _signal(_pid(box, osd_id), signal.SIGCONT)


def start(box, osd_id, timeout=60):
    """Start a stopped OSD again; return once the monitors see it up."""
    if _name(osd_id) in box.pids:
        raise SandboxError('%s is already running' % _name(osd_id))
    if box._state.get('objectstore') != 'bluestore':
        raise SandboxError('a %s OSD lost its data when it stopped'
                           % box._state.get('objectstore'))
    box._spawn(_name(osd_id), [])
    return wait_up(box, osd_id, True, timeout, box._check_daemons)


def wait_up(box, osd_id, up, timeout=60, check=None):
    """Wait until the osdmap shows the OSD up (or down); return seconds."""
    started = time.monotonic()
    while True:
        with box.admin() as admin:
            osds = admin.json({'prefix': 'osd dump'})['osds']
        if [o['up'] for o in osds if o['osd'] == osd_id] == [int(up)]:
            return time.monotonic() - started
        if check:
            check()
        if time.monotonic() - started > timeout:
            raise SandboxError('%s not %s after %d s' % (
                _name(osd_id), 'up' if up else 'down', timeout))
        time.sleep(0.1)


def wait_clean(box, timeout=120):
    """Wait until every OSD is up and every PG active+clean; seconds.

    The PGs of every pool count, also those of a pool so new that the
    manager has not reported them yet.
    """
    started = time.monotonic()
    deadline = time.time() + timeout
    with box.admin() as admin:
        while True:
            admin.wait_clean(deadline, box._check_daemons,
                             osds=box.shape.osds)
            pools = admin.json({'prefix': 'osd pool ls', 'detail': 'detail'})
            pgs = admin.json({'prefix': 'status'})['pgmap'].get('num_pgs')
            if pgs == sum(p['pg_num'] for p in pools):
                return time.monotonic() - started
            if time.time() > deadline:
                raise SandboxError('%s of %d PGs reported after %d s' % (
                    pgs, sum(p['pg_num'] for p in pools), timeout))
            time.sleep(0.2)


def detect_frozen(box, grace=20, interval=6):
    """Let an OSD's peers get it marked down when it stops answering.

    Failure reports count per OSD instead of per host, as they would
    from OSDs on separate hosts; ``grace`` and ``interval`` are Ceph's
    ``osd_heartbeat_grace`` and ``osd_heartbeat_interval`` (20 and 6 s
    by default).
    """
    with box.admin() as admin:
        for name, value in (('mon_osd_reporter_subtree_level', 'osd'),
                            ('osd_heartbeat_grace', grace),
                            ('osd_heartbeat_interval', interval)):
            admin.command({'prefix': 'config set', 'who': 'global',
                           'name': name, 'value': str(value)})


def fast_reports(box):
    """PG states reach ``ceph status`` in about a second, not up to ten.

    Daemons send their statistics to the manager every second, and the
    manager its digest to the monitors every second (5 s each by
    default), so that waiting for clean PGs after a fault waits for the
    PGs, not for the reports.
    """
    with box.admin() as admin:
        for name in ('mgr_stats_period', 'mon_mgr_digest_period'):
            admin.command({'prefix': 'config set', 'who': 'global',
                           'name': name, 'value': '1'})


def pools_on(box, osd_id, pools, users=('client.nova',)):
    """Make rbd ``pools`` of one copy, kept on OSD ``osd_id`` only.

    The OSD gets a device class of its own and the pools a CRUSH rule
    that picks only that class.  ``users`` get ``profile rbd`` on them
    on top of their caps.
    """
    klass = 'only%d' % osd_id
    rule = 'on-%s' % _name(osd_id).replace('.', '')
    with box.admin() as admin:
        admin.command({'prefix': 'osd crush rm-device-class',
                       'ids': [_name(osd_id)]})
        admin.command({'prefix': 'osd crush set-device-class',
                       'class': klass, 'ids': [_name(osd_id)]})
        admin.command({'prefix': 'osd crush rule create-replicated',
                       'name': rule, 'root': 'default', 'type': 'osd',
                       'class': klass})
        for pool in pools:
            admin.command({'prefix': 'osd pool create', 'pool': pool,
                           'pg_num': 8, 'pgp_num': 8, 'rule': rule})
            for var, value in (('size', '1'), ('min_size', '1')):
                admin.command({'prefix': 'osd pool set', 'pool': pool,
                               'var': var, 'val': value,
                               'yes_i_really_mean_it': True})
            admin.command({'prefix': 'osd pool application enable',
                           'pool': pool, 'app': 'rbd'})
        for user in users:
            admin.add_pools_to_caps(user, pools)
    wait_clean(box, 60)
    with box.admin() as admin:
        for pool in pools:
            admin.rbd_pool_init(pool)


def _signal(pid, sig):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
