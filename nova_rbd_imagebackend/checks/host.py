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
"""The compute host being checked: its configuration and its cluster."""

from nova_rbd_imagebackend.ceph import cluster


class Host(object):
    """What every check reads; the Ceph connection is opened by ``connect``.

    ``libvirt_connection``, when given, is the one nova-compute uses.
    """

    def __init__(self, conf, glance_pool=None, libvirt_connection=None):
        self.conf = conf
        self.libvirt_connection = libvirt_connection
        self.pool = conf.libvirt.images_rbd_pool
        self.glance_pool = (conf.rbd_imagebackend.glance_pool
                            if glance_pool is None else glance_pool)
        self.user = conf.libvirt.rbd_user
        self.entity = 'client.%s' % (self.user or 'admin')
        self.ceph_conf = conf.libvirt.images_rbd_ceph_conf
        self.client = None
        self.fsid = None

    def connect(self):
        """Open (or reuse) the process-wide client; return the fsid."""
        self.client = cluster.client()
        self.fsid = self.client.fsid()
        return self.fsid
