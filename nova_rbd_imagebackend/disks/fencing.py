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


def fence_instance(client, pool, instance, required=True):
    """Blocklist the clients using the instance's images.

    Returns {image name: [addresses]}.

    :param required: raise FencingFailed when an image's clients cannot
        be listed or blocklisted; otherwise log the error and go on
        (librbd then blocklists the dead owner itself, but only once its
        watch times out).
    """
    fenced = {}
    failed = []
    for name in instances.instance_disks(client, pool, instance.uuid):
        try:
            addrs = client.fence(pool, name)
        except exceptions.CephError as exc:
            failed.append('%s/%s: %s' % (pool, name, exc.format_message()))
            continue
        if addrs:
            fenced[name] = addrs
    if failed and required:
        raise exceptions.FencingFailed(instance=instance.uuid,
                                       reason='; '.join(failed))
    for reason in failed:
        LOG.error('Could not fence the clients of %s before the '
                  'evacuation; evacuating anyway ([rbd_imagebackend] '
                  'evacuate_fencing = best-effort): librbd takes over the '
                  'image once the old watch times out', reason,
                  instance=instance)
    if fenced:
        LOG.warning('Fenced the previous host before evacuating: '
                    'blocklisted %s', '; '.join(
                        '%s (%s)' % (', '.join(a), n)
                        for n, a in sorted(fenced.items())),
                    instance=instance)
    return fenced


def host_of(addr):
    """The IP of a client address ('10.0.0.5:0/3216', 'v1:[::1]:0/7')."""
    addr = addr.split(':', 1)[1] if addr.startswith(('v1:', 'v2:')) \
        else addr
    host = addr.rsplit('/', 1)[0].rsplit(':', 1)[0]
    return host.strip('[]')


def clients_of_host(client, pool, host_ip):
    """{image name: [addresses]} of the pool's images ``host_ip`` uses."""
    used = {}
    for name in client.list_prefix(pool, ''):
        addrs = [a for a in client.watchers(pool, name)
                 if host_of(a) == host_ip]
        if addrs:
            used[name] = addrs
    return used


def fence_host(client, pool, host_ip):
    """Blocklist every client of ``host_ip`` using an image of the pool.

    Returns {image name: [addresses]}.  Every client at that address is
    cut off, whatever it is: run it for a host that is down for good.
    """
    used = clients_of_host(client, pool, host_ip)
    for addr in sorted({a for addrs in used.values() for a in addrs}):
        client.blocklist(addr)
    if used:
        LOG.warning('Fenced host %s: blocklisted %s', host_ip, '; '.join(
            '%s (%s)' % (', '.join(a), n) for n, a in sorted(used.items())))
    return used


def status(client, pool, names):
    """{image name: {address: fenced?}} for the clients of ``names``."""
    fenced = set(client.blocklisted())
    return {name: {a: a in fenced for a in client.watchers(pool, name)}
            for name in names}
