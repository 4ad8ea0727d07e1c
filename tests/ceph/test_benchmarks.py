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
"""The benchmark still runs (small sizes); no timing is asserted here."""

import os
import subprocess
import sys

TOP = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def test_quick_benchmark_runs_both_sides(tmp_path):
    table = tmp_path / 'table.md'
    result = subprocess.run(
        [sys.executable, os.path.join(TOP, 'benchmarks', 'run.py'),
         '--quick', '--output', str(table)], capture_output=True, text=True,
        timeout=600, cwd=TOP, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line for line in table.read_text().splitlines()
            if line.startswith('| ') and not line.startswith('| operation')]
    assert [row.split('|')[1].strip().split('.')[0] for row in rows] == [
        '1', '2', '2b', '3', '8', '4', '5', '5', '6', '6', '7', '9', '9',
        '10', '11', '11', '11']
    for row in rows:
        cells = [c.strip() for c in row.split('|')[1:-1]]
        assert cells[1] and cells[2] and cells[3].endswith('x')
