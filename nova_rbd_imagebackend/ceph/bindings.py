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
"""The rados and rbd modules, imported once for the whole ceph package.

They come from the distribution (python3-rados, python3-rbd), not from
PyPI, so a host may lack them; the plugin then refuses to start with a
clear message instead of failing at import time.
"""

from nova_rbd_imagebackend import exceptions

try:
    import rados
    import rbd
except ImportError:  # pragma: no cover - depends on the host
    rados = rbd = None


def require():
    """Raise ActivationError when the bindings are missing."""
    if rados is None or rbd is None:
        raise exceptions.ActivationError(
            reason='the python3-rados and python3-rbd modules are not '
                   'importable')
