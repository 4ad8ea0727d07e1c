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

"""tempest.conf for the one-machine cloud, from a few facts about it.

``sections(facts)`` is pure: ``facts`` is a dict with the keys of
``FACTS`` (what resources.facts() reads from a running cloud), and the
result is ``{section: {option: value}}`` for sandbox.cloud.ini.  What the
cloud offers decides each feature flag:

- compute: Nova's libvirt driver on two hosts, TCG guests, every disk in
  RBD (shared storage for live migration: tempest's "block migration"
  runs as ``block_migration='auto'`` and Nova copies no disk);
- no Cinder, no Swift, no consoles (VNC, SPICE, serial are off);
- networking is a read-only Neutron stand-in: tempest must create no
  networks, ports or security groups (``create_isolated_networks =
  False``, no extensions, no interface attach) and boots servers with
  ``networks: none`` (compute microversion 2.37 or later);
- no SSH into the guests (``run_validation = False``): the guest has no
  network, no SSH server and no metadata agent.
"""

import os

from sandbox.cloud import ini

FACTS = ('auth_url', 'admin_username', 'admin_password', 'admin_project',
         'domain', 'region', 'image_ref', 'image_ref_alt', 'flavor_ref',
         'flavor_ref_alt', 'compute_nodes', 'max_microversion', 'workspace')
# Servers are booted with "networks": "none", which needs 2.37.
MIN_MICROVERSION = '2.37'
# A server reaches ACTIVE in ~10 s under TCG; a migration takes longer.
BUILD_TIMEOUT = 300


def sections(facts):
    """The tempest.conf sections for the cloud ``facts`` describe."""
    missing = [key for key in FACTS if key not in facts]
    if missing:
        raise ValueError('missing cloud facts: %s' % ', '.join(missing))
    if facts['compute_nodes'] < 2:
        raise ValueError('migration tests need two compute hosts, the '
                         'cloud has %d' % facts['compute_nodes'])
    workspace = facts['workspace']
    return {
        'DEFAULT': {
            'log_dir': os.path.join(workspace, 'logs'),
            'log_file': 'tempest.log',
            'debug': True,
        },
        'oslo_concurrency': {
            'lock_path': os.path.join(workspace, 'tempest_lock'),
        },
        'auth': {
            'use_dynamic_credentials': True,
            'admin_username': facts['admin_username'],
            'admin_password': facts['admin_password'],
            'admin_project_name': facts['admin_project'],
            'admin_domain_name': facts['domain'],
            'default_credentials_domain_name': facts['domain'],
            # The Neutron stand-in refuses every write.
            'create_isolated_networks': False,
        },
        'identity': {
            'uri_v3': facts['auth_url'],
            'auth_version': 'v3',
            'region': facts['region'],
            'v3_endpoint_type': 'public',
        },
        'compute': {
            'image_ref': facts['image_ref'],
            'image_ref_alt': facts['image_ref_alt'],
            'flavor_ref': facts['flavor_ref'],
            'flavor_ref_alt': facts['flavor_ref_alt'],
            'min_compute_nodes': facts['compute_nodes'],
            'min_microversion': MIN_MICROVERSION,
            'max_microversion': facts['max_microversion'],
            'build_timeout': BUILD_TIMEOUT,
            'build_interval': 1,
            'region': facts['region'],
            'endpoint_type': 'publicURL',
        },
        'compute-feature-enabled': _compute_features(),
        'image': {
            'region': facts['region'],
            'build_timeout': BUILD_TIMEOUT,
        },
        'network': {
            'region': facts['region'],
            'shared_physical_network': False,
            'project_networks_reachable': False,
            'public_network_id': '',
            'floating_network_name': '',
        },
        'network-feature-enabled': {
            # Empty: the stand-in has no extension, not "all".
            'api_extensions': '',
            'ipv6': False,
            'ipv6_subnet_attributes': False,
            'port_security': False,
            'floating_ips': False,
        },
        'validation': {
            'run_validation': False,
        },
        'service_available': {
            'nova': True,
            'glance': True,
            'neutron': True,
            'cinder': False,
            'swift': False,
            'horizon': False,
        },
    }


def _compute_features():
    """[compute-feature-enabled]: what Nova's libvirt driver does here."""
    return {
        # Instance and server actions the cloud runs for real.
        'snapshot': True,
        'shelve': True,
        'shelve_migrate': True,
        'resize': True,
        'rescue': True,
        'stable_rescue': True,
        'cold_migration': True,
        'live_migration': True,
        'console_output': True,
        'pause': True,
        'suspend': True,
        'config_drive': True,
        'disk_config': True,
        'hostname_fqdn_sanitization': True,
        # Disks live in Ceph, shared by both hosts: Nova decides for
        # "auto" and copies nothing.
        'block_migration_for_live_migration': True,
        'can_migrate_between_any_hosts': True,
        'live_migrate_back_and_forth': False,
        # No guest agent to set a password, no personality files.
        'change_password': False,
        'personality': False,
        # Consoles are off in nova.conf.
        'vnc_console': False,
        'spice_console': False,
        'serial_console': False,
        # No ports to attach, no volumes.
        'interface_attach': False,
        'attach_encrypted_volume': False,
        'swap_volume': False,
        'volume_backed_live_migration': False,
        'volume_multiattach': False,
        'vtpm_live_migration': False,
        'unified_limits': False,
    }


def write(path, facts):
    """Write tempest.conf for ``facts`` to ``path``; return ``path``."""
    return ini.write(path, sections(facts))
