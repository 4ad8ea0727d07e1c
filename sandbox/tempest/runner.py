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

"""Start a cloud, run tempest against it, stop the cloud.

    python -m sandbox.tempest                  # a fresh cloud in /tmp
    python -m sandbox.tempest --attach --dir D # a running cloud, kept
    python -m sandbox.tempest --regex R        # another test selection

The tempest workspace (``tempest init``) is ``<cloud folder>/tempest``;
tempest runs with its HOME and TMPDIR under the cloud folder, so it
writes nothing into the caller's home or /tmp.  A cloud this command
started is stopped at the end, on failure and on SIGINT or SIGTERM; its
folder (logs, tempest workspace) is kept when a test failed or with
``--keep``.  The exit status is 0 only if every test that ran passed.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

from sandbox.cloud import cloud as cloud_mod
from sandbox import SandboxError
from sandbox.tempest import conf
from sandbox.tempest import resources
from sandbox.tempest import summary

DEFAULT_REGEX = (r'^tempest\.api\.compute\.(servers|images|'
                 r'admin\.test_live_migration|admin\.test_migrations)')
EXCLUDE_LIST = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                            'exclude-list.txt')
BINDIR = os.path.dirname(sys.executable)


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived; everything started must stop."""


def _parser():
    parser = argparse.ArgumentParser(prog='python -m sandbox.tempest',
                                     description=__doc__.split('\n')[0])
    parser.add_argument('--dir', help='cloud folder (default: a new one '
                        'under /tmp; at most %d characters)'
                        % cloud_mod.MAX_DIR_LEN)
    parser.add_argument('--attach', action='store_true',
                        help='use the running cloud in --dir and leave it '
                             'running')
    parser.add_argument('--regex', default=DEFAULT_REGEX,
                        help='tests to run (default %(default)s)')
    parser.add_argument('--exclude-list', default=EXCLUDE_LIST,
                        help='tests not to run, one regex a line '
                             '(default %(default)s)')
    parser.add_argument('--concurrency', type=int, default=2)
    parser.add_argument('--users', default='nova,nova2',
                        help='cephx users of compute1 and compute2 '
                             '(default %(default)s)')
    parser.add_argument('--no-ceph-cli', action='store_true',
                        help='no ceph or rbd command on the computes\' PATH')
    parser.add_argument('--keep', action='store_true',
                        help='keep the cloud folder after stopping')
    return parser


def main(argv):
    args = _parser().parse_args(argv)
    if args.attach and not args.dir:
        print('error: --attach needs --dir', file=sys.stderr)
        return 2
    started = time.time()

    def log(message):
        print('  %6.1fs  %s' % (time.time() - started, message), flush=True)

    stopping = []

    def on_signal(signum, frame):
        if stopping:
            log('signal %d: already stopping' % signum)
            return
        stopping.append(signum)
        raise Interrupted(signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    cloud = None
    rc = 1
    try:
        if args.attach:
            cloud = cloud_mod.Cloud.attach(args.dir)
        else:
            directory = args.dir or tempfile.mkdtemp(prefix='tempest-',
                                                     dir='/tmp')
            log('starting the cloud in %s' % directory)
            try:
                cloud = cloud_mod.Cloud.start(
                    directory, users=tuple(args.users.split(',')),
                    ceph_cli=not args.no_ceph_cli, log=log)
            except BaseException:
                # Cloud.start stopped what it had started.
                log('cloud start failed; its logs are in %s' % directory)
                raise
            log('cloud ready in %.1f s' % cloud.state['ready_seconds'])
        rc = run(cloud, args, log)
    except Interrupted as exc:
        log('interrupted by signal %d' % exc.args[0])
        rc = 128 + exc.args[0]
    except SandboxError as exc:
        print('error: %s' % exc, file=sys.stderr)
        rc = 1
    finally:
        stopping.append('end')
        if cloud is not None and not args.attach:
            keep = args.keep or rc != 0
            cloud.stop(remove=not keep, log=log)
            log('cloud stopped%s' % (
                '; folder kept: %s' % cloud.directory if keep else ''))
    return rc


def workspace(cloud, log):
    """``tempest init`` under the cloud folder, once; return its paths."""
    base = os.path.join(cloud.directory, 'tempest')
    home = os.path.join(cloud.directory, 'tempest-home')
    paths = {'base': base, 'home': home,
             'conf': os.path.join(base, 'etc', 'tempest.conf'),
             # tempest's own locks go to $TMPDIR/tempest-lock.
             'env': dict(os.environ, HOME=home,
                         TMPDIR=os.path.join(home, 'tmp'),
                         XDG_CONFIG_HOME=os.path.join(home, '.config'))}
    os.makedirs(paths['env']['TMPDIR'], exist_ok=True)
    if not os.path.exists(paths['conf']):
        empty = os.path.join(home, 'etc')
        os.makedirs(empty, exist_ok=True)
        subprocess.run([os.path.join(BINDIR, 'tempest'), 'init',
                        '--config-dir', empty, '--workspace-path',
                        os.path.join(home, 'workspace.yaml'), '--name',
                        os.path.basename(cloud.directory), base],
                       env=paths['env'], check=True, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
        log('tempest workspace %s' % base)
    return paths


def run(cloud, args, log):
    """Configure and run tempest; print its outcome; return the status."""
    ws = workspace(cloud, log)
    facts = resources.facts(cloud, ws['base'])
    conf.write(ws['conf'], facts)
    log('wrote %s (image %s/%s, flavor %s/%s, microversions %s-%s)' % (
        ws['conf'], facts['image_ref'], facts['image_ref_alt'],
        facts['flavor_ref'], facts['flavor_ref_alt'],
        conf.MIN_MICROVERSION, facts['max_microversion']))
    argv = [os.path.join(BINDIR, 'tempest'), 'run', '--config-file',
            ws['conf'], '--regex', args.regex, '--concurrency',
            str(args.concurrency)]
    if args.exclude_list:
        argv += ['--exclude-list', os.path.abspath(args.exclude_list)]
    log('running: %s' % ' '.join(argv[1:]))
    began = time.time()
    tempest_rc = _run_group(argv, ws)
    seconds = time.time() - began
    stream = subprocess.run([os.path.join(BINDIR, 'stestr'), 'last',
                             '--subunit'], cwd=ws['base'], env=ws['env'],
                            stdout=subprocess.PIPE).stdout
    records = summary.results(stream)
    text = summary.report(records, seconds)
    with open(os.path.join(ws['base'], 'summary.txt'), 'w') as f:
        f.write(text)
    with open(os.path.join(ws['base'], 'results.json'), 'w') as f:
        json.dump({'seconds': round(seconds, 1), 'tempest_rc': tempest_rc,
                   'counts': summary.counts(records), 'tests': records},
                  f, indent=1)
    print('\n' + text, flush=True)
    log('summary in %s' % os.path.join(ws['base'], 'summary.txt'))
    if not records:
        print('error: tempest ran no test', file=sys.stderr)
        return 1
    return 1 if tempest_rc != 0 or summary.failed(records) else 0


def _run_group(argv, ws):
    """Run ``argv`` in its own process group; end that group if we stop.

    The group (tempest, stestr and its workers) gets no terminal signal
    of its own: on SIGINT or SIGTERM this process ends it, then stops
    the cloud.
    """
    proc = subprocess.Popen(argv, cwd=ws['base'], env=ws['env'],
                            start_new_session=True)
    try:
        return proc.wait()
    except BaseException:
        for sig, grace in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=grace)
                break
            except subprocess.TimeoutExpired:
                continue
        raise
