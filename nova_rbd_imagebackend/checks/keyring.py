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
"""Checks of the compute user's key: found, readable, and private."""

import os
import stat

from nova_rbd_imagebackend.ceph import queries
from nova_rbd_imagebackend.checks import results
from nova_rbd_imagebackend import exceptions

# Group-readable at most: the nova user's group may share it, nobody else.
WIDEST_MODE = 0o640


def _paths(sources):
    return [sources['keyfile']] if sources['keyfile'] else sources['keyring']


def keyring(host):
    try:
        sources = queries.auth_sources(host.ceph_conf, host.user)
    except exceptions.CephError as exc:
        return results.fail('keyring', exc.format_message(),
                            'see the ceph.conf check')
    if sources['key']:
        return results.warn('keyring', 'the key is set inline in ceph.conf',
                            'keep keys in a 0640 keyring file')
    paths = _paths(sources)
    found = [p for p in paths if os.path.exists(p)]
    if not found:
        return results.fail(
            'keyring', 'no readable keyring for %s (looked in %s)'
            % (host.entity, ', '.join(paths)),
            'install ceph.%s.keyring' % host.entity)
    path = found[0]
    if not os.access(path, os.R_OK):
        return results.fail('keyring', '%s is not readable' % path,
                            'chown it to the nova user, mode 0640')
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if mode & ~WIDEST_MODE:
        return results.fail('keyring', '%s has mode %04o' % (path, mode),
                            'chmod 0640 %s' % path)
    return results.ok('keyring', '%s (mode %04o)' % (path, mode))


def read_key(host):
    """The user's base64 key from its keyring or key file.

    :raises ValueError: when no key is found.
    """
    sources = queries.auth_sources(host.ceph_conf, host.user)
    for path in _paths(sources):
        if os.path.exists(path):
            with open(path) as f:
                if sources['keyfile']:
                    return f.read().strip()
                for line in f:
                    name, sep, value = line.partition('=')
                    if sep and name.strip() == 'key':
                        return value.strip()
    raise ValueError('no key found')
