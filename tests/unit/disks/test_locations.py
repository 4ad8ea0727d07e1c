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

import pytest

from nova_rbd_imagebackend.disks import locations


def test_round_trip_with_quoting():
    url = locations.format_url('fsid', 'my pool', 'img/1', 'snap')
    assert url == 'rbd://fsid/my%20pool/img%2F1/snap'
    assert locations.parse_url(url) == ('fsid', 'my pool', 'img/1', 'snap')


@pytest.mark.parametrize('url', [
    None, '', 'http://x/y', 'rbd://fsid/pool/image', 'rbd://fsid//image/s',
    'rbd://fsid/pool/image/snap/extra', 'file:///images/x'])
def test_rejects_anything_but_four_parts(url):
    with pytest.raises(locations.BadLocation):
        locations.parse_url(url)
