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

"""RabbitMQ from Debian as a private node, for oslo.messaging RPC.

Everything lives under ``<dir>/rabbit``: configuration, Mnesia, logs,
the Erlang cookie (its HOME).  The AMQP listener, the Erlang
distribution port and epmd all bind 127.0.0.1 on ports of their own.
epmd is started here, first and in the foreground, so that the broker
finds it running and does not start an untracked daemon of its own.
"""

import os
import shutil
import subprocess
import time

from sandbox import ceph as ceph_sandbox
from sandbox import SandboxError

SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server'
CTL = '/usr/lib/rabbitmq/bin/rabbitmqctl'
NODE = 'cloud@localhost'


def _epmd():
    path = shutil.which('epmd')
    if path:
        return path
    found = sorted(p for p in os.listdir('/usr/lib/erlang')
                   if p.startswith('erts-'))
    if not found:
        raise SandboxError('epmd not found (is erlang-base installed?)')
    return '/usr/lib/erlang/%s/bin/epmd' % found[-1]


def _env(base, ports):
    return {
        'PATH': '/usr/sbin:/usr/bin:/sbin:/bin',
        'HOME': base,
        'LANG': 'C.UTF-8',
        'RABBITMQ_NODENAME': NODE,
        'RABBITMQ_NODE_IP_ADDRESS': '127.0.0.1',
        'RABBITMQ_NODE_PORT': str(ports['amqp']),
        'RABBITMQ_DIST_PORT': str(ports['dist']),
        'ERL_EPMD_ADDRESS': '127.0.0.1',
        'ERL_EPMD_PORT': str(ports['epmd']),
        'RABBITMQ_CONF_ENV_FILE': os.path.join(base, 'rabbitmq-env.conf'),
        'RABBITMQ_CONFIG_FILE': os.path.join(base, 'rabbitmq.conf'),
        'RABBITMQ_ENABLED_PLUGINS_FILE': os.path.join(base,
                                                      'enabled_plugins'),
        'RABBITMQ_MNESIA_BASE': os.path.join(base, 'mnesia'),
        'RABBITMQ_LOG_BASE': os.path.join(base, 'log'),
        'RABBITMQ_PID_FILE': os.path.join(base, 'rabbit.pid'),
        'RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS':
            '-kernel inet_dist_use_interface {127,0,0,1}',
        # exec the VM instead of keeping a signal-forwarding shell
        'RUNNING_UNDER_SYSTEMD': 'true',
    }


def start(ledger, directory, deadline):
    """Start epmd and the broker; return the oslo.messaging URL."""
    base = os.path.join(directory, 'rabbit')
    for sub in ('', 'mnesia', 'log'):
        os.makedirs(os.path.join(base, sub), exist_ok=True)
    ports = {'amqp': ceph_sandbox.free_port(),
             'dist': ceph_sandbox.free_port(),
             'epmd': ceph_sandbox.free_port()}
    with open(os.path.join(base, 'rabbitmq-env.conf'), 'w') as f:
        f.write('')
    with open(os.path.join(base, 'enabled_plugins'), 'w') as f:
        f.write('[].\n')
    with open(os.path.join(base, 'rabbitmq.conf'), 'w') as f:
        f.write('listeners.tcp.default = 127.0.0.1:%d\n'
                'disk_free_limit.absolute = 50MB\n'
                'log.console = true\nlog.console.level = warning\n'
                'log.file.level = info\n' % ports['amqp'])
    env = _env(base, ports)
    ledger.spawn('epmd', [_epmd(), '-port', str(ports['epmd']),
                          '-address', '127.0.0.1'],
                 os.path.join(base, 'epmd.log'),
                 '-port %d' % ports['epmd'], env=env)
    log = os.path.join(base, 'server.log')
    # The broker's command line names its Mnesia folder, under base.
    ledger.spawn('rabbitmq', [SERVER], log, base, env=env, log=log)
    while True:
        result = subprocess.run(
            [CTL, '-n', NODE, 'await_startup', '--timeout', '5'],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL)
        if result.returncode == 0:
            break
        ledger.check('rabbitmq', log)
        if time.time() > deadline:
            raise SandboxError('rabbitmq not ready:\n%s'
                               % result.stdout.decode(errors='replace'))
        time.sleep(0.5)
    return 'rabbit://guest:guest@127.0.0.1:%d/' % ports['amqp']
