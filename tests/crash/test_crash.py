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
CRASH_GLANCE_PATIENCE (default 60) is how many seconds a snapshot's check
waits for Glance to decide on a location it was given; one still
undecided then is counted apart ("glance undecided"), not as a leftover.
"""

import collections
import json
import os
import random
import subprocess
import time
import types
import urllib.error
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
from nova_rbd_imagebackend.disks import pool_cache
from nova_rbd_imagebackend.disks import snapshot_runs
from nova_rbd_imagebackend.nova import glance
from tests.crash import forkserver
from tests.crash import worker

MiB = 1024 ** 2
RUNS = int(os.environ.get('CRASH_RUNS', '20'))
WINDOW = os.environ.get('CRASH_WINDOW', 'default')
GLANCE_PATIENCE = int(os.environ.get('CRASH_GLANCE_PATIENCE', '60'))
# Shorter than a dead client's watch (30 s): a retry that waited for a
# killed process's watch or lock to expire, instead of proving it dead
# from its writer record and cutting it off, fails at this deadline.
OP_TIMEOUT = 20
TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SIZES = {'import': 96 * MiB, 'swap': 64 * MiB, 'clone': 256 * MiB,
         'revert': 128 * MiB, 'fill': 64 * MiB}
# A killed fill holds the cache image's lease until it lapses: the retry
# waits that long.
LEASE_SECONDS = 5
BEFORE_RESIZE = b'before the resize'
REPORT = collections.defaultdict(list)
OPS = ('import', 'swap', 'clone', 'delete', 'snapshot', 'shelve', 'revert',
       'fill', 'convert')
WITH_GLANCE = ('snapshot', 'shelve', 'fill', 'convert')
# Boots of an image outside the cluster: raw, and qcow2 converted on the
# way by qemu-nbd.  The retry boots the same image.
FILLS = ('fill', 'convert')
# A direct snapshot's run: a new Glance image each time.
SNAPSHOTS = ('snapshot', 'shelve')


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
        'pool_image_cache_lease_seconds = %d\n'
        % (instances, ceph_sandbox.conf_path, OP_TIMEOUT, LEASE_SECONDS))
    source = folder / 'image.raw'
    source.write_bytes(os.urandom(8 * MiB) * (SIZES['import'] // (8 * MiB)))
    # What Glance keeps outside the cluster for the fill: 1 MiB blocks,
    # each of its own content.
    outside = b''.join(i.to_bytes(4, 'big') * (MiB // 4)
                       for i in range(1, SIZES['fill'] // MiB + 1))
    raw, qcow2 = folder / 'outside.raw', folder / 'outside.qcow2'
    raw.write_bytes(outside)
    subprocess.run(['qemu-img', 'convert', '-f', 'raw', '-O', 'qcow2',
                    str(raw), str(qcow2)], check=True)
    admin = rados.Rados(conffile=ceph_sandbox.conf_path, rados_id='admin')
    admin.connect(timeout=10)
    parent = 'crash-parent-%s' % uuid.uuid4()
    with admin.open_ioctx('images') as ioctx:
        rbd.RBD().create(ioctx, parent, 64 * MiB)
        with rbd.Image(ioctx, parent) as image:
            image.write(b'parent' * 1000, 0)
            image.create_snap('snap')
            image.protect_snap('snap')
    worker_log = open(folder / 'workers.log', 'a')
    workers = forkserver.ForkServer(TOP, worker_log)
    yield types.SimpleNamespace(
        conf_path=str(conf_path), instances=str(instances),
        worker_log=worker_log, outside=outside, workers=workers,
        outside_qcow2=qcow2.read_bytes(),
        source=str(source), admin=admin,
        parent_url=locations.format_url(ceph_sandbox.fsid, 'images', parent,
                                        'snap'))
    workers.close()
    admin.shutdown()
    worker_log.close()
    print_report()


@pytest.fixture
def glance_conf(request, setup):
    """A nova.conf that also points Nova's Glance client at a glance-api.

    Only a snapshot, a shelve and a fill need Glance: they alone start it.
    """
    if request.node.callspec.params['op'] not in WITH_GLANCE:
        return None
    api = request.getfixturevalue('glance_api')
    path = setup.conf_path + '.glance'
    with open(setup.conf_path) as f:
        base = f.read()
    with open(path, 'w') as f:
        f.write(base + '[glance]\napi_servers = %s\n' % api.endpoint)
    return types.SimpleNamespace(api=api, conf_path=path)


@pytest.fixture
def conf(setup, ceph_sandbox, glance_conf):
    from nova import config as nova_config  # noqa: F401 (registers opts)
    plugin_conf.register_opts(nova.conf.CONF)
    fixture = config_fixture.Config(nova.conf.CONF)
    fixture.setUp()
    fixture.config(instances_path=setup.instances)
    fixture.config(group='libvirt', images_type='rbd', images_rbd_pool='vms',
                   images_rbd_ceph_conf=ceph_sandbox.conf_path,
                   rbd_user='nova', rbd_destroy_volume_retry_interval=1)
    fixture.config(group='rbd_imagebackend', op_timeout=OP_TIMEOUT)
    if glance_conf:
        fixture.config(group='glance', api_servers=[glance_conf.api.endpoint])
    yield fixture
    fixture.cleanUp()
    cluster.forget()


def args_of(op, setup, glance_conf=None):
    """The worker's arguments; a snapshot's is a new Glance image.

    A fill's is a new image in Glance's file store, so its cache image is
    filled afresh.
    """
    if op == 'fill':
        image = glance_conf.api.upload(setup.outside, store='file')
        return [image['id'], str(SIZES['fill'])]
    if op == 'convert':
        image = glance_conf.api.upload(setup.outside_qcow2, store='file',
                                       disk_format='qcow2')
        return [image['id'], str(SIZES['fill'])]
    if op in SNAPSHOTS:
        return [glance_conf.api.request('POST', '/v2/images', {
            'name': 'crash-snapshot', 'disk_format': 'raw',
            'container_format': 'bare'})['id']]
    return {'import': [setup.source, str(SIZES['import'])],
            'swap': [str(SIZES['swap'])],
            'clone': [setup.parent_url, str(SIZES['clone'])],
            'delete': [], 'revert': []}[op]


def prepare(op, instance_uuid, setup):
    """What must exist before the operation (disks to delete or snapshot)."""
    if op == 'revert':
        # A resized disk: grown and written after its nova-resize snapshot.
        with setup.admin.open_ioctx('vms') as vms:
            name = '%s_disk' % instance_uuid
            rbd.RBD().create(vms, name, SIZES['revert'])
            with rbd.Image(vms, name) as image:
                for offset in range(0, SIZES['revert'], 4 * MiB):
                    image.write(BEFORE_RESIZE, offset)
                image.create_snap('nova-resize')
                image.resize(2 * SIZES['revert'])
                for offset in range(0, 2 * SIZES['revert'], 4 * MiB):
                    image.write(b'after the resize', offset)
        return
    if op in SNAPSHOTS:
        parent = locations.parse_url(setup.parent_url)
        with setup.admin.open_ioctx('images') as images, \
                setup.admin.open_ioctx('vms') as vms:
            name = '%s_disk' % instance_uuid
            rbd.RBD().clone(images, parent.image, parent.snapshot, vms,
                            name)
            with rbd.Image(vms, name) as image:
                image.write(b'written by the guest', 8 * MiB)
        return
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


def start_worker(op, instance_uuid, setup, args, conf_path=None):
    """A worker process running ``op`` (tests/crash/forkserver.py)."""
    return setup.workers.start(conf_path or setup.conf_path, op,
                               instance_uuid, args)


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
             'delete': [], 'snapshot': ['disk'], 'shelve': [],
             'revert': ['disk'], 'fill': ['disk'], 'convert': ['disk']}[op]
    return ['%s_%s' % (instance_uuid, n) for n in names], [], []


def check_content(op, instance_uuid, setup, args):
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
    elif op == 'revert':
        name = instance_uuid + '_disk'
        assert client.size('vms', name) == SIZES['revert']
        for offset in range(0, SIZES['revert'], 4 * MiB):
            assert client.read('vms', name, offset, len(BEFORE_RESIZE)) == (
                BEFORE_RESIZE)
    elif op in FILLS:
        name = instance_uuid + '_disk'
        (cached,) = cache_images(args[0])
        assert client.parent('vms', name) == ('vms', cached, pool_cache.SNAP)
        for offset in (0, SIZES['fill'] - MiB):
            assert client.read('vms', name, offset, MiB) == \
                setup.outside[offset:offset + MiB]
    elif op in SNAPSHOTS:
        status = settled_glance_status(args[0])
        if status == 'registering':
            REPORT['glance undecided'].append(args[0])  # see above
        else:
            assert status == 'active'
        assert client.get_record('vms', snapshot_runs.RECORDS,
                                 args[0]) is None
        assert client.read('images', args[0], 8 * MiB, 20) == (
            b'written by the guest')


def kill_window(op, setup, glance_conf):
    """(latest kill time after "go", duration of one crash-free run)."""
    instance_uuid = str(uuid.uuid4())
    prepare(op, instance_uuid, setup)
    args = args_of(op, setup, glance_conf)
    pid = start_worker(op, instance_uuid, setup, args,
                       glance_conf and glance_conf.conf_path)
    started = time.monotonic()
    assert setup.workers.wait_done(pid) == 0
    working = took = time.monotonic() - started
    cleanup(op, instance_uuid, glance_conf, args)
    if WINDOW == 'sharp':
        return working, took
    assert WINDOW == 'default', 'CRASH_WINDOW is default or sharp'
    return took * 1.1, took


def cache_images(image_id):
    """The pool image cache's images of Glance image ``image_id``."""
    return cluster.client().list_prefix('vms', '%s%s.' % (pool_cache.PREFIX,
                                                          image_id))


