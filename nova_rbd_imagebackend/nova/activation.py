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
"""The one explicit step that puts the plugin in charge of images_type=rbd.

Nova has no plugin point for image backends and loads compute drivers
only from the ``nova.virt`` package.  Activation therefore:

* loads the image backend class from the ``nova.virt.libvirt.imagebackend``
  entry point group (name ``rbd``) with stevedore;
* makes the plugin's driver module importable as
  ``nova.virt.rbd_imagebackend`` in this process only (no file is
  written into Nova's package and nothing is hooked at import time);
* selects that driver in place of ``libvirt.LibvirtDriver``.

The ``nova-rbd-compute`` console script runs this right after Nova has
parsed its configuration; tests run the same function.
"""

import sys

import nova.conf

from nova_rbd_imagebackend import conf as plugin_conf
from nova_rbd_imagebackend import exceptions
from nova_rbd_imagebackend.nova import driver
from nova_rbd_imagebackend.nova import entry_point

CONF = nova.conf.CONF
DRIVER_MODULE_ALIAS = 'nova.virt.rbd_imagebackend'
DRIVER = 'rbd_imagebackend.RbdLibvirtDriver'
REPLACEABLE_DRIVERS = ('libvirt.LibvirtDriver', DRIVER)


def activate(conf=CONF):
    """Put the plugin in charge of images_type=rbd for this process.

    :raises ActivationError: if the configured compute driver is not
        Nova's libvirt driver, or the backend entry point is missing.
    """
    plugin_conf.register_opts(conf)
    if conf.compute_driver not in REPLACEABLE_DRIVERS:
        raise exceptions.ActivationError(
            reason='[DEFAULT] compute_driver is %s; the plugin extends '
                   'libvirt.LibvirtDriver only' % conf.compute_driver)
    entry_point.backend_class()
    sys.modules.setdefault(DRIVER_MODULE_ALIAS, driver)
    conf.set_override('compute_driver', DRIVER)
