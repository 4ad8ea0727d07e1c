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

"""The cloud layer: one real one-machine cloud for the whole session.

The cloud (sandbox/cloud) is started once, on first use, in a folder
under /tmp that the unprivileged daemons can reach, and stopped at the
end of the session (or at exit, if the session is interrupted).
"""

import os
import shutil
import tempfile

import pytest

from tests.conftest import stopped_at_the_end
from tests.conftest import unavailable

NEEDED = ('ceph-mon', 'ceph-osd', 'ceph-mgr', 'libvirtd', 'setpriv',
          'unshare', 'qemu-system-x86_64', 'syslinux', 'mcopy', 'cpio',
          'busybox', 'apt-get', 'dpkg-deb')
NEEDED_PATHS = ('/usr/lib/rabbitmq/bin/rabbitmq-server',
                '/usr/lib/postgresql/15/bin/postgres')


@pytest.fixture(scope='session')
def cloud():
    """A started sandbox.cloud.cloud.Cloud."""
    missing = [b for b in NEEDED if shutil.which(b) is None]
    missing += [p for p in NEEDED_PATHS if not os.path.exists(p)]
    if missing:
        unavailable('cloud parts not installed: %s' % ', '.join(missing))
    if os.geteuid() != 0:
        unavailable('the cloud runs daemons as other users; needs root')
    try:
        import keystone  # noqa: F401
        import psycopg2  # noqa: F401

        from sandbox.cloud import cloud as cloud_mod
    except ImportError as exc:
        unavailable('cloud Python packages missing: %s' % exc)
    directory = tempfile.mkdtemp(prefix='nova-rbd-cloud-', dir='/tmp')
    # One cephx user per host unless told otherwise (nova,nova: one
    # shared user, with which live migration works today).
    users = tuple(os.environ.get('NOVA_RBD_CLOUD_USERS',
                                 'nova,nova2').split(','))
    # As the README installs a compute host: no ceph or rbd command on
    # the computes' PATH (NOVA_RBD_CLOUD_CEPH_CLI=1 puts them back).
    ceph_cli = os.environ.get('NOVA_RBD_CLOUD_CEPH_CLI', '0') == '1'
    box = cloud_mod.Cloud.start(directory, users=users, ceph_cli=ceph_cli)
    with stopped_at_the_end(box):
        yield box
