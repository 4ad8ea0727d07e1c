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
"""One list of checks of a compute host's setup, with one verdict each.

``suite.run`` returns a ``Result`` (ok, warn or fail, a one-line detail
and, unless ok, a one-line fix) per check.  ``nova-rbd-compute`` refuses
to start on any fail (``suite.check_or_raise``); ``nova-rbd-imagebackend
doctor`` prints them all.  Both read the same verdicts, so they cannot
disagree.
"""
