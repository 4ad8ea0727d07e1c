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
"""An OSD killed or frozen in the middle of a clone, import, snapshot, delete.

A cluster of its own: three OSDs on bluestore (a killed one comes back
with its data), pools ``vms`` and ``images`` of three copies, and pools
``vms1`` and ``images1`` of one copy kept on osd.2 only.  Each case runs
one operation through the plugin's entry points (``RbdImage.cache``, the
driver's delete, ``direct_snapshot``) and, at a chosen step in its
middle, kills (SIGKILL) or freezes (SIGSTOP) one OSD by the pid the
sandbox recorded.

With three copies the operation goes on once Ceph has marked the OSD
down and re-peered, within its deadline.  When the stopped OSD holds the
only copy, the operation fails within its deadline with the plugin's
error.  Either way the OSD then returns, a failed operation is retried
(as Nova's retry would), and the pool holds what the operation makes
and nothing else: no ``.part``, no trash entry, no stray snapshot or
record, and the audit finds nothing.  Each case prints a figures line.
"""

import contextlib
import os
import shutil
import signal
import time
import types
import uuid

import nova.conf
from oslo_config import fixture as config_fixture
import pytest
import rados
import rbd

from nova_rbd_imagebackend.ceph import cluster
from nova_rbd_imagebackend.ceph import writers
from nova_rbd_imagebackend import conf as plugin_conf
from nova_rbd_imagebackend.disks import audit
from nova_rbd_imagebackend.disks import clones
from nova_rbd_imagebackend.disks import locations
from nova_rbd_imagebackend.disks import snapshot_runs
from nova_rbd_imagebackend.disks import snapshots
from nova_rbd_imagebackend import exceptions
from nova_rbd_imagebackend.nova import driver
from nova_rbd_imagebackend.nova import imagebackend
from sandbox import ceph
from sandbox import ceph_osds
from tests.conftest import stopped_at_the_end

MiB = 1024 ** 2
# Three copies: with osd_heartbeat_grace GRACE and osd_heartbeat_interval
# INTERVAL the monitors mark a frozen OSD down 10-15 s after it stopped
# answering, and calls waiting for it go on: OP_TIMEOUT leaves room for
# that.  (Ceph's defaults, 20 and 6 s, take some 30 s: as long as the
# default op_timeout.)  A killed OSD is marked down at once.
OP_TIMEOUT = 20
GRACE, INTERVAL = 6, 1
# One copy: every call to the stopped OSD waits for its whole deadline.
ONLY_TIMEOUT = 6
# Slack for a loaded machine, on top of one deadline.
MARGIN = 5
VICTIM, ONLY = 0, 2
CLONE_SIZE, IMPORT_SIZE = 64 * MiB, 32 * MiB
GUEST_DATA = b'written by the guest'
PATTERN = b'parent image data '
FIGURES = []

CASES = [(op, fault, copies)
         for copies in (3, 1)
         for fault in ('kill', 'freeze')
         for op in ('clone', 'import', 'snapshot', 'delete')]


@pytest.fixture(scope='module')
def env(ceph_sandbox, tmp_path_factory, request):
    # ceph_sandbox: only so that a host without Ceph skips (or fails in CI)
    # the same way as the rest of the layer.
    folder = tmp_path_factory.mktemp('osd-failure')
    started = time.monotonic()
    box = ceph.CephSandbox.start(str(folder / 'cluster'),
                                 objectstore='bluestore', osds=3,
                                 osd_bytes=1024 * MiB)
    with stopped_at_the_end(box):
        ceph_osds.detect_frozen(box, GRACE, INTERVAL)
        ceph_osds.fast_reports(box)
        ceph_osds.pools_on(box, ONLY, ['vms1', 'images1'])
        instances = folder / 'instances'
        instances.mkdir()
        source = folder / 'image.raw'
        source.write_bytes(os.urandom(IMPORT_SIZE))
        admin = rados.Rados(conffile=box.conf_path, rados_id='admin')
        admin.connect(timeout=10)
        parents = {}
        for pool in ('images', 'images1'):
            with admin.open_ioctx(pool) as ioctx:
                rbd.RBD().create(ioctx, 'parent', CLONE_SIZE)
                with rbd.Image(ioctx, 'parent') as image:
                    image.write(PATTERN * 100, 0)
                    image.create_snap('snap')
                    image.protect_snap('snap')
            parents[pool] = locations.format_url(box.fsid, pool, 'parent',
                                                 'snap')
        report(request, 'cluster of 3 bluestore OSDs ready in %.1f s'
               % (time.monotonic() - started))
        try:
            yield types.SimpleNamespace(
                box=box, admin=admin, instances=str(instances),
                source=str(source), parents=parents)
        finally:
            admin.shutdown()
            report(request, table())


