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
"""Operations killed at random points, then retried and audited.

For each operation the worker (tests/crash/worker.py) is killed with
SIGKILL at a random moment of its run.  Then the same operation is run
again, here, through the same code, and the audit purges what it finds.
The pool and the host must then hold exactly what a crash-free run
leaves, and every leftover the kill made must have been found.

CRASH_RUNS (default 20) sets the kills per operation; ``./run crash``
runs 200.  CRASH_WINDOW chooses when the kills land: ``default`` spreads
them over the operation's whole run as the parent sees it (child exit
included) and a tenth beyond; ``sharp`` only between the worker's "go"
and "done", where every kill interrupts the operation itself.
"""

import collections
import json
import os
import random
import signal
import subprocess
import sys
import time
import types
import uuid

import nova.conf
from oslo_config import fixture as config_fixture
import pytest
import rados
import rbd

from nova_rbd_imagebackend.ceph import cluster
from nova_rbd_imagebackend import conf as plugin_conf
from nova_rbd_imagebackend.disks import audit
from nova_rbd_imagebackend.disks import locations
from tests.crash import worker

MiB = 1024 ** 2
RUNS = int(os.environ.get('CRASH_RUNS', '20'))
WINDOW = os.environ.get('CRASH_WINDOW', 'default')
# Shorter than a dead client's watch (30 s): a retry that waited for a
# killed process's watch or lock to expire, instead of proving it dead
# from its writer record and cutting it off, fails at this deadline.
OP_TIMEOUT = 20
TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SIZES = {'import': 96 * MiB, 'swap': 64 * MiB, 'clone': 256 * MiB}
REPORT = collections.defaultdict(list)


