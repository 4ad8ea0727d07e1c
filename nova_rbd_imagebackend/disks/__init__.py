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
"""What the plugin does with disks, in its own terms.

Clone, import, swap, snapshot, fence, delete: each module takes a Ceph
client (``nova_rbd_imagebackend.ceph``) and plain values.  Nothing here
imports rados or rbd, nor Nova's private modules: only Nova's
configuration (``nova.conf``) and its exception vocabulary
(``nova.exception``), so that Nova turns our errors into the right
instance faults.
"""
