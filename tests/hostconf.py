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
"""A compute host's Ceph files, copied so a test can break them safely."""

import os
import shutil


def private_copy(tmp_path, ceph_sandbox, user, mode=0o600):
    """ceph.conf and this user's keyring copied to tmp_path."""
    folder = tmp_path / 'ceph'
    folder.mkdir()
    text = open(ceph_sandbox.conf_path).read().replace(
        'keyring = %s/' % ceph_sandbox.directory, 'keyring = %s/' % folder)
    (folder / 'ceph.conf').write_text(text)
    keyring = folder / ('ceph.client.%s.keyring' % user)
    shutil.copy(ceph_sandbox.keyring_path('client.' + user), keyring)
    os.chmod(keyring, mode)
    return str(folder / 'ceph.conf'), str(keyring)
