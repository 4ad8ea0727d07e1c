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
"""The only code that touches Nova's classes and internals.

The ``Image`` backend, the ``LibvirtDriver`` subclass, the Glance reads,
the activation step and the ``nova-rbd-compute`` launcher.  Nova's
libvirt driver and image backend are not a stable API:
tests/unit/nova/test_nova_internals.py pins every name and signature
relied on here.
"""
