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
"""nova-rbd-compute: nova-compute with the RBD image backend plugin.

A drop-in for nova-compute (same arguments and configuration files); see
nova_rbd_imagebackend.nova.launcher for what it does before Nova starts.
"""

# The launcher imports Nova's compute command first, as it must be.
from nova_rbd_imagebackend.nova import launcher


def main():
    launcher.main()
