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
"""The devstack plugin's phases, sourced with stub devstack functions."""

import os
import subprocess
import sys

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))
STUBS = '''
function iniset { echo "iniset $*" >> "$CALLS"; }
function setup_develop { echo "setup_develop $*" >> "$CALLS"; }
function echo_summary { :; }
function define_plugin { echo "define_plugin $*" >> "$CALLS"; }
function plugin_requires { echo "plugin_requires $*" >> "$CALLS"; }
function is_service_enabled { [[ " $ENABLED " == *" $1 "* ]]; }
function stop_process { echo "stop_process $*" >> "$CALLS"; }
function run_process { echo "run_process $*" >> "$CALLS"; }
'''


def phase(tmp_path, *args, **env):
    calls = tmp_path / 'calls'
    calls.write_text('')
    script = STUBS + 'source %s/devstack/settings\n' % TOP
    if args != ('source',):
        # Only what the phase itself does is recorded.
        script += ': > "$CALLS"\nsource %s/devstack/plugin.sh %s\n' % (
            TOP, ' '.join(args))
    environ = {'PATH': os.environ['PATH'], 'CALLS': str(calls),
               'DEST': '/opt/stack', 'NOVA_CONF': '/etc/nova/nova.conf',
               'NOVA_CPU_CONF': '/etc/nova/nova-cpu.conf',
               'TEMPEST_CONFIG': '/opt/stack/tempest/etc/tempest.conf',
               'NOVA_BIN_DIR': '/opt/stack/data/venv/bin',
               'LIBVIRT_GROUP': 'libvirt', 'ENABLED': 'n-cpu tempest'}
    environ.update(env)
    subprocess.run(['bash', '-euc', script], env=environ, check=True)
    return [line.split(' ', 1) for line in calls.read_text().splitlines()]


def test_settings_declare_the_plugin_and_its_requirement(tmp_path):
    calls = phase(tmp_path, 'source')
    assert ['define_plugin', 'nova-rbd-imagebackend'] in calls
    assert ['plugin_requires',
            'nova-rbd-imagebackend devstack-plugin-ceph'] in calls


def test_install_develops_the_checkout(tmp_path):
    calls = phase(tmp_path, 'stack', 'install')
    assert ['setup_develop', '/opt/stack/nova-rbd-imagebackend'] in calls


def test_post_config_writes_nova_cpu_conf_from_the_ceph_plugin(tmp_path):
    calls = phase(tmp_path, 'stack', 'post-config', CINDER_CEPH_USER='cinder',
                  CINDER_CEPH_UUID='d531d2d4-3937-429c-b0c2-658fe41e82aa',
                  NOVA_CEPH_POOL='vms', CEPH_CONF_FILE='/etc/ceph/ceph.conf')
    settings = {tuple(c[1].split()[1:3]): c[1].split(' ', 3)[3]
                for c in calls if c[0] == 'iniset'}
    assert {c[1].split()[0] for c in calls} == {'/etc/nova/nova-cpu.conf'}
    assert settings == {
        ('libvirt', 'images_type'): 'rbd',
        ('libvirt', 'images_rbd_pool'): 'vms',
        ('libvirt', 'images_rbd_ceph_conf'): '/etc/ceph/ceph.conf',
        ('libvirt', 'rbd_user'): 'cinder',
        ('libvirt', 'rbd_secret_uuid'):
            'd531d2d4-3937-429c-b0c2-658fe41e82aa',
        ('libvirt', 'disk_cachemodes'): 'network=writeback',
        ('libvirt', 'hw_disk_discard'): 'unmap',
        ('rbd_imagebackend', 'op_timeout'): '30',
    }


def test_local_conf_overrides_win(tmp_path):
    calls = phase(tmp_path, 'stack', 'post-config', NOVA_RBD_POOL='ephemeral',
                  NOVA_RBD_USER='nova')
    assert ['iniset', '/etc/nova/nova-cpu.conf libvirt images_rbd_pool '
            'ephemeral'] in calls
    assert ['iniset', '/etc/nova/nova-cpu.conf libvirt rbd_user nova'] in calls


def test_extra_restarts_compute_as_nova_rbd_compute(tmp_path):
    calls = phase(tmp_path, 'stack', 'extra')
    assert calls == [
        ['stop_process', 'n-cpu'],
        ['run_process', 'n-cpu /opt/stack/data/venv/bin/nova-rbd-compute '
         '--config-file /etc/nova/nova-cpu.conf libvirt']]
    assert phase(tmp_path, 'stack', 'extra', ENABLED='tempest') == []


def test_test_config_sets_tempest_for_shared_storage(tmp_path):
    calls = phase(tmp_path, 'stack', 'test-config')
    assert ['iniset', '/opt/stack/tempest/etc/tempest.conf '
            'compute-feature-enabled block_migration_for_live_migration '
            'False'] in calls
    assert ['iniset', '/opt/stack/tempest/etc/tempest.conf '
            'compute-feature-enabled shelve True'] in calls


@pytest.mark.parametrize('args', [('unstack',), ('clean',)])
def test_unstack_and_clean_succeed(tmp_path, args):
    assert phase(tmp_path, *args) == []


def test_bashate_is_clean():
    bashate = os.path.join(os.path.dirname(sys.executable), 'bashate')
    result = subprocess.run(
        [bashate, '-v', '-iE006'] + [os.path.join(TOP, p) for p in (
            'devstack/plugin.sh', 'devstack/settings', 'run',
            'tools/setup-system.sh', '.ci/run')],
        capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