def cleanup(op, instance_uuid, glance_conf=None, *args_lists):
    if op in FILLS:
        worker.run('delete', instance_uuid, [])
        for args in args_lists:
            for name in cache_images(args[0]):
                cluster.client().remove('vms', name)
                cluster.client().remove_object(
                    'vms', pool_cache.lease_object(name))
            glance_conf.api.request('DELETE', '/v2/images/%s' % args[0])
        return
    if op in SNAPSHOTS:
        for args in args_lists:
            try:
                glance_conf.api.request('DELETE', '/v2/images/%s' % args[0])
            except urllib.error.HTTPError:
                pass  # best effort: the checks are per image id
    worker.run('delete', instance_uuid, [])


def glance_status(image_id):
    return glance.image_status(worker.noauth_context(), image_id)


def settled_glance_status(image_id, timeout=GLANCE_PATIENCE):
    """Glance's status once a location it was given has been checked."""
    deadline = time.monotonic() + timeout
    while True:
        status = glance_status(image_id)
        if status != 'registering' or time.monotonic() > deadline:
            return status
        time.sleep(0.2)


def wait_flattened(setup, image_ids, timeout=60):
    """Wait until Glance's images no longer depend on the instance disk.

    The Ceph manager flattens them in the background; until it has, a
    shelved disk stays parked in the trash, as designed, and the audit
    rightly leaves it there.  A clone Glance never registered may never
    be flattened: the audit removes it, and it is not waited for.
    """
    deadline = time.monotonic() + timeout
    with setup.admin.open_ioctx('images') as images:
        for image_id in image_ids:
            if glance_status(image_id) != 'active':
                continue  # never registered: the audit removes its clone
            while time.monotonic() < deadline:
                try:
                    with rbd.Image(images, image_id, read_only=True) as image:
                        image.parent_info()
                except rbd.ImageNotFound:
                    break  # gone, or flattened
                time.sleep(0.2)


