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

from nova_rbd_imagebackend.disks import staging

MiB = 1024 * 1024


def test_data_extents_skip_holes_and_split_chunks(tmp_path):
    path = tmp_path / 'sparse'
    with open(path, 'wb') as f:
        f.truncate(64 * MiB)
        f.seek(8 * MiB)
        f.write(b'a' * (3 * MiB))
        f.seek(40 * MiB)
        f.write(b'b')
    extents = list(staging.data_extents(str(path), chunk=2 * MiB))
    covered = sum(length for _o, length in extents)
    assert all(length <= 2 * MiB for _o, length in extents)
    assert extents[0][0] == 8 * MiB
    # Filesystems allocate in blocks: data covers what was written and
    # far less than the file.
    assert 3 * MiB < covered < 8 * MiB
    assert any(o <= 40 * MiB < o + n for o, n in extents)


def test_fully_sparse_file_has_no_extent(tmp_path):
    path = tmp_path / 'empty'
    with open(path, 'wb') as f:
        f.truncate(MiB)
    assert list(staging.data_extents(str(path))) == []
