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
"""Numbered, timed steps of a walk-through, and their summary."""

import contextlib
import time


class Steps(object):
    """Print numbered, timed steps and keep them for the summary."""

    def __init__(self):
        self.rows = []
        self.started = time.monotonic()

    @contextlib.contextmanager
    def step(self, title):
        print('\n[%d] %s' % (len(self.rows) + 1, title), flush=True)
        started = time.monotonic()
        yield
        took = time.monotonic() - started
        self.rows.append((title, took))
        print('    done in %.2f s' % took, flush=True)

    def summary(self):
        print('\nSummary')
        for title, took in self.rows:
            print('  %7.2f s  %s' % (took, title))
        print('  %7.2f s  in all' % (time.monotonic() - self.started))
