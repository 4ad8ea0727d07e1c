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

"""tempest.conf for the sandbox cloud, from a stand-in of its facts."""

import configparser
import os
import re

import pytest

from sandbox.tempest import conf
from sandbox.tempest import runner

FACTS = {
    'auth_url': 'http://127.0.0.1:5000/v3',
    'admin_username': 'admin',
    'admin_password': 'secret',
    'admin_project': 'admin',
    'domain': 'Default',
    'region': 'RegionOne',
    'image_ref': 'image-1',
    'image_ref_alt': 'image-2',
    'flavor_ref': 'tiny',
    'flavor_ref_alt': 'small',
    'compute_nodes': 2,
    'max_microversion': '2.104',
    'workspace': '/tmp/c/tempest',
}


def written(tmp_path, **changes):
    """The written file, read back as tempest's oslo.config would."""
    path = conf.write(str(tmp_path / 'tempest.conf'),
                      dict(FACTS, **changes))
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(path)
    return parser


def test_identity_and_admin_credentials(tmp_path):
    c = written(tmp_path)
    assert c['identity']['uri_v3'] == FACTS['auth_url']
    assert c['identity']['auth_version'] == 'v3'
    assert c['identity']['region'] == 'RegionOne'
    auth = c['auth']
    assert (auth['admin_username'], auth['admin_password'],
            auth['admin_project_name'], auth['admin_domain_name']) == (
        'admin', 'secret', 'admin', 'Default')
    assert auth['use_dynamic_credentials'] == 'True'


def test_two_images_two_flavors_and_two_hosts(tmp_path):
    compute = written(tmp_path)['compute']
    assert (compute['image_ref'], compute['image_ref_alt']) == (
        'image-1', 'image-2')
    assert (compute['flavor_ref'], compute['flavor_ref_alt']) == (
        'tiny', 'small')
    assert compute['min_compute_nodes'] == '2'
    # "networks": "none" needs 2.37; the top is what nova-api offers.
    assert compute['min_microversion'] == '2.37'
    assert compute['max_microversion'] == '2.104'


def test_neutron_stand_in_gets_no_writes(tmp_path):
    c = written(tmp_path)
    assert c['service_available']['neutron'] == 'True'
    assert c['auth']['create_isolated_networks'] == 'False'
    assert c['network-feature-enabled']['api_extensions'] == ''
    assert c['network-feature-enabled']['floating_ips'] == 'False'
    assert c['compute-feature-enabled']['interface_attach'] == 'False'
    assert c['validation']['run_validation'] == 'False'


def test_no_volumes_no_object_store(tmp_path):
    c = written(tmp_path)
    assert c['service_available']['cinder'] == 'False'
    assert c['service_available']['swift'] == 'False'
    features = c['compute-feature-enabled']
    for name in ('swap_volume', 'volume_backed_live_migration',
                 'volume_multiattach', 'attach_encrypted_volume'):
        assert features[name] == 'False', name


@pytest.mark.parametrize('name', [
    'snapshot', 'shelve', 'resize', 'rescue', 'live_migration',
    'cold_migration', 'console_output',
    'block_migration_for_live_migration'])
def test_what_the_cloud_supports_is_on(tmp_path, name):
    assert written(tmp_path)['compute-feature-enabled'][name] == 'True'


@pytest.mark.parametrize('name', [
    'vnc_console', 'spice_console', 'serial_console', 'change_password',
    'personality'])
def test_what_the_cloud_lacks_is_off(tmp_path, name):
    assert written(tmp_path)['compute-feature-enabled'][name] == 'False'


def test_logs_and_locks_stay_in_the_workspace(tmp_path):
    c = written(tmp_path)
    assert c['DEFAULT']['log_dir'] == '/tmp/c/tempest/logs'
    assert c['oslo_concurrency']['lock_path'] == '/tmp/c/tempest/tempest_lock'


def test_missing_fact_is_named():
    facts = dict(FACTS)
    del facts['image_ref_alt']
    with pytest.raises(ValueError, match='image_ref_alt'):
        conf.sections(facts)


def test_one_host_is_refused():
    with pytest.raises(ValueError, match='two compute hosts'):
        conf.sections(dict(FACTS, compute_nodes=1))


def test_every_option_is_one_tempest_knows():
    config = pytest.importorskip('tempest.config')
    known = {group.name: {opt.name for opt in opts}
             for group, opts in config._opts if group is not None}
    for section, options in conf.sections(FACTS).items():
        if section in ('DEFAULT', 'oslo_concurrency'):
            continue
        assert section in known, section
        assert set(options) <= known[section], section


def test_exclude_list_gives_every_regex_a_reason():
    with open(runner.EXCLUDE_LIST) as f:
        lines = [line.strip() for line in f]
    assert os.path.basename(runner.EXCLUDE_LIST) == 'exclude-list.txt'
    regexes = 0
    for line in lines:
        pattern, _, reason = line.partition('#')
        if not pattern.strip():
            continue
        regexes += 1
        assert reason.strip(), 'no reason for %s' % pattern
        re.compile(pattern.strip())
    assert regexes
