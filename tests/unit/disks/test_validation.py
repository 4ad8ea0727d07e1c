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
"""Sizes and names refused before anything is created."""

import pytest

from nova_rbd_imagebackend.disks import validation
from nova_rbd_imagebackend import exceptions

GiB = 1024 ** 3


@pytest.mark.parametrize('name', ['u_disk', 'u_disk.local', 'u_disk.eph0',
                                  'u_disk.config', 'u_disk.swap.part'])
def test_nova_disk_names_are_accepted(name):
    validation.check_name('vms', name)


@pytest.mark.parametrize('pool,name', [
    ('vms', 'u_disk:conf=/tmp/x'), ('vms', 'a/b'), ('vms', 'a@snap'),
    ('vms', ''), ('v:ms', 'u_disk'), ('vms', 'a b')])
def test_names_qemu_cannot_carry_are_refused(pool, name):
    with pytest.raises(exceptions.InvalidDisk) as info:
        validation.check_name(pool, name)
    assert 'QEMU rbd: path' in info.value.format_message()


@pytest.mark.parametrize('size', [0, -1, 2 ** 64, 10 * 1024 * GiB, 1.5,
                                  '1'])
def test_impossible_sizes_are_refused(size):
    with pytest.raises(exceptions.InvalidDisk):
        validation.check_size('vms/u_disk', size, capacity=4 * GiB)


def test_a_size_up_to_the_pool_capacity_is_accepted():
    validation.check_size('vms/u_disk', 4 * GiB, capacity=4 * GiB)


@pytest.mark.parametrize('size', [0, 512, 40959])
def test_swap_below_ten_pages_is_refused(size):
    with pytest.raises(exceptions.InvalidDisk) as info:
        validation.check_swap_size('vms/u_disk.swap', size)
    assert 'at least 40960 bytes' in info.value.format_message()
