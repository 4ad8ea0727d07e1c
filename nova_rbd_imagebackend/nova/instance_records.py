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
"""Which instances Nova has deleted, asked through Nova's own objects.

In nova-compute, Nova's objects reach the database through
nova-conductor, so this is the compute's own view of its cell.  The
``audit`` command sets up that same path (``through_conductor``) when
nova.conf names a message bus.
"""

from nova.conductor import rpcapi as conductor_rpcapi
from nova import context as nova_context
from nova import objects
from nova.objects import base as objects_base
from nova import rpc
from oslo_log import log as logging
from oslo_messaging import opts as messaging_opts

LOG = logging.getLogger(__name__)


def through_conductor(conf):
    """Route Nova's objects through nova-conductor, as nova-compute does.

    Returns False, doing nothing, when nova.conf names no message bus.
    """
    # What nova.config.parse_args does for Nova's services: their
    # exchange is 'nova', not oslo.messaging's 'openstack'.  Before the
    # options are registered, which copies them with their defaults.
    rpc.set_defaults(control_exchange='nova')
    # oslo.messaging registers its options only when it loads a transport.
    for group, options in messaging_opts.list_opts():
        if group is None:
            conf.register_opts(options)
    # Its default ('rabbit://' on this host) is not a configured bus.
    if not conf.transport_url or not conf.get_location(
            'transport_url').location.is_user_controlled:
        return False
    objects.register_all()
    rpc.init(conf)
    objects_base.NovaObject.indirection_api = conductor_rpcapi.ConductorAPI()
    return True


def deleted(context, uuids):
    """{uuid: deletion time (epoch)} of the ``uuids`` Nova has deleted.

    None when Nova cannot be asked: nothing may be concluded then.  An
    instance Nova does not know (another cell's, or archived) is not in
    the answer either.
    """
    try:
        found = objects.InstanceList.get_by_filters(
            context.elevated(read_deleted='yes'),
            {'uuid': list(uuids), 'deleted': True}, expected_attrs=[])
    except Exception as exc:  # any messaging or database error
        LOG.warning('Could not ask Nova which instances are deleted: %s',
                    exc)
        return None
    return {inst.uuid: inst.deleted_at.timestamp() for inst in found
            if inst.deleted and inst.deleted_at}


def admin_context():
    return nova_context.get_admin_context()
