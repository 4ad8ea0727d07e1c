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
"""Edge cases of the Image backend that need no cluster."""

from nova_rbd_imagebackend.nova import imagebackend


def test_disk_kind_follows_the_arguments_nova_passes():
    assert imagebackend.disk_kind({'swap_mb': 64}) == 'swap'
    assert imagebackend.disk_kind({'ephemeral_size': 1}) == 'ephemeral'
    assert imagebackend.disk_kind({'image_id': 'x'}) == 'image'
