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
"""A compute process and a busy guest, for faults made by another process.

    python -m tests.libvirt.mon_worker ops NOVA_CONF PARENT_URL
    python -m tests.libvirt.mon_worker guest-io URI DOMAIN LOG

``ops`` runs plugin operations through the entry points Nova calls, on
native threads (the mode nova-compute runs in), as commands on stdin
ask: ``boot COUNT WORKERS`` (each disk a clone of PARENT_URL made by
``RbdImage.cache``, then its disk XML, as a boot does), ``snapshot UUID
IMAGE_ID`` (a direct snapshot of that instance's disk) and ``delete
UUID...``.  ``guest-io`` writes and reads the guest's disk through
QEMU's block layer until stdin closes.  Both print one JSON object a
line, with wall-clock times, so the test process can stop a monitor at
a chosen moment (on "go") without stalling the operations.
"""

import concurrent.futures
import json
import os
import re
import sys
import threading
import time
import traceback
import types
import uuid

MiB = 1024 ** 2
DISK_BACKEND = '/machine/peripheral/virtio-disk0/virtio-backend'
RESULT = re.compile(r'bytes at offset|failed|error', re.IGNORECASE)
_print_lock = threading.Lock()


def emit(**fields):
    with _print_lock:
        print(json.dumps(fields), flush=True)


def _timed(op, fn, **fields):
    start = time.time()
    try:
        result = fn()
        error = None
    except Exception as exc:
        result = None
        error = '%s: %s' % (type(exc).__name__, exc)
        traceback.print_exc()
    emit(op=op, start=start, end=time.time(), error=error, result=result,
         **fields)
    return error is None


# -- plugin operations ------------------------------------------------------

def boot(parent_url, instance_uuid):
    """Create the instance's root disk as Nova's spawn does; its XML."""
    from nova_rbd_imagebackend.disks import clones
    from nova_rbd_imagebackend.nova import imagebackend

    instance = types.SimpleNamespace(uuid=instance_uuid)
    disk = imagebackend.RbdImage(
        instance=instance, disk_name='disk', disk_info_mapping={
            'bus': 'virtio', 'dev': 'vda', 'type': 'disk'})

    def clone(target, **kwargs):
        # Nova's clone_fallback_to_fetch: the backend clones first.
        clones.clone(disk.client, 'img', {
            'disk_format': 'raw', 'locations': [{'url': parent_url}]},
            disk.pool, disk.rbd_name)
        disk._cloned = True
    disk.cache(clone, 'base', 16 * MiB, image_id='img')
    info = disk.libvirt_info('none', {}, boot_order='1')
    hosts = zip(info.source_hosts, info.source_ports)
    return {'hosts': [[h, str(p)] for h, p in hosts], 'xml': info.to_xml()}


def snapshot(instance_uuid, image_id):
    from nova_rbd_imagebackend.ceph import cluster
    from nova_rbd_imagebackend.disks import snapshots
    from nova_rbd_imagebackend.nova import imagebackend

    disk = imagebackend.RbdImage(
        instance=types.SimpleNamespace(uuid=instance_uuid), disk_name='disk')
    url = snapshots.direct_snapshot(disk, uuid.uuid4().hex, 'raw', image_id,
                                    'img', lambda: [])
    # Nova registers the location in Glance; then the run is over.
    snapshots.registered(cluster.client(), cluster.pool(), image_id)
    return url


def delete(instance_uuid):
    from nova_rbd_imagebackend.ceph import cluster
    from nova_rbd_imagebackend.disks import instances

    return instances.remove_instance_disks(
        cluster.client(), cluster.pool(),
        types.SimpleNamespace(uuid=instance_uuid))


def ops(conf_path, parent_url):
    import nova.conf
    from nova import config as nova_config  # noqa: F401 (registers opts)

    from nova_rbd_imagebackend.ceph import cluster
    from nova_rbd_imagebackend import conf as plugin_conf

    conf = nova.conf.CONF
    conf(['--config-file', conf_path], project='nova',
         default_config_files=[])
    plugin_conf.register_opts(conf)
    cluster.client().fsid()  # connected before the clock starts
    # The client's address, to tell which monitor serves it (reports).
    handle = getattr(cluster.client(), '_handle', None)
    emit(op='ready', addr=handle.cluster.get_addrs() if handle else None)
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == 'boot':
            count, workers = int(words[1]), int(words[2])
            names = [str(uuid.uuid4()) for _ in range(count)]
            emit(op='go')
            with concurrent.futures.ThreadPoolExecutor(workers) as pool:
                list(pool.map(lambda u: _timed(
                    'boot', lambda: boot(parent_url, u), uuid=u), names))
        elif words[0] == 'snapshot':
            emit(op='go')
            _timed('snapshot', lambda: snapshot(words[1], words[2]),
                   uuid=words[1])
        elif words[0] == 'delete':
            emit(op='go')
            for name in words[1:]:
                _timed('delete', lambda: delete(name), uuid=name)
        emit(op='done', command=words[0])


# -- guest I/O ----------------------------------------------------------------

def qemu_io(dom, log, command):
    """Run a qemu-io command on the guest's disk; return its output."""
    import libvirt_qemu

    offset = os.path.getsize(log)
    libvirt_qemu.qemuMonitorCommand(
        dom, 'qemu-io -d %s "%s"' % (DISK_BACKEND, command),
        libvirt_qemu.VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP)
    deadline = time.monotonic() + 30
    while True:
        with open(log) as f:
            f.seek(offset)
            out = f.read()
        if RESULT.search(out) or time.monotonic() > deadline:
            return out
        time.sleep(0.01)


def guest_io(uri, name, log):
    """Write then verify 4 KiB at a new offset and pattern, until EOF."""
    import libvirt

    conn = libvirt.open(uri)
    dom = conn.lookupByName(name)
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()),
                     daemon=True).start()
    emit(op='ready')
    i = 0
    while not stop.is_set():
        pattern, offset = 1 + i % 250, 4 * MiB + (i % 64) * 65536
        for op, command, ok in (
                ('write', 'write -P %d %d 4096' % (pattern, offset),
                 'wrote 4096/4096'),
                ('read', 'read -P %d %d 4096' % (pattern, offset),
                 'read 4096/4096')):
            start = time.time()
            out = qemu_io(dom, log, command)
            emit(op=op, start=start, end=time.time(),
                 ok=ok in out and 'verification failed' not in out,
                 out=out.strip()[-200:])
        i += 1
        stop.wait(0.2)
    conn.close()


if __name__ == '__main__':
    if sys.argv[1] == 'ops':
        ops(*sys.argv[2:4])
    else:
        guest_io(*sys.argv[2:5])
