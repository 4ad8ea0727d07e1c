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
snapshot GLANCE_IMAGE_ID, shelve GLANCE_IMAGE_ID, revert,
fill GLANCE_IMAGE_ID SIZE, convert GLANCE_IMAGE_ID SIZE (a qcow2 image,
converted on the way).  The operation
goes through the plugin's own entry points, the ones Nova calls:
``RbdImage.cache`` for disks (for ``fill``, the root disk of an image
Glance keeps outside the cluster: the pool image cache), the
instance delete of the driver, for a snapshot the steps of Nova's
``LibvirtDriver.snapshot`` on an rbd disk (``direct_snapshot``, then
Glance learns the location, then the plugin's driver ends the run), for
a shelve (with offload, as ``shelved_offload_time = 0`` makes it) that
snapshot followed by the instance delete of the driver, and for a
resize revert the two calls of Nova's ``finish_revert_migration``.
"go" is printed just before it starts, "done" when it has finished.
"""

import json
import shutil
import sys
import types
import urllib.request
import uuid

import nova.conf
from nova import context as nova_context

from nova_rbd_imagebackend.ceph import cluster
from nova_rbd_imagebackend import conf as plugin_conf
from nova_rbd_imagebackend.disks import clones
from nova_rbd_imagebackend.disks import instances
from nova_rbd_imagebackend.disks import snapshots
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
    if op == 'shelve':
        snapshot(disk, args[0])
        return instances.remove_instance_disks(cluster.client(),
                                               cluster.pool(), instance)
    if op == 'revert':
        disk.rollback_to_snap('nova-resize')
        return disk.remove_snap('nova-resize')
    if op == 'swap':
        return disk.cache(None, 'swap', int(args[0]), swap_mb=0)
    if op in ('fill', 'convert'):
        context = noauth_context()

        def clone_or_fill(target, **kwargs):
            # Nova's clone_fallback_to_fetch: the backend clones first,
            # here from the pool image cache, which it fills first.
            disk.clone(context, args[0])
        return disk.cache(clone_or_fill, 'base', int(args[1]),
                          image_id=args[0])
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
    register(image_id, url)
    snapshots.registered(disk.client, disk.pool, image_id)


def register(image_id, url):
    """Give Glance the location, as Nova's fallback call does.

    The JSON-patch ``add /locations/-`` makes the image active before it
    returns.  Nova tries Glance's newer location API first, whose import
    task runs after the request; under these kills the test's glance-api
    sometimes never ran such a task, or failed it, leaving the image
    queued: a Glance behaviour the plugin does not depend on (the audit
    keeps a run Glance is still deciding).
    """
    endpoint = CONF.glance.api_servers[0]
    request = urllib.request.Request(
        '%s/v2/images/%s' % (endpoint, image_id), method='PATCH',
        data=json.dumps([{'op': 'add', 'path': '/locations/-',
                          'value': {'url': url, 'metadata': {}}}]).encode(),
        headers={'Content-Type':
                 'application/openstack-images-v2.1-json-patch'})
    with urllib.request.urlopen(request, timeout=60):
        pass


def noauth_context():
    """An admin context for the test's glance-api, which has no keystone.

    Nova's Glance client sends nothing without a token; that glance-api
    ignores it.
    """
    return nova_context.RequestContext(user_id='crash', project_id='crash',
                                       auth_token='noauth', is_admin=True)


def serve(conf_path, op, instance_uuid, args, say):
    """Load nova.conf, connect, then run ``op``; ``say`` 'go' and 'done'."""
    from nova import config as nova_config  # noqa: F401 (registers opts)
    CONF(['--config-file', conf_path], project='nova',
         default_config_files=[])
    plugin_conf.register_opts(CONF)
    cluster.client().fsid()  # connected before the clock starts
    say('go')
    run(op, instance_uuid, args)
    say('done')


def main():
    conf_path, op, instance_uuid = sys.argv[1:4]
    serve(conf_path, op, instance_uuid, sys.argv[4:],
          lambda word: print(word, flush=True))


if __name__ == '__main__':
    main()
