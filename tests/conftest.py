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

"""Test harness: layer markers and the real parts every layer shares.

Each folder under tests/ is a layer and its tests carry that layer's
marker (``pytest -m ceph`` runs one layer).  Layers above ``unit`` use real
parts started here once per session and always stopped again, by pid.
Under CI (``CI=true``) a real part that cannot start fails the run;
elsewhere its tests are skipped with the reason.
"""

import atexit
import contextlib
import os
import shutil

# One concurrency mode for the whole test process, whichever layers run:
# eventlet, as Nova's own test package sets it.  The plugin supports both;
# tests/unit/test_ceph_client.py covers the native-thread path too.
from nova import monkey_patch  # noqa: I100
monkey_patch.patch()

from nova import test as nova_test  # noqa: E402
import pytest  # noqa: E402

# nova.test.TestCase deletes every public attribute when a test ends,
# including the bound test method pytest stores on the instance; pytest
# then fails in its own teardown.  Nothing else relies on that clean-up.
nova_test.TestCase._clear_attrs = lambda self: None

LAYERS = ('unit', 'ceph', 'nova', 'libvirt', 'glance', 'crash', 'cloud')


def pytest_collection_modifyitems(config, items):
    root = os.path.dirname(__file__)
    for item in items:
        rel = os.path.relpath(str(item.fspath), root)
        layer = rel.split(os.sep, 1)[0]
        if layer in LAYERS:
            item.add_marker(getattr(pytest.mark, layer))


def in_ci():
    return os.environ.get('CI', '').lower() in ('1', 'true', 'yes')


@contextlib.contextmanager
def stopped_at_the_end(part):
    """Stop ``part`` when the fixture ends, or at exit if it never does.

    Fixture teardown covers failures; atexit covers an interrupted run
    that never reaches teardown.  ``stop()`` is idempotent.
    """
    atexit.register(part.stop)
    try:
        yield part
    finally:
        part.stop()
        atexit.unregister(part.stop)


def unavailable(reason):
    """Fail under CI, skip elsewhere: a real part could not be had."""
    if in_ci():
        pytest.fail('CI requires this real part: %s' % reason,
                    pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope='session')
def ceph_sandbox(tmp_path_factory):
    """A real single-node Ceph cluster for the whole session."""
    missing = [b for b in ('ceph-mon', 'ceph-osd', 'ceph-mgr', 'monmaptool')
               if shutil.which(b) is None]
    if missing:
        unavailable('Ceph daemons not installed: %s' % ', '.join(missing))
    try:
        from sandbox import ceph
    except ImportError as exc:
        unavailable('rados/rbd bindings not importable: %s' % exc)
    # Memstore takes RAM only for data written; the size is what the
    # pools report as capacity to Nova's resource tracker.
    box = ceph.CephSandbox.start(
        str(tmp_path_factory.mktemp('ceph') / 'cluster'),
        osd_bytes=16 * 1024 ** 3)
    with stopped_at_the_end(box):
        yield box


@pytest.fixture(scope='session')
def glance_api(ceph_sandbox, tmp_path_factory):
    """A real glance-api storing images in the session's cluster."""
    try:
        import glance as glance_package  # noqa: F401
        from sandbox import glance
    except ImportError as exc:
        unavailable('glance is not installed: %s' % exc)
    api = glance.GlanceSandbox.start(
        ceph_sandbox, str(tmp_path_factory.mktemp('glance') / 'api'))
    with stopped_at_the_end(api):
        yield api


@pytest.fixture(scope='session')
def libvirt_hosts(ceph_sandbox):
    """Two isolated libvirt daemons, 'host A' and 'host B'.

    Both know the compute user's cephx key as the same libvirt secret, as
    every compute host of a cloud does.
    """
    missing = [b for b in ('libvirtd', 'setpriv', 'qemu-system-x86_64')
               if shutil.which(b) is None]
    if missing:
        unavailable('libvirt/QEMU not installed: %s' % ', '.join(missing))
    if os.geteuid() != 0:
        unavailable('the libvirt layer runs its daemons as uid 65534 and '
                    'needs root to start them')
    from sandbox import controlplane
    from sandbox import libvirtd
    with contextlib.ExitStack() as stack:
        hosts = []
        for host_uuid in ('a0000000-0000-4000-8000-00000000000a',
                          'b0000000-0000-4000-8000-00000000000b'):
            host = stack.enter_context(stopped_at_the_end(
                libvirtd.LibvirtSandbox.start(host_uuid)))
            host.define_ceph_secret(controlplane.SECRET_UUID, 'client.nova',
                                    ceph_sandbox.key('client.nova'))
            hosts.append(host)
        yield hosts