def shelved(image_id):
    """True if the snapshot into ``image_id`` returned to Nova.

    Glance has the image and the driver has ended the run: from there on
    Nova's shelve saves the instance as shelved and offloads it.
    """
    return glance_status(image_id) == 'active' and not \
        cluster.client().get_record('vms', snapshot_runs.RECORDS, image_id)


def snapshot_leftovers(instance_uuid, image_id, setup):
    """What a direct snapshot into ``image_id`` left that it should not."""
    left = []
    with setup.admin.open_ioctx('vms') as vms:
        try:
            with rbd.Image(vms, instance_uuid + '_disk',
                           read_only=True) as disk:
                left += ['vms/%s_disk@%s' % (instance_uuid, s['name'])
                         for s in disk.list_snaps()]
        except rbd.ImageNotFound:
            pass  # shelved: the disk went after its snapshot
    if image_id in snapshot_runs.unfinished(cluster.client(), 'vms') or \
            cluster.client().get_record('vms', snapshot_runs.RECORDS,
                                        image_id):
        left.append('record of %s' % image_id)
    status = settled_glance_status(image_id)
    in_pool = image_id in cluster.client().list_prefix('images', image_id)
    if status == 'registering':
        # Glance never ran the location import it accepted (its task
        # stays pending): undecided, so the audit rightly keeps the run.
        # Glance's failure, not a leftover of the kill; counted apart.
        REPORT['glance undecided'].append(image_id)
        return [left_ for left_ in left if not left_.startswith('record')]
    if status == 'active':
        assert in_pool, 'Glance has %s, the pool not' % image_id
    elif in_pool:
        left.append('images/%s (Glance: %s)' % (image_id, status))
    return left


