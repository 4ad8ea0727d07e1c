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
import rados


@pytest.fixture
def connect_as(ceph_sandbox):
    """Return a function opening a librados connection as a user."""
    opened = []

    def connect(user):
        cluster = rados.Rados(conffile=ceph_sandbox.conf_path,
                              rados_id=user)
        cluster.connect(timeout=10)
        opened.append(cluster)
        return cluster
    yield connect
    for cluster in opened:
        cluster.shutdown()
