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
"""Edge cases of finishing a killed snapshot run, by Glance's answer."""

import json

import pytest

from nova_rbd_imagebackend.disks import audit
from nova_rbd_imagebackend.disks import snapshot_runs
from nova_rbd_imagebackend import exceptions


class RecordingClient(object):
    """Records what the audit removes; the disk may be gone."""

    def __init__(self, disk_gone=False):
        self.calls = []
        self.disk_gone = disk_gone

    def remove(self, pool, name):
        self.calls.append(('remove', pool, name))

    def remove_snap(self, pool, name, snap, force=False):
        if self.disk_gone:
            raise exceptions.RbdNotFound(name=name)
        self.calls.append(('remove_snap', pool, name, snap))

    def remove_record(self, pool, obj, key):
        self.calls.append(('remove_record', pool, obj, key))


def finding(glance):
    return audit.Finding(
        'snapshot-run', 'images/img-1', 'detail', 10, json.dumps({
            'pool': 'vms', 'disk': 'u_disk', 'snap': 'abc',
            'glance': glance}))


@pytest.mark.parametrize('glance', ['gone', 'queued', 'killed', 'deleted'])
def test_an_image_glance_never_received_goes_with_the_snapshot(glance):
    client = RecordingClient()
    assert audit.purge(client, [finding(glance)])[0][1] == 'removed'
    assert client.calls == [
        ('remove', 'images', 'img-1'),
        ('remove_snap', 'vms', 'u_disk', 'abc'),
        ('remove_record', 'vms', snapshot_runs.RECORDS, 'img-1')]


@pytest.mark.parametrize('glance', ['active', 'deactivated'])
def test_a_registered_image_is_kept_and_the_run_finished(glance):
    client = RecordingClient(disk_gone=True)
    assert audit.purge(client, [finding(glance)])[0][1] == 'removed'
    assert client.calls == [
        ('remove_record', 'vms', snapshot_runs.RECORDS, 'img-1')]


@pytest.mark.parametrize('glance', [None, 'registering', 'saving',
                                    'importing'])
def test_nothing_is_removed_on_an_answer_that_proves_nothing(glance):
    client = RecordingClient()
    outcome = audit.purge(client, [finding(glance)])[0][1]
    assert outcome.startswith('kept: Glance says %s' % (glance or 'nothing'))
    assert client.calls == []
