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

"""Nova's in-tree Rbd backend and the plugin, side by side.

Same cluster, same images, same process, interleaved (A B A B); prints one
table with the median and 90th percentile of each side, the ratio
in-tree / ours, and the librbd floor where one applies.

    python benchmarks/run.py                  # on a throwaway cluster
    python benchmarks/run.py --quick          # small sizes, a smoke run
    python benchmarks/run.py --ceph-conf /etc/ceph/ceph.conf  # a real one
        (needs pools vms and images, users nova and admin)
"""

import argparse
import concurrent.futures
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, TOP)

import nova.conf  # noqa: E402
import rados  # noqa: E402
import rbd  # noqa: E402

from nova_rbd_imagebackend import conf as plugin_conf  # noqa: E402

CONF = nova.conf.CONF
MiB = 1024 ** 2
GiB = 1024 ** 3
SECRET = 'b5b5b5b5-0000-4000-8000-000000000001'

SIZES = {
    'full': {'rounds': 7, 'storm': 50, 'workers': 8,
             'pools': (200, 2000), 'snap_mib': (256, 1024),
             'import_mib': 1024, 'import_count': 10, 'storm_rounds': 2,
             'rss_mib': (1024, 4096), 'rss_data_mib': 256,
             'qcow2_mib': 1024},
    'quick': {'rounds': 2, 'storm': 6, 'workers': 3, 'pools': (10, 30),
              'snap_mib': (8, 16), 'import_mib': 16, 'import_count': 2,
              'storm_rounds': 1, 'rss_mib': (16, 32), 'rss_data_mib': 8,
              'qcow2_mib': 32},
}


def configure(ceph_conf, instances_path):
    CONF([], project='nova', default_config_files=[])
    plugin_conf.register_opts(CONF)
    CONF.set_override('instances_path', instances_path)
    for key, value in {'images_type': 'rbd', 'images_rbd_pool': 'vms',
                       'images_rbd_ceph_conf': ceph_conf,
                       'rbd_user': 'nova', 'rbd_secret_uuid': SECRET,
                       'virt_type': 'kvm'}.items():
        CONF.set_override(key, value, group='libvirt')


def percentile(values, fraction):
    ordered = sorted(values)
    index = int(round(fraction * (len(ordered) - 1)))
    return ordered[min(len(ordered) - 1, index)]


