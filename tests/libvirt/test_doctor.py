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
"""nova-rbd-imagebackend doctor on a good host and on broken ones."""

import json
import os
import subprocess
import sys

from sandbox import cephx
from sandbox import controlplane
from tests.hostconf import private_copy

DOCTOR = os.path.join(os.path.dirname(sys.executable),
                      'nova-rbd-imagebackend')


def nova_conf(tmp_path, ceph_conf, uri, **libvirt):
    options = {'images_type': 'rbd', 'images_rbd_pool': 'vms',
               'images_rbd_ceph_conf': ceph_conf, 'rbd_user': 'nova',
               'rbd_secret_uuid': controlplane.SECRET_UUID,
               'rbd_connect_timeout': 3, 'connection_uri': uri}
    options.update(libvirt)
    path = tmp_path / 'nova.conf'
    path.write_text('[libvirt]\n' + ''.join(
        '%s = %s\n' % item for item in options.items()) +
        '[rbd_imagebackend]\nop_timeout = 3\n')
    return str(path)


def doctor(conf_path):
    result = subprocess.run([DOCTOR, '--config-file', conf_path, 'doctor',
                             '--format', 'json'], capture_output=True,
                            text=True, timeout=120, stdin=subprocess.DEVNULL)
    checks = {r['check']: r for r in json.loads(result.stdout)}
    return result.returncode, checks


def test_a_good_host_passes_every_check(tmp_path, ceph_sandbox,
                                        libvirt_hosts):
    rc, checks = doctor(nova_conf(tmp_path, ceph_sandbox.conf_path,
                                  libvirt_hosts[0].uri))
    assert {c['status'] for c in checks.values()} == {'ok'}, checks
    assert rc == 0
    assert set(checks) >= {
        'ceph.conf', 'keyring', 'connect', 'pool vms', 'pool images',
        'clone v2', 'write vms', 'snapshot into images',
        'clone images -> vms', 'monitors', 'libvirt secret'}


def test_world_readable_keyring_fails(tmp_path, ceph_sandbox,
                                      libvirt_hosts):
    conf, keyring = private_copy(tmp_path, ceph_sandbox, 'nova', 0o644)
    rc, checks = doctor(nova_conf(tmp_path, conf, libvirt_hosts[0].uri))
    assert rc == 1
    assert checks['keyring']['status'] == 'fail'
    assert checks['keyring']['fix'] == 'chmod 0640 %s' % keyring


def test_missing_pool_fails(tmp_path, ceph_sandbox, libvirt_hosts):
    rc, checks = doctor(nova_conf(tmp_path, ceph_sandbox.conf_path,
                                  libvirt_hosts[0].uri,
                                  images_rbd_pool='nosuchpool'))
    assert rc == 1
    assert checks['pool nosuchpool']['status'] == 'fail'
    assert 'ceph osd pool create nosuchpool' in checks[
        'pool nosuchpool']['fix']


def test_read_only_images_pool_fails_the_snapshot_check(
        tmp_path, ceph_sandbox, libvirt_hosts):
    with ceph_sandbox.admin() as admin:
        keyring = admin.create_user('client.readonly', {
            'mon': 'profile rbd',
            'osd': 'profile rbd pool=vms, profile rbd-read-only pool=images'})
    cephx.write_private(ceph_sandbox.keyring_path('client.readonly'),
                        keyring)
    rc, checks = doctor(nova_conf(tmp_path, ceph_sandbox.conf_path,
                                  libvirt_hosts[0].uri, rbd_user='readonly'))
    assert rc == 1
    assert checks['write vms']['status'] == 'ok'
    assert checks['snapshot into images']['status'] == 'fail'
    assert 'profile rbd pool=images' in checks['snapshot into images'][
        'fix']
    # and its secret holds client.nova's key, not client.readonly's
    assert checks['libvirt secret']['status'] == 'fail'


def test_wrong_secret_value_fails(tmp_path, ceph_sandbox, libvirt_hosts):
    other = 'c0ffee00-0000-4000-8000-00000000c0de'
    libvirt_hosts[0].define_ceph_secret(other, 'client.nova2',
                                        ceph_sandbox.key('client.nova2'))
    rc, checks = doctor(nova_conf(tmp_path, ceph_sandbox.conf_path,
                                  libvirt_hosts[0].uri,
                                  rbd_secret_uuid=other))
    assert rc == 1
    assert checks['libvirt secret']['status'] == 'fail'
    assert 'does not hold the key of client.nova' in checks[
        'libvirt secret']['detail']


def test_stopped_cluster_fails_to_connect(tmp_path, ceph_sandbox,
                                          libvirt_hosts):
    conf, _keyring = private_copy(tmp_path, ceph_sandbox, 'nova')
    port = ceph_sandbox.mon_addrs[0][1]
    text = open(conf).read().replace('127.0.0.1:%d' % port, '127.0.0.1:9')
    open(conf, 'w').write(text)
    rc, checks = doctor(nova_conf(tmp_path, conf, libvirt_hosts[0].uri))
    assert rc == 1
    assert checks['connect']['status'] == 'fail'
    assert 'Cannot reach the Ceph cluster' in checks['connect']['detail']
    assert 'write vms' not in checks
