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
"""Servers of the cloud seen from outside: API, console, libvirt, pool.

Shared by the cloud demo and the cloud test layer; every function reads
what an operator could read (the compute API, a host's libvirtd, the
cluster as client.admin).
"""

import json
import re
import time

import libvirt
from lxml import etree
from openstack import exceptions as sdk_exceptions
import rados
import rbd

WROTE = r'GUEST: wrote marker: NOVA-RBD-MARKER id=(\S+) boot=(\d+)'
FOUND = r'GUEST: found marker: NOVA-RBD-MARKER id=%s boot=%s'
ON_DISK = 'GUEST: marker on disk: NOVA-RBD-MARKER id=%s'


def console_lines(conn, server):
    try:
        return conn.compute.get_server_console_output(server)[
            'output'].splitlines()
    except sdk_exceptions.NotFoundException:
        return []  # no console log yet, right after a (re)start


def console_match(conn, server, pattern, timeout=180, last=False,
                  after=()):
    """A console line matching ``pattern``, not among the lines ``after``.

    ``after`` is the console as read earlier: only lines printed since
    count. A guest that moved host logs to a new file there, so when the
    console no longer starts with ``after`` every line is new. The first
    such line, or the last; waits up to ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    lines = []
    while time.monotonic() < deadline:
        lines = console_lines(conn, server)
        skip = len(after) if lines[:len(after)] == list(after) else 0
        found = [m for m in (re.search(pattern, line)
                             for line in lines[skip:]) if m]
        if found:
            return found[-1] if last else found[0]
        time.sleep(1)
    raise AssertionError('%r never appeared on the console:\n%s'
                         % (pattern, '\n'.join(lines[-30:])))


def wait_server(conn, server, host, statuses, timeout=300):
    """Wait until ``server`` is in one of ``statuses`` on ``host``."""
    deadline = time.monotonic() + timeout
    while True:
        server = conn.compute.get_server(server)
        if (server.compute_host == host and server.status in statuses and
                server.task_state is None):
            return server
        if server.status == 'ERROR' or time.monotonic() > deadline:
            raise AssertionError('server %s: status %s on %s, task %s, '
                                 'fault %s' % (server.id, server.status,
                                               server.compute_host,
                                               server.task_state,
                                               server.fault))
        time.sleep(0.5)


def boot_on(conn, cloud, host, name='guest', image_id=None, wait=True):
    """Create a server on ``host`` (networks none); wait for ACTIVE."""
    server = conn.compute.create_server(
        name=name, image_id=image_id or cloud.image_id,
        flavor_id=cloud.flavor_id, networks='none',
        availability_zone='nova:%s' % host)
    if not wait:
        return server
    server = conn.compute.wait_for_server(
        server, status='ACTIVE', failures=['ERROR'], interval=1, wait=300)
    assert server.compute_host == host, (server.compute_host, host)
    return server


def delete(conn, server):
    conn.compute.delete_server(server, ignore_missing=True)
    conn.compute.wait_for_delete(server, interval=1, wait=180)


def host_entry(cloud, name):
    return [h for h in cloud.hosts if h['name'] == name][0]


def root_disk_xml(cloud, host, server):
    """The root disk's ``<disk>`` element as ``host``'s libvirtd holds it."""
    conn = libvirt.open(host_entry(cloud, host)['uri'])
    try:
        xml = conn.lookupByUUIDString(server.id).XMLDesc(0)
    finally:
        conn.close()
    for disk in etree.fromstring(xml).findall('./devices/disk'):
        source = disk.find('source')
        if source is not None and \
                source.get('name') == 'vms/%s_disk' % server.id:
            return disk
    raise AssertionError('no root disk in %s' % xml)


def domains(cloud, host):
    """Names of the domains ``host``'s libvirtd has."""
    conn = libvirt.open(host_entry(cloud, host)['uri'])
    try:
        return [d.name() for d in conn.listAllDomains()]
    finally:
        conn.close()


def pool_images(cloud, pool='vms'):
    """{name: parent (pool, image, snapshot) or None} of one pool."""
    cluster = rados.Rados(conffile=cloud.ceph.conf_path, rados_id='admin')
    cluster.connect(timeout=10)
    try:
        with cluster.open_ioctx(pool) as ioctx:
            out = {}
            for name in rbd.RBD().list(ioctx):
                with rbd.Image(ioctx, name, read_only=True) as image:
                    try:
                        out[name] = tuple(image.parent_info())
                    except rbd.ImageNotFound:
                        out[name] = None
            return out
    finally:
        cluster.shutdown()


def blocklist(cloud):
    """Client addresses the cluster refuses (``ceph osd blocklist ls``)."""
    with cloud.ceph.admin() as admin:
        out = admin.command({'prefix': 'osd blocklist ls', 'format': 'json'})
    # Pacific prints the ranges as a second array: '[...][...]'.
    entries, _end = json.JSONDecoder().raw_decode(out or '[]')
    return [e['addr'] for e in entries]


def compute_service(conn, host):
    return [s for s in conn.compute.services(binary='nova-compute')
            if s.host == host][0]


def force_up(conn, service, host, timeout=120):
    """Unset forced_down once Nova allows it.

    Nova refuses while evacuation records of the host are not completed,
    which the restarted compute does in its start-up.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            conn.compute.update_service_forced_down(
                service, host, 'nova-compute', False)
            return
        except sdk_exceptions.BadRequestException:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
