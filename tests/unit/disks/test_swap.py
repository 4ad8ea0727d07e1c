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
"""The swap signature written into RBD matches what mkswap writes."""

import shutil
import subprocess

import pytest

from nova_rbd_imagebackend.disks import swap

SIZE = 64 * 1024 * 1024


def test_header_fields():
    page = swap.header(SIZE, b'label')
    assert len(page) == swap.PAGE_SIZE
    assert page[-10:] == b'SWAPSPACE2'
    assert int.from_bytes(page[1024:1028], 'little') == 1
    assert int.from_bytes(page[1028:1032], 'little') == SIZE // 4096 - 1
    assert page[1052:1057] == b'label'


def test_same_as_mkswap_but_for_the_uuid(tmp_path):
    mkswap = shutil.which('mkswap') or '/sbin/mkswap'
    if not shutil.os.path.exists(mkswap):
        pytest.skip('mkswap not installed')
    target = tmp_path / 'swap'
    target.write_bytes(b'')
    with open(target, 'r+b') as f:
        f.truncate(SIZE)
    subprocess.run([mkswap, '-U', '00000000-0000-0000-0000-000000000000',
                    str(target)], check=True, capture_output=True)
    theirs = target.read_bytes()[:swap.PAGE_SIZE]
    ours = bytearray(swap.header(SIZE))
    ours[1036:1052] = bytes(16)  # the UUID is random in ours
    assert bytes(ours) == theirs


def test_too_small_is_refused():
    with pytest.raises(ValueError):
        swap.header(4096 * 9)
