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
"""An RBD disk as libvirt sees it (network disk XML) and as libguestfs does.

Every monitor in quorum goes into the XML as a ``<host>``, read over the
open cluster connection (cached briefly), and cephx goes through the
libvirt secret named by ``[libvirt] rbd_secret_uuid``.
"""

import base64

import nova.conf
from nova.virt.image import model as imgmodel
from nova.virt.libvirt import config as vconfig

from nova_rbd_imagebackend.ceph import cluster
from nova_rbd_imagebackend import exceptions

CONF = nova.conf.CONF


def network_disk(disk, cache_mode, boot_order):
    """The LibvirtConfigGuestDisk of ``disk`` (an RbdImage), without QoS."""
    mapping = disk.disk_info_mapping
    info = vconfig.LibvirtConfigGuestDisk()
    info.source_type = 'network'
    info.source_protocol = 'rbd'
    info.source_name = disk.spec
    addrs = cluster.mon_addrs()
    info.source_hosts = [host for host, _port in addrs]
    info.source_ports = [port for _host, port in addrs]
    info.source_device = mapping['type']
    info.target_bus = mapping['bus']
    info.target_dev = mapping['dev']
    if CONF.libvirt.virt_type in ('qemu', 'kvm'):
        info.driver_name = 'qemu'
    info.driver_format = 'raw'
    info.driver_cache = cache_mode
    info.driver_discard = disk.discard_mode
    info.boot_order = boot_order
    set_auth(info)
    return info


def set_auth(info):
    """Add <auth> with the compute user and its libvirt secret."""
    user, secret = cluster.user(), CONF.libvirt.rbd_secret_uuid
    if not user and not secret:
        return  # QEMU's librbd uses its own defaults (client.admin)
    if not (user and secret):
        raise exceptions.ActivationError(
            reason='[libvirt] rbd_user and rbd_secret_uuid must be set '
                   'together: libvirt hands the key in the secret to '
                   'QEMU for that user')
    info.auth_username = user
    info.auth_secret_type = 'ceph'
    info.auth_secret_uuid = secret


def guestfs_model(disk, connection):
    """The libguestfs model of ``disk``, with the key from libvirt."""
    secret = None
    if CONF.libvirt.rbd_secret_uuid:
        secret_obj = connection.secretLookupByUUIDString(
            CONF.libvirt.rbd_secret_uuid)
        secret = base64.b64encode(secret_obj.value())
    # libguestfs wants IPv6 monitors in brackets: '[::1]:6789'.
    servers = ['%s:%s' % ('[%s]' % h if ':' in h else h, p)
               for h, p in cluster.mon_addrs()]
    return imgmodel.RBDImage(disk.rbd_name, disk.pool, cluster.user(),
                             secret, servers)