def report(request, text):
    """Print past pytest's capture: the figures are the run's output."""
    capture = request.config.pluginmanager.getplugin('capturemanager')
    with capture.global_and_fixture_disabled():
        print('\n' + text, flush=True)


@contextlib.contextmanager
def plugin(env, pool, op_timeout):
    """nova.conf of a compute host using ``pool``, as Nova loads it."""
    from nova import config as nova_config  # noqa: F401 (registers opts)
    conf = nova.conf.CONF
    plugin_conf.register_opts(conf)
    fixture = config_fixture.Config(conf)
    fixture.setUp()
    fixture.config(instances_path=env.instances)
    fixture.config(group='libvirt', images_type='rbd', images_rbd_pool=pool,
                   images_rbd_ceph_conf=env.box.conf_path, rbd_user='nova',
                   rbd_destroy_volume_retry_interval=1)
    fixture.config(group='rbd_imagebackend', op_timeout=op_timeout)
    try:
        yield cluster.client()
    finally:
        fixture.cleanUp()
        cluster.forget()


# -- the operations, through the entry points Nova calls ---------------------

def prepare(op, env, pool, instance_uuid):
    """What must exist before the operation: disks to delete or snapshot."""
    with env.admin.open_ioctx(pool) as ioctx:
        if op == 'snapshot':
            parent = locations.parse_url(env.parents[images_pool(pool)])
            with env.admin.open_ioctx(parent.pool) as images:
                rbd.RBD().clone(images, parent.image, parent.snapshot,
                                ioctx, '%s_disk' % instance_uuid)
            with rbd.Image(ioctx, '%s_disk' % instance_uuid) as image:
                image.write(GUEST_DATA, 8 * MiB)
        elif op == 'delete':
            for disk in ('disk', 'disk.local'):
                name = '%s_%s' % (instance_uuid, disk)
                rbd.RBD().create(ioctx, name, 16 * MiB)
                with rbd.Image(ioctx, name) as image:
                    for offset in range(0, 16 * MiB, 4 * MiB):
                        image.write(b'x' * 4096, offset)


def images_pool(pool):
    return pool.replace('vms', 'images')


def run(op, env, pool, instance_uuid, image_id):
    instance = types.SimpleNamespace(uuid=instance_uuid, task_state=None)
    if op == 'delete':
        return driver.RbdLibvirtDriver._cleanup_rbd(None, instance)
    disk = imagebackend.RbdImage(instance=instance, disk_name='disk')
    if op == 'snapshot':
        url = disk.direct_snapshot(None, uuid.uuid4().hex, 'raw', image_id,
                                   'base')
        # Glance has the location: the driver ends the run.
        snapshots.registered(disk.client, disk.pool, image_id)
        return url
    if op == 'import':
        def fetch(target, **kwargs):
            shutil.copyfile(env.source, target)  # as a download would
        return disk.cache(fetch, 'base', IMPORT_SIZE, image_id='img')

    def clone(target, **kwargs):
        # Nova's clone_fallback_to_fetch: the backend clones first.
        clones.clone(disk.client, 'img', {
            'disk_format': 'raw',
            'locations': [{'url': env.parents[images_pool(pool)]}]},
            disk.pool, disk.rbd_name)
        disk._cloned = True
    return disk.cache(clone, 'base', CLONE_SIZE, image_id='img')


