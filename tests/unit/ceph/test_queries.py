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
"""Monitors for libvirt from quorum_status: the monmap and its quorum."""

from nova_rbd_imagebackend.ceph import queries


def mon(name, *vec, addr=None):
    entry = {'name': name, 'public_addrs': {'addrvec': [
        {'type': t, 'addr': a, 'nonce': 0} for t, a in vec]}}
    if addr:
        entry['addr'] = addr
    return entry


STATUS = {
    'quorum_names': ['a', 'c'],
    'quorum_leader_name': 'a',
    'monmap': {'mons': [
        mon('a', ('v2', '10.0.0.1:3300'), ('v1', '10.0.0.1:6789')),
        mon('b', ('v1', '10.0.0.2:6789')),
        mon('c', ('v2', '[::1]:3300')),
    ]},
}


class Queries(queries.ClusterQueries):
    def __init__(self, status):
        self.status = status

    def _mon_command(self, cmd):
        assert cmd == {'prefix': 'quorum_status'}
        return self.status


def test_monitors_say_whether_they_are_in_quorum():
    assert queries.parse_monitors(STATUS) == [
        {'name': 'a', 'in_quorum': True,
         'addrs': [('v2', '10.0.0.1', '3300'), ('v1', '10.0.0.1', '6789')]},
        {'name': 'b', 'in_quorum': False,
         'addrs': [('v1', '10.0.0.2', '6789')]},
        {'name': 'c', 'in_quorum': True, 'addrs': [('v2', '::1', '3300')]},
    ]


def test_libvirt_gets_only_monitors_in_quorum_v1_first():
    assert Queries(STATUS).mon_addrs() == [('10.0.0.1', '6789'),
                                           ('::1', '3300')]


def test_the_whole_monmap_on_request():
    assert Queries(STATUS).mon_addrs(live_only=False) == [
        ('10.0.0.1', '6789'), ('10.0.0.2', '6789'), ('::1', '3300')]


def test_no_quorum_named_lists_every_monitor_rather_than_none():
    status = dict(STATUS, quorum_names=[])
    assert len(Queries(status).mon_addrs()) == 3


def test_a_monitor_with_only_a_legacy_addr():
    status = {'quorum_names': ['a'], 'monmap': {'mons': [
        {'name': 'a', 'addr': '10.0.0.1:6789/0'}]}}
    assert Queries(status).mon_addrs() == [('10.0.0.1', '6789')]
