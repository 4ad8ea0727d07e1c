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
"""A clone-and-grow cut short at its rename or its grow, then retried.

The states are made exactly as a killed process leaves them: librbd's
rename writes the new name's id object, then the directory entry, then
removes the old id object; a resize holds the exclusive lock until the
image is closed.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid

import pytest
import rbd

from nova_rbd_imagebackend.ceph import client as ceph_client
from nova_rbd_imagebackend.ceph import writers
from nova_rbd_imagebackend.disks import audit
from nova_rbd_imagebackend.disks import clones
from nova_rbd_imagebackend.disks import locations

MiB = 1024 ** 2
TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


@pytest.fixture
def env(ceph_sandbox, connect_as, tmp_path):
    admin = connect_as('admin')
    images, vms = admin.open_ioctx('images'), admin.open_ioctx('vms')
    parent = 'clone-parent-%s' % uuid.uuid4()
    rbd.RBD().create(images, parent, 8 * MiB)
    with rbd.Image(images, parent) as image:
        image.write(b'parent', 0)
        image.create_snap('snap')
        image.protect_snap('snap')
    client = ceph_client.CephClient(ceph_sandbox.conf_path, 'nova', 5, 20, 4)
    disk = '%s_disk' % uuid.uuid4()
    env = type('Env', (), {})()
    env.client, env.vms, env.disk, env.part = client, vms, disk, disk + '.part'
    env.parent = ('images', parent, 'snap')
    url = locations.format_url(ceph_sandbox.fsid, 'images', parent, 'snap')
    env.meta = {'disk_format': 'raw', 'locations': [{'url': url}]}
    env.instances = str(tmp_path)
    env.conf_path = ceph_sandbox.conf_path
    yield env
    for name in (disk, disk + '.part'):
        client.remove('vms', name)
    client.close()
    with rbd.Image(images, parent) as image:
        image.unprotect_snap('snap')
        image.remove_snap('snap')
    rbd.RBD().remove(images, parent)
    vms.close()
    images.close()


def leftovers(env):
    return [f for f in audit.find(env.client, 'vms', env.instances, 0)
            if env.disk in f.where]


def retry(env, size=16 * MiB):
    """What Nova does again: clone unless the disk exists, then grow."""
    if not env.client.exists('vms', env.disk):
        clones.clone(env.client, 'img', env.meta, 'vms', env.disk)
    env.client.grow('vms', env.disk, size)


def assert_whole(env, size=16 * MiB):
    assert env.client.list_prefix('vms', env.disk) == [env.disk]
    assert env.client.parent('vms', env.disk) == env.parent
    assert env.client.size('vms', env.disk) == size
    assert env.client.read('vms', env.disk, 0, 6) == b'parent'


def rename_cut_after_the_id_object(env):
    env.client.clone(*env.parent, 'vms', env.part)
    env.vms.write_full('rbd_id.' + env.disk,
                       env.vms.read('rbd_id.' + env.part))


@pytest.mark.parametrize('audit_first', [False, True])
def test_a_rename_cut_short_is_not_taken_for_the_disk(env, audit_first):
    rename_cut_after_the_id_object(env)
    # The disk's name opens the .part image, but the pool lists no disk.
    assert env.client.exists('vms', env.part)
    assert not env.client.exists('vms', env.disk)
    assert [f.kind for f in leftovers(env)] == ['partial']
    if audit_first:
        audit.purge(env.client, leftovers(env))
    retry(env)
    audit.purge(env.client, leftovers(env))
    assert leftovers(env) == []
    assert_whole(env)


def test_a_rename_cut_before_the_old_id_object_went(env):
    env.client.clone(*env.parent, 'vms', env.part)
    stray = env.vms.read('rbd_id.' + env.part)
    rbd.RBD().rename(env.vms, env.part, env.disk)
    env.vms.write_full('rbd_id.' + env.part, stray)
    assert not env.client.exists('vms', env.part)
    retry(env)
    assert leftovers(env) == []
    # librbd alone would remove the disk through the stray id object.
    assert env.client.remove('vms', env.part) is False
    assert_whole(env)
    # And the name is free again for the next build of that disk.
    env.vms.write_full('rbd_id.' + env.part, stray)
    env.client.remove('vms', env.disk)
    retry(env)
    assert_whole(env)


HOLD = textwrap.dedent('''
    import sys, time
    import rbd
    from nova_rbd_imagebackend.ceph import client as ceph_client

    class Held(rbd.Image):
        def __exit__(self, *exc):
            if self.is_exclusive_lock_owner():
                print('held', flush=True)
                time.sleep(600)
            return super().__exit__(*exc)

    rbd.Image = Held
    conf, name, size = sys.argv[1:]
    ceph_client.CephClient(conf, 'nova', 5, 20, 2).grow('vms', name,
                                                        int(size))
''')


def test_a_grow_killed_holding_the_lock_is_taken_over(env):
    clones.clone(env.client, 'img', env.meta, 'vms', env.disk)
    child = subprocess.Popen(
        [sys.executable, '-c', HOLD, env.conf_path, env.disk,
         str(12 * MiB)], cwd=TOP, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == 'held'
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    record = writers.writer(env.client, 'vms', env.disk)
    assert record['op'] == 'grow' and record['pid'] == child.pid
    assert env.client.watchers('vms', env.disk) == [record['addr']]

    started = time.monotonic()
    retry(env)
    took = time.monotonic() - started
    print('grow after a killed grow: %.2f s' % took)
    # Not the ~30 s librbd waits for a dead owner's watch to expire.
    assert took < 10
    assert writers.writer(env.client, 'vms', env.disk) is None
    assert_whole(env)
