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
"""Undoing what a failed operation created, without hiding the failure.

The operation's own error is what the caller sees; a cleanup that fails
too is logged with what to remove by hand.
"""

from oslo_log import log as logging

from nova_rbd_imagebackend import exceptions

LOG = logging.getLogger(__name__)


def remove_quietly(client, pool, name, after):
    """Remove ``pool/name``, left by a failed ``after``; never raise.

    Returns True when it is gone.
    """
    try:
        client.remove(pool, name)
    except exceptions.CephError as exc:
        LOG.error('Could not remove %s/%s after %s: %s; remove it by hand',
                  pool, name, after, exc)
        return False
    return True
