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

"""The one-machine cloud: start every part in order, stop them all.

    cloud = Cloud.start('/tmp/cloud')     # about a minute
    conn = cloud.connection()             # openstacksdk, as the admin
    cloud.status()
    cloud.stop()                          # every process, by pid

Parts, each its own process with its own configuration under the cloud
folder, all on loopback: the throwaway Ceph cluster, RabbitMQ,
PostgreSQL, keystone, glance-api (rbd store), placement-api, nova-api,
nova-conductor, nova-scheduler, a Neutron stand-in, and two compute
hosts (libvirtd + nova-rbd-compute each).  Each process is recorded in
the folder's ledger as it starts; a failed start stops what it started.
At the end the guest image is uploaded to Glance and a flavor created,
through the API, as an operator would.
"""

import concurrent.futures
import json
import os
import shutil
import signal
import sys
import time

from sandbox import ceph as ceph_sandbox
from sandbox import cephx
from sandbox.cloud import computes
from sandbox.cloud import guest_image
from sandbox.cloud import ini
from sandbox.cloud import keystone
from sandbox.cloud import ledger as ledger_mod
from sandbox.cloud import nova_conf
from sandbox.cloud import postgres
from sandbox.cloud import rabbit
from sandbox.cloud import wsgi
from sandbox import glance as glance_sandbox
from sandbox import libvirtd
from sandbox import procs
from sandbox import SandboxError

STATE = 'cloud.json'
DATABASES = ('keystone', 'glance', 'placement', 'nova_api', 'nova_cell0',
             'nova_cell1')
FLAVOR = {'name': 'guest.tiny', 'id': 'guest-tiny', 'ram': 192, 'vcpus': 1,
          'disk': 1}
IMAGE_NAME = 'guest-marker'
# The unprivileged libvirtd's sockets live under the cloud folder; a
# Unix socket path may not exceed 107 bytes.
MAX_DIR_LEN = 40


