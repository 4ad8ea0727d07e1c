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
"""A Ceph RBD image backend for Nova's libvirt driver.

The package reads top-down as layers; a module imports only from its own
layer or the layers below it (tests/unit/test_layers.py enforces this,
along with the rest of this list):

``conf``, ``exceptions``
    The plugin's options (``[rbd_imagebackend]``) and exceptions.
``ceph/``
    The only code that imports ``rados`` and ``rbd``: the shared
    connection with its deadlines, error translation, image, snapshot and
    data operations, cluster queries, blocklisting.
``disks/``
    What the plugin does with disks, in its own terms: clone, import,
    swap, snapshot, fence, delete.  It imports neither rados/rbd nor
    Nova's private modules.
``checks/``
    One list of checks of a compute host, run by the launcher (which
    refuses to start on any fail) and by ``doctor`` (which prints all).
``nova/``
    The only code that touches Nova's classes and internals: the
    ``Image`` backend, the ``LibvirtDriver`` subclass, Glance reads,
    activation and the launcher.
``cmd/``
    Console scripts.

Outside ``nova/``, the plugin uses only Nova's configuration
(``nova.conf``), its exceptions (``nova.exception``) and its concurrency
helpers (``nova.utils``).
"""
