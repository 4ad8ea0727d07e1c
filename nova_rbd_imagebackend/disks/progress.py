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
"""Progress of long copies (import, flatten, cache fill) in the log."""

import time

import nova.conf
from oslo_config import cfg
from oslo_log import log as logging

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)
MiB = 2 ** 20
DEFAULT_INTERVAL = 10.0


class ProgressLog(object):
    """Log a long copy's progress at a steady interval, and its end.

    Each line gives the bytes done of the total, the rate since the copy
    began, and the time left at that rate.
    """

    def __init__(self, what, interval=None, clock=time.monotonic):
        self.what = what
        self.interval = interval or _configured_interval()
        self.clock = clock
        self.started = self.logged = clock()
        self.finished = False

    def __call__(self, done, total):
        if not total or self.finished:
            return 0
        now = self.clock()
        if done < total and now - self.logged < self.interval:
            return 0
        self.logged = now
        self.finished = done >= total
        took = max(now - self.started, 1e-6)
        rate = done / took
        left = (total - done) / rate if rate else 0
        LOG.info('%(what)s: %(done)d of %(total)d MiB (%(percent)d%%), '
                 '%(rate).1f MiB/s, %(left)d s left',
                 {'what': self.what, 'done': done // MiB,
                  'total': total // MiB, 'percent': done * 100 // total,
                  'rate': rate / MiB, 'left': round(left)})
        return 0


def _configured_interval():
    try:
        return CONF.rbd_imagebackend.progress_interval
    except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
        return DEFAULT_INTERVAL  # the plugin's options are not registered
