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
"""nova-rbd-compute refuses to start on a broken setup, with one line."""

import os
import subprocess
import sys
import time

from oslo_config import fixture as config_fixture
import pytest

from nova_rbd_imagebackend.ceph import cluster
from nova_rbd_imagebackend.checks import config as config_checks
from nova_rbd_imagebackend.checks import suite
from nova_rbd_imagebackend.nova import internals

LAUNCHER = os.path.join(os.path.dirname(sys.executable), 'nova-rbd-compute')
SECRET = 'b5b5b5b5-0000-4000-8000-000000000001'


def write_conf(path, ceph_conf, **libvirt):
    options = {'images_type': 'rbd', 'images_rbd_pool': 'vms',
               'images_rbd_ceph_conf': ceph_conf, 'rbd_user': 'nova',
               'rbd_secret_uuid': SECRET, 'rbd_connect_timeout': '3'}
    options.update(libvirt)
    lines = ['[DEFAULT]', 'compute_driver = libvirt.LibvirtDriver',
             'transport_url = fake://', '[libvirt]']
    lines += ['%s = %s' % (k, v) for k, v in options.items()
              if v is not None]
    lines += ['[rbd_imagebackend]', 'op_timeout = 3']
    path.write_text('\n'.join(lines) + '\n')
    return str(path)


def launch(conf_path):
    started = time.monotonic()
    result = subprocess.run([LAUNCHER, '--config-file', conf_path],
                            capture_output=True, text=True, timeout=120,
                            stdin=subprocess.DEVNULL)
    return result, time.monotonic() - started


@pytest.mark.parametrize('libvirt,expected', [
    ({'rbd_secret_uuid': None},
     'rbd_user and rbd_secret_uuid must be set together'),
    ({'rbd_user': 'ghost'}, 'no readable keyring for client.ghost'),
    ({'images_rbd_pool': 'nosuchpool'}, 'pool nosuchpool does not exist'),
    ({'images_type': 'qcow2'}, 'images_type is qcow2'),
], ids=['user-without-secret', 'no-keyring', 'missing-pool', 'not-rbd'])
def test_refuses_to_start(tmp_path, ceph_sandbox, libvirt, expected):
    conf = write_conf(tmp_path / 'nova.conf', ceph_sandbox.conf_path,
                      **libvirt)
    result, _took = launch(conf)
    assert result.returncode == 1, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith('nova-rbd-compute: refusing to start: ')
    assert expected in last


def test_refuses_when_the_cluster_does_not_answer(tmp_path, ceph_sandbox):
    # A ceph.conf naming a monitor nobody runs: nothing answers.
    # (Named ceph.conf: librados derives \$cluster, hence the keyring
    # path, from the file name.)
    (tmp_path / 'dead').mkdir()
    dead = tmp_path / 'dead' / 'ceph.conf'
    text = open(ceph_sandbox.conf_path).read()
    port = ceph_sandbox.mon_addrs[0][1]
    dead.write_text(text.replace('127.0.0.1:%d' % port, '127.0.0.1:9'))
    result, took = launch(write_conf(tmp_path / 'nova.conf', str(dead)))
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert 'Cannot reach the Ceph cluster' in last
    assert 'client.nova' in last
    print('refused after %.1f s' % took)


@pytest.fixture
def nova_conf(ceph_sandbox):
    import nova.conf
    from nova import config as nova_config  # noqa: F401 (registers opts)
    fixture = config_fixture.Config(nova.conf.CONF)
    fixture.setUp()
    fixture.config(group='libvirt', images_type='rbd',
                   images_rbd_pool='vms',
                   images_rbd_ceph_conf=ceph_sandbox.conf_path,
                   rbd_user='nova', rbd_secret_uuid=SECRET)
    yield nova.conf.CONF
    fixture.cleanUp()
    cluster.forget()


def test_good_setup_has_no_problem(nova_conf):
    assert suite.failures(nova_conf) == []


def test_nova_older_than_the_tested_range_is_refused(
        nova_conf, monkeypatch):
    monkeypatch.setattr(config_checks, '_nova_version', lambda: '33.1.0')
    found = suite.failures(nova_conf, extra=(internals.verdict,))
    assert found == ['Nova 33.1.0 is older than the tested range '
                     '[34.0.0, 35.0.0)']


def test_a_newer_nova_runs_while_the_internals_are_unchanged(
        nova_conf, monkeypatch):
    monkeypatch.setattr(config_checks, '_nova_version', lambda: '35.1.0')
    assert suite.failures(nova_conf, extra=(internals.verdict,)) == []
    # ... and is refused, naming it, once one of them changed.
    from nova.virt.libvirt import imagebackend

    def cache(self, fetch_func, filename, size=None, *args, **kwargs):
        pass  # a Nova 35 that renamed a parameter
    monkeypatch.setattr(imagebackend.Image, 'cache', cache)
    (found,) = suite.failures(nova_conf, extra=(internals.verdict,))
    assert found == (
        'Nova changed what the plugin relies on: nova.virt.libvirt.'
        'imagebackend.Image.cache(self, fetch_func, filename, size, safe, '
        'args, kwargs) is now (self, fetch_func, filename, size, args, '
        'kwargs)')
