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
"""The load benchmark still runs (tiny sizes); no timing is asserted here."""

import os
import re
import subprocess
import sys

from sandbox import procs

TOP = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def test_tiny_load_run_on_both_sides_leaves_nothing(tmp_path):
    table = tmp_path / 'load.md'
    result = subprocess.run(
        [sys.executable, os.path.join(TOP, 'benchmarks', 'load.py'),
         '--ops', '6', '--concurrency', '3', '--side', 'both',
         '--output', str(table)], capture_output=True, text=True,
        timeout=900, cwd=TOP, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, (result.stdout[-3000:] +
                                    result.stderr[-3000:])
    text = table.read_text()
    assert text.startswith('## Load: 6 mixed operations, 3 in flight, '
                           '3 monitors')
    for side in ('ours (RbdLibvirtDriver, RbdImage)',
                 'in-tree (LibvirtDriver, Rbd)'):
        assert '### %s' % side in text
    rows = re.findall(r'^\| (boot|snapshot|resize|delete|all) \| (\d+) \| '
                      r'(\d+) \|', text, re.M)
    assert [op for op, _count, _errors in rows] == [
        'boot', 'snapshot', 'resize', 'delete', 'all'] * 2
    # The exit status says the plugin's side had no error and no leftover;
    # the in-tree side's figures are reported, not judged.
    ours = text.split('### in-tree')[0]
    assert 'Leftovers: 0 (' in ours
    for op, count, errors in rows[:5]:
        assert errors == '0', (op, result.stdout[-3000:])
    assert [count for op, count, _errors in rows if op == 'all'] == ['6'] * 2
    assert '| threads |' in text and '| RSS (MiB) |' in text
    assert '| throughput (ours / in-tree) |' in text
    folder = re.search(r'cluster: 3 monitors, in (\S+)',
                       result.stdout).group(1)
    # Every daemon the run started is gone: none names its folder.
    assert procs.find(folder) == []
