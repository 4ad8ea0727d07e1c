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
"""Verdicts on the commands Nova still runs, against a real PATH."""

import os

import nova.conf
from oslo_config import fixture as config_fixture
import pytest

from nova_rbd_imagebackend.checks import commands
from nova_rbd_imagebackend.checks import host as host_module
from nova_rbd_imagebackend.checks import results
from nova_rbd_imagebackend import conf as plugin_conf


@pytest.fixture
def path(tmp_path, monkeypatch):
    """A PATH holding only the commands a test puts there."""
    monkeypatch.setenv('PATH', str(tmp_path))

    def put(*names, script=''):
        for name in names:
            exe = tmp_path / name
            exe.write_text('#!/bin/sh\n' + script)
            os.chmod(exe, 0o755)
    return put


# What qemu-img says when its curl driver cannot connect.
CURL_QEMU_IMG = ("echo \"qemu-img: Could not open: CURL: Couldn't "
                 "connect\" >&2\n")
NO_CURL_QEMU_IMG = "echo \"qemu-img: Unknown driver 'http'\" >&2\n"


@pytest.fixture
def conf():
    from nova import config as nova_config  # noqa: F401 (registers opts)
    plugin_conf.register_opts(nova.conf.CONF)
    fixture = config_fixture.Config(nova.conf.CONF)
    fixture.setUp()
    yield fixture
    fixture.cleanUp()


def verdicts(conf):
    host = host_module.Host(conf.conf, glance_pool='')
    return {r.check: r for r in (c(host) for c in commands.COMMANDS)}


def test_a_full_host_passes(path, conf):
    path('qemu-nbd', 'mkfs', 'mkfs.ext4', 'genisoimage')
    path('qemu-img', script=CURL_QEMU_IMG)
    assert {r.status for r in verdicts(conf).values()} == {results.OK}


@pytest.mark.parametrize('missing, words', [
    ('qemu-nbd', 'qemu-nbd is not on the PATH'),
    ('curl', "QEMU's curl block driver is missing (qemu-img: Unknown "
             "driver 'http')")])
def test_no_qemu_nbd_or_curl_driver_warns_of_staging_copies(
        path, conf, missing, words):
    path('mkfs', 'mkfs.ext4', 'genisoimage')
    if missing == 'curl':
        path('qemu-nbd')
        path('qemu-img', script=NO_CURL_QEMU_IMG)
    else:
        path('qemu-img', script=CURL_QEMU_IMG)
    found = verdicts(conf)['command qemu-nbd']
    assert found.status == results.WARN
    assert found.detail.startswith(words)
    assert 'staging folder under the instances path' in found.detail
    # Told to convert in a staging folder, it is not needed.
    conf.config(convert_without_local_copy=False, group='rbd_imagebackend')
    assert verdicts(conf)['command qemu-nbd'].status == results.OK


def test_no_qemu_img_fails_and_says_what_breaks(path, conf):
    path('mkfs', 'mkfs.ext4', 'genisoimage')
    found = verdicts(conf)['command qemu-img']
    assert found.status == results.FAIL
    assert 'images that are not in the cluster' in found.detail
    assert 'qemu-utils' in found.fix


def test_the_configured_filesystem_and_drive_format_are_the_ones_checked(
        path, conf):
    path('qemu-img', 'mkfs', 'mkfs.ext4', 'genisoimage')
    conf.config(default_ephemeral_format='xfs', config_drive_format='vfat')
    found = verdicts(conf)
    assert found['command mkfs'].status == results.WARN
    assert 'mkfs.xfs' in found['command mkfs'].detail
    assert found['command mkfs.vfat'].status == results.WARN
    assert 'dosfstools' in found['command mkfs.vfat'].fix


def test_a_forced_config_drive_without_its_command_fails(path, conf):
    path('qemu-img', 'mkfs', 'mkfs.ext4')
    conf.config(force_config_drive=True, mkisofs_cmd='mkisofs')
    found = verdicts(conf)['command mkisofs']
    assert found.status == results.FAIL
    assert 'force_config_drive' in found.detail
