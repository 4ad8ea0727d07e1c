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
"""Monitors that stop or move under a busy compute host and a running guest.

Each case starts a cluster of three monitors of its own.  A compute
process (tests/libvirt/mon_worker.py, native threads) runs the plugin's
operations through the entry points Nova calls; this process stops a
monitor, by its pid, at a chosen moment.  A real QEMU guest booted from
the plugin's disk XML writes and reads its disk all along.  Afterwards
no operation failed, the pools hold exactly what the operations made
(the audit finds nothing), and disk XML written once the quorum has
dropped the stopped monitor names only live ones.  When a monitor is
replaced by one at a new address, the plugin's live migration step
rewrites the running guest's ``<host>`` list, the guest moves to another
libvirtd on it, and ``doctor`` names the guest until it has moved.
"""

import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
import time
import types
import uuid

import libvirt
from lxml import etree
from nova.conf import CONF
from nova import objects
import pytest
import rados
import rbd

from nova_rbd_imagebackend.ceph import client as ceph_client
from nova_rbd_imagebackend import conf as plugin_conf
from nova_rbd_imagebackend.disks import audit
from nova_rbd_imagebackend.disks import locations
from nova_rbd_imagebackend.nova import live_migration
from sandbox import ceph
from sandbox import libvirtd
from tests.libvirt.test_real_libvirt import guest_io
from tests.libvirt.test_real_libvirt import MIGRATE
from tests.libvirt.test_shapes import _wait_for
from tests.libvirt.test_shapes import boot_sector
from tests.libvirt.test_shapes import DOMAIN
from tests.libvirt.test_shapes import plugin_conf as pointed_at

pytestmark = [pytest.mark.libvirt, pytest.mark.shapes]

MiB = 1024 ** 2
TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
DOCTOR = os.path.join(os.path.dirname(sys.executable),
                      'nova-rbd-imagebackend')
# How long the plugin reuses the monitor list it read (60 s by default);
# short here so that a case sees the list follow the quorum.
MON_CACHE = 2
STORM, WORKERS = 50, 8
MARKER = 'failover guest reads its disk'


