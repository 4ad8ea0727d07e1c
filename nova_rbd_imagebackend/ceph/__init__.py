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
"""The Ceph client: the only code that imports rados and rbd.

``client.CephClient`` is one persistent cluster connection shared by the
whole process; its operations are grouped by what they touch (images,
snapshots, data, cluster queries, blocklisting), one module each, and
every call runs under a deadline on a bounded worker pool (``runner``).
librados/librbd errors are translated into the plugin's exceptions here
and nowhere else.  ``cluster`` binds the client to the cluster nova.conf
names.
"""
