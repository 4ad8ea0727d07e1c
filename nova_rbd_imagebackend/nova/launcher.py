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
"""nova-compute, with the plugin activated and the host checked first.

Right after Nova parses its configuration, the plugin is activated and
every check of the host's setup runs; on any failure the service exits
with one line on stderr and status 1 instead of starting.
"""

# Nova's compute command applies its concurrency mode (native threads or
# eventlet) when imported; it must be imported before anything else.
from nova.cmd import compute as nova_compute  # noqa: I100,I202

import functools  # noqa: E402
import sys  # noqa: E402

from nova import config as nova_config  # noqa: E402

from nova_rbd_imagebackend.checks import suite  # noqa: E402
from nova_rbd_imagebackend import exceptions  # noqa: E402
from nova_rbd_imagebackend.nova import activation  # noqa: E402
from nova_rbd_imagebackend.nova import internals  # noqa: E402

PROG = 'nova-rbd-compute'


def _parse_args_and_activate(parse_args):
    # Wrapped, so the internals check sees Nova's own signature.
    @functools.wraps(parse_args)
    def wrapper(argv, *args, **kwargs):
        parse_args(argv, *args, **kwargs)
        try:
            activation.activate(nova_compute.CONF)
            suite.check_or_raise(nova_compute.CONF,
                                 extra=(internals.verdict,))
        except exceptions.ActivationError as exc:
            print('%s: refusing to start: %s' % (PROG, exc.format_message()),
                  file=sys.stderr)
            sys.exit(1)
    return wrapper


def main():
    """Run nova-compute's main() with activation after config parsing."""
    nova_config.parse_args = _parse_args_and_activate(nova_config.parse_args)
    nova_compute.main()
