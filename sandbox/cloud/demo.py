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
"""The main job on a real one-machine cloud, through the OpenStack API.

``./run demo``.  Starts the cloud (sandbox/cloud: separate Nova services
over RabbitMQ, two hosts each running nova-rbd-compute with Nova's real
libvirt driver and QEMU) and, as an operator would: boots guests that
really run, shows a guest's console marker and its disk XML as libvirt
holds it, snapshots a guest inside Ceph, boots from that snapshot,
live-migrates a running guest, stops a compute host and evacuates its
guest with fencing, and deletes everything, timing each step.  It stops
every process it started, also on failure, Ctrl-C or SIGTERM.

    python -m sandbox.cloud.demo [--dir D] [--keep]
"""

import argparse
import re
import signal
import sys
import tempfile
import time
import traceback

from lxml import etree

from sandbox.cloud import cloud as cloud_mod
from sandbox.cloud import guests
from sandbox import SandboxError
from sandbox import steps as steps_mod


def _wait_all_active(conn, servers):
    return [conn.compute.wait_for_server(s, status='ACTIVE',
                                         failures=['ERROR'], interval=1,
                                         wait=300) for s in servers]


def _say(text):
    print('    %s' % text, flush=True)


def walk_through(cloud, steps, made):
    """Every step after the cloud is up; ``made`` collects what to delete."""
    conn = cloud.connection()
    with steps.step('Boot two guests from the Glance image, one per host'):
        started = time.monotonic()
        made['servers'] += [
            guests.boot_on(conn, cloud, host, name='demo-%s' % host,
                           wait=False) for host in ('compute1', 'compute2')]
        first, second = _wait_all_active(conn, made['servers'])
        _say('both ACTIVE in %.1f s' % (time.monotonic() - started))
        for server in (first, second):
            parent = guests.pool_images(cloud)['%s_disk' % server.id]
            _say('%s on %s: vms/%s_disk, a clone of %s/%s@%s' % (
                server.name, server.compute_host, server.id, *parent))
    with steps.step('The guest on compute1 writes a marker to its disk'):
        found = guests.console_match(conn, first, guests.WROTE)
        marker_id = found.group(1)
        _say('console: %s' % found.group(0))
    with steps.step('Its root disk as compute1\'s libvirtd holds it'):
        disk = guests.root_disk_xml(cloud, 'compute1', first)
        for line in etree.tostring(disk, pretty_print=True).decode() \
                .rstrip().splitlines():
            _say(line)
    with steps.step('Snapshot that running guest inside Ceph'):
        image = conn.compute.create_server_image(first, 'demo-snapshot',
                                                 wait=True, timeout=300)
        made['images'].append(image)
        _say('Glance image %s, location %s' % (
            image.id, conn.image.get_image(image).direct_url))
    with steps.step('Boot a guest from the snapshot on compute1'):
        third = guests.boot_on(conn, cloud, 'compute1', name='demo-copy',
                               image_id=image.id)
        made['servers'].append(third)
        found = guests.console_match(conn, third, guests.FOUND % (
            re.escape(marker_id), r'\d+'))
        _say('console: %s' % found.group(0))
    with steps.step('Live-migrate the first guest to compute2 as it runs'):
        seen = guests.console_lines(conn, first)
        started = time.monotonic()
        conn.compute.live_migrate_server(first, host='compute2',
                                         block_migration='auto')
        guests.wait_server(conn, first, 'compute2', ('ACTIVE',))
        _say('on compute2 after %.1f s; its disk now uses %s' % (
            time.monotonic() - started, guests.root_disk_xml(
                cloud, 'compute2', first).find('auth').get('username')))
        found = guests.console_match(conn, first, guests.ON_DISK % (
            re.escape(marker_id)), timeout=60, after=seen)
        _say('still running, console: %s' % found.group(0))
    with steps.step('compute1 hangs: evacuate its guest, fencing compute1'):
        fenced_before = set(guests.blocklist(cloud))
        cloud.kill_compute('compute1')
        service = guests.compute_service(conn, 'compute1')
        conn.compute.update_service_forced_down(service, 'compute1',
                                                'nova-compute', True)
        made['down'] = service
        started = time.monotonic()
        conn.compute.evacuate_server(third, host='compute2')
        third = guests.wait_server(conn, third, 'compute2',
                                   ('ACTIVE', 'SHUTOFF'))
        if third.status == 'SHUTOFF':  # microversion 2.95 and later
            conn.compute.start_server(third)
            third = guests.wait_server(conn, third, 'compute2',
                                       ('ACTIVE',))
        _say('ACTIVE on compute2 after %.1f s, on its own disk' % (
            time.monotonic() - started))
        for addr in sorted(set(guests.blocklist(cloud)) - fenced_before):
            _say('blocklisted: %s (the old guest on compute1)' % addr)
        found = guests.console_match(conn, third, guests.FOUND % (
            re.escape(marker_id), r'\d+'), last=True)
        _say('console: %s' % found.group(0))
    with steps.step('compute1 comes back and removes only the old guest'):
        cloud.start_compute('compute1')
        guests.force_up(conn, service, 'compute1')
        made['down'] = None
        deadline = time.monotonic() + 120
        while guests.domains(cloud, 'compute1'):
            if time.monotonic() > deadline:
                raise AssertionError('compute1 kept %s' % guests.domains(
                    cloud, 'compute1'))
            time.sleep(1)
        _say('compute1 runs no guest; vms/%s_disk is still there: %s' % (
            third.id, '%s_disk' % third.id in guests.pool_images(cloud)))
    with steps.step('Delete every guest and the snapshot'):
        _clean(cloud, conn, made)
        ids = tuple(s.id for s in (first, second, third))
        left = [n for n in guests.pool_images(cloud) if n.startswith(ids)]
        _say('instance images left in vms: %d' % len(left))
        if left:
            raise AssertionError('left behind: %s' % left)


