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
"""The README's first command: the main job, end to end."""

import re
import subprocess
import sys

from sandbox import procs


def test_main_job_runs_and_leaves_nothing_running():
    result = subprocess.run(
        [sys.executable, '-m', 'sandbox.demo', '--servers', '2'],
        capture_output=True, text=True, timeout=600,
        stdin=subprocess.DEVNULL)
    assert result.returncode == 0, (result.stdout[-3000:] +
                                    result.stderr[-3000:])
    out = result.stdout
    assert 'instance images left in vms: 0' in out
    assert out.count('clone of images/') == 2
    assert '<source protocol="rbd"' in out
    assert 'ACTIVE on host2, same disk' in out
    folder = re.search(r'cluster in (\S+)', out).group(1)
    # Every daemon the demo started is gone: none names its folder.
    assert procs.find(folder) == []
