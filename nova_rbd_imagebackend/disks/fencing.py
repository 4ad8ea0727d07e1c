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
"""Fence a failed host's clients before its instances are evacuated.

Evacuation restarts an instance on its existing disk while the old host
is merely believed dead.  If that host's QEMU is only frozen, it could
wake up and write to a disk the new QEMU now uses.  Blocklisting every
client that still watches the instance's images makes that impossible,
and lets the new QEMU take the exclusive lock at once instead of after
the old watch times out (about 30 s).
"""

from oslo_log import log as logging

from nova_rbd_imagebackend.disks import instances
from nova_rbd_imagebackend import exceptions

LOG = logging.getLogger(__name__)


def fence_instance(client, pool, instance):
    """Blocklist the clients using the instance's images.

    Returns {image name: [addresses]}.  A failure is logged, not raised:
    without it librbd still breaks the dead owner's lock and blocklists it
    itself once the old watch times out.
    """
    fenced = {}
    for name in instances.instance_disks(client, pool, instance.uuid):
        try:
            addrs = client.fence(pool, name)
        except exceptions.CephError as exc:
            LOG.error('Could not fence the clients of %s/%s before the '
                      'evacuation: %s; librbd will take over the image '
                      'after the old watch times out', pool, name, exc,
                      instance=instance)
            continue
        if addrs:
            fenced[name] = addrs
    if fenced:
        LOG.warning('Fenced the previous host before evacuating: '
                    'blocklisted %s', '; '.join(
                        '%s (%s)' % (', '.join(a), n)
                        for n, a in sorted(fenced.items())),
                    instance=instance)
    return fenced