class Process(object):
    """A mon_worker process: commands on stdin, JSON lines back."""

    def __init__(self, argv, log):
        self.proc = subprocess.Popen(
            [sys.executable, '-m', 'tests.libvirt.mon_worker'] + argv,
            cwd=TOP, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=log, text=True)
        self.lines = queue.Queue()
        self.seen = []
        threading.Thread(target=self._read, daemon=True).start()
        (self.ready,) = self.wait_for('ready', 60)

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(json.loads(line))
        self.lines.put(None)

    def send(self, command):
        self.proc.stdin.write(command + '\n')
        self.proc.stdin.flush()

    def wait_for(self, op, timeout, count=1):
        """Lines up to the ``count``-th of ``op``; fail at the timeout."""
        deadline = time.monotonic() + timeout
        got = []
        while count:
            try:
                line = self.lines.get(
                    timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                line = False
            assert line, 'worker gave no %r in %d s (exit %s)' % (
                op, timeout, self.proc.poll())
            got.append(line)
            count -= line['op'] == op
        self.seen += got
        return got

    def close(self):
        """End the worker; return every line it printed."""
        if self.proc.returncode is not None:
            return self.seen
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        while True:
            line = self.lines.get(timeout=10)
            if line is None:
                return self.seen
            self.seen.append(line)


@contextlib.contextmanager
def compute(box, hosts, folder):
    """A 3-monitor cluster's compute side: conf, parent image, secrets."""
    env = types.SimpleNamespace(box=box, hosts=hosts, folder=folder)
    env.secret = str(uuid.uuid4())
    instances = os.path.join(folder, 'instances')
    os.makedirs(instances)
    env.instances = instances
    env.conf = nova_conf(env, hosts[0])
    with contextlib.ExitStack() as stack:
        admin = rados.Rados(conffile=box.conf_path, rados_id='admin')
        admin.connect(timeout=10)
        stack.callback(admin.shutdown)
        env.admin = admin
        env.vms = stack.enter_context(admin.open_ioctx('vms'))
        env.images = stack.enter_context(admin.open_ioctx('images'))
        rbd.RBD().create(env.images, 'parent', 16 * MiB)
        with rbd.Image(env.images, 'parent') as image:
            image.write(boot_sector(MARKER + '\r\n'), 0)
            image.create_snap('snap')
            image.protect_snap('snap')
        env.parent_url = locations.format_url(box.fsid, 'images', 'parent',
                                              'snap')
        env.client = ceph_client.CephClient(box.conf_path, 'nova', 10, 30, 4)
        stack.callback(env.client.close)
        for host in hosts:
            _define_secret(host, env.secret, box.key('client.nova'))
            stack.callback(_undefine_secret, host, env.secret)
        env.log = stack.enter_context(open(os.path.join(folder,
                                                        'workers.log'), 'a'))
        env.ops = Process(['ops', env.conf, env.parent_url], env.log)
        stack.callback(env.ops.close)
        env.domains = []
        stack.callback(_remove_domains, hosts, env.domains)
        env.stack = stack
        yield env


def nova_conf(env, host):
    """A compute host's nova.conf for this cluster and libvirtd."""
    path = os.path.join(env.folder, 'nova-%s.conf' % host.host_uuid[:8])
    with open(path, 'w') as f:
        f.write('[DEFAULT]\ninstances_path = %s\n[libvirt]\nimages_type = '
                'rbd\nimages_rbd_pool = vms\nimages_rbd_ceph_conf = %s\n'
                'rbd_user = nova\nrbd_secret_uuid = %s\nvirt_type = qemu\n'
                'connection_uri = %s\nrbd_connect_timeout = 10\n'
                '[rbd_imagebackend]\nmon_addrs_cache_seconds = %d\n'
                % (env.instances, env.box.conf_path, env.secret, host.uri,
                   MON_CACHE))
    return path


def _define_secret(host, secret_uuid, key):
    """A ceph secret of its own (the session's uses client.nova's name)."""
    host.define_ceph_secret(secret_uuid, 'failover %s' % secret_uuid, key)


def _undefine_secret(host, secret_uuid):
    conn = host.connect()
    with contextlib.suppress(libvirt.libvirtError):
        conn.secretLookupByUUIDString(secret_uuid).undefine()
    conn.close()


def _remove_domains(hosts, names):
    for host in hosts:
        conn = host.connect()
        for name in names:
            libvirtd.LibvirtSandbox.remove_domain(conn, name)
        conn.close()


@contextlib.contextmanager
def three_monitors(tmp_path, libvirt_hosts):
    started = time.monotonic()
    box = ceph.CephSandbox.start(str(tmp_path / 'cluster'),
                                 osd_bytes=512 * MiB, mons=3)
    try:
        print('3-monitor cluster ready in %.1f s'
              % (time.monotonic() - started))
        with compute(box, libvirt_hosts, str(tmp_path)) as env:
            yield env
    finally:
        box.stop()


def boot(env, count, workers):
    """``count`` disks from ``workers`` threads; their result lines."""
    env.ops.send('boot %d %d' % (count, workers))
    env.ops.wait_for('go', 30)
    lines = env.ops.wait_for('done', 60 + count * 3)
    return [line for line in lines if line['op'] == 'boot']


def start_guest(env):
    """A guest booted from a plugin disk; (domain, disk, its <host>s)."""
    (line,) = boot(env, 1, 1)
    assert line['error'] is None, line
    host = env.hosts[0]
    name = 'failover-%s' % uuid.uuid4().hex[:8]
    env.domains.append(name)
    console = os.path.join(host.directory, name + '.console')
    conn = host.connect()
    dom = conn.defineXMLFlags(DOMAIN.format(
        name=name, disk=line['result']['xml'], console=console),
        libvirt.VIR_DOMAIN_DEFINE_VALIDATE)
    dom.create()
    assert _wait_for(console, MARKER, 60), open(
        host.domain_log(name), errors='replace').read()[-3000:]
    return dom, '%s_disk' % line['uuid'], line['result']['hosts']


def start_guest_io(env, dom):
    host = env.hosts[0]
    io = Process(['guest-io', host.uri, dom.name(),
                  host.domain_log(dom.name())], env.log)
    env.stack.callback(io.close)  # before the guest goes
    return io


def guest_figures(lines, stopped_at):
    ios = [line for line in lines if line['op'] in ('write', 'read')]
    after = [line for line in ios if line['start'] >= stopped_at]
    failed = [line for line in ios if not line['ok']]
    assert ios and after, 'the guest did no I/O after the stop'
    assert failed == [], failed[:3]
    return {'guest_ios': len(ios), 'guest_ios_after_stop': len(after),
            'guest_ios_failed': len(failed),
            'guest_io_max_s': round(max(line['end'] - line['start']
                                        for line in ios), 3)}


def watcher(env, disk):
    """The address of the one client (QEMU) watching ``disk``."""
    mine = env.admin.get_addrs().rsplit('/', 1)[-1]
    with rbd.Image(env.vms, disk, read_only=True) as image:
        (found,) = [w['addr'] for w in image.watchers_list()
                    if not w['addr'].endswith('/' + mine)]
    return found


def leftovers(env):
    """What the audit finds in both pools, and every trash entry."""
    found = []
    for pool in ('vms', 'images'):
        found += audit.find(env.client, pool, env.instances, 0)
        found += [('trash', pool, e) for e in env.client.trash(pool)]
    return found


def vms_images(env):
    return set(rbd.RBD().list(env.vms))


def live_addrs(box, names):
    return sorted([h, str(p)] for h, p in (
        ceph.ceph_conf.libvirt_addr(box.shape.host, box.mon_ports[n])
        for n in names))


def report(title, figures):
    print('%s: %s' % (title, json.dumps(figures, sort_keys=True)))


def test_one_monitor_stops_during_a_boot_storm(tmp_path, libvirt_hosts):
    with three_monitors(tmp_path, libvirt_hosts) as env:
        box = env.box
        dom, guest_disk, guest_hosts = start_guest(env)
        assert len(guest_hosts) == 3
        # The monitor this guest's QEMU talks to: its stop is the one
        # the guest has to ride out.
        guest_mon = box.mon_serving(watcher(env, guest_disk))
        compute_mon = box.mon_serving(env.ops.ready['addr'])
        leader = box.leader()
        victim = guest_mon or [n for n in box.quorum() if n != leader][0]
        live = [n for n in sorted(box.mon_ports) if n != victim]
        io = start_guest_io(env, dom)

        mark = len(env.ops.seen)
        env.ops.send('boot %d %d' % (STORM, WORKERS))
        env.ops.wait_for('go', 30)
        env.ops.wait_for('boot', 60, count=WORKERS)
        stopped_at = time.time()
        box.stop_mon(victim)
        lines = env.ops.wait_for('done', 300)
        storm = [line for line in env.ops.seen[mark:]
                 if line['op'] == 'boot']
        waited_from = time.time()
        quorum_s = waited_from + box.wait_quorum(live) - stopped_at
        # Disks made now, once the cached list has expired, name only the
        # monitors in quorum.
        time.sleep(MON_CACHE + 0.5)
        later = boot(env, WORKERS, WORKERS)
        io_lines = io.close()

        assert len(storm) == STORM
        failed = [line for line in storm + later if line['error']]
        assert failed == [], failed[:3]
        for line in later:
            assert sorted(line['result']['hosts']) == live_addrs(box, live)
        dead = live_addrs(box, [victim])[0]
        named_dead = [line for line in storm
                      if dead in line['result']['hosts'] and
                      line['start'] >= stopped_at]
        disks = {'%s_disk' % line['uuid'] for line in storm + later}
        assert vms_images(env) == disks | {guest_disk}
        assert leftovers(env) == []

        # Delete them all again, on two monitors.
        env.ops.send('delete %s' % ' '.join(
            line['uuid'] for line in storm + later))
        env.ops.wait_for('go', 30)
        deletes = [line for line in env.ops.wait_for('done', 300)
                   if line['op'] == 'delete']
        assert [line for line in deletes if line['error']] == []
        assert vms_images(env) == {guest_disk}
        assert leftovers(env) == []
        report('mon.%s stopped during a boot storm' % victim, dict(
            guest_figures(io_lines, stopped_at),
            stopped_was_leader=victim == leader,
            stopped_served_guest=victim == guest_mon,
            stopped_served_compute=victim == compute_mon, boots=len(storm),
            boots_after_stop=len([line for line in storm
                                  if line['start'] >= stopped_at]),
            boots_later=len(later), deletes=len(deletes),
            failed=len(failed), leftovers=0,
            quorum_without_it_s=round(quorum_s, 2),
            xml_naming_it_after_stop=len(named_dead),
            storm_s=round(max(line['end'] for line in storm) -
                          min(line['start'] for line in storm), 2),
            boot_max_s=round(max(line['end'] - line['start']
                                 for line in storm), 2),
            delete_max_s=round(max(line['end'] - line['start']
                                   for line in deletes), 2),
            lines_to_done=len(lines)))


def stop_leader_during(env, command):
    """Send ``command``; stop the leader once it started; its figures."""
    box = env.box
    leader = box.leader()
    served = {'compute': box.mon_serving(env.ops.ready['addr']) == leader}
    env.ops.send(command)
    env.ops.wait_for('go', 30)
    stopped_at = time.time()
    box.stop_mon(leader)
    lines = env.ops.wait_for('done', 180)
    live = [n for n in sorted(box.mon_ports) if n != leader]
    waited_from = time.time()
    quorum_s = waited_from + box.wait_quorum(live) - stopped_at
    ops = [line for line in lines if line['op'] != 'done']
    assert [line for line in ops if line['error']] == []
    # The stop came while the operations ran, not after them.
    assert min(line['start'] for line in ops) < stopped_at
    assert max(line['end'] for line in ops) > stopped_at
    return ops, stopped_at, dict(
        stopped='mon.%s' % leader, stopped_served_compute=served['compute'],
        ops=len(ops), failed=0, quorum_without_it_s=round(quorum_s, 2),
        op_s=round(max(line['end'] for line in ops) -
                   min(line['start'] for line in ops), 2),
        op_end_after_stop_s=round(max(line['end'] for line in ops) -
                                  stopped_at, 2)), leader


def snap_id_retries(env):
    """Snapshot id requests the monitors refused and the plugin retried."""
    env.log.flush()
    with open(env.log.name) as f:
        return f.read().count('trying again')


def wait_flattened(env, pool, name, timeout=60):
    deadline = time.monotonic() + timeout
    while env.client.parent(pool, name):
        assert time.monotonic() < deadline, '%s/%s not flattened' % (
            pool, name)
        time.sleep(0.2)


def test_the_leader_stops_during_a_snapshot_and_during_a_delete(
        tmp_path, libvirt_hosts):
    with three_monitors(tmp_path, libvirt_hosts) as env:
        box = env.box
        dom, guest_disk, _hosts = start_guest(env)
        io = start_guest_io(env, dom)
        lines = boot(env, 2, 2)
        assert [line['error'] for line in lines] == [None, None]
        doomed = [line['uuid'] for line in lines]
        image_id = str(uuid.uuid4())

        snaps, first_stop, snap_figures, leader = stop_leader_during(
            env, 'snapshot %s %s' % (doomed[0], image_id))
        (snap,) = snaps
        assert snap['result'] == locations.format_url(
            box.fsid, 'images', image_id, 'snap')
        wait_flattened(env, 'images', image_id)
        with rbd.Image(env.images, image_id, read_only=True) as image:
            assert [s['name'] for s in image.list_snaps()] == ['snap']
            assert image.is_protected_snap('snap')
            assert image.read(0, 512)[-2:] == b'\x55\xaa'
        with rbd.Image(env.vms, '%s_disk' % doomed[0],
                       read_only=True) as image:
            assert list(image.list_snaps()) == []
        assert leftovers(env) == []

        started = time.monotonic()
        box.start_mon(leader)
        box.wait_quorum(sorted(box.mon_ports))
        snap_figures['back_in_quorum_s'] = round(
            time.monotonic() - started, 2)

        deletes, _stop, delete_figures, _leader = stop_leader_during(
            env, 'delete %s' % ' '.join(doomed))
        assert vms_images(env) == {guest_disk}
        assert set(rbd.RBD().list(env.images)) == {'parent', image_id}
        assert leftovers(env) == []
        guest = guest_figures(io.close(), first_stop)
        report('leader stopped during a direct snapshot',
               dict(snap_figures, leftovers=0,
                    snap_id_retries=snap_id_retries(env)))
        report('leader stopped during an instance delete',
               dict(delete_figures, leftovers=0, **guest))


def doctor(conf_path):
    result = subprocess.run([DOCTOR, '--config-file', conf_path, 'doctor',
                             '--format', 'json'], capture_output=True,
                            text=True, timeout=120, stdin=subprocess.DEVNULL)
    return {r['check']: r for r in json.loads(result.stdout)}


def xml_hosts(doc):
    return sorted([h.get('name'), h.get('port')]
                  for h in doc.findall('./devices/disk/source/host'))


def test_a_replaced_monitor_is_rewritten_on_migration_and_reported(
        tmp_path, libvirt_hosts):
    with three_monitors(tmp_path, libvirt_hosts) as env:
        box = env.box
        host_a, host_b = env.hosts
        dom, guest_disk, hosts = start_guest(env)
        name = dom.name()
        io = start_guest_io(env, dom)
        (gone,) = live_addrs(box, ['b'])
        replace_started = time.time()
        box.replace_mon('b', 'd')
        replaced_s = time.time() - replace_started
        current = live_addrs(box, sorted(box.mon_ports))
        assert gone in hosts and len(hosts) == 3
        assert gone not in current and len(current) == 3

        checks = doctor(env.conf)
        stale = checks['guest monitors %s' % name]
        assert stale['status'] == 'warn'
        assert stale['detail'] == (
            'domain %s (%s) names monitors no longer in the monmap: %s:%s'
            % (name, dom.UUIDString(), gone[0], gone[1]))
        assert stale['fix'] == ('live-migrate or hard-reboot the guest to '
                                'refresh its monitor list')

        # The step Nova's live migration runs on the source host, in the
        # place of its _update_rbd_xml, on the running guest's XML.
        plugin_conf.register_opts(CONF)
        with pointed_at(box, env.secret):
            CONF.set_override('mon_addrs_cache_seconds', MON_CACHE,
                              group='rbd_imagebackend')
            try:
                objects.register_all()
                doc = live_migration.update_rbd_xml(
                    etree.fromstring(dom.XMLDesc(
                        libvirt.VIR_DOMAIN_XML_MIGRATABLE)),
                    objects.LibvirtLiveMigrateData(image_type='rbd'))
            finally:
                CONF.clear_override('mon_addrs_cache_seconds',
                                    group='rbd_imagebackend')
        assert xml_hosts(doc) == current
        io_lines = io.close()

        out = guest_io(host_a, dom, 'write -P 0x6d 8388608 4096')
        assert 'wrote 4096/4096' in out, out
        guest_io(host_a, dom, 'flush')
        started = time.time()
        dom.migrateToURI3(host_b.uri, {
            libvirt.VIR_MIGRATE_PARAM_URI: 'tcp://127.0.0.1:%d'
            % ceph.free_port(),
            libvirt.VIR_MIGRATE_PARAM_DEST_XML: etree.tostring(doc).decode()},
            MIGRATE)
        migrated_s = time.time() - started
        conn_b = host_b.connect()
        try:
            moved = conn_b.lookupByName(name)
            assert moved.isActive()
            assert xml_hosts(etree.fromstring(moved.XMLDesc(0))) == current
            out = guest_io(host_b, moved, 'read -P 0x6d 8388608 4096')
            assert 'read 4096/4096' in out and 'failed' not in out, out
            out = guest_io(host_b, moved, 'write -P 0x6e 8392704 4096')
            assert 'wrote 4096/4096' in out, out
            with open(host_b.domain_log(name)) as f:
                qemu_log = f.read()
            for h, p in current:
                assert '{"host":"%s","port":"%s"}' % (h, p) in qemu_log
            assert '"port":"%s"' % gone[1] not in qemu_log
        finally:
            conn_b.close()
        checks = doctor(nova_conf(env, host_b))
        assert checks['guest monitors']['status'] == 'ok', checks
        assert not [c for c in checks if c.startswith('guest monitors ')]
        assert leftovers(env) == []
        report('mon.b replaced by mon.d on new ports', dict(
            guest_figures(io_lines, replace_started),
            replaced_s=round(replaced_s, 2),
            migrated_s=round(migrated_s, 2), stale_before=[gone],
            hosts_after=current))
