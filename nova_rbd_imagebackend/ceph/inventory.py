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
"""What a pool holds: images with their age, users and snapshots; trash.

Read-only questions for the audit, plus removing a trash entry.
"""

import datetime

from nova_rbd_imagebackend.ceph.bindings import rbd


def _epoch(value):
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return value.timestamp()
    return float(value or 0)


class InventoryOps(object):
    """Mixed into CephClient: the audit's view of a pool."""

    def image_facts(self, pool, name):
        """Age, users and user snapshots of one image; None if it is gone.

        Returns {'created', 'watchers', 'snaps': [{'name', 'protected',
        'created'}]}, times in seconds since the epoch.
        """
        def run():
            try:
                image = self._open(pool, name, read_only=True)
            except rbd.ImageNotFound:
                return None
            with image:
                snaps = []
                for snap in image.list_snaps():
                    if snap.get('namespace',
                                rbd.RBD_SNAP_NAMESPACE_TYPE_USER) \
                            != rbd.RBD_SNAP_NAMESPACE_TYPE_USER:
                        continue
                    snaps.append({
                        'name': snap['name'],
                        'protected': image.is_protected_snap(snap['name']),
                        'created': _epoch(image.get_snap_timestamp(
                            snap['id']))})
                return {'created': _epoch(image.create_timestamp()),
                        'watchers': len(list(image.watchers_list())),
                        'snaps': snaps}
        return self.call('inspect image', run, '%s/%s' % (pool, name))

    def trash(self, pool):
        """[{'id', 'name', 'source', 'deleted'}] of the pool's trash."""
        def run():
            return [{'id': e['id'], 'name': e['name'],
                     'source': str(e.get('source', '')),
                     'deleted': _epoch(e.get('deletion_time'))}
                    for e in rbd.RBD().trash_list(self._ioctx(pool))]
        return self.call('list trash', run, '%s trash' % pool)

    def trash_remove(self, pool, image_id, name=''):
        """Purge one trash entry; RbdBusy while clones still read it."""
        def run():
            rbd.RBD().trash_remove(self._ioctx(pool), image_id, force=True)
        self.call('purge from trash', run, '%s/%s' % (pool, name or image_id))
