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

"""One side of the load benchmark, in a process of its own.

benchmarks/load.py runs it once per side against the cluster it started:
Nova's control plane in-process (sandbox/controlplane.py) with two
computes, N mixed operations through Nova's API with C in flight, then
every server deleted and the pools audited.  The figures go to a JSON file.

    python benchmarks/load_job.py --ceph DIR --side ours|in-tree --output F
"""

# Nova's services need their concurrency mode applied first.
from nova import monkey_patch  # noqa: I100
monkey_patch.patch()

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import unittest  # noqa: E402
from unittest import mock  # noqa: E402

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, TOP)

from nova.api.openstack import common as api_common  # noqa: E402
from nova import context as nova_context  # noqa: E402
from nova import exception  # noqa: E402
from nova import objects  # noqa: E402
from nova.tests.functional.api import client as api_client  # noqa: E402
import rbd  # noqa: E402

from benchmarks import load_mix  # noqa: E402
from nova_rbd_imagebackend.ceph import cluster  # noqa: E402
from nova_rbd_imagebackend import conf as plugin_conf  # noqa: E402
from nova_rbd_imagebackend.disks import audit  # noqa: E402
from nova_rbd_imagebackend.disks import snapshot_runs  # noqa: E402
from nova_rbd_imagebackend.nova import activation  # noqa: E402
from nova_rbd_imagebackend.nova import glance  # noqa: E402
from nova_rbd_imagebackend.nova import instance_records  # noqa: E402
from sandbox import ceph  # noqa: E402
from sandbox import controlplane  # noqa: E402


class OpFailed(Exception):
    pass


