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
"""The launcher and doctor give one verdict on every broken setup.

Each row is run through the real ``nova-rbd-compute`` and the real
``nova-rbd-imagebackend doctor`` on the same nova.conf: doctor fails, the
launcher refuses, and the launcher's one line is doctor's first failed
check, word for word, with its fix.
"""

import json
import os
import subprocess
import sys
import uuid

import pytest

from tests.ceph import test_launcher
from tests.hostconf import private_copy

DOCTOR = os.path.join(os.path.dirname(sys.executable),
                      'nova-rbd-imagebackend')


def doctor(conf_path, *extra):
    result = subprocess.run([DOCTOR, '--config-file', conf_path, 'doctor',
                             '--format', 'json'] + list(extra),
                            capture_output=True,
                            text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert 'Traceback' not in result.stderr, result.stderr[-2000:]
    return result.returncode, json.loads(result.stdout)


def world_readable_keyring(tmp_path, ceph_sandbox):
    ceph_conf, _keyring = private_copy(tmp_path, ceph_sandbox, 'nova', 0o644)
    return {'images_rbd_ceph_conf': ceph_conf}


ROWS = {
    'images_type qcow2': lambda tmp, box: {'images_type': 'qcow2'},
    'user without secret': lambda tmp, box: {'rbd_secret_uuid': None},
    'keyring mode 0644': world_readable_keyring,
    'missing pool': lambda tmp, box: {'images_rbd_pool': 'nosuchpool'},
    'secret not a uuid': lambda tmp, box: {'rbd_secret_uuid': 'not-a-uuid'},
    'no caps on the pool': lambda tmp, box: {'rbd_user': 'glance'},
}


@pytest.mark.parametrize('row', sorted(ROWS))
def test_launcher_refuses_what_doctor_fails(tmp_path, ceph_sandbox, row):
    libvirt = ROWS[row](tmp_path, ceph_sandbox)
    conf = test_launcher.write_conf(tmp_path / 'nova.conf',
                                    ceph_sandbox.conf_path, **libvirt)
    rc, checks = doctor(conf)
    failed = [c for c in checks if c['status'] == 'fail']
    assert rc == 1 and failed, checks
    result, _took = test_launcher.launch(conf)
    assert result.returncode == 1, result.stderr[-2000:]
    assert 'Traceback' not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith('nova-rbd-compute: refusing to start: ')
    assert '%s (fix: %s)' % (failed[0]['detail'], failed[0]['fix']) in last
    if len(failed) > 1:
        assert '%d more failed checks' % (len(failed) - 1) in last


def test_doctor_reports_the_launchers_own_checks(tmp_path, ceph_sandbox):
    # What only the launcher used to check is in doctor's list too.
    conf = test_launcher.write_conf(tmp_path / 'nova.conf',
                                    ceph_sandbox.conf_path)
    rc, checks = doctor(conf)
    names = [c['check'] for c in checks]
    assert names[:8] == ['nova version', 'nova internals', 'images_type',
                         'images_rbd_pool', 'rbd_user/secret',
                         'force_raw_images', 'ceph.conf', 'keyring']
    assert {'command qemu-img', 'command mkfs', 'fence (osd blocklist)'} \
        <= set(names)
    assert rc == 0, [c for c in checks if c['status'] == 'fail']


def test_no_ceph_conf_anywhere_is_one_line_not_a_traceback(tmp_path,
                                                           ceph_sandbox):
    from nova_rbd_imagebackend.checks import config
    if os.path.exists(config.DEFAULT_CEPH_CONF):
        pytest.skip('this machine has %s' % config.DEFAULT_CEPH_CONF)
    conf = test_launcher.write_conf(tmp_path / 'nova.conf', '')
    rc, checks = doctor(conf)
    first = [c for c in checks if c['status'] == 'fail'][0]
    assert rc == 1
    assert first['check'] == 'ceph.conf'
    result, _took = test_launcher.launch(conf)
    assert result.returncode == 1 and 'Traceback' not in result.stderr
    assert first['detail'] in result.stderr.strip().splitlines()[-1]


def test_doctor_reports_an_instances_storage_policy(tmp_path, ceph_sandbox):
    from nova_rbd_imagebackend.ceph import client as ceph_client
    from nova_rbd_imagebackend.disks import policy
    conf = test_launcher.write_conf(tmp_path / 'nova.conf',
                                    ceph_sandbox.conf_path)
    instance = str(uuid.uuid4())
    made = policy.from_specs({'rbd:object_size': '1M',
                              'rbd:qos_iops_limit': '100'}, {})
    client = ceph_client.CephClient(ceph_sandbox.conf_path, 'nova', 10, 30, 2)
    name = instance + '_disk'
    try:
        client.create('vms', name, 8 * 2 ** 20, layout=made.layout_options())
        client.set_metadata('vms', name, made.metadata())
        rc, checks = doctor(conf, '--instance', instance)
        (disk,) = [c for c in checks if c['check'] == 'disk policy']
        assert disk['status'] == 'ok', disk
        assert 'vms/%s: object_size=1M' % name in disk['detail']
        assert 'QoS: qos_iops_limit=100' in disk['detail']
        assert 'object_size (flavor)' in disk['detail']
        rc, checks = doctor(conf, '--instance', str(uuid.uuid4()))
        (none,) = [c for c in checks if c['check'] == 'disk policy']
        assert none['status'] == 'warn' and 'has no disk' in none['detail']
    finally:
        client.remove('vms', name)
        client.close()
