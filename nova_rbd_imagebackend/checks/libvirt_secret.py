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
"""Check the libvirt secret that hands the compute user's key to QEMU.

Inside nova-compute the check uses the driver's own libvirt connection;
the launcher and doctor open ``[libvirt] connection_uri``.
"""

import base64

from nova_rbd_imagebackend.checks import keyring
from nova_rbd_imagebackend.checks import results


def _open(uri):
    import libvirt
    # Errors are reported here, not printed by libvirt on stderr.
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    return libvirt.open(uri)


def libvirt_secret(host):
    check = 'libvirt secret'
    secret_uuid = host.conf.libvirt.rbd_secret_uuid
    if not secret_uuid:
        return results.warn(check, '[libvirt] rbd_secret_uuid is not set',
                            'set it to a libvirt ceph secret')
    conn = host.libvirt_connection
    if conn is None:
        try:
            conn = _open(host.conf.libvirt.connection_uri or
                         'qemu:///system')
        except Exception as exc:
            return results.warn(check, 'cannot reach libvirt: %s' % exc,
                                'run doctor where libvirtd runs')
    try:
        value = conn.secretLookupByUUIDString(secret_uuid).value()
    except Exception as exc:
        if not hasattr(exc, 'get_error_message'):
            # Not libvirt's answer: this connection cannot look secrets up.
            return results.warn(check, 'cannot look up secret %s: %s'
                                % (secret_uuid, exc))
        return results.fail(
            check, 'secret %s: %s' % (secret_uuid, exc.get_error_message()),
            'virsh secret-define (usage type ceph) and secret-set-value it '
            'with the key of %s' % host.entity)
    finally:
        if conn is not host.libvirt_connection:
            conn.close()
    try:
        key = keyring.read_key(host)
    except Exception:
        return results.warn(check, 'cannot read the key to compare with',
                            'see the keyring check')
    if base64.b64decode(key) != value:
        return results.fail(check, 'secret %s does not hold the key of %s'
                            % (secret_uuid, host.entity),
                            'virsh secret-set-value %s with the key from the '
                            'keyring' % secret_uuid)
    return results.ok(check, '%s holds the key of %s' % (secret_uuid,
                                                         host.entity))