def qemu_nbds(setup, patience=5):
    """qemu-nbd processes serving into this test's instances path.

    One whose process was killed is killed with it by the kernel; it is
    given a moment to be reaped.
    """
    deadline = time.monotonic() + patience
    while True:
        found = []
        for pid in filter(str.isdigit, os.listdir('/proc')):
            try:
                with open('/proc/%s/cmdline' % pid, 'rb') as f:
                    argv = f.read().split(b'\0')
            except OSError:
                continue  # gone meanwhile
            if argv[0].endswith(b'qemu-nbd') and any(
                    setup.instances.encode() in a for a in argv):
                found.append(int(pid))
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def leftovers(op, instance_uuid, setup, args):
    state_now = state(instance_uuid, setup)
    left = [] if state_now == expected_state(op, instance_uuid) else [
        state_now]
    if op in SNAPSHOTS:
        left += snapshot_leftovers(instance_uuid, args[0], setup)
    if op in FILLS:
        # One cache image, published; no .part; no qemu-nbd serving on.
        left += ['qemu-nbd %d' % pid for pid in qemu_nbds(setup)]
        cached = cache_images(args[0])
        if len(cached) != 1 or cached[0].endswith('.part'):
            left.append('cache images %s' % cached)
    if op == 'revert':
        with setup.admin.open_ioctx('vms') as vms:
            with rbd.Image(vms, instance_uuid + '_disk',
                           read_only=True) as disk:
                left += ['snapshot %s' % s['name']
                         for s in disk.list_snaps()]
    return left


def audit_and_purge(op, instance_uuid, setup, killed, patience=60):
    """Audit and purge until nothing is kept; (first findings, passes).

    A leftover can be busy for a while: the Ceph manager may still be
    flattening a killed snapshot's clone.  The periodic task would take
    it on a later pass; here the next pass comes a second later.
    """
    deadline = time.monotonic() + patience
    first, passes = None, 0
    while True:
        found = [f for f in audit.find(cluster.client(), 'vms',
                                       setup.instances, 0,
                                       glance_status=glance_status)
                 if instance_uuid in f.where or f.kind == 'staging' or
                 (op in WITH_GLANCE and killed[0] in f.where)]
        first = found if first is None else first
        passes += 1
        outcomes = audit.purge(cluster.client(), found)
        if all(o == 'removed' for _f, o in outcomes) or \
                time.monotonic() > deadline:
            return first, passes
        time.sleep(1)


@pytest.mark.parametrize('op', OPS)
def test_killed_operation_is_completed_by_its_retry(conf, setup, glance_conf,
                                                    op):
    conf_path = glance_conf and glance_conf.conf_path
    latest, window = kill_window(op, setup, glance_conf)
    rng = random.Random(op)
    for run in range(RUNS):
        instance_uuid = str(uuid.uuid4())
        prepare(op, instance_uuid, setup)
        killed = args_of(op, setup, glance_conf)
        pid = start_worker(op, instance_uuid, setup, killed, conf_path)
        time.sleep(rng.uniform(0, latest))
        setup.workers.kill(pid)
        before = leftovers(op, instance_uuid, setup, killed)

        started = time.monotonic()
        if op == 'shelve' and shelved(killed[0]):
            # The snapshot had returned: Nova recorded the instance as
            # shelved, and what is left to do is the offload.
            again = killed
            worker.run('delete', instance_uuid, [])
        else:
            # A new snapshot is a new Glance image; a new boot, the same.
            again = killed if op in FILLS else args_of(op, setup,
                                                       glance_conf)
            worker.run(op, instance_uuid, again)
        retry = time.monotonic() - started

        if op in SNAPSHOTS:
            settled_glance_status(killed[0])
            wait_flattened(setup, {killed[0], again[0]})
        found, passes = audit_and_purge(op, instance_uuid, setup, killed)
        assert leftovers(op, instance_uuid, setup, killed) == [], (
            run, before)
        check_content(op, instance_uuid, setup, again)
        REPORT[op].append({'left': bool(before), 'found': len(found),
                           'retry': retry, 'before': before,
                           'audit passes': passes})
        if op != 'delete':
            cleanup(op, instance_uuid, glance_conf,
                    *([killed] if again is killed else [killed, again]))
    REPORT[op + ' window'] = window


def print_report():
    lines = []
    for op in OPS:
        runs = REPORT.get(op)
        if not runs or op + ' window' not in REPORT:
            continue
        retries = sorted(r['retry'] for r in runs)
        lines.append(
            '%-8s runs %d, op %.2f s, kills that left something %d, '
            'leftovers found by the audit %d, left after retry+audit 0, '
            'retry median %.2f s max %.2f s, audit passes max %d' % (
                op, len(runs), REPORT[op + ' window'],
                sum(r['left'] for r in runs),
                sum(r['found'] for r in runs),
                retries[len(retries) // 2], retries[-1],
                max(r['audit passes'] for r in runs)))
    if REPORT.get('glance undecided'):
        lines.append('snapshot: Glance left %d location imports pending '
                     '(its task never ran)' % len(REPORT['glance undecided']))
    print('\nkill window: %s\n' % WINDOW + '\n'.join(lines))
    path = os.environ.get('CRASH_REPORT')
    if path:
        with open(path, 'w') as f:
            json.dump(REPORT, f, indent=1, default=str)
