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
"""The process-wide Ceph client, one per (ceph.conf, user).

``CephClient`` is the connection (connection.py) with every group of
operations mixed in; callers see one object and never a librados type.
"""

import threading

from nova_rbd_imagebackend.ceph import blocklist
from nova_rbd_imagebackend.ceph import connection
from nova_rbd_imagebackend.ceph import data
from nova_rbd_imagebackend.ceph import images
from nova_rbd_imagebackend.ceph import inventory
from nova_rbd_imagebackend.ceph import layouts
from nova_rbd_imagebackend.ceph import leases
from nova_rbd_imagebackend.ceph import queries
from nova_rbd_imagebackend.ceph import snapshots

_clients = {}
_clients_lock = threading.Lock()


class CephClient(images.ImageOps, snapshots.SnapshotOps, data.DataOps,
                 queries.ClusterQueries, inventory.InventoryOps,
                 blocklist.BlocklistOps, leases.LeaseOps, layouts.LayoutOps,
                 connection.Connection):
    """A cluster connection shared by every disk of this process."""


def get_client(conf_path, user, connect_timeout, op_timeout, max_workers,
               queue_timeout=None):
    """Return the process-wide client for (conf_path, user)."""
    key = (conf_path or '', user or '')
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = CephClient(conf_path, user, connect_timeout, op_timeout,
                                max_workers, queue_timeout)
            _clients[key] = client
        else:
            client.set_timeouts(connect_timeout, op_timeout, queue_timeout)
        return client


def reset_clients():
    """Close every cached connection (service stop, tests)."""
    with _clients_lock:
        clients = list(_clients.values())
        _clients.clear()
    for client in clients:
        client.close()
