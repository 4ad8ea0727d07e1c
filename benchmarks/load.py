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

"""Load: mixed server operations through Nova's services, many at once.

Starts a throwaway cluster (three monitors by default) and, for each
side, a process running Nova's control plane in-process with two computes
(benchmarks/load_job.py): N operations (boot, snapshot, resize and
confirm, delete) with C in flight, every one checked; the process's
threads and RSS sampled; then every server deleted and the pools audited.
Prints per operation the count, errors, p50 and p99, the throughput,
threads and RSS, and the leftovers.  Nothing is asserted on time.

    python benchmarks/load.py [--ops 200] [--concurrency 16] [--mons 3]
                              [--side ours|in-tree|both] [--output F]
"""

import argparse
import collections
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, TOP)

from benchmarks import load_mix  # noqa: E402
from sandbox import ceph  # noqa: E402
from sandbox import SandboxError  # noqa: E402

GiB = 1024 ** 3
JOB = os.path.join(TOP, 'benchmarks', 'load_job.py')
UUID = re.compile(r'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-'
                  r'[0-9a-f]{12}')


def run_side(box, side, args, workdir):
    """One side in a process of its own; its figures, or None."""
    output = os.path.join(workdir, side + '.json')
    print('%s: %d operations, %d in flight' % (
        side, args.ops, args.concurrency), flush=True)
    child = subprocess.Popen(
        [sys.executable, JOB, '--ceph', box.directory, '--side', side,
         '--ops', str(args.ops), '--concurrency', str(args.concurrency),
         '--output', output], cwd=TOP, stdin=subprocess.DEVNULL)
    try:
        child.wait()
    finally:
        if child.poll() is None:
            child.terminate()
            child.wait()
    if child.returncode != 0 or not os.path.exists(output):
        print('%s: the run failed (exit status %s)' % (
            side, child.returncode))
        return None
    with open(output) as f:
        return json.load(f)


def count_leftovers(figures):
    return sum(len(found) for found in figures['leftovers'].values())


def side_table(figures):
    lat, errors = figures['latencies'], figures['errors']
    lines = ['### %s (%s)' % (figures['side'], figures['driver']), '',
             '%d operations, %d in flight, in %.1f s: %.2f operations/s '
             '(machine load average meanwhile: %.1f)' % (
                 figures['ops'], figures['concurrency'], figures['seconds'],
                 figures['ops'] / figures['seconds'],
                 figures['samples']['load_mean']), '',
             '| operation | count | errors | p50 | p99 |',
             '|---|---|---|---|---|']
    every = []
    for op in load_mix.OPERATIONS + ['all']:
        values = every if op == 'all' else lat.get(op, [])
        every += [] if op == 'all' else values
        failed = [e for e in errors if e.get('phase') != 'clean-up' and
                  op in ('all', e['op'])]
        timing = ('%.2f s | %.2f s' % (load_mix.percentile(values, 0.5),
                                       load_mix.percentile(values, 0.99))
                  if values else ' | ')
        lines.append('| %s | %d | %d | %s |' % (
            op, len(values) + len(failed), len(failed), timing))
    samples = figures['samples']
    lines += ['', 'Clean-up: %d servers deleted after the run, %d errors '
              '(after %.1f s waiting for snapshots to be flattened).' % (
                  figures['cleanup_deletes'],
                  len(errors) - len(failed), figures['flatten_wait']), '',
              '| process | start | peak | peak, 1st half | peak, 2nd half '
              '| end |', '|---|---|---|---|---|---|']
    for key, label, form in (('threads', 'threads', '%d'),
                             ('rss_mib', 'RSS (MiB)', '%.0f')):
        row = samples[key]
        lines.append('| %s | %s |' % (label, ' | '.join(
            form % row[k] for k in ('start', 'peak', 'peak_first_half',
                                    'peak_second_half', 'end'))))
    lines += ['', 'Leftovers: %d (%s)' % (count_leftovers(figures), ', '.join(
        '%s %d' % (kind, len(found))
        for kind, found in figures['leftovers'].items())), '']
    return lines