class Bench(object):

    def __init__(self, ceph_conf, size, admin_user):
        from benchmarks import sides
        self.sides = sides
        sides.install_glance()
        self.size = SIZES[size]
        self.ceph_conf = ceph_conf
        self.admin = rados.Rados(conffile=ceph_conf, rados_id=admin_user)
        self.admin.connect(timeout=10)
        self.floor_conn = rados.Rados(conffile=ceph_conf, rados_id='nova')
        self.floor_conn.connect(timeout=10)
        self.rows = []
        self.intree, self.ours = sides.InTree(), sides.Ours()

    # -- harness ------------------------------------------------------------

    def compare(self, label, run, rounds=None, floor=None, target=''):
        """Time run(side) interleaved A B A B; floor() alongside."""
        times = {'in-tree': [], 'ours': [], 'floor': []}
        for i in range(rounds or self.size['rounds']):
            order = ((self.intree, self.ours) if i % 2 == 0
                     else (self.ours, self.intree))
            for side in order:
                times[side.name].append(run(side))
            if floor:
                times['floor'].append(floor())
        row = {'op': label, 'target': target}
        for name, values in times.items():
            if values:
                row[name] = (statistics.median(values),
                             percentile(values, 0.9))
        row['ratio'] = row['in-tree'][0] / row['ours'][0]
        self.rows.append(row)
        print('  %-44s in-tree %8.4f s  ours %8.4f s  ratio %6.1fx' % (
            label, row['in-tree'][0], row['ours'][0], row['ratio']),
            flush=True)
        return row

    @staticmethod
    def timed(fn, *args):
        started = time.perf_counter()
        fn(*args)
        return time.perf_counter() - started

    # -- the cluster --------------------------------------------------------

    def ioctx(self, pool, conn=None):
        return (conn or self.admin).open_ioctx(pool)

    def upload(self, data_mib, pool='images'):
        """An image as glance_store stores it; registered in 'Glance'."""
        image_id = str(uuid.uuid4())
        with self.ioctx(pool) as ioctx:
            rbd.RBD().create(ioctx, image_id, max(data_mib, 1) * MiB)
            with rbd.Image(ioctx, image_id) as image:
                image.write(os.urandom(MiB) * data_mib, 0)
                image.create_snap('snap')
                image.protect_snap('snap')
        url = 'rbd://%s/%s/%s/snap' % (self.admin.get_fsid(), pool,
                                       image_id)
        self.sides.GLANCE.images[image_id] = {
            'id': image_id, 'disk_format': 'raw', 'status': 'active',
            'locations': [{'url': url, 'metadata': {}}]}
        return image_id

    def remove(self, pool, names):
        with self.ioctx(pool) as ioctx:
            for name in names:
                try:
                    with rbd.Image(ioctx, name) as image:
                        for snap in list(image.list_snaps()):
                            if image.is_protected_snap(snap['name']):
                                image.unprotect_snap(snap['name'])
                            image.remove_snap(snap['name'])
                    self._remove_when_idle(ioctx, name)
                except rbd.ImageNotFound:
                    pass

    @staticmethod
    def _remove_when_idle(ioctx, name, timeout=120):
        # The manager keeps its watch for a moment after its task ends.
        deadline = time.monotonic() + timeout
        while True:
            try:
                return rbd.RBD().remove(ioctx, name)
            except rbd.ImageBusy:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def wait_flattened(self, pool, name, timeout=600):
        deadline = time.monotonic() + timeout
        with self.ioctx(pool) as ioctx:
            while time.monotonic() < deadline:
                with rbd.Image(ioctx, name, read_only=True) as image:
                    try:
                        image.parent_info()
                    except rbd.ImageNotFound:
                        break
                time.sleep(0.1)

    def remove_instance(self, inst, pool='vms'):
        with self.ioctx(pool) as ioctx:
            names = [n for n in rbd.RBD().list(ioctx)
                     if n.startswith(inst.uuid)]
        self.remove(pool, names)

    # -- operations -----------------------------------------------------------

    def root_disk(self, image_id):
        def run(side):
            inst = self.sides.instance()
            took = self.timed(side.root_disk, inst, image_id, GiB)
            self.remove_instance(inst)
            return took

        def floor():
            name = str(uuid.uuid4()) + '_disk'
            with self.ioctx('images', self.floor_conn) as src, \
                    self.ioctx('vms', self.floor_conn) as dst:
                started = time.perf_counter()
                rbd.RBD().clone(src, image_id, 'snap', dst, name)
                with rbd.Image(dst, name) as image:
                    image.resize(GiB)
                took = time.perf_counter() - started
            self.remove('vms', [name])
            return took
        # Opening the floor's ioctx is outside its timing: "one
        # already-open connection".
        return self.compare('1. root disk from a clonable image', run,
                            floor=floor,
                            target='ours <= 1.3x floor, >= 5x in-tree')

    def disk_xml(self):
        def run(side):
            disk = side.image(self.sides.instance())
            return self.timed(side.disk_xml, disk)

        def cold(side):
            side.forget_cache()
            from nova_rbd_imagebackend.ceph import cluster
            cluster._mon_addrs.clear()
            return run(side)
        self.compare('2. disk XML (libvirt_info)', run, target='>= 100x')
        self.compare('2b. disk XML, monitor cache empty', cold)

    def capacity(self):
        self.compare('4. capacity report (one periodic task)',
                     lambda side: self.timed(side.capacity),
                     target='>= 10x')

    def delete(self, pool_size):
        """Delete one instance's disks with ``pool_size`` images in vms."""
        pool = 'vms'
        with self.ioctx(pool) as ioctx:
            existing = len(rbd.RBD().list(ioctx))
            for _ in range(pool_size - existing):
                rbd.RBD().create(ioctx, 'filler-%s_disk' % uuid.uuid4(),
                                 MiB)
        names = ('disk', 'disk.eph0', 'disk.swap')

        def make():
            inst = self.sides.instance()
            with self.ioctx(pool) as ioctx:
                for name in names:
                    rbd.RBD().create(ioctx, '%s_%s' % (inst.uuid, name), MiB)
            return inst

        def run(side):
            inst = make()
            return self.timed(side.delete_instance, inst)

        def floor():
            inst = make()
            with self.ioctx(pool, self.floor_conn) as ioctx:
                started = time.perf_counter()
                for name in names:
                    rbd.RBD().remove(ioctx, '%s_%s' % (inst.uuid, name))
                return time.perf_counter() - started
        return self.compare(
            '5. delete an instance, pool of %d images' % pool_size, run,
            floor=floor, target='flat; ~ floor')

    def remove_fillers(self):
        with self.ioctx('vms') as ioctx:
            fillers = [n for n in rbd.RBD().list(ioctx)
                       if n.startswith('filler-')]
        self.remove('vms', fillers)

    def snapshot(self, base_id, written_mib):
        def run(side):
            inst = self.sides.instance()
            name = inst.uuid + '_disk'
            with self.ioctx('images') as src, self.ioctx('vms') as dst:
                rbd.RBD().clone(src, base_id, 'snap', dst, name)
                with rbd.Image(dst, name) as image:
                    image.resize(GiB)
                    block = os.urandom(4 * MiB)
                    for offset in range(0, written_mib * MiB, 4 * MiB):
                        image.write(block, offset)
            disk = side.image(inst)
            image_id = str(uuid.uuid4())
            took = self.timed(side.snapshot, disk, image_id, base_id)
            # The plugin leaves the copy to the Ceph manager: wait for it
            # (outside the timing) before cleaning up.
            self.wait_flattened('images', image_id)
            self.remove('images', [image_id])
            self.remove('vms', [name])
            return took
        return self.compare(
            '6. direct snapshot, %d MiB written' % written_mib, run,
            rounds=max(2, self.size['rounds'] // 2),
            target='constant; >= 5x at 256 MiB')

    def storm(self, image_id, size_name):
        results = {'in-tree': [], 'ours': []}
        for i in range(self.size['storm_rounds'] * 2):
            side = ('in-tree', 'ours')[i % 2]
            out = subprocess.run(
                [sys.executable, os.path.abspath(__file__), '--storm-child',
                 side, '--image-id', image_id, '--ceph-conf', self.ceph_conf,
                 '--size', size_name, '--instances-path',
                 CONF.instances_path], capture_output=True, text=True,
                check=True).stdout
            results[side].append(json.loads(out.strip().splitlines()[-1]))
        row = {'op': '3. boot storm: %d root disks, %d workers' % (
            self.size['storm'], self.size['workers']), 'target': '>= 4x'}
        for side, runs in results.items():
            walls = [r['wall'] for r in runs]
            row[side] = (statistics.median(walls), max(walls))
        row['ratio'] = row['in-tree'][0] / row['ours'][0]
        self.rows.append(row)
        rss = {'op': '8. peak RSS during the storm (MiB)',
               'target': 'report', 'unit': 'MiB'}
        for side, runs in results.items():
            values = [r['rss_kb'] / 1024.0 for r in runs]
            rss[side] = (statistics.median(values), max(values))
        rss['ratio'] = rss['in-tree'][0] / rss['ours'][0]
        self.rows.append(rss)
        print('  %-44s in-tree %8.2f s  ours %8.2f s  ratio %6.1fx' % (
            row['op'], row['in-tree'][0], row['ours'][0], row['ratio']))

    # -- report ---------------------------------------------------------------

    def table(self):
        lines = ['| operation | in-tree median / p90 | ours median / p90 | '
                 'in-tree / ours | librbd floor median | target |',
                 '|---|---|---|---|---|---|']
        for row in self.rows:
            unit = row.get('unit', 's')
            fmt = '%.1f / %.1f ' + unit if unit == 'MiB' else \
                '%.4f / %.4f s'
            floor = ('%.4f s' % row['floor'][0]) if 'floor' in row else ''
            lines.append('| %s | %s | %s | %.1fx | %s | %s |' % (
                row['op'], fmt % row['in-tree'], fmt % row['ours'],
                row['ratio'], floor, row['target']))
        return '\n'.join(lines)


def storm_child(args):
    """One boot storm in a fresh process; print wall time and peak RSS."""
    configure(args.ceph_conf, args.instances_path)
    from benchmarks import sides
    sides.install_glance()
    image_id = args.image_id
    url_fsid = rados.Rados(conffile=args.ceph_conf, rados_id='nova')
    url_fsid.connect(timeout=10)
    sides.GLANCE.images[image_id] = {
        'id': image_id, 'disk_format': 'raw', 'status': 'active',
        'locations': [{'url': 'rbd://%s/images/%s/snap' % (
            url_fsid.get_fsid(), image_id), 'metadata': {}}]}
    side = sides.InTree() if args.storm_child == 'in-tree' else sides.Ours()
    size = SIZES[args.size]
    insts = [sides.instance() for _ in range(size['storm'])]
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(size['workers']) as pool:
        list(pool.map(lambda inst: side.root_disk(inst, image_id, GiB),
                      insts))
    wall = time.perf_counter() - started
    with open('/proc/self/status') as f:
        rss_kb = int([line.split()[1] for line in f
                      if line.startswith('VmHWM')][0])
    with url_fsid.open_ioctx('vms') as ioctx:
        for inst in insts:
            rbd.RBD().remove(ioctx, inst.uuid + '_disk')
    url_fsid.shutdown()
    print(json.dumps({'wall': wall, 'rss_kb': rss_kb}))


def run_operations(bench, wanted, workdir, size_name):
    """The operations asked for, in order (``0``: 10, ``q``: 11)."""
    size = bench.size
    base_id = bench.upload(64)
    if '1' in wanted:
        bench.root_disk(base_id)
    if '2' in wanted:
        bench.disk_xml()
    if '3' in wanted or '8' in wanted:
        bench.storm(base_id, size_name)
    if '4' in wanted:
        bench.capacity()
    if '5' in wanted:
        for pool_size in size['pools']:
            bench.delete(pool_size)
        bench.remove_fillers()
    if '6' in wanted:
        for mib in size['snap_mib']:
            bench.snapshot(base_id, mib)
    if wanted & set('790q'):
        from benchmarks import outside
        images = outside.Outside(bench, workdir)
    if '7' in wanted:
        images.ten_boots(size['import_mib'], size['import_count'])
    if '9' in wanted:
        images.peak_rss(size['rss_mib'], size['rss_data_mib'])
    if '0' in wanted:
        images.two_hosts(size['import_mib'], size['import_count'])
    if 'q' in wanted:
        images.qcow2_boot(size['qcow2_mib'])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--ceph-conf', help='an existing cluster')
    parser.add_argument('--admin-user', default='admin')
    parser.add_argument('--quick', action='store_true')
    parser.add_argument('--size', default=None, help=argparse.SUPPRESS)
    parser.add_argument('--storm-child', help=argparse.SUPPRESS)
    parser.add_argument('--image-id', help=argparse.SUPPRESS)
    parser.add_argument('--instances-path', help=argparse.SUPPRESS)
    parser.add_argument('--boot-child', help=argparse.SUPPRESS)
    parser.add_argument('--image-file', help=argparse.SUPPRESS)
    parser.add_argument('--image-hash', help=argparse.SUPPRESS)
    parser.add_argument('--count', type=int, help=argparse.SUPPRESS)
    parser.add_argument('--disk-format', default='raw',
                        help=argparse.SUPPRESS)
    parser.add_argument('--start-at', type=float, default=0,
                        help=argparse.SUPPRESS)
    parser.add_argument('--output', help='also write the table here')
    parser.add_argument('--only', help='operation numbers to run, e.g. 17 '
                        '(0 is operation 10, q operation 11)')
    args = parser.parse_args(argv)
    args.size = args.size or ('quick' if args.quick else 'full')
    # A SIGTERM unwinds like Ctrl-C, so the clean-up below stops the
    # cluster this run started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.storm_child:
        return storm_child(args)
    if args.boot_child:
        from benchmarks import outside
        return outside.boot_child(args, configure)

    from sandbox import ceph
    workdir = tempfile.mkdtemp(prefix='nova-rbd-bench-')
    box = None
    if not args.ceph_conf:
        box = ceph.CephSandbox.start(os.path.join(workdir, 'ceph'),
                                     osd_bytes=32 * GiB)
        args.ceph_conf = box.conf_path
        print('throwaway cluster ready in %.1f s' % box.status()[
            'ready_seconds'])
    try:
        configure(args.ceph_conf, os.path.join(workdir, 'instances'))
        bench = Bench(args.ceph_conf, args.size, args.admin_user)
        print('operations (%s sizes):' % args.size)
        run_operations(bench, set(args.only or '123456790q'), workdir,
                       args.size)
        table = bench.table()
        print()
        print(table)
        if args.output:
            with open(args.output, 'w') as f:
                f.write(table + '\n')
    finally:
        if box is not None:
            box.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
