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
"""How instance disks are named in the pool and in QEMU's path.

Names are those of Nova's in-tree backend (``<instance uuid>_disk``,
``_disk.local``, ...), so hosts running either interoperate.  A disk
being written is named ``<name>.part`` and renamed when complete, so a
crash never leaves a half-written disk under the name Nova reuses.
"""

from nova import exception

PART_SUFFIX = '.part'
# Scratch images of the host checks (checks/caps.py), removed as they end.
SCRATCH_PREFIX = 'nova-rbd-doctor-'


def instance_disk(instance_uuid, disk_name):
    """The RBD image name of one instance disk: <uuid>_<disk_name>."""
    return '%s_%s' % (instance_uuid, disk_name)


def parse_libvirt_path(path):
    """Return (pool, name) of 'rbd:pool/name[:opt=value...]'."""
    spec = path[len('rbd:'):] if path.startswith('rbd:') else path
    pool, sep, name = spec.split(':', 1)[0].partition('/')
    if not (sep and pool and name) or '/' in name:
        raise exception.InvalidDevicePath(path=path)
    return pool, name


def qemu_path(pool, name, user, ceph_conf):
    """QEMU's rbd: path for the disk, with the user and ceph.conf."""
    path = 'rbd:%s/%s' % (pool, name)
    if user:
        path += ':id=%s' % user
    if ceph_conf:
        path += ':conf=%s' % ceph_conf
    return path
