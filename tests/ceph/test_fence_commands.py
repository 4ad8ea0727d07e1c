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
"""Fencing by hand and its verdicts, against the real cluster.

``nova-rbd-imagebackend fence`` / ``fence-status`` run as operators run
them; a compute user without blocklist caps shows what evacuations then
do under each ``evacuate_fencing`` choice, and what doctor says.
"""

import json
import os
import subprocess
import sys
import types
import uuid

import pytest
import rbd

from nova_rbd_imagebackend.ceph import client as ceph_client
from nova_rbd_imagebackend.checks import caps
from nova_rbd_imagebackend.checks import results
from nova_rbd_imagebackend.disks import fencing
from nova_rbd_imagebackend import exceptions
from tests.ceph import test_launcher

MANAGE = os.path.join(os.path.dirname(sys.executable),
                      'nova-rbd-imagebackend')


def manage(conf, *args):
    return subprocess.run([MANAGE, '--config-file', conf] + list(args),
                          capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


@pytest.fixture
def watched_disk(ceph_sandbox, connect_as):
    """(instance uuid, watcher address): a disk a frozen QEMU holds."""
    instance = str(uuid.uuid4())
    name = instance + '_disk'
    admin = connect_as('admin')
    with admin.open_ioctx('vms') as ioctx:
        rbd.RBD().create(ioctx, name, 4 * 1024 ** 2)
    old_host = connect_as('nova2')
    ioctx = old_host.open_ioctx('vms')
    image = rbd.Image(ioctx, name)
    image.write(b'old-host', 0)  # takes the exclusive lock too
    (addr,) = [w['addr'] for w in image.watchers_list()]
    yield instance, addr
    admin.mon_command(json.dumps({'prefix': 'osd blocklist',
                                  'blocklistop': 'rm', 'addr': addr}), b'')
    with admin.open_ioctx('vms') as admin_ioctx:
        try:
            rbd.RBD().remove(admin_ioctx, name)
        except rbd.ImageBusy:
            pass  # the blocklisted watch lapses; the audit finds it


def test_fence_and_fence_status_of_an_instance(tmp_path, ceph_sandbox,
                                               watched_disk):
    instance, addr = watched_disk
    conf = test_launcher.write_conf(tmp_path / 'nova.conf',
                                    ceph_sandbox.conf_path)
    before = manage(conf, 'fence-status', '--instance', instance)
    assert before.returncode == 1, before.stderr
    assert '%s_disk  %s  NOT fenced' % (instance, addr) in before.stdout

    fenced = manage(conf, 'fence', '--instance', instance,
                    '--format', 'json')
    assert fenced.returncode == 0, fenced.stderr
    assert json.loads(fenced.stdout) == {instance + '_disk': [addr]}

    after = manage(conf, 'fence-status', '--instance', instance)
    assert after.returncode == 0, after.stdout + after.stderr
    if after.stdout.strip() != 'no client uses %s' % instance:
        assert '%s  fenced' % addr in after.stdout  # watch not lapsed yet


def test_fence_status_of_a_host(tmp_path, ceph_sandbox, watched_disk):
    instance, addr = watched_disk
    conf = test_launcher.write_conf(tmp_path / 'nova.conf',
                                    ceph_sandbox.conf_path)
    status = manage(conf, 'fence-status', '--host',
                    fencing.host_of(addr), '--format', 'json')
    assert status.returncode == 1
    assert json.loads(status.stdout)[instance + '_disk'] == {addr: False}
    nobody = manage(conf, 'fence', '--host', '192.0.2.9')
    assert (nobody.returncode, nobody.stdout.strip()) == (
        0, 'no client uses 192.0.2.9')


@pytest.fixture
def no_blocklist_caps(ceph_sandbox, connect_as):
    """A compute user whose mon caps do not allow 'osd blocklist'."""
    admin = connect_as('admin')
    entity = 'client.nofence'
    ret, out, err = admin.mon_command(json.dumps({
        'prefix': 'auth get-or-create', 'entity': entity,
        'caps': ['mon', 'allow r', 'osd', 'profile rbd pool=vms']}), b'')
    assert ret == 0, err
    ret, out, err = admin.mon_command(json.dumps({
        'prefix': 'auth get', 'entity': entity}), b'')
    path = ceph_sandbox.keyring_path(entity)
    with open(path, 'wb') as f:
        f.write(out)
    os.chmod(path, 0o600)
    yield ceph_client.CephClient(ceph_sandbox.conf_path, 'nofence', 5, 10, 4)
    admin.mon_command(json.dumps({'prefix': 'auth rm',
                                  'entity': entity}), b'')
    os.unlink(path)


def test_without_caps_an_evacuation_is_refused_or_warned(
        watched_disk, no_blocklist_caps):
    instance, addr = watched_disk
    target = types.SimpleNamespace(uuid=instance)
    with pytest.raises(exceptions.FencingFailed) as refused:
        fencing.fence_instance(no_blocklist_caps, 'vms', target)
    assert 'may not blocklist' in str(refused.value)
    assert 'nova-rbd-imagebackend fence --instance %s' % instance in \
        str(refused.value)
    assert fencing.fence_instance(no_blocklist_caps, 'vms', target,
                                  required=False) == {}
    # Listing is allowed ("osd r"); nothing was blocklisted.
    assert addr not in no_blocklist_caps.blocklisted()


@pytest.mark.parametrize('choice,status', [
    ('required', results.FAIL), ('best-effort', results.WARN)])
def test_doctor_checks_fencing_caps(no_blocklist_caps, choice, status):
    host = types.SimpleNamespace(
        client=no_blocklist_caps, entity='client.nofence',
        conf=types.SimpleNamespace(rbd_imagebackend=types.SimpleNamespace(
            evacuate_fencing=choice)))
    found = caps.fencing(host)
    assert (found.status, found.detail) == (status, 'permission denied')
    assert "mon 'profile rbd'" in found.fix


def test_doctor_fencing_check_passes_with_profile_rbd(ceph_sandbox):
    host = types.SimpleNamespace(
        client=ceph_client.CephClient(ceph_sandbox.conf_path, 'nova', 5,
                                      10, 4),
        entity='client.nova',
        conf=types.SimpleNamespace(rbd_imagebackend=types.SimpleNamespace(
            evacuate_fencing='required')))
    assert caps.fencing(host).status == results.OK
