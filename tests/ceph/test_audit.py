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
"""nova-rbd-imagebackend audit on a pool holding real leftovers.

Each kind of leftover is made as an interrupted operation leaves it, next
to look-alikes that are not leftovers (an import still writing, a disk in
use, someone else's image), and the real command has to tell them apart.
"""

import json
import os
import socket
import subprocess
import sys
import time
import uuid

import pytest
import rados
import rbd

AUDIT = os.path.join(os.path.dirname(sys.executable), 'nova-rbd-imagebackend')
MiB = 1024 ** 2


def audit(conf_path, *extra):
    result = subprocess.run(
        [AUDIT, '--config-file', conf_path, 'audit', '--format', 'json',
         '--older-than', '0'] + list(extra), capture_output=True, text=True,
        timeout=120, stdin=subprocess.DEVNULL)
    assert 'Traceback' not in result.stderr, result.stderr[-2000:]
    return result.returncode, {f['where']: f for f in json.loads(
        result.stdout)}


@pytest.fixture
def nova_conf(ceph_sandbox, tmp_path):
    path = tmp_path / 'nova.conf'
    path.write_text(
        '[DEFAULT]\ninstances_path = %s\n[libvirt]\nimages_type = rbd\n'
        'images_rbd_pool = vms\nimages_rbd_ceph_conf = %s\nrbd_user = nova\n'
        % (tmp_path / 'instances', ceph_sandbox.conf_path))
    (tmp_path / 'instances').mkdir()
    return str(path)


def test_audit_finds_and_purges_exactly_the_leftovers(
        connect_as, nova_conf, tmp_path):
    admin = connect_as('admin')
    vms = admin.open_ioctx('vms')
    images = admin.open_ioctx('images')
    make = lambda name: rbd.RBD().create(vms, name, 4 * MiB)  # noqa: E731
    u = [str(uuid.uuid4()) for _ in range(4)]
    # Leftovers.
    make(u[0] + '_disk.part')                       # a killed import
    make('nova-rbd-doctor-deadbeef')                # a killed doctor
    make(u[1] + '_disk')                            # a killed snapshot's
    with rbd.Image(vms, u[1] + '_disk') as image:   # temporary snapshot
        image.create_snap(uuid.uuid4().hex)
    make(u[2] + '_disk')                            # a disk parked in trash
    rbd.RBD().trash_move(vms, u[2] + '_disk', 0)
    staging = tmp_path / 'instances' / '.rbd-staging-x1'
    staging.mkdir()                                 # a killed download
    # Look-alikes that are not leftovers.
    make(u[3] + '_disk.local.part')                 # an import still going
    writing = rbd.Image(vms, u[3] + '_disk.local.part')
    make(u[3] + '_disk')                            # a disk in use
    make('someone-elses-image')
    parked = str(uuid.uuid4()) + '_disk'            # trashed, but a clone
    make(parked)                                    # still reads from it
    with rbd.Image(vms, parked) as image:
        image.create_snap('s')
    rbd.RBD().clone(vms, parked, 's', images, 'snapshot-' + parked)
    with rbd.Image(vms, parked) as image:
        image.remove_snap('s')                      # trash namespace
    rbd.RBD().trash_move(vms, parked, 0)
    time.sleep(1)  # ages are whole seconds

    try:
        rc, found = audit(nova_conf)
        expected = {
            'vms/%s_disk.part' % u[0]: 'partial',
            'vms/nova-rbd-doctor-deadbeef': 'scratch',
            'vms/%s_disk' % u[2]: 'trash',
            'vms/%s' % parked: 'trash',
            str(staging): 'staging'}
        snapshot = [w for w in found if w.startswith('vms/%s_disk@' % u[1])]
        assert len(snapshot) == 1 and found[snapshot[0]]['kind'] == \
            'snapshot'
        expected[snapshot[0]] = 'snapshot'
        assert rc == 1
        assert {w: f['kind'] for w, f in found.items()} == expected

        rc, purged = audit(nova_conf, '--purge', '--yes')
        outcomes = {w: f['outcome'] for w, f in purged.items()}
        assert outcomes.pop('vms/%s' % parked).startswith('kept')
        assert set(outcomes.values()) == {'removed'}, outcomes

        rc, found = audit(nova_conf)
        assert list(found) == ['vms/%s' % parked]
        assert not staging.exists()
        assert u[3] + '_disk.local.part' in rbd.RBD().list(vms)
    finally:
        writing.close()
        rbd.RBD().remove(images, 'snapshot-' + parked)
        for name in (u[1] + '_disk', u[3] + '_disk', u[3] + '_disk.local.part',
                     'someone-elses-image'):
            with rbd.Image(vms, name) as image:
                for snap in list(image.list_snaps()):
                    image.remove_snap(snap['name'])
            rbd.RBD().remove(vms, name)
    # Once the clone is gone, the parked disk goes too.
    rc, purged = audit(nova_conf, '--purge', '--yes')
    assert purged['vms/%s' % parked]['outcome'] == 'removed'
    vms.close()
    images.close()


