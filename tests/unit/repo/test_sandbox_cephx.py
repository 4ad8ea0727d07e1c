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

"""The sandbox's keyring writer; tests/ceph shows the cluster accepts it."""

import base64
import os
import stat
import struct

from sandbox import cephx


def test_generated_key_has_cephx_layout():
    raw = base64.b64decode(cephx.generate_key())
    kind, _created, _nsec, length = struct.unpack('<HIIH', raw[:12])
    assert (kind, length, len(raw)) == (1, 16, 28)
    assert cephx.generate_key() != cephx.generate_key()


def test_keyring_round_trip_and_private_mode(tmp_path):
    path = str(tmp_path / 'k')
    open(path, 'w').close()
    os.chmod(path, 0o644)
    cephx.write_private(path, cephx.keyring_text(
        'client.x', 'AQBkey==', {'mon': 'profile rbd'}))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert cephx.key_from_keyring(path) == 'AQBkey=='
    assert 'caps mon = "profile rbd"' in open(path).read()
