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

"""WSGI entry points for gunicorn: ``sandbox.cloud.wsgi_apps:NAME()``.

Keystone's, Nova's and Placement's WSGI loaders parse ``sys.argv`` as
their own command line; under gunicorn it holds gunicorn's arguments.
Each factory resets it before importing the service's application.
The configuration folder comes from the environment variable each
service reads (OS_KEYSTONE_CONFIG_DIR, OS_NOVA_CONFIG_DIR,
OS_PLACEMENT_CONFIG_DIR).
"""

import sys


def _argv(prog):
    sys.argv = [prog]


def keystone():
    _argv('keystone')
    from keystone.wsgi import api
    return api.application


def nova_api():
    _argv('nova-api')
    from nova.wsgi import osapi_compute
    return osapi_compute.application


def placement():
    _argv('placement-api')
    from placement.wsgi import api
    return api.application


def neutron_standin():
    from sandbox.cloud import neutron_standin
    return neutron_standin.application
