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
"""No cephx key on any command line or in any log the real parts write."""

import glob
import os

from sandbox import cephx
from sandbox import procs
from tests.libvirt.test_real_libvirt import guest_io
from tests.libvirt.test_real_libvirt import LibvirtCase


class SecretsTest(LibvirtCase):

    def _keys(self):
        keys = {}
        for path in glob.glob(os.path.join(self.ceph.directory, '**',
                                           '*keyring'), recursive=True):
            keys[path] = cephx.key_from_keyring(path)
        self.assertGreaterEqual(len(keys), 7)  # 4 users, mon, mgr, osd
        return keys

    def test_keys_appear_on_no_command_line_and_in_no_log(self):
        dom, _took = self._start_on(self.hosts[0])
        self.assertIn('read', guest_io(self.hosts[0], dom, 'read 0 512'))
        keys = self._keys()

        folders = [self.ceph.directory, self.glance_service.directory] + [
            host.directory for host in self.hosts]
        pids = set()
        for folder in folders:
            pids.update(procs.find(folder))
        # Ceph's three daemons, gunicorn's two, two libvirtds, one QEMU.
        self.assertGreaterEqual(len(pids), 8)
        self.assertTrue(self.hosts[0].qemu_pids())
        for pid in pids:
            line = ' '.join(procs.cmdline(pid))
            for path, key in keys.items():
                self.assertNotIn(key, line, 'key of %s on the command line '
                                 'of pid %d' % (path, pid))

        logs = []
        for folder in folders:
            for path in glob.glob(os.path.join(folder, '**', '*'),
                                  recursive=True):
                # Key stores are meant to hold keys: keyrings, the
                # monitor's and OSD's stores, libvirt's secret store.
                if os.path.isfile(path) and not path.endswith(
                        ('keyring', '.sqlite', '.block')) and not any(
                        part in path for part in (
                            '/osd.0/', '/mon.a/', '/libvirt/secrets/')):
                    logs.append(path)
        nova_log = self.stdlog.logger.output
        self.assertIn('nova_rbd_imagebackend', nova_log)
        self.assertTrue(any(p.endswith('.log') for p in logs))
        for path in logs:
            with open(path, errors='replace') as f:
                text = f.read()
            for key in keys.values():
                self.assertNotIn(key, text, 'a key in %s' % path)
        for key in keys.values():
            self.assertNotIn(key, nova_log)
