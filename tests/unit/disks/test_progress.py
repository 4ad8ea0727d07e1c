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


def test_progress_is_logged_every_ten_percent(caplog):
    caplog.set_level('INFO')
    report = progress.ProgressLog('copy x')
    for done in range(0, 101, 5):
        report(done, 100)
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ['copy x: %d%%' % p for p in range(10, 101, 10)]
