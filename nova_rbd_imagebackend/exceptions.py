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

"""The plugin's exceptions.

They subclass Nova's exceptions where Nova already knows what to do with
them (an instance fault with the message, a fallback, a refusal).
"""

from nova import exception


class CephError(exception.NovaException):
    msg_fmt = 'Ceph operation %(op)s failed: %(reason)s'


class CephUnavailable(CephError):
    msg_fmt = ('Cannot reach the Ceph cluster (conf %(conf)s, user '
               '%(user)s) within %(timeout)s s: %(reason)s')


class CephTimeout(CephError):
    msg_fmt = ('Ceph operation %(op)s did not finish within %(timeout)s s; '
               'the cluster is slow or unreachable')


class CephBusy(CephError):
    msg_fmt = ('Ceph operation %(op)s did not start within %(timeout)s s: '
               'all %(workers)d Ceph worker threads of this service were '
               'busy; the operation was not run. Raise [rbd_imagebackend] '
               'max_workers, or spread the load')


class RbdNotFound(CephError):
    msg_fmt = 'RBD image or snapshot %(name)s does not exist'


class RbdPermissionDenied(CephError, exception.Forbidden):
    msg_fmt = ('Ceph user %(user)s may not %(op)s %(name)s; check its '
               'caps (%(reason)s)')


class RbdBusy(CephError):
    msg_fmt = 'RBD image %(name)s is in use: %(reason)s'


class CacheFillFailed(exception.NovaException):
    # Instance faults keep 255 characters: the reason comes first.
    msg_fmt = ('%(reason)s; nothing was kept of the pool image cache '
               '%(name)s')


class CacheBusy(exception.NovaException):
    msg_fmt = ('Another host has been filling the pool image cache %(name)s '
               'for over %(seconds)s s; boot again later')


class ActivationError(exception.NovaException):
    msg_fmt = ('nova-rbd-imagebackend cannot run on this host: '
               '%(reason)s')


class DiskCreationFailed(exception.ImageUnacceptable):
    """Raised by cache(): Nova aborts the build with this as the fault."""

    msg_fmt = 'Cannot create disk %(disk)s: %(reason)s'


class BrokenImageLocation(exception.NovaException):
    # Instance faults keep 255 characters: the missing name comes first.
    msg_fmt = ('%(spec)s does not exist, but Glance image %(image_id)s '
               'names it as its location in this cluster')


class InvalidDisk(exception.InvalidDiskInfo):
    """Nova aborts the build with this as the fault, and reschedules not."""

    msg_fmt = 'Cannot create disk %(disk)s: %(reason)s'


class InvalidRecord(exception.NovaException):
    msg_fmt = ('%(name)s holds %(value)s, which this plugin did not write; '
               'remove that entry and it is written again')


class FencingFailed(exception.NovaException):
    msg_fmt = ('Not evacuating instance %(instance)s: its previous host '
               'could not be fenced (%(reason)s). Fence it with '
               '"nova-rbd-imagebackend fence --instance %(instance)s" or '
               'power that host off, then evacuate again; or set '
               '[rbd_imagebackend] evacuate_fencing = best-effort')


class BadDiskPolicy(exception.NovaException):
    # Instance faults keep 255 characters: the key and reason come first.
    msg_fmt = ('Storage policy key %(key)s=%(value)s: %(reason)s '
               '(flavor extra spec rbd:<key> or image property rbd_<key>)')


class DiskPolicyRefused(exception.NovaException):
    msg_fmt = 'The cluster cannot honour storage policy %(what)s: %(reason)s'