@contextlib.contextmanager
def fault_in_the_middle(client, op, fire):
    """Call ``fire`` at a step in the middle of ``op``.

    clone: as librbd clones into ``<disk>.part``; import: a quarter into
    the data; snapshot: as the disk's snapshot is cloned into Glance's
    pool; delete: as the second of the instance's two disks is removed.
    """
    if op == 'import':
        real = client.import_sparse

        def import_sparse(path, pool, name, extents, progress=None, **kw):
            def report(done, total):
                if done >= total // 4:
                    fire()
                return progress(done, total) if progress else 0
            return real(path, pool, name, extents, report, **kw)
        client.import_sparse = import_sparse
        method = 'import_sparse'
    else:
        method, nth = {'clone': ('clone', 1), 'snapshot': ('clone', 1),
                       'delete': ('remove', 2)}[op]
        real = getattr(client, method)
        calls = []

        def wrapper(*args, **kwargs):
            calls.append(args)
            if len(calls) == nth:
                fire()
            return real(*args, **kwargs)
        setattr(client, method, wrapper)
    try:
        yield
    finally:
        delattr(client, method)


# -- what is left -------------------------------------------------------------

def pool_state(env, pool, instance_uuid):
    """Images, trash entries and snapshots of the instance; records."""
    found = []
    with env.admin.open_ioctx(pool) as ioctx:
        for name in rbd.RBD().list(ioctx):
            if name.startswith(instance_uuid):
                found.append(name)
                with rbd.Image(ioctx, name, read_only=True) as image:
                    found += ['%s@%s' % (name, s['name'])
                              for s in image.list_snaps()]
        found += ['trash %s' % e['name'] for e in rbd.RBD().trash_list(ioctx)
                  if e['name'].startswith(instance_uuid)]
        for obj, kind in ((writers.RECORDS, 'writer'),
                          (snapshot_runs.RECORDS, 'run')):
            with rados.ReadOpCtx() as read:
                vals, _ret = ioctx.get_omap_vals(read, '', '', 1000)
                try:
                    ioctx.operate_read_op(read, obj)
                except rados.ObjectNotFound:
                    continue
                # A run record is keyed by Glance image, and names the disk.
                found += ['%s record %s' % (kind, k) for k, v in vals
                          if instance_uuid in k + v.decode()]
    return sorted(found)


def expected_state(op, instance_uuid):
    return {'delete': []}.get(op, ['%s_disk' % instance_uuid])


def check_content(op, env, client, pool, instance_uuid, image_id):
    name = '%s_disk' % instance_uuid
    if op == 'clone':
        assert client.parent(pool, name)[1:] == ('parent', 'snap')
        assert client.size(pool, name) == CLONE_SIZE
        assert client.read(pool, name, 0, len(PATTERN)) == PATTERN
    elif op == 'import':
        assert client.size(pool, name) == IMPORT_SIZE
        with open(env.source, 'rb') as f:
            for offset in range(0, IMPORT_SIZE, 4 * MiB):
                assert client.read(pool, name, offset, 4 * MiB) == f.read(
                    4 * MiB), offset
    elif op == 'snapshot':
        glance_pool = images_pool(pool)
        # The Ceph manager flattens the new image after the snapshot
        # returns; until then the disk's snapshot waits in its trash.
        waited = time.monotonic()
        while client.parent(glance_pool, image_id) is not None:
            assert time.monotonic() - waited < 60, 'never flattened'
            time.sleep(0.2)
        assert client.read(glance_pool, image_id, 0, len(PATTERN)) == PATTERN
        assert client.read(glance_pool, image_id, 8 * MiB,
                           len(GUEST_DATA)) == GUEST_DATA
        assert client.snaps(glance_pool, image_id) == ['snap']


def glance_images(env, pool):
    with env.admin.open_ioctx(images_pool(pool)) as ioctx:
        return set(rbd.RBD().list(ioctx)) - {'parent'}


# -- the fault ----------------------------------------------------------------

@contextlib.contextmanager
def osd_fault(box, osd, fault, copies):
    """Yield ``fire`` (kill or freeze the OSD, once) and the facts.

    On leaving, the OSD is back: started again after a kill, thawed after
    a freeze, and every PG is active+clean.  An OSD that holds the only
    copy is thawed once the monitors have marked it down, as they do an
    OSD that stopped answering: thawed seconds after the operation
    failed, before that, it once left a PG laggy with reads waiting in
    it for twenty minutes (Ceph 16.2.15), which is Ceph's matter, not
    the plugin's.
    """
    facts = {}

    def fire():
        if 'at' not in facts:
            facts['at'] = time.monotonic()
            if fault == 'kill':
                ceph_osds.stop(box, osd, signal.SIGKILL)
            else:
                ceph_osds.freeze(box, osd)
    try:
        yield fire, facts
    finally:
        if 'at' in facts:
            if fault == 'freeze' and copies == 1:
                ceph_osds.wait_up(box, osd, False, 120)
                facts['down'] = time.monotonic() - facts['at']
            facts['back'] = time.monotonic()
            if fault == 'kill':
                ceph_osds.start(box, osd)
            else:
                ceph_osds.thaw(box, osd)
            facts['clean'] = ceph_osds.wait_clean(box)


