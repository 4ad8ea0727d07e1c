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

from nova import exception
import pytest

from nova_rbd_imagebackend import exceptions
from nova_rbd_imagebackend import glance_clone
from nova_rbd_imagebackend import imagebackend


@pytest.mark.parametrize('path,expected', [
    ('rbd:vms/uuid_disk', ('vms', 'uuid_disk')),
    ('rbd:other/uuid_disk:id=nova:conf=/etc/ceph/ceph.conf',
     ('other', 'uuid_disk')),
    ('vms/uuid_disk.config', ('vms', 'uuid_disk.config')),
])
def test_libvirt_path_keeps_the_real_pool(path, expected):
    assert imagebackend.parse_libvirt_path(path) == expected


@pytest.mark.parametrize('path', ['rbd:', 'rbd:vms', 'rbd:/x', 'a/b/c'])
def test_bad_libvirt_path(path):
    with pytest.raises(exception.InvalidDevicePath):
        imagebackend.parse_libvirt_path(path)


def test_disk_kind_follows_the_arguments_nova_passes():
    assert imagebackend.disk_kind({'swap_mb': 64}) == 'swap'
    assert imagebackend.disk_kind({'ephemeral_size': 1}) == 'ephemeral'
    assert imagebackend.disk_kind({'image_id': 'x'}) == 'image'


@pytest.mark.parametrize('cls,kwargs', [
    (exceptions.CephError, {'op': 'clone', 'reason': 'r'}),
    (exceptions.CephUnavailable, {'conf': 'c', 'user': 'u', 'timeout': 5,
                                  'reason': 'r'}),
    (exceptions.CephTimeout, {'op': 'clone', 'timeout': 5}),
    (exceptions.RbdNotFound, {'name': 'vms/x'}),
    (exceptions.RbdPermissionDenied, {'user': 'u', 'op': 'o', 'name': 'n',
                                      'reason': 'r'}),
    (exceptions.RbdBusy, {'name': 'n', 'reason': 'r'}),
    (exceptions.ActivationError, {'reason': 'r'}),
    (exceptions.DiskCreationFailed, {'disk': 'd', 'image_id': 'i',
                                     'reason': 'r'}),
    (glance_clone.BrokenImageLocation, {'spec': 's', 'image_id': 'i'}),
])
def test_every_message_formats(cls, kwargs):
    message = cls(**kwargs).format_message()
    assert '%(' not in message and 'unknown' not in message.lower()


def test_progress_is_logged_every_ten_percent(caplog):
    caplog.set_level('INFO')
    report = imagebackend._ProgressLog('copy x')
    for done in range(0, 101, 5):
        report(done, 100)
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ['copy x: %d%%' % p for p in range(10, 101, 10)]
