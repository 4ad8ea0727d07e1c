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
"""The guest's serial console, read through the compute API."""

import re
import time

from openstack import exceptions as sdk_exceptions

WROTE = r'GUEST: wrote marker: NOVA-RBD-MARKER id=(\S+) boot=(\d+)'


def match(conn, server, pattern, timeout=180, last=False):
    """A console line matching ``pattern`` (the first, or the last).

    Waits up to ``timeout`` seconds for one to appear.
    """
    deadline = time.monotonic() + timeout
    output = ''
    while time.monotonic() < deadline:
        try:
            output = conn.compute.get_server_console_output(server)[
                'output']
        except sdk_exceptions.NotFoundException:
            output = ''  # no console log yet, right after (re)start
        found = [m for m in (re.search(pattern, line)
                             for line in output.splitlines()) if m]
        if found:
            return found[-1] if last else found[0]
        time.sleep(1)
    raise AssertionError('%r never appeared on the console:\n%s'
                         % (pattern, output[-3000:]))