@pytest.fixture(scope='module')
def setup(ceph_sandbox, tmp_path_factory):
    folder = tmp_path_factory.mktemp('crash')
    instances = folder / 'instances'
    instances.mkdir()
    conf_path = folder / 'nova.conf'
    conf_path.write_text(
        '[DEFAULT]\ninstances_path = %s\n[libvirt]\nimages_type = rbd\n'
        'images_rbd_pool = vms\nimages_rbd_ceph_conf = %s\nrbd_user = nova\n'
        '[rbd_imagebackend]\nop_timeout = %d\n'
        % (instances, ceph_sandbox.conf_path, OP_TIMEOUT))
    source = folder / 'image.raw'
    source.write_bytes(os.urandom(8 * MiB) * (SIZES['import'] // (8 * MiB)))
    admin = rados.Rados(conffile=ceph_sandbox.conf_path, rados_id='admin')
    admin.connect(timeout=10)
    parent = 'crash-parent-%s' % uuid.uuid4()
    with admin.open_ioctx('images') as ioctx:
        rbd.RBD().create(ioctx, parent, 64 * MiB)
        with rbd.Image(ioctx, parent) as image:
            image.write(b'parent' * 1000, 0)
            image.create_snap('snap')
            image.protect_snap('snap')
    yield types.SimpleNamespace(
        conf_path=str(conf_path), instances=str(instances),
        source=str(source), admin=admin,
        parent_url=locations.format_url(ceph_sandbox.fsid, 'images', parent,
                                        'snap'))
    admin.shutdown()
    print_report()


@pytest.fixture
def conf(setup, ceph_sandbox):
    from nova import config as nova_config  # noqa: F401 (registers opts)
    plugin_conf.register_opts(nova.conf.CONF)
    fixture = config_fixture.Config(nova.conf.CONF)
    fixture.setUp()
    fixture.config(instances_path=setup.instances)
    fixture.config(group='libvirt', images_type='rbd', images_rbd_pool='vms',
                   images_rbd_ceph_conf=ceph_sandbox.conf_path,
                   rbd_user='nova', rbd_destroy_volume_retry_interval=1)
    fixture.config(group='rbd_imagebackend', op_timeout=OP_TIMEOUT)
    yield fixture
    fixture.cleanUp()
    cluster.forget()


def args_of(op, setup):
    return {'import': [setup.source, str(SIZES['import'])],
            'swap': [str(SIZES['swap'])],
            'clone': [setup.parent_url, str(SIZES['clone'])],
            'delete': []}[op]


def prepare(op, instance_uuid, setup):
    """What must exist before the operation (disks to delete)."""
    if op != 'delete':
        return
    with setup.admin.open_ioctx('vms') as ioctx:
        for disk in ('disk', 'disk.local', 'disk.swap'):
            name = '%s_%s' % (instance_uuid, disk)
            rbd.RBD().create(ioctx, name, 256 * MiB)
            with rbd.Image(ioctx, name) as image:
                for offset in range(0, 256 * MiB, 4 * MiB):
                    image.write(b'x' * 4096, offset)
        with rbd.Image(ioctx, '%s_disk' % instance_uuid) as image:
            image.create_snap('nova-resize')


def start_worker(op, instance_uuid, setup):
    child = subprocess.Popen(
        [sys.executable, '-m', 'tests.crash.worker', setup.conf_path, op,
         instance_uuid] + args_of(op, setup), cwd=TOP, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL)
    assert child.stdout.readline().strip() == 'go'
    return child


def state(instance_uuid, setup):
    """(images of the instance, its trash entries, staging folders)."""
    with setup.admin.open_ioctx('vms') as ioctx:
        images = sorted(n for n in rbd.RBD().list(ioctx)
                        if n.startswith(instance_uuid))
        trash = sorted(e['name'] for e in rbd.RBD().trash_list(ioctx)
                       if e['name'].startswith(instance_uuid))
    staging = sorted(n for n in os.listdir(setup.instances)
                     if n.startswith('.rbd-staging-'))
    return images, trash, staging


def expected_state(op, instance_uuid):
    names = {'import': ['disk'], 'clone': ['disk'], 'swap': ['disk.swap'],
             'delete': []}[op]
    return ['%s_%s' % (instance_uuid, n) for n in names], [], []


def check_content(op, instance_uuid, setup):
    client = cluster.client()
    if op == 'import':
        name = instance_uuid + '_disk'
        with open(setup.source, 'rb') as f:
            assert client.read('vms', name, 0, MiB) == f.read(MiB)
        assert client.size('vms', name) == SIZES['import']
    elif op == 'swap':
        assert client.read('vms', instance_uuid + '_disk.swap', 4086,
                           10) == b'SWAPSPACE2'
    elif op == 'clone':
        name = instance_uuid + '_disk'
        assert client.parent('vms', name)[2] == 'snap'
        assert client.size('vms', name) == SIZES['clone']


def kill_window(op, setup):
    """(latest kill time after "go", duration of one crash-free run)."""
    instance_uuid = str(uuid.uuid4())
    prepare(op, instance_uuid, setup)
    child = start_worker(op, instance_uuid, setup)
    started = time.monotonic()
    assert child.stdout.readline().strip() == 'done'
    working = time.monotonic() - started
    child.wait()
    took = time.monotonic() - started
    cleanup(instance_uuid)
    if WINDOW == 'sharp':
        return working, took
    assert WINDOW == 'default', 'CRASH_WINDOW is default or sharp'
    return took * 1.1, took


def cleanup(instance_uuid):
    worker.run('delete', instance_uuid, [])


@pytest.mark.parametrize('op', ['import', 'swap', 'clone', 'delete'])
def test_killed_operation_is_completed_by_its_retry(conf, setup, op):
    latest, window = kill_window(op, setup)
    rng = random.Random(op)
    for run in range(RUNS):
        instance_uuid = str(uuid.uuid4())
        prepare(op, instance_uuid, setup)
        child = start_worker(op, instance_uuid, setup)
        time.sleep(rng.uniform(0, latest))
        child.send_signal(signal.SIGKILL)
        child.wait()
        before = state(instance_uuid, setup)
        left = before != expected_state(op, instance_uuid)

        started = time.monotonic()
        worker.run(op, instance_uuid, args_of(op, setup))
        retry = time.monotonic() - started

        found = [f for f in audit.find(cluster.client(), 'vms',
                                       setup.instances, 0)
                 if instance_uuid in f.where or f.kind == 'staging']
        audit.purge(cluster.client(), found)
        after = state(instance_uuid, setup)
        assert after == expected_state(op, instance_uuid), (
            run, before, after)
        check_content(op, instance_uuid, setup)
        REPORT[op].append({'left': left, 'found': len(found),
                           'retry': retry, 'before': before})
        if op != 'delete':
            cleanup(instance_uuid)
    REPORT[op + ' window'] = window


def print_report():
    lines = []
    for op in ('import', 'swap', 'clone', 'delete'):
        runs = REPORT.get(op)
        if not runs or op + ' window' not in REPORT:
            continue
        retries = sorted(r['retry'] for r in runs)
        lines.append(
            '%-7s runs %d, op %.2f s, kills that left something %d, '
            'leftovers found by the audit %d, left after retry+audit 0, '
            'retry median %.2f s max %.2f s' % (
                op, len(runs), REPORT[op + ' window'],
                sum(r['left'] for r in runs),
                sum(r['found'] for r in runs),
                retries[len(retries) // 2], retries[-1]))
    print('\nkill window: %s\n' % WINDOW + '\n'.join(lines))
    path = os.environ.get('CRASH_REPORT')
    if path:
        with open(path, 'w') as f:
            json.dump(REPORT, f, indent=1, default=str)
