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
"""An instance's storage policy, from its flavor and its image.

The flavor's extra specs are ``instance.flavor.extra_specs``.  Nova keeps
every property of the instance's image in its system metadata as
``image_<property>`` (``nova.utils.SM_IMAGE_PROP_PREFIX``); its
``ImageMetaProps`` object would drop properties it does not know, ours
among them.
"""

import nova.conf
from nova import utils as nova_utils

from nova_rbd_imagebackend.disks import instances
from nova_rbd_imagebackend.disks import policy as policies
from nova_rbd_imagebackend.disks import policy_on_disk

CONF = nova.conf.CONF
ALL_DISKS = None


def image_properties(instance):
    """The image properties of ``instance`` that belong to the policy."""
    prefix = nova_utils.SM_IMAGE_PROP_PREFIX
    system_metadata = getattr(instance, 'system_metadata', None) or {}
    return {key[len(prefix):]: value
            for key, value in system_metadata.items()
            if key.startswith(prefix + policies.IMAGE_PREFIX)}


def for_instance(instance):
    """The storage policy of ``instance``'s disks (empty without one).

    :raises BadDiskPolicy: a value that is not valid.
    """
    if instance is None:
        return policies.Policy()
    # Tools and tests pass bare stand-ins with only a uuid.
    flavor = getattr(instance, 'flavor', None)
    specs = getattr(flavor, 'extra_specs', None) or {}
    return policies.from_specs(
        specs, image_properties(instance),
        CONF.rbd_imagebackend.image_data_pools)


def reapply(image, names):
    """Give disks of ``image``'s instance the QoS of its flavor now.

    For a disk Nova reuses (a resize, a migration) and after a resize
    revert (``names`` ALL_DISKS: every disk of the instance).  Nothing
    for a disk found by its path: there is no instance to ask.
    """
    policy = image.storage_policy()
    if policy is None:
        return
    if names is ALL_DISKS:
        names = instances.instance_disks(image.client, image.pool,
                                         image.instance.uuid)
    for name in names:
        policy_on_disk.apply(image.client, image.pool, name, policy)
