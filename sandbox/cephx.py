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

"""Cephx keys and keyring files, written without ceph-authtool."""

import base64
import os
import struct
import time

# CryptoKey encoding: type (u16, 1 = AES), created (u32 sec, u32 nsec),
# secret length (u16), secret.  This is what `ceph-authtool --gen-key`
# produces, so generating it here saves a process start per key.
_AES = 1
_SECRET_LEN = 16


def generate_key():
    """Return a new cephx secret in its base64 keyring form."""
    header = struct.pack('<HIIH', _AES, int(time.time()), 0, _SECRET_LEN)
    return base64.b64encode(header + os.urandom(_SECRET_LEN)).decode()


def keyring_text(entity, key, caps=None):
    """Render one keyring section; ``caps`` maps a service to its cap."""
    lines = ['[%s]' % entity, '\tkey = %s' % key]
    for service, cap in sorted((caps or {}).items()):
        lines.append('\tcaps %s = "%s"' % (service, cap))
    return '\n'.join(lines) + '\n'


def write_private(path, text):
    """Write ``text`` to ``path`` readable by its owner only (0600)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as f:
        f.write(text)
    # O_CREAT honours the umask and leaves an existing file's mode alone.
    os.chmod(path, 0o600)


def key_from_keyring(path):
    """Return the first ``key = ...`` value found in a keyring file."""
    with open(path) as f:
        for line in f:
            name, sep, value = line.partition('=')
            if sep and name.strip() == 'key':
                return value.strip()
    raise ValueError('no key in keyring %s' % path)