class Cloud(object):
    """A cloud living in ``directory`` (see the module docstring)."""

    def __init__(self, directory, state):
        self.directory = directory
        self.state = state

    # -- facts --------------------------------------------------------------

    @property
    def auth_url(self):
        return self.state['auth_url']

    @property
    def image_id(self):
        return self.state.get('image_id')

    @property
    def flavor_id(self):
        return FLAVOR['id']

    @property
    def hosts(self):
        return self.state['hosts']

    @property
    def ceph(self):
        return ceph_sandbox.CephSandbox.attach(
            os.path.join(self.directory, 'ceph'))

    def connection(self):
        """An openstacksdk connection as the admin."""
        return keystone.admin_connection(self.auth_url)

    # -- lifecycle ------------------------------------------------------------

    @classmethod
    def start(cls, directory, users=('nova', 'nova2'), timeout=300,
              log=None, debug=False, ceph_cli=True):
        """Start the whole cloud in ``directory`` (empty or missing).

        :param users: the cephx users of compute1 and compute2.
        :param ceph_cli: False to start the computes with no ``ceph`` or
            ``rbd`` command on their PATH.
        """
        directory = os.path.abspath(directory)
        unknown = set(users) - set(computes.SECRETS)
        if len(users) != 2 or unknown:
            raise SandboxError('two compute users from %s, not %s'
                               % (', '.join(sorted(computes.SECRETS)),
                                  ', '.join(users)))
        if len(directory) > MAX_DIR_LEN:
            raise SandboxError('cloud folder path too long (max %d): %s'
                               % (MAX_DIR_LEN, directory))
        if os.path.isdir(directory) and os.listdir(directory):
            raise SandboxError('%s is not empty' % directory)
        os.makedirs(directory, exist_ok=True)
        # libvirtd (uid 65534) and PostgreSQL (postgres) work below it.
        os.chmod(directory, 0o755)
        parent = os.path.dirname(directory)
        while parent != '/':
            if not os.stat(parent).st_mode & 0o001:
                raise SandboxError('%s is not searchable by other users; '
                                   'the unprivileged daemons could not '
                                   'reach the cloud folder' % parent)
            parent = os.path.dirname(parent)
        cloud = cls(directory, {'started_at': time.time(), 'timings': {},
                                'users': list(users), 'debug': debug,
                                'ceph_cli': ceph_cli})
        try:
            cloud._start(users, time.time() + timeout, log or _quiet)
        except BaseException:
            cloud.stop(remove=False)
            raise
        return cloud

    @classmethod
    def attach(cls, directory):
        directory = os.path.abspath(directory)
        try:
            with open(os.path.join(directory, STATE)) as f:
                state = json.load(f)
        except FileNotFoundError:
            raise SandboxError('no cloud in %s' % directory)
        return cls(directory, state)

    def _save(self):
        cephx.write_private(os.path.join(self.directory, STATE),
                            json.dumps(self.state, indent=1))

    def _step(self, name, started, log):
        took = round(time.time() - started, 1)
        self.state['timings'][name] = took
        self._save()
        log('%-32s %5.1f s' % (name, took))

    def _start(self, users, deadline, log):
        d = self.directory
        ledger = ledger_mod.Ledger(d)
        t0 = time.time()
        image_path = guest_image.image(log)
        self._step('guest image (cache)', t0, log)

        t = time.time()
        ceph_dir = os.path.join(d, 'ceph')
        ledger.add('ceph', 0, ceph_dir, kind='ceph')
        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            f_ceph = pool.submit(ceph_sandbox.CephSandbox.start, ceph_dir,
                                 osd_bytes=8 * 1024 ** 3)
            f_rabbit = pool.submit(rabbit.start, ledger, d, deadline)
            f_pg = pool.submit(postgres.start, ledger, d, deadline)
            ceph = f_ceph.result()
            transport_url = f_rabbit.result()
            pg_port = f_pg.result()
        self._step('ceph, rabbitmq, postgres', t, log)

        t = time.time()
        dbs = postgres.create_databases(pg_port, DATABASES, deadline)
        ports = {name: ceph_sandbox.free_port() for name in (
            'keystone', 'glance', 'placement', 'nova_api', 'neutron')}
        url = {name: 'http://127.0.0.1:%d' % port
               for name, port in ports.items()}
        settings = {
            'dir': d, 'db': dbs, 'transport_url': transport_url,
            'auth_url': url['keystone'] + '/v3',
            'glance_url': url['glance'], 'neutron_url': url['neutron'],
            'ceph_conf': ceph.conf_path,
            'instances_path': os.path.join(d, 'instances'),
            'live_migration_uri': computes.live_migration_uri(d),
            'debug': self.state['debug'],
            'ceph_cli': self.state['ceph_cli'],
        }
        os.makedirs(settings['instances_path'], exist_ok=True)
        os.chmod(settings['instances_path'], 0o777)
        os.makedirs(os.path.join(d, 'locks'), exist_ok=True)
        self.state.update(auth_url=settings['auth_url'], urls=url,
                          transport_url=transport_url, db=dbs,
                          settings=settings)
        self._save()

        nova_dir = os.path.join(d, 'nova')
        os.makedirs(nova_dir, exist_ok=True)
        confs = {}
        for service in ('nova-api', 'nova-conductor', 'nova-scheduler',
                        'nova-manage'):
            sub = os.path.join(nova_dir, service)
            os.makedirs(sub, exist_ok=True)
            confs[service] = ini.write(
                os.path.join(sub, 'nova.conf'), nova_conf.controller(
                    settings, os.path.join(sub, service + '.log')))
        shutil.copy(os.path.join(sys.prefix, 'etc', 'nova', 'api-paste.ini'),
                    os.path.join(nova_dir, 'nova-api', 'api-paste.ini'))
        placement_dir = os.path.join(d, 'placement')
        os.makedirs(placement_dir, exist_ok=True)
        placement_conf = ini.write(
            os.path.join(placement_dir, 'placement.conf'),
            nova_conf.placement(settings, os.path.join(placement_dir,
                                                       'placement.log')))
        bindir = os.path.dirname(sys.executable)

        def nova_manage(*args):
            return procs.run([os.path.join(bindir, 'nova-manage'),
                              '--config-file', confs['nova-manage']] +
                             list(args), timeout=600)

        def timed(name, func, *args, **kwargs):
            started = time.time()
            result = func(*args, **kwargs)
            self._step('  ' + name, started, log)
            return result

        def nova_db():
            nova_manage('api_db', 'sync')
            nova_manage('cell_v2', 'map_cell0', '--database_connection',
                        dbs['nova_cell0'])
            nova_manage('cell_v2', 'create_cell', '--name', 'cell1')
            nova_manage('db', 'sync')

        glance_extra = '\n' + ini.render({
            'keystone_authtoken': keystone.authtoken_section(
                settings['auth_url'], 'glance')})
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            f_ks = pool.submit(timed, 'keystone bootstrap',
                               keystone.prepare, d, ports['keystone'],
                               dbs['keystone'])
            f_nova = pool.submit(timed, 'nova databases', nova_db)
            f_pl = pool.submit(timed, 'placement database', procs.run, [
                os.path.join(bindir, 'placement-manage'), '--config-file',
                placement_conf, 'db', 'sync'], timeout=600)
            f_gl = pool.submit(
                timed, 'glance-api', glance_sandbox.GlanceSandbox.start,
                ceph,
                os.path.join(d, 'glance'), timeout=max(
                    10, deadline - time.time()), port=ports['glance'],
                database=dbs['glance'], flavor='keystone',
                extra_conf=glance_extra,
                on_spawn=lambda pid: ledger.add(
                    'glance-api', pid, os.path.join(d, 'glance'),
                    kind='glance', port=ports['glance']))
            # keystone first: the others' tokens need it.
            f_ks.result()
            keystone.serve(ledger, d, ports['keystone'])
            f_nova.result()
            f_pl.result()
            glance = f_gl.result()
        self._step('databases synced, keystone bootstrapped', t, log)

        t = time.time()
        wsgi.serve(ledger, 'placement-api',
                   'sandbox.cloud.wsgi_apps:placement()', ports['placement'],
                   placement_dir,
                   env=dict(os.environ,
                            OS_PLACEMENT_CONFIG_DIR=placement_dir))
        api_dir = os.path.join(nova_dir, 'nova-api')
        wsgi.serve(ledger, 'nova-api', 'sandbox.cloud.wsgi_apps:nova_api()',
                   ports['nova_api'], api_dir,
                   env=dict(os.environ, OS_NOVA_CONFIG_DIR=api_dir))
        neutron_dir = os.path.join(d, 'neutron-standin')
        os.makedirs(neutron_dir, exist_ok=True)
        wsgi.serve(ledger, 'neutron-standin',
                   'sandbox.cloud.wsgi_apps:neutron_standin()',
                   ports['neutron'], neutron_dir, threads=2)
        wsgi.wait_http(url['keystone'] + '/v3', deadline,
                       lambda: ledger.check('keystone'))
        endpoints = {
            'image': ('glance', url['glance']),
            'placement': ('placement', url['placement']),
            'compute': ('nova', url['nova_api'] + '/v2.1'),
            'network': ('neutron', url['neutron']),
        }
        keystone.register(settings['auth_url'], endpoints)
        for service in ('nova-conductor', 'nova-scheduler'):
            sub = os.path.join(nova_dir, service)
            ledger.spawn(service, [os.path.join(bindir, service),
                                   '--config-file', confs[service]],
                         os.path.join(sub, 'stdout.log'), confs[service],
                         log=os.path.join(sub, service + '.log'))
        for name, path in (('placement', '/'), ('nova_api', '/'),
                           ('neutron', '/')):
            key = {'nova_api': 'nova-api', 'neutron': 'neutron-standin',
                   'placement': 'placement-api'}[name]
            wsgi.wait_http(url[name] + path, deadline,
                           lambda k=key: ledger.check(k))
        self._step('control plane serving', t, log)

        t = time.time()
        plan = computes.hosts(d, users)
        for host in plan:
            computes.start_libvirtd(ledger, ceph, host)
        conn = self.connection()

        def check_all():
            for entry in ledger.entries:
                if entry['kind'] in ('process', 'libvirtd', 'glance'):
                    ledger.check(entry['name'], entry.get('log'))
        computes.wait_services(conn, ('nova-conductor', 'nova-scheduler'),
                               deadline, check_all)
        for host in plan:
            computes.start_compute(ledger, settings, host)
        self.state['hosts'] = plan
        self._save()
        computes.wait_hypervisors(
            conn, [h['name'] for h in plan], deadline, check_all, log,
            discover=lambda: nova_manage('cell_v2', 'discover_hosts'))
        self._step('two computes up', t, log)

        t = time.time()
        conn.compute.create_flavor(name=FLAVOR['name'], id=FLAVOR['id'],
                                   ram=FLAVOR['ram'], vcpus=FLAVOR['vcpus'],
                                   disk=FLAVOR['disk'], is_public=True)
        image = conn.image.create_image(
            name=IMAGE_NAME, filename=image_path, disk_format='raw',
            container_format='bare', visibility='public', wait=True,
            timeout=max(10, deadline - time.time()))
        conn.close()
        self.state['image_id'] = image.id
        self._step('image uploaded, flavor created', t, log)
        self.state['ready_seconds'] = round(
            time.time() - self.state['started_at'], 1)
        self._save()
        del glance  # recorded in the ledger

    def stop(self, remove=True, log=None):
        """Stop every recorded process; remove the folder.

        Tier by tier, newest tier first (computes, their libvirtds, the
        services, then the database, bus and cluster), the processes of
        one tier in parallel.
        """
        ledger = ledger_mod.Ledger(self.directory)

        def stop_one(entry):
            started = time.time()
            try:
                _stop_entry(entry)
            except Exception as exc:  # keep stopping the others
                print('warning: stopping %s: %s' % (entry['name'], exc),
                      file=sys.stderr)
            ledger.remove(entry['name'])
            (log or _quiet)('stopped %-20s %5.1f s' % (
                entry['name'], time.time() - started))

        tiers = {}
        for entry in ledger.entries:
            tiers.setdefault(_tier(entry), []).append(entry)
        for tier in sorted(tiers):
            with concurrent.futures.ThreadPoolExecutor(
                    len(tiers[tier])) as pool:
                list(pool.map(stop_one, reversed(tiers[tier])))
        if remove:
            shutil.rmtree(self.directory, ignore_errors=True)

    def kill_compute(self, name):
        """SIGKILL one host's nova-rbd-compute, as a failed host's.

        Its libvirtd and guests keep running (a hung host); the guests'
        Ceph clients are then what fencing must cut off.
        """
        ledger = ledger_mod.Ledger(self.directory)
        entry = ledger.get('compute-' + name)
        if entry and procs.is_ours(entry['pid'], entry['marker']):
            os.kill(entry['pid'], signal.SIGKILL)
            deadline = time.time() + 10
            while (procs.is_ours(entry['pid'], entry['marker']) and
                   time.time() < deadline):
                time.sleep(0.05)
        ledger.remove('compute-' + name)

    def start_compute(self, name):
        """Start one host's nova-rbd-compute again (after kill_compute)."""
        host = [h for h in self.hosts if h['name'] == name][0]
        computes.start_compute(ledger_mod.Ledger(self.directory),
                               self.state['settings'], host)

    def status(self):
        ledger = ledger_mod.Ledger(self.directory)
        parts = {}
        for entry in ledger.entries:
            if entry['kind'] == 'ceph':
                try:
                    daemons = self.ceph.status()['daemons']
                    parts['ceph'] = all(daemons.values())
                except SandboxError:
                    parts['ceph'] = False
            else:
                parts[entry['name']] = procs.is_ours(entry['pid'],
                                                     entry['marker'])
        return {'directory': self.directory, 'parts': parts,
                'auth_url': self.state.get('auth_url'),
                'image_id': self.image_id,
                'timings': self.state.get('timings', {}),
                'ready_seconds': self.state.get('ready_seconds')}


