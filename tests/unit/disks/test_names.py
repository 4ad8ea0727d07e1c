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
"""Disk names and QEMU's rbd: paths."""

from nova import exception
import pytest

from nova_rbd_imagebackend.disks import names


@pytest.mark.parametrize('path,expected', [
    ('rbd:vms/uuid_disk', ('vms', 'uuid_disk')),
    ('rbd:other/uuid_disk:id=nova:conf=/etc/ceph/ceph.conf',
     ('other', 'uuid_disk')),
    ('vms/uuid_disk.config', ('vms', 'uuid_disk.config')),
])
def test_libvirt_path_keeps_the_real_pool(path, expected):
    assert names.parse_libvirt_path(path) == expected


@pytest.mark.parametrize('path', ['rbd:', 'rbd:vms', 'rbd:/x', 'a/b/c'])
def test_bad_libvirt_path(path):
    with pytest.raises(exception.InvalidDevicePath):
        names.parse_libvirt_path(path)


def test_qemu_path_round_trips_through_the_parser():
    path = names.qemu_path('vms', names.instance_disk('u', 'disk.local'),
                           'nova', '/etc/ceph/ceph.conf')
    assert path == 'rbd:vms/u_disk.local:id=nova:conf=/etc/ceph/ceph.conf'
    assert names.parse_libvirt_path(path) == ('vms', 'u_disk.local')
