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

"""The load benchmark's mix of operations, workers, sampler and pools.

Nothing here knows Nova's API: an operation is a name and a server record,
run by a caller-supplied function that raises when the operation failed.
"""

import collections
import os
import re
import threading
import time

import fixtures
import rbd

# Shares of the mix; each pick takes the operation furthest behind its
# share among those that have a server to work on.
MIX = (('boot', 0.3), ('snapshot', 0.25), ('resize', 0.2), ('delete', 0.25))
OPERATIONS = [op for op, _share in MIX]
# Each resize grows the root disk by 1 GiB, up to this size.
MAX_ROOT_GB = 4
SAMPLE_EVERY = 0.5
# Only so that a stuck operation ends the run (as an error), not a target.
HANG_GUARD = 600
POLL = 0.25


class Changes(object):
    """An event per key, set whenever a watched method has run."""

    def __init__(self):
        self.events = collections.defaultdict(threading.Event)

    def watch(self, cls, method, key):
        """A fixture: ``cls.method`` signals its object's ``key``."""
        original, events = getattr(cls, method), self.events

        def watched(obj, *args, **kwargs):
            try:
                return original(obj, *args, **kwargs)
            finally:
                if obj.obj_attr_is_set(key):
                    events[getattr(obj, key)].set()
        return fixtures.MonkeyPatch(
            '%s.%s.%s' % (cls.__module__, cls.__name__, method), watched)

    def until(self, key, check, hang):
        """check() at each change of ``key`` or second, until true."""
        changed = self.events[key]
        deadline = time.monotonic() + HANG_GUARD
        while True:
            changed.clear()
            if check():
                return
            if time.monotonic() > deadline:
                raise hang('no end in %d s' % HANG_GUARD)
            changed.wait(1)


def percentile(values, fraction):
    ordered = sorted(values)
    index = int(round(fraction * (len(ordered) - 1)))
    return ordered[min(len(ordered) - 1, index)]


def last_line(text):
    lines = [line.strip() for line in (text or '').strip().splitlines()]
    return lines[-1] if lines else ''


class Mix(object):
    """Hands out operations; keeps servers, latencies and errors.

    A server is in at most one operation at a time.  Boots stop while
    ``cap`` servers exist, so that live servers stay bounded.
    """

    def __init__(self, total, cap, deletes=None):
        self.lock = threading.Lock()
        self.left, self.cap = total, cap
        self.idle, self.broken, self.live = [], [], 0
        self.shares = MIX
        if deletes is not None:
            self.left, self.idle = len(deletes), list(deletes)
            self.shares = (('delete', 1),)
        self.all_ids = set(r['id'] for r in self.idle)
        self.started = collections.Counter()
        self.latencies = collections.defaultdict(list)
        self.errors = []
        self.done = 0

    def _server_for(self, op):
        if op == 'boot':
            return {'id': None, 'gb': 1} if self.live < self.cap else None
        for rec in self.idle:
            if op != 'resize' or rec['gb'] < MAX_ROOT_GB:
                return rec
        return None

    def take(self):
        """(operation, server record), or None once all are handed out."""
        with self.lock:
            if self.left <= 0:
                return None
            picks = []
            for order, (op, share) in enumerate(self.shares):
                rec = self._server_for(op)
                if rec is not None:
                    picks.append((self.started[op] / share, order, op, rec))
            # Never empty: at most C - 1 other servers are busy, and a boot
            # is allowed whenever fewer than 2 C servers exist.
            _behind, _order, op, rec = min(picks)
            if op == 'boot':
                self.live += 1
            else:
                self.idle.remove(rec)
            self.left -= 1
            self.started[op] += 1
            return op, rec

    def finished(self, op, rec, took=None, error=None):
        with self.lock:
            self.done += 1
            if rec['id']:
                self.all_ids.add(rec['id'])
            if error is not None:
                self.errors.append({'op': op, 'server': rec['id'],
                                    'error': error})
                self.live -= 1
                if rec['id']:
                    self.broken.append(rec)  # deleted in the clean-up
                return
            self.latencies[op].append(took)
            if op == 'delete':
                self.live -= 1
            else:
                self.idle.append(rec)