def comparison(by_side):
    ours, intree = by_side['ours'], by_side['in-tree']
    lines = ['### in-tree / ours', '',
             '| measure | in-tree | ours | ratio |', '|---|---|---|---|']
    for op in load_mix.OPERATIONS:
        if not (intree['latencies'].get(op) and ours['latencies'].get(op)):
            continue
        a = load_mix.percentile(intree['latencies'][op], 0.5)
        b = load_mix.percentile(ours['latencies'][op], 0.5)
        lines.append('| %s p50 | %.2f s | %.2f s | %.1fx |' % (
            op, a, b, a / b))
    a = intree['ops'] / intree['seconds']
    b = ours['ops'] / ours['seconds']
    lines.append('| throughput (ours / in-tree) | %.2f ops/s | %.2f ops/s '
                 '| %.1fx |' % (a, b, b / a))
    for key, label in (('threads', 'peak threads'),
                       ('rss_mib', 'peak RSS (MiB)')):
        a, b = intree['samples'][key]['peak'], ours['samples'][key]['peak']
        lines.append('| %s | %.0f | %.0f | %.1fx |' % (label, a, b, a / b))
    return lines + ['']


def findings(figures):
    lines, seen = [], collections.OrderedDict()
    for error in figures['errors']:
        key = (error.get('phase', 'run'), error['op'],
               UUID.sub('<uuid>', error['error']))
        seen.setdefault(key, []).append(error['server'])
    for (phase, op, message), servers in seen.items():
        lines.append('%s: %d errors in %s (%s), servers %s: %s' % (
            figures['side'], len(servers), op, phase,
            ', '.join(map(str, servers[:3])) +
            (', ...' if len(servers) > 3 else ''), message))
    for kind, found in figures['leftovers'].items():
        for name in found:
            lines.append('%s: leftover (%s): %s' % (figures['side'], kind,
                                                    name))
    if figures['log']:
        lines.append('%s: logged during the run (count, message with '
                     'numbers as N):' % figures['side'])
        lines += ['  %5d  %s' % (count, message)
                  for message, count in figures['log'][:15]]
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python benchmarks/load.py',
                                     description=__doc__.split('\n')[0])
    parser.add_argument('--ops', type=int, default=200)
    parser.add_argument('--concurrency', type=int, default=16)
    parser.add_argument('--mons', type=int, default=3, choices=(1, 3, 5))
    parser.add_argument('--side', choices=('ours', 'in-tree', 'both'),
                        default='ours')
    parser.add_argument('--output', help='also write the tables here')
    args = parser.parse_args(argv)
    sides = ['ours', 'in-tree'] if args.side == 'both' else [args.side]
    if 'in-tree' in sides and not (shutil.which('ceph') and
                                   shutil.which('rbd')):
        print('error: the in-tree backend runs the ceph and rbd commands, '
              'which are not on PATH', file=sys.stderr)
        return 2
    # A SIGTERM unwinds like Ctrl-C: the cluster is stopped below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    began = time.monotonic()
    workdir = tempfile.mkdtemp(prefix='nova-rbd-load-')
    by_side = {}
    try:
        try:
            # Memstore takes RAM only for what is written; the size is the
            # capacity both computes report to placement.
            box = ceph.CephSandbox.start(workdir + '/ceph', mons=args.mons,
                                         osd_bytes=64 * GiB)
        except SandboxError as exc:
            print('error: %s' % exc, file=sys.stderr)
            return 1
        try:
            print('cluster: %d monitors, in %s' % (args.mons, box.directory),
                  flush=True)
            for side in sides:
                by_side[side] = run_side(box, side, args, workdir)
        finally:
            box.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    lines = ['## Load: %d mixed operations, %d in flight, %d monitors' % (
        args.ops, args.concurrency, args.mons), '']
    for side in sides:
        if by_side[side]:
            lines += side_table(by_side[side])
    if all(by_side.values()) and len(sides) == 2:
        lines += comparison(by_side)
    table = '\n'.join(lines)
    print(table)
    if args.output:
        with open(args.output, 'w') as f:
            f.write(table + '\n')
    for figures in filter(None, by_side.values()):
        for line in findings(figures):
            print(line)
    print('total run time %.1f s' % (time.monotonic() - began))
    ours = by_side.get('ours')
    if not all(by_side.values()) or (ours and (
            ours['errors'] or count_leftovers(ours))):
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
