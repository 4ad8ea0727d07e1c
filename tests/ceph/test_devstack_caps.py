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
"""The devstack plugin gives Glance's user read access to the ephemeral pool.

Runs the plugin's own bash function with the real ``ceph`` command
against the session's cluster, on a user created with the caps
devstack-plugin-ceph gives Glance.
"""

import json
import os
import shutil
import subprocess
import uuid

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def _ceph(conf, *args):
    return subprocess.run(['ceph', '-c', conf, *args], check=True,
                          capture_output=True, text=True).stdout


def _caps(conf, user):
    return json.loads(_ceph(conf, 'auth', 'get', 'client.' + user, '-f',
                            'json'))[0]['caps']


def _configure(conf, user):
    script = '''
function define_plugin { :; }
function plugin_requires { :; }
function sudo { "$@"; }
source %(top)s/devstack/settings
source %(top)s/devstack/plugin.sh functions-only
configure_glance_caps_for_nova_rbd_imagebackend
''' % {'top': TOP}
    subprocess.run(['bash', '-euc', script], check=True, env={
        'PATH': os.environ['PATH'], 'DEST': '/opt/stack',
        'CEPH_CONF_FILE': conf, 'GLANCE_CEPH_USER': user})


def test_glance_may_read_the_ephemeral_pool_and_keeps_its_caps(ceph_sandbox):
    if shutil.which('ceph') is None:
        pytest.skip('the ceph command is not installed')
    conf, user = ceph_sandbox.conf_path, 'glance-%s' % uuid.uuid4().hex[:8]
    _ceph(conf, 'auth', 'get-or-create', 'client.' + user, 'mon',
          'profile rbd', 'osd', 'profile rbd pool=images', 'mgr',
          'profile rbd pool=images')
    try:
        _configure(conf, user)
        expected = {'mon': 'profile rbd', 'mgr': 'profile rbd pool=images',
                    'osd': 'profile rbd pool=images, '
                           'profile rbd-read-only pool=vms'}
        assert _caps(conf, user) == expected
        _configure(conf, user)  # again: nothing changes
        assert _caps(conf, user) == expected
    finally:
        _ceph(conf, 'auth', 'del', 'client.' + user)