def clear(error):
    """True for the plugin's own error, which Nova shows as the fault."""
    return isinstance(error, (exceptions.CephError,
                              exceptions.DiskCreationFailed))


def table():
    rows = ['%-8s %-6s %-6s %-4s %-6s %-9s %s' % (
        'op', 'fault', 'copies', 'runs', 'failed', 'leftovers',
        'time to fail or recover')]
    for f in FIGURES:
        rows.append('%-8s %-6s %-6d %-4d %-6d %-9d %s' % (
            f['op'], f['fault'], f['copies'], 1 + f['failed'], f['failed'],
            len(f['left']), f['time']))
    return 'OSD failure figures:\n' + '\n'.join(rows)


# -- the cases ----------------------------------------------------------------

@pytest.mark.parametrize('op,fault,copies', CASES)
def test_osd_fault_in_the_middle(env, request, op, fault, copies):
    pool = 'vms' if copies == 3 else 'vms1'
    osd = VICTIM if copies == 3 else ONLY
    deadline = OP_TIMEOUT if copies == 3 else ONLY_TIMEOUT
    instance_uuid = str(uuid.uuid4())
    image_id = str(uuid.uuid4())
    prepare(op, env, pool, instance_uuid)
    glance_before = glance_images(env, pool)

    with plugin(env, pool, deadline) as client:
        client.fsid()  # connected before the clock starts
        error = None
        with osd_fault(env.box, osd, fault, copies) as (fire, facts):
            try:
                with fault_in_the_middle(client, op, fire):
                    run(op, env, pool, instance_uuid, image_id)
            except Exception as exc:
                error = exc
            assert 'at' in facts, 'the fault never came'
            took = time.monotonic() - facts['at']
        before = pool_state(env, pool, instance_uuid)
        retry = None
        if error is not None:
            image_id = str(uuid.uuid4())  # Nova snapshots into a new image
            run(op, env, pool, instance_uuid, image_id)
            retry = time.monotonic() - facts['back']
        check_content(op, env, client, pool, instance_uuid, image_id)
        left = sorted(set(pool_state(env, pool, instance_uuid)) -
                      set(expected_state(op, instance_uuid)))
        left += sorted(glance_images(env, pool) - glance_before - {image_id})
        found = audit.find(client, pool, env.instances, 0,
                           glance_status=lambda i: (
                               'active' if i == image_id else 'gone'))

    figures = dict(
        op=op, fault=fault, copies=copies, failed=int(error is not None),
        left=left, seconds=round(took, 1),
        outcome=('failed: %s' % error) if error else 'completed',
        left_before_retry=before if error else [],
        osd_down_after=round(facts['down'], 1) if 'down' in facts else None,
        clean_after_return=round(facts['clean'], 1),
        retry_done_after_return=retry and round(retry, 1),
        time=('failed after %.1f s;%s retry done %.1f s after the OSD was '
              'back' % (took, ' marked down after %.1f s;' % facts['down']
                        if 'down' in facts else '', retry)) if error else
        'completed %.1f s after the fault' % took)
    FIGURES.append(figures)
    report(request, 'figures: %s' % ' '.join(
        '%s=%s' % (k, figures[k]) for k in (
            'op', 'fault', 'copies', 'outcome', 'seconds', 'left',
            'left_before_retry', 'osd_down_after', 'clean_after_return',
            'retry_done_after_return')))
    # Completed within its deadline, or failed within it with the
    # plugin's error: never a hang, never a bare librados error.
    assert took < deadline + MARGIN, took
    if error is not None or copies == 1:
        assert clear(error), repr(error)
    assert left == []
    assert found == []
