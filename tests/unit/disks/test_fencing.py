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
"""Client addresses as fencing reads them."""

import pytest

from nova_rbd_imagebackend.disks import fencing


@pytest.mark.parametrize('addr,host', [
    ('10.0.0.5:0/3216', '10.0.0.5'),
    ('v1:10.0.0.5:6800/3216', '10.0.0.5'),
    ('[2001:db8::7]:0/99', '2001:db8::7'),
    ('v2:[::1]:3300/1', '::1'),
])
def test_host_of_every_address_form(addr, host):
    assert fencing.host_of(addr) == host
