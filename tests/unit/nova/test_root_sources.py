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
"""Reading Glance's store lists while it copies an image."""

from nova_rbd_imagebackend.nova import root_sources


def test_store_lists_are_read_from_glances_comma_separated_fields():
    meta = {'stores': 'file,ceph',
            'properties': {'os_glance_importing_to_stores': 'ceph',
                           'os_glance_failed_import': ''}}
    assert root_sources._stores(meta, 'stores') == ['file', 'ceph']
    assert root_sources._stores(
        meta, 'os_glance_importing_to_stores') == ['ceph']
    assert root_sources._stores(meta, 'os_glance_failed_import') == []
    assert root_sources._stores({}, 'stores') == []
    assert root_sources._stores({'stores': ['a', 'b']}, 'stores') == [
        'a', 'b']
