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
"""Boots from images Glance keeps outside the cluster (operations 7, 9-11).

In-tree downloads such an image into ``_base`` once per host and imports
it into the pool for every instance; the plugin streams it into the pool
image cache once per pool and clones every root disk from there.  Glance
is the benchmark's stand-in (benchmarks/sides.py): the same file, read in
Glance client's 64 KiB chunks, for both sides.
"""

import hashlib
import json
import os
import resource
import subprocess
import sys
import threading
import time
import uuid

import nova.conf

CONF = nova.conf.CONF
MiB = 1024 ** 2
GiB = 1024 ** 3
HERE = os.path.dirname(os.path.abspath(__file__))


def make_image(path, mib, data_mib):
    """A raw image of ``mib`` MiB whose first ``data_mib`` MiB hold data.

    The rest is a hole, as a sparse disk image is.  Returns its sha512.
    """
    digest = hashlib.sha512()
    with open(path, 'wb') as f:
        for _ in range(data_mib):
            block = os.urandom(MiB)
            f.write(block)
            digest.update(block)
        f.truncate(mib * MiB)
    zero = bytes(MiB)
    for _ in range(mib - data_mib):
        digest.update(zero)
    return digest.hexdigest()


def forget_pool_cache(image_id):
    """Remove the plugin's cache images of ``image_id`` (between rounds)."""
    from nova_rbd_imagebackend.ceph import cluster
    from nova_rbd_imagebackend.disks import pool_cache
    client = cluster.client()
    for name in client.list_prefix('vms', pool_cache.PREFIX + image_id):
        client.remove('vms', name)


