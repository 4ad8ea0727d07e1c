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
"""Every check of a compute host, in order, and the launcher's verdict.

Order: nova.conf alone, the key, the commands Nova runs, the connection,
then what needs the connection (skipped when it failed), then libvirt:
its secret, and the monitors running guests name (with the connection).
The launcher and doctor both run ``run``; they differ only in what they
do with a fail.
"""

from oslo_log import log as logging

from nova_rbd_imagebackend.checks import caps
from nova_rbd_imagebackend.checks import cluster
from nova_rbd_imagebackend.checks import commands
from nova_rbd_imagebackend.checks import config
from nova_rbd_imagebackend.checks import disk_policy
from nova_rbd_imagebackend.checks import guest_monitors
from nova_rbd_imagebackend.checks import host as host_module
from nova_rbd_imagebackend.checks import keyring
from nova_rbd_imagebackend.checks import libvirt_secret
from nova_rbd_imagebackend.checks import results
from nova_rbd_imagebackend import conf as plugin_conf
from nova_rbd_imagebackend import exceptions

LOG = logging.getLogger(__name__)

LOCAL = (config.nova_version, config.images_type, config.instance_pool,
         config.cephx_secret, config.force_raw_images, config.ceph_conf,
         keyring.keyring) + commands.COMMANDS
ON_THE_CLUSTER = (cluster.pools, cluster.clone_v2, caps.caps, caps.data_pools,
                  caps.fencing, cluster.monitors)


def _extend(found, verdict):
    found.extend(verdict if isinstance(verdict, list) else [verdict])


def run(conf, glance_pool=None, libvirt_connection=None, extra=(),
        instance=None):
    """Return every check's Result; cluster checks need a connection.

    :param instance: an instance uuid whose disks' storage policy to
        report (doctor --instance).

    :param extra: checks of higher layers (the Nova internals the glue
        relies on), run after the checks of nova.conf alone.
    """
    plugin_conf.register_opts(conf)
    host = host_module.Host(conf, glance_pool, libvirt_connection)
    found = []
    for check in LOCAL[:1] + tuple(extra) + LOCAL[1:]:
        _extend(found, check(host))
    connected = cluster.connect(host)
    found.append(connected)
    if connected.status != results.FAIL:
        for check in ON_THE_CLUSTER:
            _extend(found, check(host))
        if instance:
            _extend(found, disk_policy.instance_policy(host, instance))
    found.append(libvirt_secret.libvirt_secret(host))
    if connected.status != results.FAIL:
        _extend(found, guest_monitors.guest_monitors(host))
    return found


def failures(conf, extra=()):
    """The detail of every failed check; [] when the host may start."""
    return [r.detail for r in results.failures(run(conf, extra=extra))]


def check_or_raise(conf, libvirt_connection=None, extra=()):
    """Raise ActivationError naming the first failed check and its fix.

    Warnings are logged.
    """
    found = run(conf, libvirt_connection=libvirt_connection, extra=extra)
    for warning in (r for r in found if r.status == results.WARN):
        LOG.warning('%s: %s%s', warning.check, warning.detail,
                    ' (fix: %s)' % warning.fix if warning.fix else '')
    failed = results.failures(found)
    if failed:
        first = failed[0]
        reason = first.detail
        if first.fix:
            reason += ' (fix: %s)' % first.fix
        if len(failed) > 1:
            reason += '; %d more failed checks: run nova-rbd-imagebackend ' \
                      'doctor' % (len(failed) - 1)
        raise exceptions.ActivationError(reason=reason)
    LOG.info('nova-rbd-imagebackend ready: pool %s as client.%s',
             conf.libvirt.images_rbd_pool, conf.libvirt.rbd_user or 'admin')
