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
"""Every exception message formats with the arguments its raisers pass."""

import pytest

from nova_rbd_imagebackend import exceptions


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
    (exceptions.BrokenImageLocation, {'spec': 's', 'image_id': 'i'}),
])
def test_every_message_formats(cls, kwargs):
    message = cls(**kwargs).format_message()
    assert '%(' not in message and 'unknown' not in message.lower()
