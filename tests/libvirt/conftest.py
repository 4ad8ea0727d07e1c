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


@pytest.fixture(autouse=True)
def _real_parts(request, ceph_sandbox, libvirt_hosts):
    if request.instance is not None:
        request.instance.ceph = ceph_sandbox
        request.instance.hosts = libvirt_hosts
        # Started for the secrets scan; Nova keeps its Glance fixture here.
        request.instance.glance_service = request.getfixturevalue(
            'glance_api')
