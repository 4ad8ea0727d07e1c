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
"""Each host's published Ceph identity, as a live migration reads it."""

import pytest

from nova_rbd_imagebackend.ceph import client as ceph_client
from nova_rbd_imagebackend.disks import identities
from nova_rbd_imagebackend import exceptions

SECRET = '8f6c6a5e-0d53-4b8f-9a52-4f8e9d6f2b11'


def test_two_hosts_publish_and_read_each_others(ceph_sandbox):
    one = ceph_client.CephClient(ceph_sandbox.conf_path, 'nova', 5, 10, 4)
    two = ceph_client.CephClient(ceph_sandbox.conf_path, 'nova2', 5, 10, 4)
    identities.publish(one, 'vms', 'host-a', 'nova', SECRET)
    identities.publish(two, 'vms', 'host-b', 'nova2', SECRET.upper())
    assert identities.lookup(two, 'vms', 'host-a') == {
        'user': 'nova', 'secret_uuid': SECRET}
    assert identities.lookup(one, 'vms', 'host-b')['user'] == 'nova2'
    assert identities.lookup(one, 'vms', 'never-started') is None
    # A host that changes its identity is read with the new one.
    identities.publish(one, 'vms', 'host-a', 'nova2', SECRET)
    assert identities.lookup(two, 'vms', 'host-a')['user'] == 'nova2'


def test_an_entry_not_written_by_the_plugin_is_named(ceph_sandbox):
    client = ceph_client.CephClient(ceph_sandbox.conf_path, 'nova', 5, 10, 4)
    client.set_record('vms', identities.RECORDS, 'host-c', 'not json')
    with pytest.raises(exceptions.InvalidRecord) as raised:
        identities.lookup(client, 'vms', 'host-c')
    assert 'vms/nova_rbd_imagebackend.hosts[host-c]' in str(raised.value)
