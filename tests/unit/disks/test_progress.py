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
"""Progress of long copies in the log."""

from nova_rbd_imagebackend.disks import progress

MiB = 2 ** 20


class Clock(object):
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_progress_is_logged_at_a_steady_interval_with_rate_and_eta(caplog):
    caplog.set_level('INFO')
    clock = Clock()
    report = progress.ProgressLog('copy x', interval=10, clock=clock)
    # 1 MiB/s for 40 s of a 40 MiB copy, reported every second.
    for second in range(1, 41):
        clock.now = float(second)
        report(second * MiB, 40 * MiB)
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        'copy x: 10 of 40 MiB (25%), 1.0 MiB/s, 30 s left',
        'copy x: 20 of 40 MiB (50%), 1.0 MiB/s, 20 s left',
        'copy x: 30 of 40 MiB (75%), 1.0 MiB/s, 10 s left',
        'copy x: 40 of 40 MiB (100%), 1.0 MiB/s, 0 s left',
    ]


def test_the_end_is_logged_once_however_soon(caplog):
    caplog.set_level('INFO')
    clock = Clock()
    report = progress.ProgressLog('copy y', interval=10, clock=clock)
    clock.now = 0.5
    report(MiB, 2 * MiB)
    report(2 * MiB, 2 * MiB)
    report(2 * MiB, 2 * MiB)
    assert [r.getMessage() for r in caplog.records] == [
        'copy y: 2 of 2 MiB (100%), 4.0 MiB/s, 0 s left']
