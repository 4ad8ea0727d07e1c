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
"""Checks of nova.conf alone: what must hold before Ceph is even asked."""

from importlib import metadata
import os
import uuid

from oslo_utils import versionutils

from nova_rbd_imagebackend.checks import results

# The Nova releases whose internals tests/unit/nova/test_nova_internals.py
# pins.
NOVA_TESTED = ('34.0.0', '35.0.0')
DEFAULT_CEPH_CONF = '/etc/ceph/ceph.conf'


def _nova_version():
    return metadata.version('nova')


def nova_version(host):
    """Older than tested: fail; newer: warn (the internals check decides)."""
    version = _nova_version()
    low, high = NOVA_TESTED
    fix = ('install Nova %s.x, or a plugin release tested with Nova %s'
           % (low.split('.')[0], version))
    if not versionutils.is_compatible(low, version, same_major=False):
        return results.fail(
            'nova version', 'Nova %s is older than the tested range '
            '[%s, %s)' % (version, low, high), fix)
    if versionutils.is_compatible(high, version, same_major=False):
        return results.warn(
            'nova version', 'Nova %s is newer than the tested range [%s, '
            '%s); running because the Nova internals the plugin relies on '
            'are unchanged' % (version, low, high), fix)
    return results.ok('nova version', 'Nova %s' % version)


def images_type(host):
    value = host.conf.libvirt.images_type
    if value == 'rbd':
        return results.ok('images_type', 'rbd')
    return results.fail(
        'images_type', '[libvirt] images_type is %s; the plugin serves rbd'
        % value, 'set [libvirt] images_type = rbd, or run nova-compute')


def instance_pool(host):
    if host.pool:
        return results.ok('images_rbd_pool', host.pool)
    return results.fail('images_rbd_pool', '[libvirt] images_rbd_pool is '
                        'empty', 'set it to the pool for instance disks')


def cephx_secret(host):
    user = host.conf.libvirt.rbd_user
    secret = host.conf.libvirt.rbd_secret_uuid
    if bool(user) != bool(secret):
        return results.fail(
            'rbd_user/secret', '[libvirt] rbd_user and rbd_secret_uuid must '
            'be set together (libvirt passes the key in that secret to QEMU '
            'for that user)', 'set both, or neither to use client.admin')
    if not user:
        return results.ok('rbd_user/secret', 'neither set: client.admin')
    try:
        uuid.UUID(secret)
    except ValueError:
        return results.fail(
            'rbd_user/secret', '[libvirt] rbd_secret_uuid %r is not a UUID'
            % secret, 'set it to the UUID of the libvirt ceph secret '
            '(virsh secret-list)')
    return results.ok('rbd_user/secret', 'client.%s, secret %s'
                      % (user, secret))


def force_raw_images(host):
    if host.conf.force_raw_images:
        return results.ok('force_raw_images', 'True')
    return results.fail('force_raw_images', '[DEFAULT] force_raw_images must '
                        'be True with RBD', 'set force_raw_images = True')


def ceph_conf(host):
    path = host.ceph_conf or DEFAULT_CEPH_CONF
    if not os.access(path, os.R_OK):
        return results.fail(
            'ceph.conf', '%s is not readable' % path,
            'set [libvirt] images_rbd_ceph_conf, and make it readable by the '
            'nova user')
    return results.ok('ceph.conf', path)
