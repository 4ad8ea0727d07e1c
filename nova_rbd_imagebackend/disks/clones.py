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
"""Root disks as copy-on-write clones of Glance images in this cluster."""

from nova import exception
from oslo_log import log as logging

from nova_rbd_imagebackend.disks import inflight
from nova_rbd_imagebackend.disks import locations
from nova_rbd_imagebackend.disks import names
from nova_rbd_imagebackend.disks import policy_on_disk
from nova_rbd_imagebackend import exceptions

LOG = logging.getLogger(__name__)


def clone(client, image_id, meta, dst_pool, dst_name, policy=None):
    """Clone Glance image ``image_id`` into dst_pool/dst_name.

    :param meta: the image's Glance metadata, with its locations.
    :param policy: the instance's storage policy (disks/policy.py).
    :raises ImageUnacceptable: the image is not raw or has no location in
        this cluster; Nova then downloads it instead.
    :raises BrokenImageLocation: every location Glance gave points into
        this cluster at data that is gone, so a download would fail too.
    """
    if meta.get('disk_format') != 'raw':
        raise exception.ImageUnacceptable(
            image_id=image_id,
            reason='only raw images can be cloned; this one is %s'
                   % meta.get('disk_format'))
    fsid = client.fsid()
    urls = [loc.get('url') for loc in meta.get('locations') or []]
    broken = []
    for url in urls:
        try:
            loc = locations.parse_url(url)
        except locations.BadLocation:
            continue
        if loc.fsid != fsid:
            LOG.debug('Location %s is in another cluster than %s', url, fsid)
            continue
        try:
            _clone_whole(client, loc, dst_pool, dst_name, policy)
        except exceptions.RbdNotFound:
            LOG.warning('Glance image %s has location %s in this cluster, '
                        'but it does not exist', image_id, url)
            broken.append('%s/%s@%s' % (loc.pool, loc.image, loc.snapshot))
            continue
        LOG.info('Cloned %s/%s from %s', dst_pool, dst_name, url)
        return
    if broken and len(broken) == len(urls):
        raise exceptions.BrokenImageLocation(image_id=image_id,
                                             spec=broken[0])
    raise exception.ImageUnacceptable(
        image_id=image_id,
        reason='no location in Ceph cluster %s (%d location(s) known)'
               % (fsid, len(urls)))


def clone_snapshot(client, src_pool, src_image, src_snap, dst_pool, dst_name,
                   policy=None):
    """Clone src_pool/src_image@src_snap into dst_pool/dst_name, whole."""
    _clone_whole(client, locations.Location(None, src_pool, src_image,
                                            src_snap), dst_pool, dst_name,
                 policy)


def _clone_whole(client, loc, dst_pool, dst_name, policy):
    """Clone under ``<name>.part``, then rename: a disk is whole or absent.

    librbd creates the child before it attaches the parent; a clone cut
    short in between would otherwise be an empty disk under the name Nova
    reuses on its retry.  Steps, and what a crash between any two leaves:

    1. record this process as the writer of ``<name>.part`` (inflight);
    2. remove a leftover ``<name>.part`` and what a rename of it cut
       short left (taking over from a dead writer of this host);
    3. clone into ``<name>.part`` with the policy's layout, and give it
       the policy's metadata (disks/policy_on_disk.py);
    4. record this process as the writer of ``name`` too, rename, drop
       both records.

    Until the rename moves the pool's directory entry, the pool lists no
    ``name`` (the id object a rename cut short leaves does not count:
    ceph/directory.py), so Nova's retry clones again and step 2 replaces
    the leftovers; the audit removes a ``.part`` nobody retries.  Once
    it has, ``name`` is whole.  Nova then grows it to the flavor's size,
    and that grow is recorded too (ceph/writers.py): the retry of a grow
    killed half-way takes the dead process's lock over at once.
    """
    part = dst_name + names.PART_SUFFIX
    inflight.claim_part(client, dst_pool, part, 'clone')
    with inflight.recorded(client, dst_pool, part):
        client.clone(loc.pool, loc.image, loc.snapshot, dst_pool, part,
                     layout=policy_on_disk.layout(policy))
        policy_on_disk.stamp(client, dst_pool, part, policy)
        inflight.publish(client, dst_pool, part, dst_name, 'clone')
