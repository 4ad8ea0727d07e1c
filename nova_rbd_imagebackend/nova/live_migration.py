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
"""Live migration of RBD disks without the ceph CLI, between identities.

Nova's libvirt driver rewrites the guest XML on the source host before
a live migration (``nova.virt.libvirt.migration.get_updated_guest_xml``).
For ``images_type = rbd`` its ``_update_rbd_xml`` runs ``ceph mon dump``
for the monitor list, and keeps the source's ``<auth>``.  This module
replaces that one step in the compute processes the plugin runs:

* monitors come from the plugin's open cluster connection (no command);
* each local RBD disk's ``<auth>`` becomes the destination host's cephx
  user and libvirt secret, as it published them (disks/identities), so
  hosts need not share one cephx user.
"""

from lxml import etree
import nova.conf
from nova.virt.libvirt import migration as libvirt_migration
from oslo_log import log as logging

from nova_rbd_imagebackend.ceph import cluster
from nova_rbd_imagebackend.disks import identities

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)


def install():
    """Put update_rbd_xml in the place of Nova's step (idempotent)."""
    libvirt_migration._update_rbd_xml = update_rbd_xml


def publish_identity():
    """Record this host's cephx user and secret for incoming guests."""
    identities.publish(cluster.client(), cluster.pool(), CONF.host,
                       cluster.user(), CONF.libvirt.rbd_secret_uuid)


def destination_identity(migrate_data):
    """The destination's published identity, or None if it has none."""
    migration = (migrate_data.migration
                 if migrate_data.obj_attr_is_set('migration') else None)
    if migration is None or not migration.obj_attr_is_set('dest_compute'):
        return None
    found = identities.lookup(cluster.client(), cluster.pool(),
                              migration.dest_compute)
    if found is None:
        LOG.info('Host %s has published no Ceph identity (not running '
                 'this plugin?): its guest keeps cephx user %s',
                 migration.dest_compute, cluster.user())
    return found


def local_rbd_disks(xml_doc):
    """(disk, source) of the guest's own RBD disks, not its volumes."""
    for disk in xml_doc.findall('./devices/disk'):
        alias = disk.find('alias')
        if alias is not None and alias.get('name', '').startswith('ua-'):
            continue  # a user-attached volume
        if disk.findtext('serial') is not None:
            continue  # a volume from before device aliases
        source = disk.find('source')
        if source is not None and source.get('protocol') == 'rbd':
            yield disk, source


def set_auth(disk, source, user, secret_uuid):
    """Make ``user`` and ``secret_uuid`` the disk's only <auth>."""
    for parent in (disk, source):
        for auth in parent.findall('auth'):
            parent.remove(auth)
    if not user:
        return  # no cephx identity: QEMU's librbd uses its defaults
    auth = etree.Element('auth', username=user)
    etree.SubElement(auth, 'secret', type='ceph', uuid=secret_uuid)
    # Where Nova's own disk config puts it: a child of <disk>.
    disk.insert(list(disk).index(source), auth)


def update_rbd_xml(xml_doc, migrate_data):
    """Monitors and destination identity for every local RBD disk."""
    if not (migrate_data.obj_attr_is_set('image_type') and
            migrate_data.image_type == 'rbd'):
        return xml_doc
    disks = list(local_rbd_disks(xml_doc))
    if not disks:
        return xml_doc
    mons = cluster.mon_addrs()
    identity = destination_identity(migrate_data)
    for disk, source in disks:
        for host in source.findall('host'):
            source.remove(host)
        for name, port in mons:
            etree.SubElement(source, 'host', name=name, port=str(port))
        if identity is not None:
            set_auth(disk, source, identity['user'],
                     identity['secret_uuid'])
    LOG.debug('Guest XML for the destination: %d RBD disks, monitors %s, '
              'identity %s', len(disks), mons, identity)
    return xml_doc
