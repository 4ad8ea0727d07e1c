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
"""One plugin operation in a process of its own, to be killed mid-way.

    python -m tests.crash.worker NOVA_CONF OP INSTANCE_UUID [ARGS...]

OP is one of: import FILE SIZE, swap SIZE, clone PARENT_URL SIZE, delete,
snapshot GLANCE_IMAGE_ID, revert.  The operation goes through the plugin's own
entry points, the ones Nova calls: ``RbdImage.cache`` for disks, the
instance delete of the driver, for a snapshot the steps of Nova's
``LibvirtDriver.snapshot`` on an rbd disk (``direct_snapshot``, then
Glance learns the location, then the plugin's driver ends the run), and
for a resize revert the two calls of Nova's ``finish_revert_migration``.
"go" is printed just before it starts, "done" when it has finished.
"""

import shutil
import sys
import types
import uuid

import nova.conf
from nova import context as nova_context

from nova_rbd_imagebackend.ceph import cluster
from nova_rbd_imagebackend import conf as plugin_conf
from nova_rbd_imagebackend.disks import clones
from nova_rbd_imagebackend.disks import instances
from nova_rbd_imagebackend.disks import snapshots
from nova_rbd_imagebackend.nova import glance
from nova_rbd_imagebackend.nova import imagebackend

CONF = nova.conf.CONF


def run(op, instance_uuid, args):
    instance = types.SimpleNamespace(uuid=instance_uuid)
    if op == 'delete':
        return instances.remove_instance_disks(cluster.client(),
                                               cluster.pool(), instance)
    name = {'swap': 'disk.swap'}.get(op, 'disk')
    disk = imagebackend.RbdImage(instance=instance, disk_name=name)
    if op == 'snapshot':
        return snapshot(disk, args[0])
    if op == 'revert':
        disk.rollback_to_snap('nova-resize')
        return disk.remove_snap('nova-resize')
    if op == 'swap':
        return disk.cache(None, 'swap', int(args[0]), swap_mb=0)
    if op == 'import':
        def fetch(target, **kwargs):
            shutil.copyfile(args[0], target)  # as a download would
        return disk.cache(fetch, 'base', int(args[1]), image_id='img')

    def clone(target, **kwargs):
        # Nova's clone_fallback_to_fetch: the backend clones first.
        clones.clone(disk.client, 'img', {
            'disk_format': 'raw', 'locations': [{'url': args[0]}]},
            disk.pool, disk.rbd_name)
        disk._cloned = True
    return disk.cache(clone, 'base', int(args[1]), image_id='img')


def snapshot(disk, image_id):
    context = noauth_context()
    url = disk.direct_snapshot(context, uuid.uuid4().hex, 'raw', image_id,
                               'base-image')
    glance.IMAGE_API.update(context, image_id, {'location': url},
                            purge_props=False)
    snapshots.registered(disk.client, disk.pool, image_id)


def noauth_context():
    """An admin context for the test's glance-api, which has no keystone.

    Nova's Glance client sends nothing without a token; that glance-api
    ignores it.
    """
    return nova_context.RequestContext(user_id='crash', project_id='crash',
                                       auth_token='noauth', is_admin=True)


def main():
    conf_path, op, instance_uuid = sys.argv[1:4]
    from nova import config as nova_config  # noqa: F401 (registers opts)
    CONF(['--config-file', conf_path], project='nova',
         default_config_files=[])
    plugin_conf.register_opts(CONF)
    cluster.client().fsid()  # connected before the clock starts
    print('go', flush=True)
    run(op, instance_uuid, sys.argv[4:])
    print('done', flush=True)


if __name__ == '__main__':
    main()