def run_workers(count, mix, operation, report_every=None):
    """Run ``count`` workers until ``mix`` is done; return the wall time."""
    total = mix.left
    report_every = report_every or max(1, total // 10)

    def worker():
        while True:
            job = mix.take()
            if job is None:
                return
            op, rec = job
            started = time.monotonic()
            try:
                operation(op, rec)
            except Exception as exc:
                mix.finished(op, rec, error='%s: %s' % (
                    type(exc).__name__, exc))
            else:
                mix.finished(op, rec, took=time.monotonic() - started)
            if mix.done % report_every == 0:
                print('    %d/%d operations, %d errors, %.1f s' % (
                    mix.done, total, len(mix.errors),
                    time.monotonic() - began), flush=True)

    began = time.monotonic()
    workers = [threading.Thread(target=worker, daemon=True)
               for _ in range(count)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return time.monotonic() - began


def process_status():
    """(threads, RSS in MiB) of this process, from /proc."""
    fields = {}
    with open('/proc/self/status') as f:
        for line in f:
            key, _sep, value = line.partition(':')
            fields[key] = value.split()
    return int(fields['Threads'][0]), int(fields['VmRSS'][0]) / 1024.0


class Sampler(object):
    """Samples the process's threads and RSS every half second."""

    def __init__(self, tick=None):
        self.tick = tick
        self.samples = []  # (seconds since start, threads, RSS MiB, load)
        self.marks = {}
        self.stopped = threading.Event()
        self.began = time.monotonic()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def start(self):
        self._sample()
        self.thread.start()

    def mark(self, name):
        self.marks[name] = len(self.samples)
        self._sample()

    def stop(self):
        self.stopped.set()
        self.thread.join()
        self._sample()

    def _sample(self):
        self.samples.append((time.monotonic() - self.began,) +
                            process_status() + (os.getloadavg()[0],))

    def _loop(self):
        while not self.stopped.wait(SAMPLE_EVERY):
            if self.tick:
                self.tick()
            self._sample()

    def summary(self):
        """Start, end and peaks (whole run, each half of the operations)."""
        ops_end = self.marks.get('ops done', len(self.samples))
        half = max(1, ops_end // 2)
        # The machine's 1-minute load average: other work on a shared host.
        loads = [s[3] for s in self.samples[:ops_end + 1]]
        out = {'samples': len(self.samples),
               'load_mean': sum(loads) / len(loads)}
        for index, key in ((1, 'threads'), (2, 'rss_mib')):
            values = [s[index] for s in self.samples]
            out[key] = {
                'start': values[0], 'end': values[-1], 'peak': max(values),
                'peak_first_half': max(values[:half]),
                'peak_second_half': max(values[half:ops_end + 1] or
                                        values[-1:])}
        return out


def wait_flattened(images, before):
    """Let the manager finish flattening the snapshots made since."""
    deadline = time.monotonic() + HANG_GUARD
    for name in set(rbd.RBD().list(images)) - before:
        while time.monotonic() < deadline:
            try:
                with rbd.Image(images, name, read_only=True) as image:
                    image.parent_info()
            except (rbd.ImageNotFound, rbd.ObjectNotFound):
                break
            time.sleep(POLL)


def pool_leftovers(vms, images, ids, known_images):
    """What the run's servers left in the pools, by kind."""
    names = rbd.RBD().list(vms)
    return {
        'instance images': [n for n in names if n[:36] in ids],
        '.part images': [n for n in names if n.endswith('.part')],
        'trash entries': [e['name'] for e in rbd.RBD().trash_list(vms)
                          if e['name'][:36] in ids],
        'images unknown to Glance': sorted(
            set(rbd.RBD().list(images)) - known_images)}


def log_groups(logged):
    """Warnings and errors in Nova's test log, counted by message."""
    groups = collections.Counter()
    for line in logged.splitlines():
        level, _sep, rest = line.partition(' [')
        level = level.rsplit(' ', 1)[-1]
        if level in ('WARNING', 'ERROR'):
            groups['%s [%s' % (level, re.sub(r'\d+', 'N', rest)[:200])] += 1
    return groups.most_common()
