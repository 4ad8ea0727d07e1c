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

"""An isolated libvirtd (session mode) standing for one hypervisor host.

The daemon runs as the unprivileged uid 65534 with every XDG folder under
one directory, so it touches nothing of the machine's own libvirt (no
/etc, /run or /var writes) and needs no systemd.  Its QEMU guests run
under TCG unless that uid can use /dev/kvm.  Two such daemons with
different host UUIDs live-migrate guests between each other like two
hosts.  ``stop`` destroys its guests, ends the daemon by pid and ends any
QEMU it left, found by the folder in its command line.
"""

import base64
import contextlib
import os
import shutil
import tempfile
import time

import libvirt

from sandbox import procs
from sandbox import SandboxError

UID = 65534
XDG = ('home', 'run', 'config', 'cache', 'data')


class LibvirtSandbox(object):
    """libvirtd serving ``self.uri`` from ``self.directory``."""

    def __init__(self, directory, host_uuid, pid):
        self.directory = directory
        self.host_uuid = host_uuid
        self.pid = pid
        self.socket = os.path.join(directory, 'run', 'libvirt',
                                   'libvirt-sock')
        self.uri = 'qemu+unix:///session?socket=%s' % self.socket

    @classmethod
    def start(cls, host_uuid, directory=None, timeout=30, hostname=None):
        """Start the daemon; ``hostname`` gives it a UTS namespace of its own.

        Nova's libvirt driver takes its node name from the daemon's host
        name: two "hosts" on one machine need two names.
        """
        # The unprivileged daemon must be able to reach its folder: one
        # directly under /tmp, not inside a root-only pytest folder.
        directory = directory or tempfile.mkdtemp(prefix='nova-rbd-libvirt-')
        os.makedirs(directory, exist_ok=True)
        os.chmod(directory, 0o755)
        for sub in XDG:
            os.makedirs(os.path.join(directory, sub), exist_ok=True)
        os.makedirs(os.path.join(directory, 'config', 'libvirt'),
                    exist_ok=True)
        conf = os.path.join(directory, 'config', 'libvirt', 'libvirtd.conf')
        with open(conf, 'w') as f:
            f.write('host_uuid = "%s"\n' % host_uuid)
            f.write('log_outputs = "2:file:%s/libvirtd.log"\n' % directory)
        for root, dirs, files in os.walk(directory):
            for name in dirs + files:
                os.chown(os.path.join(root, name), UID, UID)
        os.chown(directory, UID, UID)
        env = {'PATH': '/usr/sbin:/usr/bin:/sbin:/bin',
               'HOME': os.path.join(directory, 'home'),
               'XDG_RUNTIME_DIR': os.path.join(directory, 'run'),
               'XDG_CONFIG_HOME': os.path.join(directory, 'config'),
               'XDG_CACHE_HOME': os.path.join(directory, 'cache'),
               'XDG_DATA_HOME': os.path.join(directory, 'data')}
        argv = ['setpriv', '--reuid=%d' % UID, '--regid=%d' % UID,
                '--clear-groups', '--inh-caps=-all', 'libvirtd',
                '--config', conf]
        if hostname:
            argv = ['unshare', '--uts', 'sh', '-c',
                    'hostname "$0" && exec "$@"', hostname] + argv
        pid = procs.spawn(argv, os.path.join(directory, 'libvirtd.out'),
                          env=env)
        box = cls(directory, host_uuid, pid)
        try:
            box._wait_ready(time.monotonic() + timeout)
        except BaseException:
            box.stop()
            raise
        return box

    def _wait_ready(self, deadline):
        while True:
            if os.path.exists(self.socket):
                try:
                    conn = libvirt.open(self.uri)
                    conn.close()
                    return
                except libvirt.libvirtError:
                    pass
            if not procs.is_ours(self.pid, self.directory):
                raise SandboxError('libvirtd died:\n%s' % self._log_tail())
            if time.monotonic() > deadline:
                raise SandboxError('libvirtd not ready at %s' % self.uri)
            time.sleep(0.1)

    def _log_tail(self, lines=15):
        # The folder goes with the failed start: keep the reason.
        text = []
        for name in ('libvirtd.out', 'libvirtd.log'):
            try:
                with open(os.path.join(self.directory, name),
                          errors='replace') as f:
                    text += f.read().splitlines()[-lines:]
            except FileNotFoundError:
                pass
        return '\n'.join(text) or '(no log)'

    def connect(self):
        return libvirt.open(self.uri)

    def define_ceph_secret(self, secret_uuid, entity, key):
        """Define the ceph secret holding ``key`` (base64, as in keyrings).

        The key goes through the libvirt API, never a command line.
        """
        conn = self.connect()
        try:
            secret = conn.secretDefineXML(
                "<secret ephemeral='no' private='no'><uuid>%s</uuid>"
                "<usage type='ceph'><name>%s secret</name></usage></secret>"
                % (secret_uuid, entity))
            secret.setValue(base64.b64decode(key))
        finally:
            conn.close()

    @staticmethod
    def remove_domain(conn, name):
        """Stop and undefine domain ``name`` if it exists."""
        with contextlib.suppress(libvirt.libvirtError):
            dom = conn.lookupByName(name)
            if dom.isActive():
                dom.destroy()
            dom.undefine()

    def domain_log(self, name):
        """QEMU's log (its stdout and stderr) for domain ``name``."""
        return os.path.join(self.directory, 'cache', 'libvirt', 'qemu',
                            'log', name + '.log')

    def qemu_pids(self):
        """Pids of the QEMU processes this daemon started."""
        return [pid for pid in procs.find(self.directory)
                if pid != self.pid and 'qemu' in ' '.join(procs.cmdline(pid))]

    def stop(self):
        """Destroy the guests, stop the daemon, remove the folder."""
        if self.pid is not None and procs.is_ours(self.pid, self.directory):
            try:
                conn = self.connect()
                for dom in conn.listAllDomains():
                    if dom.isActive():
                        dom.destroy()
                conn.close()
            except libvirt.libvirtError:
                pass
            procs.terminate(self.pid, self.directory)
        for pid in self.qemu_pids():
            procs.terminate(pid, self.directory)
        self.pid = None
        shutil.rmtree(self.directory, ignore_errors=True)