def test_purge_without_a_terminal_asks_for_yes(connect_as, nova_conf):
    admin = connect_as('admin')
    with admin.open_ioctx('vms') as vms:
        rbd.RBD().create(vms, 'leftover.part', MiB)
        time.sleep(1)
        try:
            result = subprocess.run(
                [AUDIT, '--config-file', nova_conf, 'audit', '--older-than',
                 '0', '--purge'], capture_output=True, text=True,
                timeout=120, stdin=subprocess.DEVNULL)
            assert result.returncode == 2
            assert 'add --yes' in result.stderr
            assert 'leftover.part' in rbd.RBD().list(vms)
        finally:
            rbd.RBD().remove(vms, 'leftover.part')


def test_a_killed_snapshot_is_reported_and_kept_while_glance_is_silent(
        connect_as, nova_conf):
    # Glance alone knows whether a killed direct snapshot's image was
    # registered: with no Glance to ask, nothing of it may be removed.
    admin = connect_as('admin')
    vms, images = admin.open_ioctx('vms'), admin.open_ioctx('images')
    disk, snap = str(uuid.uuid4()) + '_disk', uuid.uuid4().hex
    image_id = str(uuid.uuid4())
    rbd.RBD().create(vms, disk, 4 * MiB)
    with rbd.Image(vms, disk) as image:
        image.create_snap(snap)
        image.protect_snap(snap)
    rbd.RBD().clone(vms, disk, snap, images, image_id)
    dead = _a_pid_that_is_gone()
    record = {'op': 'direct snapshot', 'host': socket.gethostname(),
              'pid': dead, 'pid_start': '1', 'addr': '127.0.0.1:0/1',
              'since': int(time.time()) - 5, 'disk': disk, 'snap': snap,
              'glance_pool': 'images'}
    with rados.WriteOpCtx() as op:
        vms.set_omap(op, (image_id,), (json.dumps(record).encode(),))
        vms.operate_write_op(op, 'nova_rbd_imagebackend.snapshots')
    try:
        rc, found = audit(nova_conf)
        assert rc == 1
        run = found['images/%s' % image_id]
        assert run['kind'] == 'snapshot-run'
        assert run['detail'].endswith('Glance: not asked')
        # The disk's snapshot is the run's, not reported on its own.
        assert not [w for w in found if w.startswith('vms/' + disk)]

        rc, purged = audit(nova_conf, '--purge', '--yes')
        assert purged['images/%s' % image_id]['outcome'].startswith('kept')
        assert image_id in rbd.RBD().list(images)
    finally:
        rbd.RBD().remove(images, image_id)
        with rbd.Image(vms, disk) as image:
            image.unprotect_snap(snap)
            image.remove_snap(snap)
        rbd.RBD().remove(vms, disk)
        with rados.WriteOpCtx() as op:
            vms.remove_omap_keys(op, (image_id,))
            vms.operate_write_op(op, 'nova_rbd_imagebackend.snapshots')
        vms.close()
        images.close()


def _a_pid_that_is_gone():
    child = subprocess.Popen(['true'])
    child.wait()
    return child.pid
