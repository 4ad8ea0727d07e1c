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
"""A retried delete finishes what an earlier one left in the RBD trash."""

import types
import uuid

import rbd

from nova_rbd_imagebackend.ceph import client as ceph_client
from nova_rbd_imagebackend.ceph import inventory
from nova_rbd_imagebackend.disks import instances

MiB = 1024 ** 2


def test_disks_left_in_the_trash_are_finished(ceph_sandbox, connect_as):
    client = ceph_client.CephClient(ceph_sandbox.conf_path, 'nova', 5, 10, 4)
    admin = connect_as('admin')
    vms, images = admin.open_ioctx('vms'), admin.open_ioctx('images')
    instance = types.SimpleNamespace(uuid=str(uuid.uuid4()))
    disk, local = instance.uuid + '_disk', instance.uuid + '_disk.local'
    for name in (disk, local):
        rbd.RBD().create(vms, name, 4 * MiB)
    # disk.local: an earlier delete got as far as the trash.  disk: parked
    # there while an instance snapshot (a clone) still reads from it.
    rbd.RBD().trash_move(vms, local, 0)
    with rbd.Image(vms, disk) as image:
        image.create_snap('s')
    child = 'snapshot-' + instance.uuid
    rbd.RBD().clone(vms, disk, 's', images, child)
    with rbd.Image(vms, disk) as image:
        image.remove_snap('s')
    rbd.RBD().trash_move(vms, disk, 0)
    trashed = lambda: sorted(  # noqa: E731
        e['name'] for e in rbd.RBD().trash_list(vms)
        if e['name'].startswith(instance.uuid))
    assert client.list_prefix('vms', instance.uuid) == []

    assert instances.remove_instance_disks(client, 'vms', instance) == []
    assert trashed() == [disk]          # kept while the clone reads it

    with rbd.Image(images, child) as image:
        image.flatten()
    instances.remove_instance_disks(client, 'vms', instance)
    assert trashed() == []
    rbd.RBD().remove(images, child)
    vms.close()
    images.close()
    client.close()


def _half_move_into_the_trash(vms, name):
    """What a delete killed inside librbd's move into the trash leaves.

    The move adds the trash entry as MOVING, drops the image from the
    pool's directory, then marks the entry NORMAL; the last step undone
    here is the one a process killed in between never made.
    """
    rbd.RBD().trash_move(vms, name, 0)
    (entry,) = [e for e in rbd.RBD().trash_list(vms) if e['name'] == name]
    inventory.set_trash_state(vms, entry['id'], inventory.TRASH_MOVING,
                              inventory.TRASH_NORMAL)
    return entry['id']


def test_a_disk_half_moved_into_the_trash_is_finished(ceph_sandbox,
                                                      connect_as):
    client = ceph_client.CephClient(ceph_sandbox.conf_path, 'nova', 5, 10, 4)
    vms = connect_as('admin').open_ioctx('vms')
    instance = types.SimpleNamespace(uuid=str(uuid.uuid4()))
    other = types.SimpleNamespace(uuid=str(uuid.uuid4()))
    for owner in (instance, other):
        rbd.RBD().create(vms, owner.uuid + '_disk', 4 * MiB)
    image_id = _half_move_into_the_trash(vms, instance.uuid + '_disk')
    # librbd itself refuses to remove it, for ever.
    try:
        rbd.RBD().trash_remove(vms, image_id, force=True)
        raise AssertionError('librbd removed a MOVING trash entry')
    except rbd.Error as exc:
        assert inventory.is_moving(exc)

    # Another instance's delete passes over it (and purges the trash).
    assert instances.remove_instance_disks(client, 'vms', other) == [
        other.uuid + '_disk']
    # The retried delete of its own instance finishes it.
    instances.remove_instance_disks(client, 'vms', instance)
    assert [e for e in rbd.RBD().trash_list(vms)
            if e['name'].startswith(instance.uuid)] == []
    assert [i for i in rbd.RBD().list2(vms)
            if i['name'].startswith(instance.uuid)] == []
    client.close()