class Outside(object):
    """The three operations, for a ``Bench`` (benchmarks/run.py)."""

    def __init__(self, bench, workdir):
        self.bench, self.workdir = bench, workdir
        self.glance = bench.sides.GLANCE

    def image(self, mib, data_mib):
        image_id = str(uuid.uuid4())
        path = os.path.join(self.workdir, image_id + '.raw')
        self.glance.add_file(image_id, path, make_image(path, mib, data_mib))
        return image_id, path

    def ten_boots(self, mib, count):
        """Operation 7: ``count`` boots of one image, in turn, one host."""
        bench = self.bench
        image_id, path = self.image(mib, mib // 2)

        def run(side):
            bench.sides.clear_base(CONF.instances_path)
            forget_pool_cache(image_id)
            insts = [bench.sides.instance() for _ in range(count)]
            started = time.perf_counter()
            for inst in insts:
                side.root_disk(inst, image_id, max(GiB, mib * MiB))
            took = time.perf_counter() - started
            for inst in insts:
                bench.remove_instance(inst)
            forget_pool_cache(image_id)
            return took
        try:
            return bench.compare(
                '7. %d MiB image not in the cluster, %d boots' % (mib, count),
                run, rounds=2, target='>= 5x')
        finally:
            os.unlink(path)

    def peak_rss(self, sizes_mib, data_mib):
        """Operation 9: peak RSS of one boot, for each image size."""
        for mib in sizes_mib:
            image_id, path = self.image(mib, data_mib)
            row = {'op': '9. peak RSS, one boot of a %d MiB image (%d MiB '
                         'data) not in the cluster' % (mib, data_mib),
                   'target': 'flat in the image size', 'unit': 'MiB'}
            try:
                for side in ('in-tree', 'ours'):
                    out = self.children(side, image_id, path, [1])[0]
                    peak = max(out['rss_kb'], out['children_rss_kb']) / 1024.
                    row[side] = (peak, peak)
                    forget_pool_cache(image_id)
            finally:
                os.unlink(path)
            row['ratio'] = row['in-tree'][0] / row['ours'][0]
            self.bench.rows.append(row)
            print('  %-44s in-tree %8.1f MiB  ours %8.1f MiB' % (
                row['op'][:44], row['in-tree'][0], row['ours'][0]),
                flush=True)

    def two_hosts(self, mib, count):
        """Operation 10: ``count`` boots spread over two hosts at once."""
        row = {'op': '10. %d boots of a new %d MiB image not in the '
                     'cluster, on two hosts at once' % (count, mib),
               'target': 'report'}
        for side in ('in-tree', 'ours'):
            image_id, path = self.image(mib, mib // 2)
            try:
                # Both hosts start booting at the same moment, once their
                # processes are up: from then until the last boot is done.
                start_at = time.time() + 10
                outs = self.children(side, image_id, path,
                                     [count // 2, count - count // 2],
                                     start_at)
                wall = max(out['ended'] for out in outs) - start_at
                row[side] = (wall, wall)
                forget_pool_cache(image_id)
            finally:
                os.unlink(path)
        row['ratio'] = row['in-tree'][0] / row['ours'][0]
        self.bench.rows.append(row)
        print('  %-44s in-tree %8.2f s  ours %8.2f s  ratio %6.1fx' % (
            row['op'][:44], row['in-tree'][0], row['ours'][0],
            row['ratio']), flush=True)

    def qcow2_boot(self, mib):
        """Operation 11: one boot of a qcow2 image; time, disk, memory.

        In-tree and the plugin's staging fallback download the qcow2 and
        convert it on the host (Nova's fetch_to_raw); the plugin's default
        converts it by ranges into the pool.
        """
        image_id, raw = self.image(mib, mib // 2)
        path = raw[:-len('.raw')] + '.qcow2'
        subprocess.run(['qemu-img', 'convert', '-f', 'raw', '-O', 'qcow2',
                        raw, path], check=True)
        os.unlink(raw)
        with open(path, 'rb') as f:
            digest = hashlib.file_digest(f, 'sha512').hexdigest()
        self.glance.add_file(image_id, path, digest, 'qcow2')
        title = '11. one boot of a %d MiB qcow2 image (%d MiB data) not ' \
            'in the cluster' % (mib, mib // 2)
        found = {}
        try:
            for side in ('in-tree', 'ours-staging', 'ours'):
                self.bench.sides.clear_base(os.path.join(self.workdir,
                                                         'host0'))
                found[side] = self.children(side, image_id, path, [1])[0]
                forget_pool_cache(image_id)
        finally:
            os.unlink(path)
        for what, unit, value in (
                ('time', 's', lambda o: o['wall']),
                ('peak disk on the host', 'MiB',
                 lambda o: o['disk_peak'] / MiB),
                ('peak RSS, process or child', 'MiB',
                 lambda o: max(o['rss_kb'], o['children_rss_kb']) / 1024.)):
            row = {'op': '%s: %s (plugin with a staging copy: %.1f %s)' % (
                title, what, value(found['ours-staging']), unit),
                'target': 'report', 'unit': unit}
            for side in ('in-tree', 'ours'):
                row[side] = (value(found[side]),) * 2
            row['ratio'] = row['in-tree'][0] / max(row['ours'][0], 0.1)
            self.bench.rows.append(row)
            print('  %-44s in-tree %8.2f  staging %8.2f  ours %8.2f %s' % (
                what, value(found['in-tree']), value(found['ours-staging']),
                value(found['ours']), unit), flush=True)

    def children(self, side, image_id, path, counts, start_at=0):
        """One process per host, each booting its count of instances."""
        image = self.glance.images[image_id]
        procs = []
        for host, count in enumerate(counts):
            instances = os.path.join(self.workdir, 'host%d' % host)
            os.makedirs(instances, exist_ok=True)
            procs.append(subprocess.Popen(
                [sys.executable, os.path.join(HERE, 'run.py'),
                 '--boot-child', side, '--image-id', image_id,
                 '--image-file', path, '--image-hash',
                 image['os_hash_value'], '--count', str(count),
                 '--disk-format', image['disk_format'],
                 '--ceph-conf', self.bench.ceph_conf, '--instances-path',
                 instances, '--start-at', str(start_at)],
                stdout=subprocess.PIPE, text=True))
        outs = []
        for proc in procs:
            out, _ = proc.communicate()
            if proc.returncode:
                raise RuntimeError('boot child failed (%d)' % proc.returncode)
            outs.append(json.loads(out.strip().splitlines()[-1]))
        return outs


def boot_child(args, configure):
    """Boot ``--count`` instances in this fresh process; print figures."""
    configure(args.ceph_conf, args.instances_path)
    from benchmarks import sides
    sides.install_glance()
    sides.GLANCE.add_file(args.image_id, args.image_file, args.image_hash,
                          args.disk_format)
    if args.boot_child == 'ours-staging':
        CONF.set_override('convert_without_local_copy', False,
                          group='rbd_imagebackend')
    side = sides.InTree() if args.boot_child == 'in-tree' else sides.Ours()
    insts = [sides.instance() for _ in range(args.count)]
    time.sleep(max(0, args.start_at - time.time()))
    disk = DiskWatch(args.instances_path)
    started = time.perf_counter()
    # A qcow2's disk is larger than its file.
    size = os.path.getsize(args.image_file) if args.disk_format == 'raw' \
        else 2 * GiB
    for inst in insts:
        side.root_disk(inst, args.image_id, size)
    wall, ended = time.perf_counter() - started, time.time()
    disk.stop()
    with open('/proc/self/status') as f:
        rss_kb = int([line.split()[1] for line in f
                      if line.startswith('VmHWM')][0])
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    for inst in insts:
        side.delete_instance(inst)
    print(json.dumps({'wall': wall, 'ended': ended, 'rss_kb': rss_kb,
                      'children_rss_kb': children,
                      'disk_peak': disk.peak}))


class DiskWatch(threading.Thread):
    """The most bytes allocated under a folder beyond what it held first.

    Sampled every 50 ms.
    """

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path, self.peak, self.done = path, 0, False
        self.base = _allocated(path)
        self.start()

    def run(self):
        while not self.done:
            self.peak = max(self.peak, _allocated(self.path) - self.base)
            time.sleep(0.05)

    def stop(self):
        self.done = True
        self.join()


def _allocated(path):
    total = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_blocks * 512
            except FileNotFoundError:
                pass  # removed meanwhile
    return total
