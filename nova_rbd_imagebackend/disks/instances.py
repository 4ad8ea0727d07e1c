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
"""Find and remove the RBD images that belong to one instance."""

import time

import nova.conf
from oslo_log import log as logging

from nova_rbd_imagebackend.disks import inflight
from nova_rbd_imagebackend import exceptions

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)


def instance_disks(client, pool, instance_uuid):
    """Names of every RBD image of the instance: <uuid>_*."""
    return client.list_prefix(pool, instance_uuid + '_')


def expects_disks(instance):
    """True if the instance has any disk in the image backend."""
    flavor = instance.flavor
    return bool(instance.image_ref or flavor.ephemeral_gb or flavor.swap)


def remove_instance_disks(client, pool, instance, only=None):
    """Remove the instance's images (and their snapshots).

    :param only: optional predicate on the image name.
    :raises RbdBusy: if an image still has a watcher after Nova's
        [libvirt] rbd_destroy_volume_retries attempts; nothing is
        dropped silently.
    """
    names = [n for n in instance_disks(client, pool, instance.uuid)
             if only is None or only(n)]
    for name in names:
        _remove_with_retries(client, pool, name)
    if names:
        LOG.info('Removed RBD images %s', ', '.join(sorted(names)),
                 instance=instance)
    # An earlier delete of this instance may have been cut short, or have
    # parked a disk in the trash while clones of its snapshots were being
    # flattened: finish those too, so that a retried delete completes.
    _finish_trashed(client, pool, instance, only)
    if names:
        # Other instances' parked disks are usually free by now.
        purged = client.purge_trash(pool)
        if purged:
            LOG.info('Purged from the RBD trash: %s', ', '.join(purged))
    return names


def _finish_trashed(client, pool, instance, only):
    prefix = instance.uuid + '_'
    in_directory = set(instance_disks(client, pool, instance.uuid))
    # Parked in the trash, and cut short while being removed (those are
    # in no listing but the full one).
    entries = {e['id']: e['name'] for e in client.trash(pool)}
    entries.update((e['id'], e['name']) for e in client.listed(pool, prefix)
                   if e['name'] not in in_directory)
    for image_id, name in sorted(entries.items()):
        if not name.startswith(prefix) or (only and not only(name)):
            continue
        # A delete killed inside librbd may still hold the image's lock,
        # or have left the entry half-moved into the trash: finish that
        # unless a process still alive on this host might be moving it.
        record = inflight.writer(client, pool, name)
        inflight.break_dead_writer(client, pool, name, record)
        mover_gone = record is None or inflight.dead_here(record)
        try:
            client.trash_remove(pool, image_id, name,
                                finish_moving=mover_gone)
        except exceptions.RbdBusy:
            LOG.info('%s/%s stays in the RBD trash until the clones of its '
                     'snapshots are flattened', pool, name,
                     instance=instance)
            continue
        LOG.info('Removed %s/%s from the RBD trash', pool, name,
                 instance=instance)


def _remove_with_retries(client, pool, name):
    """Remove one disk; a crash at any point is finished by the retry.

    librbd removes an image by moving it to the trash (source REMOVING),
    deleting its data, then its trash entry.  Killed before the move, the
    image is still listed and the retry removes it; killed after, only the
    full listing shows it and the retry finds it there (_finish_trashed).
    The writer record lets the retry cut off this process's watch.
    """
    # Recorded as ours first: if this process dies half-way, the retry
    # can prove it and take the image over (inflight.py).
    previous = inflight.claim(client, pool, name, 'delete')
    with inflight.recorded(client, pool, name):
        _remove_until_free(client, pool, name, previous)


def _remove_until_free(client, pool, name, previous):
    attempts = CONF.libvirt.rbd_destroy_volume_retries + 1
    for attempt in range(1, attempts + 1):
        try:
            client.remove(pool, name)
            return
        except exceptions.RbdBusy as exc:
            if inflight.break_dead_writer(client, pool, name, previous):
                previous = None
                continue  # an earlier, killed delete held it
            # A watcher (QEMU that has not quite exited) holds the image;
            # it goes away when its watch times out.
            if attempt == attempts:
                LOG.error('Cannot remove %s/%s: %s; it is left in place. '
                          'Find its watcher with "rbd status %s/%s"',
                          pool, name, exc, pool, name)
                raise
            LOG.warning('Removing %s/%s failed (%s), attempt %d of %d',
                        pool, name, exc, attempt, attempts)
            time.sleep(CONF.libvirt.rbd_destroy_volume_retry_interval)
