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

"""Sandbox shapes: checks, ports, addresses and ceph.conf, without Ceph."""

import configparser
import itertools

import pytest

from sandbox import __main__ as cli
from sandbox import ceph
from sandbox import ceph_conf
from sandbox import SandboxError


def _ports(start=20000):
    counter = itertools.count(start)
    return lambda host: next(counter)


def _conf(shape, ports=None):
    ports = ports or ceph_conf.mon_ports(shape, _ports())
    text = ceph_conf.render(shape, 'fsid-1', '/d', ports, 'memstore', 1024)
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    return parser


def test_the_default_shape_is_one_v1_monitor_and_one_osd_on_ipv4():
    shape = ceph_conf.Shape()
    assert shape == (1, 1, 'v1', False)
    assert (shape.host, shape.mon_names, shape.osd_ids) == (
        '127.0.0.1', ['a'], [0])
    assert shape.pool_size == (1, 1)


@pytest.mark.parametrize('kwargs, message', [
    ({'mons': 2}, 'mons must be one of 1, 3, 5'),
    ({'mons': 7}, 'mons must be one of'),
    ({'osds': 0}, 'osds must be a positive number'),
    ({'osds': '2'}, 'osds must be a positive number'),
    ({'osds': True}, 'osds must be a positive number'),
    ({'msgr': 'v3'}, 'msgr must be one of v1, v2, both'),
])
def test_bad_shapes_are_refused(kwargs, message):
    with pytest.raises(SandboxError, match=message):
        ceph_conf.Shape(**kwargs)


def test_start_refuses_a_bad_shape_before_touching_the_folder(tmp_path):
    folder = tmp_path / 'never'
    with pytest.raises(SandboxError, match='mons must be'):
        ceph.CephSandbox.start(str(folder), mons=4)
    assert not folder.exists()


@pytest.mark.parametrize('osds, expected', [
    (1, (1, 1)), (2, (2, 1)), (3, (3, 2)), (4, (3, 2)), (6, (3, 2))])
def test_pools_keep_up_to_three_copies(osds, expected):
    shape = ceph_conf.Shape(osds=osds)
    assert shape.pool_size == expected
    conf = _conf(shape)
    assert conf['global']['osd pool default size'] == str(expected[0])
    assert conf['global']['osd pool default min size'] == str(expected[1])


def test_every_monitor_and_protocol_gets_a_port_of_its_own():
    shape = ceph_conf.Shape(mons=5, msgr='both')
    # A port handed out twice (it was free both times) is asked again.
    answers = iter([20000, 20000, 20001, 20002, 20001] + list(
        range(20003, 20020)))
    ports = ceph_conf.mon_ports(shape, lambda host: next(answers))
    assert sorted(ports) == ['a', 'b', 'c', 'd', 'e']
    flat = [p for by_proto in ports.values() for p in by_proto.values()]
    assert len(flat) == len(set(flat)) == 10
    assert all(set(by_proto) == {'v1', 'v2'} for by_proto in ports.values())


def test_ports_are_asked_for_on_the_shape_host():
    asked = []
    ceph_conf.mon_ports(ceph_conf.Shape(ipv6=True),
                        lambda host: asked.append(host) or 20000)
    assert asked == ['::1']


@pytest.mark.parametrize('host, ports, expected', [
    ('127.0.0.1', {'v1': 6789}, '[v1:127.0.0.1:6789]'),
    ('127.0.0.1', {'v2': 3300}, '[v2:127.0.0.1:3300]'),
    ('127.0.0.1', {'v1': 6789, 'v2': 3300},
     '[v2:127.0.0.1:3300,v1:127.0.0.1:6789]'),
    ('::1', {'v1': 6789, 'v2': 3300}, '[v2:[::1]:3300,v1:[::1]:6789]'),
])
def test_address_vectors(host, ports, expected):
    assert ceph_conf.addrvec(host, ports) == expected


@pytest.mark.parametrize('ports, expected', [
    ({'v1': 6789}, 6789), ({'v2': 3300}, 3300),
    ({'v1': 6789, 'v2': 3300}, 6789)])
def test_libvirt_gets_the_v1_port_when_there_is_one(ports, expected):
    assert ceph_conf.libvirt_addr('::1', ports) == ('::1', expected)


def test_mon_host_lists_every_monitor():
    shape = ceph_conf.Shape(mons=3, msgr='v2')
    ports = {'a': {'v2': 1}, 'b': {'v2': 2}, 'c': {'v2': 3}}
    assert ceph_conf.mon_host(shape, ports) == (
        '[v2:127.0.0.1:1],[v2:127.0.0.1:2],[v2:127.0.0.1:3]')


