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
"""Progress of long copies (import, flatten), in the service log."""

from oslo_log import log as logging

LOG = logging.getLogger(__name__)


class ProgressLog(object):
    """Log a long copy's progress at most every 10%."""

    def __init__(self, what):
        self.what = what
        self.next_percent = 10

    def __call__(self, done, total):
        if not total:
            return 0
        percent = done * 100 // total
        if percent >= self.next_percent:
            LOG.info('%s: %d%%', self.what, percent)
            self.next_percent = (percent // 10 + 1) * 10
        return 0
