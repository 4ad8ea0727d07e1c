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

"""Nova's and Placement's configuration files, one per process.

``controller`` is shared by nova-api, nova-conductor and nova-scheduler
(each gets its own copy and log); ``compute`` is one compute host's:
Nova's real libvirt driver against that host's own libvirtd, images on
RBD in pool ``vms`` as that host's cephx user.
"""

import os
import sys

from sandbox.cloud import keystone

MICROVERSION = '2.74'


def _common(c, log_file):
    """Options every Nova process shares."""
    venv = os.path.dirname(os.path.dirname(sys.executable))
    return {
        'DEFAULT': {
            'transport_url': c['transport_url'],
            'log_file': log_file,
            'debug': c.get('debug', False),
            'my_ip': '127.0.0.1',
            'use_rootwrap_daemon': False,
            'rootwrap_config': os.path.join(venv, 'etc', 'nova',
                                            'rootwrap.conf'),
        },
        'api_database': {'connection': c['db']['nova_api']},
        'database': {'connection': c['db']['nova_cell1']},
        'keystone_authtoken': keystone.authtoken_section(c['auth_url'],
                                                         'nova'),
        'placement': keystone.auth_section(c['auth_url'], 'placement'),
        'glance': dict(keystone.auth_section(c['auth_url'], 'nova'),
                       api_servers=c['glance_url']),
        'neutron': dict(keystone.auth_section(c['auth_url'], 'neutron'),
                        endpoint_override=c['neutron_url'],
                        default_floating_pool='none'),
        'cinder': {'os_region_name': keystone.REGION},
        'service_user': dict(keystone.auth_section(c['auth_url'], 'nova'),
                             send_service_user_token=True),
        'oslo_concurrency': {'lock_path': os.path.join(c['dir'], 'locks')},
        'oslo_messaging_notifications': {'driver': 'noop'},
        'oslo_policy': {'enforce_scope': False,
                        'enforce_new_defaults': False},
        'vnc': {'enabled': False},
        'spice': {'enabled': False},
        'serial_console': {'enabled': False},
        'wsgi': {'api_paste_config': os.path.join(venv, 'etc', 'nova',
                                                  'api-paste.ini')},
    }


def controller(c, log_file):
    conf = _common(c, log_file)
    conf['DEFAULT'].update({
        'enabled_apis': 'osapi_compute',
        'osapi_compute_workers': 1,
    })
    conf['conductor'] = {'workers': 1}
    conf['scheduler'] = {'workers': 1,
                         'discover_hosts_in_cells_interval': 2}
    conf['filter_scheduler'] = {'track_instance_changes': True}
    conf['api'] = {'auth_strategy': 'keystone'}
    return conf


def compute(c, host, log_file):
    """One compute host; ``host`` is a dict from computes.HOSTS."""
    venv = os.path.dirname(os.path.dirname(sys.executable))
    conf = _common(c, log_file)
    # A compute reaches the databases through the conductor only.
    del conf['api_database'], conf['database']
    helper = '%s --config-file %s' % (os.path.join(venv, 'bin',
                                                   'privsep-helper'),
                                      host['conf'])
    conf['DEFAULT'].update({
        'host': host['name'],
        'state_path': host['state_path'],
        'instances_path': c['instances_path'],
        'compute_driver': 'libvirt.LibvirtDriver',
        'force_raw_images': True,
        'use_cow_images': True,
        # Guests built here ignore ACPI: power off at once.
        'shutdown_timeout': 0,
        'graceful_shutdown_timeout': 5,
        'heal_instance_info_cache_interval': -1,
        'disk_allocation_ratio': 16.0,
        'ram_allocation_ratio': 1.0,
        'reserved_host_memory_mb': 512,
        'resume_guests_state_on_host_boot': False,
        'instance_usage_audit': False,
        'sync_power_state_interval': 10,
    })
    conf['libvirt'] = {
        'virt_type': 'qemu',
        'cpu_mode': 'none',
        'connection_uri': host['uri'],
        'images_type': 'rbd',
        'images_rbd_pool': 'vms',
        'images_rbd_ceph_conf': c['ceph_conf'],
        'rbd_user': host['rbd_user'],
        'rbd_secret_uuid': host['secret_uuid'],
        'rbd_connect_timeout': 10,
        'live_migration_uri': c['live_migration_uri'],
        'live_migration_inbound_addr': host['inbound_addr'],
        'live_migration_timeout_action': 'abort',
        'live_migration_completion_timeout': 120,
        'live_migration_permit_auto_converge': True,
        'inject_partition': -2,
    }
    conf['compute'] = {'live_migration_wait_for_vif_plug': False,
                       'max_concurrent_live_migrations': 1}
    conf['os_vif_ovs'] = {'isolate_vif': False}
    conf['nova_sys_admin'] = {'helper_command': helper}
    conf['privsep_osbrick'] = {'helper_command': helper}
    conf['vif_plug_ovs_privileged'] = {'helper_command': helper}
    conf['vif_plug_linux_bridge_privileged'] = {'helper_command': helper}
    conf['workarounds'] = {'skip_cpu_compare_on_dest': True}
    return conf


def placement(c, log_file):
    return {
        'DEFAULT': {'log_file': log_file, 'debug': False},
        'placement_database': {'connection': c['db']['placement']},
        'api': {'auth_strategy': 'keystone'},
        'keystone_authtoken': keystone.authtoken_section(c['auth_url'],
                                                         'placement'),
        'oslo_policy': {'enforce_scope': False,
                        'enforce_new_defaults': False},
    }
