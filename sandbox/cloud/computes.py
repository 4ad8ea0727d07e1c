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

"""The two compute hosts: a libvirtd and a nova-rbd-compute each.

Each host has its own session-mode libvirtd (sandbox/libvirtd.py) in a
UTS namespace named after the host, with its own host UUID and the ceph
secret of that host's cephx user, and its own nova-rbd-compute (the
project's launcher: Nova's compute service with Nova's real libvirt
driver and the plugin) with its own ``host``, ``state_path`` and config
file.  Both share one ``instances_path``, so Nova sees shared instance
storage and the console log paths stay valid across a live migration.

Live migration between session daemons: Nova connects to
``qemu+unix:///session?socket=<dir>/lm/<addr>/...`` where ``<addr>`` is
the destination's ``live_migration_inbound_addr`` (127.0.0.11,
127.0.0.12) and ``<dir>/lm/<addr>`` links to that host's daemon folder;
QEMU's migration stream goes to that loopback address.
"""

import os
import sys
import time

from sandbox.cloud import ini
from sandbox.cloud import nova_conf
from sandbox import libvirtd

# The first is the one the rest of the sandbox uses (controlplane.py).
SECRETS = {'nova': 'b5b5b5b5-0000-4000-8000-000000000001',
           'nova2': 'b5b5b5b5-0000-4000-8000-000000000002'}


def hosts(directory, users=('nova', 'nova2')):
    """The plan of both hosts (names, folders, addresses, users)."""
    out = []
    for index, user in enumerate(users, 1):
        name = 'compute%d' % index
        base = os.path.join(directory, 'computes', name)
        out.append({
            'name': name,
            'index': index,
            'host_uuid': '%d0000000-0000-4000-8000-00000000000%d' % (
                index, index),
            'libvirt_dir': os.path.join(directory, 'h%d' % index),
            'base': base,
            'conf': os.path.join(base, 'nova.conf'),
            'log': os.path.join(base, 'nova-compute.log'),
            'state_path': os.path.join(base, 'state'),
            'inbound_addr': '127.0.0.%d' % (10 + index),
            'rbd_user': user,
            'secret_uuid': SECRETS[user],
        })
    return out


def live_migration_uri(directory):
    return ('qemu+unix:///session?socket=%s/lm/%%s/run/libvirt/'
            'libvirt-sock' % directory)


def start_libvirtd(ledger, ceph, host):
    """Start the host's libvirtd and define its ceph secret."""
    box = libvirtd.LibvirtSandbox.start(
        host['host_uuid'], host['libvirt_dir'], hostname=host['name'])
    ledger.add('libvirtd-' + host['name'], box.pid, box.directory,
               kind='libvirtd', host_uuid=host['host_uuid'])
    box.define_ceph_secret(host['secret_uuid'], 'client.' + host['rbd_user'],
                           ceph.key('client.' + host['rbd_user']))
    host['uri'] = box.uri
    lm = os.path.join(os.path.dirname(host['libvirt_dir']), 'lm')
    os.makedirs(lm, exist_ok=True)
    link = os.path.join(lm, host['inbound_addr'])
    if not os.path.islink(link):
        os.symlink(host['libvirt_dir'], link)
    return box


def path_without(directory, names=('ceph', 'rbd')):
    """A PATH on which the Ceph command line tools cannot be found.

    Links to every other program of /usr/bin and /usr/sbin, as on a
    compute host installed without ceph-common.
    """
    parts = []
    for source in ('/usr/sbin', '/usr/bin'):
        target = os.path.join(directory, 'path-without-ceph',
                              source.strip('/').replace('/', '-'))
        os.makedirs(target, exist_ok=True)
        for name in os.listdir(source):
            if name not in names and not os.path.lexists(
                    os.path.join(target, name)):
                os.symlink(os.path.join(source, name),
                           os.path.join(target, name))
        parts.append(target)
    return ':'.join([os.path.dirname(sys.executable)] + parts)


def start_compute(ledger, settings, host):
    """Write the host's nova.conf and start nova-rbd-compute.

    With ``settings['ceph_cli']`` false the compute runs with a PATH on
    which no ``ceph`` or ``rbd`` command is found.
    """
    os.makedirs(host['state_path'], exist_ok=True)
    ini.write(host['conf'], nova_conf.compute(settings, host, host['log']))
    launcher = os.path.join(os.path.dirname(sys.executable),
                            'nova-rbd-compute')
    # Nova creates the instance folders; the unprivileged libvirtd must
    # write the console log into them.
    argv = ['sh', '-c', 'umask 000 && exec "$0" "$@"', launcher,
            '--config-file', host['conf']]
    env = dict(os.environ)
    if not settings.get('ceph_cli', True):
        env['PATH'] = path_without(settings['dir'])
    return ledger.spawn('compute-' + host['name'], argv,
                        os.path.join(host['base'], 'stdout.log'),
                        host['conf'], env=env, log=host['log'])


def wait_services(conn, binaries, deadline, check):
    """Wait until each binary has a service that is up.

    The computes start only once the conductor listens: a compute's
    first call to a conductor that has not declared its queue yet is
    lost, and the compute waits out the whole RPC timeout (60 s).
    """
    while True:
        check()
        up = {s.binary for s in conn.compute.services()
              if s.state == 'up'}
        if set(binaries) <= up:
            return
        if time.time() > deadline:
            raise TimeoutError('services up: %s' % sorted(up))
        time.sleep(0.5)


def wait_hypervisors(conn, names, deadline, check, log=None,
                     discover=None):
    """Wait until Nova lists an up compute service and hypervisor each.

    The API lists a hypervisor only once its host is mapped to a cell;
    ``discover`` (``nova-manage cell_v2 discover_hosts``) is called once
    as soon as every compute service is up, instead of waiting for the
    scheduler's periodic discovery.
    """
    seen = None
    while True:
        check()
        up = {s.host for s in conn.compute.services(binary='nova-compute')
              if s.state == 'up' and s.status == 'enabled'}
        hyps = {h.name for h in conn.compute.hypervisors()}
        if log and (up, hyps) != seen:
            log('  compute services up: %s; hypervisors: %s'
                % (sorted(up), sorted(hyps)))
            seen = (up, hyps)
        if set(names) <= up and len(hyps) >= len(names):
            return
        if set(names) <= up and discover is not None:
            discover()
            discover = None
            continue
        if time.time() > deadline:
            raise TimeoutError('compute services up: %s, hypervisors: %s'
                               % (sorted(up), sorted(hyps)))
        time.sleep(1)
