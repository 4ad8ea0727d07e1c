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

"""Keystone: identity, the service catalog, and the service users.

``prepare`` writes keystone.conf, syncs the database and bootstraps the
admin (fernet tokens, keys under ``<dir>/keystone``); ``serve`` runs the
API under gunicorn; ``register`` then creates the ``service`` project,
one user per service (admin and service roles in it) and the catalog
entries of the other services, through the identity API.
"""

import os
import sys

from sandbox.cloud import ini
from sandbox.cloud import wsgi
from sandbox import procs

REGION = 'RegionOne'
ADMIN_PASSWORD = 'sandbox-admin'
SERVICE_PASSWORD = 'sandbox-service'
SERVICE_PROJECT = 'service'
SERVICE_USERS = ('nova', 'glance', 'placement', 'neutron')


def _manage(conf, *args):
    bindir = os.path.dirname(sys.executable)
    return procs.run([os.path.join(bindir, 'keystone-manage'),
                      '--config-file', conf] + list(args), timeout=300)


def prepare(directory, port, database):
    """Configure, sync and bootstrap; return the identity URL (v3)."""
    base = os.path.join(directory, 'keystone')
    os.makedirs(base, exist_ok=True)
    url = 'http://127.0.0.1:%d/v3' % port
    conf = ini.write(os.path.join(base, 'keystone.conf'), {
        'DEFAULT': {'log_file': os.path.join(base, 'keystone.log'),
                    'debug': False},
        'database': {'connection': database},
        'token': {'provider': 'fernet'},
        'fernet_tokens': {'key_repository': os.path.join(base, 'fernet')},
        'fernet_receipts': {'key_repository': os.path.join(base,
                                                           'receipts')},
        'credential': {'key_repository': os.path.join(base, 'credential')},
        # Thrown-away passwords: the cheapest hash keystone accepts.
        'identity': {'password_hash_rounds': 4},
        'cache': {'enabled': False},
        'oslo_policy': {'enforce_scope': False,
                        'enforce_new_defaults': False},
    })
    _manage(conf, 'db_sync')
    for step in ('fernet_setup', 'receipt_setup', 'credential_setup'):
        _manage(conf, step, '--keystone-user', 'root',
                '--keystone-group', 'root')
    _manage(conf, 'bootstrap', '--bootstrap-password', ADMIN_PASSWORD,
            '--bootstrap-username', 'admin',
            '--bootstrap-project-name', 'admin',
            '--bootstrap-role-name', 'admin',
            '--bootstrap-service-name', 'keystone',
            '--bootstrap-region-id', REGION,
            '--bootstrap-admin-url', url, '--bootstrap-public-url', url,
            '--bootstrap-internal-url', url)
    return url


def serve(ledger, directory, port):
    base = os.path.join(directory, 'keystone')
    env = dict(os.environ, OS_KEYSTONE_CONFIG_DIR=base)
    return wsgi.serve(ledger, 'keystone', 'sandbox.cloud.wsgi_apps:keystone()',
                      port, base, env=env)


def admin_connection(auth_url, project='admin'):
    """An openstacksdk connection as the cloud's admin."""
    import openstack
    return openstack.connect(
        auth_url=auth_url, username='admin', password=ADMIN_PASSWORD,
        project_name=project, user_domain_name='Default',
        project_domain_name='Default', region_name=REGION,
        identity_interface='public', load_yaml_config=False,
        load_envvars=False)


def register(auth_url, endpoints):
    """Service project and users; catalog entries for ``endpoints``.

    :param endpoints: {service type: (name, URL)}
    """
    conn = admin_connection(auth_url)
    ident = conn.identity
    project = ident.create_project(name=SERVICE_PROJECT, domain_id='default')
    roles = {r.name: r for r in ident.roles()}
    for name in ('service',):
        if name not in roles:
            roles[name] = ident.create_role(name=name)
    for name in SERVICE_USERS:
        user = ident.create_user(name=name, password=SERVICE_PASSWORD,
                                 domain_id='default',
                                 default_project_id=project.id)
        for role in ('admin', 'service'):
            ident.assign_project_role_to_user(project, user, roles[role])
    for service_type, (name, url) in sorted(endpoints.items()):
        service = ident.create_service(name=name, type=service_type)
        for interface in ('public', 'internal', 'admin'):
            ident.create_endpoint(service_id=service.id, interface=interface,
                                  url=url, region_id=REGION)
    conn.close()


def auth_section(auth_url, user):
    """The keystoneauth options a service uses to act as ``user``."""
    return {'auth_type': 'password', 'auth_url': auth_url,
            'username': user, 'password': SERVICE_PASSWORD,
            'project_name': SERVICE_PROJECT,
            'user_domain_name': 'Default',
            'project_domain_name': 'Default', 'region_name': REGION}


def authtoken_section(auth_url, user):
    """[keystone_authtoken] for an API that validates tokens."""
    return dict(auth_section(auth_url, user), www_authenticate_uri=auth_url,
                service_token_roles_required=True)
