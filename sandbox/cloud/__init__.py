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

"""A one-machine OpenStack cloud for the ``cloud`` test layer and demos.

Nova's real libvirt driver on two compute hosts started by
``nova-rbd-compute``, real libvirtd and QEMU, the throwaway Ceph cluster.
The API is ``sandbox.cloud.cloud.Cloud``.  Development tooling only.

This package imports nothing: gunicorn loads its WSGI entry points
(wsgi_apps.py) into service processes whose configuration must not meet
options registered by other services' modules.
"""