class LoadJob(controlplane.RbdNovaTestCase):
    """The run, as one case so that Nova's fixtures clean up after it."""

    side, ops, concurrency = 'ours', 200, 16
    # Underscored: Nova's TestCase deletes public attributes at its end.
    _figures = None

    def setUp(self):
        if self.side == 'in-tree':
            # Nova's own LibvirtDriver and Rbd class: the plugin's options
            # are registered (the harness sets one), nothing is activated.
            with mock.patch.object(activation, 'activate',
                                   plugin_conf.register_opts):
                super().setUp()
        else:
            super().setUp()
        # Up to 2 C servers at once: beyond Nova's default quotas.
        self.flags(instances=-1, cores=-1, ram=-1, group='quota')
        self._ctxt = ctxt = nova_context.get_admin_context()
        # Waits wake when Nova saves the server: asking Nova's API for each
        # server on a timer would take most of the control plane's core.
        self._changes = load_mix.Changes()
        for cls, method, key in ((objects.Instance, 'save', 'uuid'),
                                 (objects.Instance, 'destroy', 'uuid'),
                                 (objects.Migration, 'save', 'instance_uuid')):
            self.useFixture(self._changes.watch(cls, method, key))
        for gb in range(3, load_mix.MAX_ROOT_GB + 1):
            objects.Flavor(context=ctxt, flavorid='root%d' % gb,
                           name='root%d' % gb, memory_mb=512, vcpus=1,
                           root_gb=gb, ephemeral_gb=0, swap=0).create()

    def runTest(self):
        # Runs first among the clean-ups: Nova's services then stop quietly.
        self.addCleanup(logging.disable, logging.INFO)
        for host in ('host1', 'host2'):
            self.start_compute(host)
        driver = self.computes['host1'].driver
        self.image_id = self.upload_rbd_image(b'load-image' * 1000)
        admin = self.admin_rados()
        self.vms, self._images_ioctx = map(admin.open_ioctx, ('vms', 'images'))
        self.addCleanup(self.vms.close)
        self.addCleanup(self._images_ioctx.close)
        images_before = set(rbd.RBD().list(self._images_ioctx))
        # Nova's test logging formats every DEBUG record; warnings and
        # errors are still kept (and reported).
        logging.disable(logging.INFO)
        self._log_from = len(self.stdlog.logger.output)
        sampler = load_mix.Sampler(self._empty_recorders)
        sampler.start()
        mix = load_mix.Mix(self.ops, 2 * self.concurrency)
        took = load_mix.run_workers(self.concurrency, mix, self._operation)
        sampler.mark('ops done')
        started = time.monotonic()
        load_mix.wait_flattened(self._images_ioctx, images_before)
        flatten_wait = time.monotonic() - started
        # Every server left, deleted the same way, C at a time.
        print('    clean-up: deleting %d servers' % (
            len(mix.idle) + len(mix.broken)), flush=True)
        cleanup = load_mix.Mix(0, 0, deletes=mix.idle + mix.broken)
        load_mix.run_workers(self.concurrency, cleanup, self._operation)
        sampler.stop()
        self._figures = {
            'side': self.side, 'driver': '%s, %s' % (
                type(driver).__name__,
                driver.image_backend.backend('rbd').__name__),
            'ops': self.ops, 'concurrency': self.concurrency,
            'seconds': took, 'latencies': mix.latencies,
            'errors': mix.errors + [dict(e, phase='clean-up')
                                    for e in cleanup.errors],
            'cleanup_deletes': len(cleanup.latencies.get('delete', [])),
            'flatten_wait': flatten_wait, 'samples': sampler.summary(),
            'leftovers': self._leftovers(mix.all_ids, images_before),
            'log': load_mix.log_groups(
                self.stdlog.logger.output[self._log_from:])}

    # -- operations -----------------------------------------------------------

    def _operation(self, op, rec):
        getattr(self, '_' + op)(rec)

    def _boot(self, rec):
        server = self.api.post_server({'server': {
            'name': 'load', 'imageRef': self.image_id, 'flavorRef': 'root1',
            'networks': 'none'}})
        rec['id'] = server['id']
        self._wait_status(rec, 'ACTIVE')

    def _snapshot(self, rec):
        image_id = self.api.post_server_action(
            rec['id'], {'createImage': {'name': 'load-snap'}})['image_id']
        # Nova clears the task once Glance has the image.
        self._wait_status(rec, 'ACTIVE')
        image = self.glance.images.get(image_id) or {'status': 'gone'}
        if image['status'] != 'active':
            raise OpFailed('image %s %s; %s' % (
                image_id, image['status'], self._why(rec, 'createImage')))

    def _resize(self, rec):
        self.api.post_server_action(rec['id'], {'resize': {
            'flavorRef': 'root%d' % (rec['gb'] + 1)}})
        self._wait_status(rec, 'VERIFY_RESIZE')
        self.api.post_server_action(rec['id'], {'confirmResize': None})
        # The source host confirms with no task set on the server.
        self._wait_status(rec, 'ACTIVE', passing=('VERIFY_RESIZE',))

        def confirmed():
            status = max(objects.MigrationList.get_by_filters(
                self._ctxt, {'instance_uuid': rec['id']}),
                key=lambda m: m.id).status
            if status == 'error':
                raise OpFailed('migration %s; %s' % (
                    status, self._why(rec, 'resize')))
            return status == 'confirmed' or None
        self._until(rec, confirmed)
        rec['gb'] += 1

    def _delete(self, rec):
        self.api.delete_server(rec['id'])

        def gone():
            status, _task = self._state(rec)
            if status == 'ERROR':
                raise OpFailed('not deleted, ERROR; %s' % self._why(
                    rec, 'delete'))
            return status == 'gone' or None
        self._until(rec, gone)

    def _wait_status(self, rec, status, passing=('BUILD',)):
        """Wait for ``status`` with no task; fail on any other settled one.

        Nova clears the task when an operation ends; one that ends in any
        status but the expected one (or ``passing``) has failed, as a
        resize that found no host ends ACTIVE.
        """
        def reached():
            now, task = self._state(rec)
            if now == status and task is None:
                return True
            if now in ('ERROR', 'gone') or (
                    task is None and now not in passing):
                raise OpFailed('%s (task %s), expected %s; %s' % (
                    now, task, status, self._why(rec, None)))
        self._until(rec, reached)

    def _until(self, rec, check):
        self._changes.until(rec['id'], check, lambda message: OpFailed(
            '%s; %s' % (message, self._why(rec, None))))

    def _state(self, rec):
        """(status, task): the cell database's, the API's until there."""
        try:
            inst = objects.Instance.get_by_uuid(self._ctxt, rec['id'])
        except exception.InstanceNotFound:
            pass
        else:
            task = inst.task_state
            return api_common.status_from_state(inst.vm_state, task), task
        try:  # scheduling, in cell0 (scheduling failed), or deleted
            server = self.api.get_server(rec['id'])
        except api_client.OpenStackApiNotFoundException:
            return 'gone', None
        return server['status'], server['OS-EXT-STS:task_state']

    def _why(self, rec, action):
        """The server's fault, or the failed event of its last action."""
        time.sleep(1)  # Nova records the fault after the state
        try:
            fault = self.api.get_server(rec['id']).get('fault')
        except api_client.OpenStackApiNotFoundException:
            return 'server gone'
        if fault:
            return 'fault %s: %s %s' % (fault.get('code'), fault['message'],
                                        load_mix.last_line(fault.get(
                                            'details', '')))
        for act in self.api.get_instance_actions(rec['id']):
            events = self.api.get_instance_action_details(
                rec['id'], act['request_id'])['events']
            for event in events:
                if (action in (None, act['action']) and
                        (event.get('result') or '').lower() == 'error'):
                    return 'event %s: %s' % (event['event'], load_mix.
                                             last_line(event['traceback']))
        return 'no fault recorded'

    # -- around the operations ----------------------------------------------

    def _empty_recorders(self):
        # The harness's own records (every domain XML, every notification)
        # would otherwise grow with the run and count as the process's.
        del self.xml.documents[:]
        self.notifier.reset()

    def _leftovers(self, ids, images_before):
        client = cluster.client()
        ask = glance.service_context()
        context = nova_context.get_admin_context()
        found = audit.find(
            client, 'vms', self.instances_path, 0,
            glance_status=lambda image_id: glance.image_status(ask, image_id),
            deleted_instances=lambda uuids: instance_records.deleted(
                context, uuids))
        return dict(load_mix.pool_leftovers(
            self.vms, self._images_ioctx, ids,
            images_before | set(self.glance.images)), **{
                'snapshot runs': sorted(snapshot_runs.unfinished(client,
                                                                 'vms')),
                'audit findings': ['%s %s (%s)' % (f.kind, f.where, f.detail)
                                   for f in found]})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--ceph', required=True, help='the sandbox folder')
    parser.add_argument('--side', choices=('ours', 'in-tree'),
                        default='ours')
    parser.add_argument('--ops', type=int, default=200)
    parser.add_argument('--concurrency', type=int, default=16)
    parser.add_argument('--output', required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    LoadJob.ceph = ceph.CephSandbox.attach(args.ceph)
    LoadJob.side, LoadJob.ops, LoadJob.concurrency = (
        args.side, args.ops, args.concurrency)
    job = LoadJob()
    result = unittest.TestResult()
    job.run(result)
    logging.disable(logging.NOTSET)
    for _case, trace in result.errors + result.failures:
        print(trace, file=sys.stderr)
    if job._figures is None:
        return 1
    with open(args.output, 'w') as f:
        json.dump(job._figures, f)
    return 0 if result.wasSuccessful() else 1


if __name__ == '__main__':
    sys.exit(main())
