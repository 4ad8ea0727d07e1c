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
"""The image backend class, loaded from the package's entry point."""

from stevedore import driver as stevedore_driver

from nova_rbd_imagebackend import exceptions

ENTRY_POINT_GROUP = 'nova.virt.libvirt.imagebackend'
BACKEND_NAME = 'rbd'


def backend_class(name=BACKEND_NAME):
    """The image backend class registered under ``name``."""
    try:
        return stevedore_driver.DriverManager(
            ENTRY_POINT_GROUP, name, invoke_on_load=False).driver
    except Exception as exc:
        raise exceptions.ActivationError(
            reason='no image backend %r in entry point group %s (is the '
                   'package installed?): %s' % (name, ENTRY_POINT_GROUP, exc))
