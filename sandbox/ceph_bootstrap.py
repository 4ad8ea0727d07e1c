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

"""Bring up a sandbox cluster: monitors, manager, OSDs, pools, users."""

import json
import os
import time
import uuid

from sandbox import ceph_conf
from sandbox import cephx
from sandbox import procs

IMAGES_POOL = 'images'
VMS_POOL = 'vms'

# The compute user needs write access to the images pool, not just read:
# a direct snapshot clones the instance disk *into* the images pool (that
# is where Glance keeps images), and shelve is a snapshot too.  Read-only
# access to images is enough to boot, but createImage then fails with
# EPERM and Nova falls back to a slow, guest-suspending snapshot.
USERS = {
    'client.glance': {
        'mon': 'profile rbd',
        # Read access to the instance pool: Glance opens an instance
        # snapshot to check its location, and until the manager has
        # flattened it that reads the instance disk's snapshot.
        'osd': 'profile rbd pool=%s, profile rbd-read-only pool=%s' % (
            IMAGES_POOL, VMS_POOL),
        'mgr': 'profile rbd pool=%s' % IMAGES_POOL,
    },
    'client.nova': {
        'mon': 'profile rbd',
        'osd': 'profile rbd pool=%s, profile rbd pool=%s' % (VMS_POOL,
                                                             IMAGES_POOL),
        'mgr': 'profile rbd pool=%s, profile rbd pool=%s' % (VMS_POOL,
                                                             IMAGES_POOL),
    },
}
# A second compute identity, as a second hypervisor would have.
USERS['client.nova2'] = dict(USERS['client.nova'])

ADMIN_CAPS = {'mon': 'allow *', 'osd': 'allow *', 'mds': 'allow *',
              'mgr': 'allow *'}


def bootstrap(box, objectstore, osd_bytes, timeout, log):
    """Start ``box``'s daemons; return once every PG is active+clean."""
    deadline = time.time() + timeout
    shape = box.shape
    # ceph-mon --mkfs creates its own data folder and refuses one that
    # already has files in it.
    for sub in ['run', 'log', 'mgr.x'] + [
            'osd.%d' % i for i in shape.osd_ids]:
        os.makedirs(box._path(sub), mode=0o700, exist_ok=True)
    cephx.write_private(box.conf_path, ceph_conf.render(
        shape, box.fsid, box.directory, box.mon_ports, objectstore,
        osd_bytes))
    box._save_state()
    _start_mons(box, shape, deadline)
    log('monitors started: %s' % ', '.join(
        '%s %s' % (name, ceph_conf.addrvec(shape.host, box.mon_ports[name]))
        for name in shape.mon_names))

    with box.admin(timeout=max(1, deadline - time.time())) as admin:
        mgr_keyring = admin.command(
            {'prefix': 'auth get-or-create', 'entity': 'mgr.x',
             'caps': ['mon', 'allow profile mgr', 'osd', 'allow *',
                      'mds', 'allow *']})
        cephx.write_private(box._path('mgr.x', 'keyring'), mgr_keyring)
        box._spawn('mgr.x', [])
        for osd_id in shape.osd_ids:
            _start_osd(box, admin, osd_id)
        log('manager and %d OSD(s) (%s) started' % (shape.osds,
                                                    objectstore))

        admin.command({'prefix': 'osd set-require-min-compat-client',
                       'version': 'mimic', 'yes_i_really_mean_it': True})
        for pool in (IMAGES_POOL, VMS_POOL):
            admin.create_rbd_pool(pool)
        for entity, caps in sorted(USERS.items()):
            keyring = admin.create_user(entity, caps)
            cephx.write_private(box.keyring_path(entity), keyring)
        log('pools %s and users %s created' % (
            ', '.join((IMAGES_POOL, VMS_POOL)), ', '.join(sorted(USERS))))
        admin.wait_clean(deadline, box._check_daemons, osds=shape.osds)
        for pool in (IMAGES_POOL, VMS_POOL):
            admin.rbd_pool_init(pool)


def _start_mons(box, shape, deadline):
    admin_key = cephx.generate_key()
    cephx.write_private(box.keyring_path('client.admin'),
                        cephx.keyring_text('client.admin', admin_key,
                                           ADMIN_CAPS))
    mon_keyring = box._path('mon-bootstrap.keyring')
    cephx.write_private(mon_keyring, cephx.keyring_text(
        'mon.', cephx.generate_key(), {'mon': 'allow *'}) +
        cephx.keyring_text('client.admin', admin_key, ADMIN_CAPS))
    monmap = box._path('monmap')
    argv = ['monmaptool', '--create', '--fsid', box.fsid]
    for name in shape.mon_names:
        argv += ['--addv', name,
                 ceph_conf.addrvec(shape.host, box.mon_ports[name])]
    procs.run(argv + [monmap])
    for name in shape.mon_names:
        procs.run(['ceph-mon', '-c', box.conf_path, '--mkfs', '-i',
                   name, '--monmap', monmap, '--keyring', mon_keyring])
    for name in shape.mon_names:
        box._spawn('mon.%s' % name, [])
    for name in shape.mon_names:
        for port in box.mon_ports[name].values():
            procs.wait_listening(shape.host, port, deadline,
                                 box._check_daemons)


def _start_osd(box, admin, osd_id):
    osd_uuid = str(uuid.uuid4())
    osd_key = cephx.generate_key()
    name = 'osd.%d' % osd_id
    admin.command({'prefix': 'osd new', 'uuid': osd_uuid, 'id': osd_id},
                  inbuf=json.dumps({'cephx_secret': osd_key}))
    cephx.write_private(box._path(name, 'keyring'),
                        cephx.keyring_text(name, osd_key))
    procs.run(['ceph-osd', '-c', box.conf_path, '-i', str(osd_id),
               '--mkfs', '--osd-uuid', osd_uuid])
    box._spawn(name, [])