def _tier(entry):
    """Stopping order: 0 first."""
    if entry['name'].startswith('compute-'):
        return 0
    if entry['kind'] == 'libvirtd':
        return 1
    if entry['name'] in ('postgres', 'rabbitmq'):
        return 3
    if entry['name'] in ('epmd', 'ceph'):
        return 4
    return 2


def _stop_entry(entry):
    kind = entry['kind']
    if kind == 'ceph':
        try:
            ceph_sandbox.CephSandbox.attach(entry['marker']).stop()
        except SandboxError:
            pass
    elif kind == 'libvirtd':
        loggers = _virtlogd_pids(entry['marker'])
        libvirtd.LibvirtSandbox(entry['marker'], entry['host_uuid'],
                                entry['pid']).stop()
        for pid in loggers:
            _terminate_virtlogd(pid, entry['marker'])
    elif kind == 'glance':
        glance_sandbox.GlanceSandbox(entry['marker'], entry['port'],
                                     entry['pid']).stop()
    else:
        procs.terminate(entry['pid'], entry['marker'])


def _virtlogd_pids(libvirt_dir):
    """virtlogd daemons the session libvirtd in ``libvirt_dir`` started.

    libvirtd starts one on demand, with a command line that names no
    folder; it inherits the daemon's XDG_RUNTIME_DIR, which does.
    """
    return [int(p) for p in os.listdir('/proc')
            if p.isdigit() and _is_virtlogd_of(int(p), libvirt_dir)]


def _is_virtlogd_of(pid, libvirt_dir):
    wanted = ('XDG_RUNTIME_DIR=%s/run' % libvirt_dir).encode()
    try:
        with open('/proc/%d/environ' % pid, 'rb') as f:
            environ = f.read().split(b'\0')
    except OSError:
        return False
    return (procs.cmdline(pid)[:1] == ['/usr/sbin/virtlogd'] and
            wanted in environ)


def _terminate_virtlogd(pid, libvirt_dir):
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 2.0)):
        if not _is_virtlogd_of(pid, libvirt_dir):
            return
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.time() + wait
        while time.time() < deadline and _is_virtlogd_of(pid, libvirt_dir):
            time.sleep(0.05)


def _quiet(message):
    pass