def _clean(cloud, conn, made):
    if made.get('down') is not None:
        cloud.start_compute('compute1')
        guests.force_up(conn, made['down'], 'compute1')
        made['down'] = None
    while made['servers']:
        guests.delete(conn, made['servers'].pop())
    while made['images']:
        conn.image.delete_image(made['images'].pop(), ignore_missing=True)


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m sandbox.cloud.demo',
                                     description=__doc__.split('\n')[0])
    parser.add_argument('--dir', help='cloud folder (default: a new one '
                        'under /tmp)')
    parser.add_argument('--keep', action='store_true',
                        help='keep the cloud folder (logs) afterwards')
    args = parser.parse_args(argv)
    # A SIGTERM unwinds like Ctrl-C: the clean-up stops the cloud.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    directory = args.dir or tempfile.mkdtemp(prefix='nova-rbd-demo-',
                                             dir='/tmp')
    steps = steps_mod.Steps()
    cloud = None
    failed = False
    try:
        with steps.step('Start the cloud (Ceph, RabbitMQ, PostgreSQL, '
                        'keystone, glance, placement, nova, 2 computes)'):
            cloud = cloud_mod.Cloud.start(directory, ceph_cli=False)
            _say('%s as admin; computes use client.%s and client.%s, '
                 'no ceph command on their PATH' % (
                     cloud.auth_url, *cloud.state['users']))
        # On failure the cloud is stopped whole, servers and all.
        walk_through(cloud, steps, {'servers': [], 'images': [],
                                    'down': None})
    except SandboxError as exc:
        print('error: %s' % exc, file=sys.stderr)
        failed = True
    except Exception:
        traceback.print_exc()
        failed = True
    finally:
        if cloud is not None:
            with steps.step('Stop the cloud'):
                cloud.stop(remove=not args.keep)
    steps.summary()
    if args.keep:
        print('logs kept in %s' % directory)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