def test_mon_host_names_the_monitors_left_after_a_replacement():
    shape = ceph_conf.Shape(mons=3)
    ports = {'d': {'v1': 4}, 'a': {'v1': 1}, 'c': {'v1': 3}}
    assert ceph_conf.mon_host(shape, ports) == (
        '[v1:127.0.0.1:1],[v1:127.0.0.1:3],[v1:127.0.0.1:4]')


@pytest.mark.parametrize('msgr, bind', [
    ('v1', ('true', 'false')), ('v2', ('false', 'true')),
    ('both', ('true', 'true'))])
def test_daemons_bind_the_chosen_protocols(msgr, bind):
    conf = _conf(ceph_conf.Shape(msgr=msgr))['global']
    assert (conf['ms bind msgr1'], conf['ms bind msgr2']) == bind


def test_default_conf_binds_ipv4_loopback_with_msgr1_only():
    conf = _conf(ceph_conf.Shape(), {'a': {'v1': 24000}})['global']
    assert conf['mon host'] == '[v1:127.0.0.1:24000]'
    assert (conf['public addr'], conf['public network']) == (
        '127.0.0.1', '127.0.0.0/8')
    assert (conf['ms bind ipv4'], conf['ms bind ipv6']) == ('true', 'false')
    assert (conf['ms bind msgr1'], conf['ms bind msgr2']) == (
        'true', 'false')


def test_ipv6_conf_binds_only_the_ipv6_loopback():
    conf = _conf(ceph_conf.Shape(ipv6=True, msgr='both'),
                 {'a': {'v1': 1, 'v2': 2}})['global']
    assert conf['mon host'] == '[v2:[::1]:2,v1:[::1]:1]'
    assert (conf['public addr'], conf['public network']) == (
        '::1', '::1/128')
    assert (conf['ms bind ipv4'], conf['ms bind ipv6']) == ('false', 'true')


def test_mon_addrs_of_a_sandbox_follow_its_shape(tmp_path):
    state = {'shape': {'mons': 3, 'msgr': 'both', 'ipv6': True},
             'mons': {'b': {'v1': 2, 'v2': 12}, 'a': {'v1': 1, 'v2': 11},
                      'c': {'v1': 3, 'v2': 13}}, 'pids': {}}
    box = ceph.CephSandbox(str(tmp_path), state)
    assert box.mon_addrs == [('::1', 1), ('::1', 2), ('::1', 3)]
    # State written before shapes existed: one v1 monitor on IPv4.
    old = ceph.CephSandbox(str(tmp_path), {'mon_port': 7, 'pids': {}})
    assert old.mon_addrs == [('127.0.0.1', 7)]
    assert old.shape == ceph_conf.Shape()


def test_stop_ends_the_manager_and_osds_before_the_monitors(
        tmp_path, monkeypatch):
    stopped = []
    monkeypatch.setattr(ceph.procs, 'terminate',
                        lambda pid, marker: stopped.append(pid))
    names = ['mon.a', 'osd.1', 'mon.c', 'mgr.x', 'osd.0', 'mon.b']
    box = ceph.CephSandbox(str(tmp_path / 'box'), {
        'pids': {name: i for i, name in enumerate(names)}})
    box.stop()
    assert [names[pid] for pid in stopped] == [
        'mgr.x', 'osd.0', 'osd.1', 'mon.a', 'mon.b', 'mon.c']


@pytest.mark.parametrize('argv', [
    ['start', '--mons', '2'], ['start', '--msgr', 'v3'],
    ['start', '--osds', 'many']])
def test_cli_refuses_bad_shapes(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv + ['--dir', '/nonexistent/never'])
    assert exc.value.code == 2
    assert 'invalid' in capsys.readouterr().err


def test_cli_passes_the_shape_to_start(monkeypatch, capsys):
    seen = {}

    class Started(Exception):
        pass

    def start(directory, **kwargs):
        seen.update(kwargs, directory=directory)
        raise Started()

    monkeypatch.setattr(ceph.CephSandbox, 'start', start)
    with pytest.raises(Started):
        cli.main(['start', '--dir', '/x', '--mons', '3', '--osds', '2',
                  '--msgr', 'both', '--ipv6'])
    assert {k: seen[k] for k in ('directory', 'mons', 'osds', 'msgr',
                                 'ipv6')} == {
        'directory': '/x', 'mons': 3, 'osds': 2, 'msgr': 'both',
        'ipv6': True}
