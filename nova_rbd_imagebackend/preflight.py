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
"""Startup checks: refuse to start with one clear message.

A compute host with a broken Ceph setup should not come up, accept
instances and fail each of them later with a traceback.
"""

import os

from importlib import metadata

import nova.conf
from oslo_log import log as logging
from oslo_utils import versionutils

from nova_rbd_imagebackend import ceph_client
from nova_rbd_imagebackend import cluster
from nova_rbd_imagebackend import exceptions

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)

# The Nova releases whose internals tests/unit/test_nova_internals.py pins.
NOVA_TESTED = ('34.0.0', '35.0.0')


def _nova_version():
    return metadata.version('nova')


def _static_problems(conf):
    version = _nova_version()
    low, high = NOVA_TESTED
    if not (versionutils.is_compatible(low, version, same_major=False) and
            not versionutils.is_compatible(high, version, same_major=False)):
        yield ('Nova %s is outside the tested range [%s, %s)'
               % (version, low, high))
    if conf.libvirt.images_type != 'rbd':
        yield ('[libvirt] images_type is %s; the plugin serves rbd'
               % conf.libvirt.images_type)
    if not conf.libvirt.images_rbd_pool:
        yield '[libvirt] images_rbd_pool is empty'
    if bool(conf.libvirt.rbd_user) != bool(conf.libvirt.rbd_secret_uuid):
        yield ('[libvirt] rbd_user and rbd_secret_uuid must be set together '
               '(libvirt passes the key in that secret to QEMU for that user)')
    if not conf.force_raw_images:
        yield '[DEFAULT] force_raw_images must be True with RBD'
    if conf.libvirt.images_rbd_ceph_conf and not os.access(
            conf.libvirt.images_rbd_ceph_conf, os.R_OK):
        yield ('[libvirt] images_rbd_ceph_conf %s is not readable'
               % conf.libvirt.images_rbd_ceph_conf)


def _keyring_problem(conf):
    sources = ceph_client.auth_sources(conf.libvirt.images_rbd_ceph_conf,
                                       conf.libvirt.rbd_user)
    if sources['key']:
        return None
    if sources['keyfile']:
        paths = [sources['keyfile']]
    else:
        paths = sources['keyring']
    if any(os.access(p, os.R_OK) for p in paths):
        return None
    return ('no readable keyring for client.%s (looked in %s)'
            % (conf.libvirt.rbd_user or 'admin', ', '.join(paths)))


def problems(conf=CONF):
    """Return what is wrong, most basic first; [] when all is well."""
    found = list(_static_problems(conf))
    if found:
        return found
    keyring = _keyring_problem(conf)
    if keyring:
        return [keyring]
    client = cluster.client()
    try:
        if not client.pool_exists(conf.libvirt.images_rbd_pool):
            return ['pool %s does not exist in Ceph cluster %s'
                    % (conf.libvirt.images_rbd_pool, client.fsid())]
    except exceptions.CephError as exc:
        return [exc.format_message()]
    return []


def check_or_raise(conf=CONF):
    """Raise ActivationError naming the first problem found."""
    found = problems(conf)
    if found:
        raise exceptions.ActivationError(reason=found[0])
    LOG.info('nova-rbd-imagebackend ready: pool %s as client.%s',
             conf.libvirt.images_rbd_pool, conf.libvirt.rbd_user or 'admin')
