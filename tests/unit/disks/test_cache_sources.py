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
"""What a cache fill refuses, decided on the stream alone."""

import hashlib

import pytest

from nova_rbd_imagebackend.disks import cache_sources
from nova_rbd_imagebackend.disks import pool_cache
from nova_rbd_imagebackend import exceptions

MiB = 2 ** 20


class Recorder(object):
    """Records what a fill would write; a unit test has no cluster."""

    def __init__(self):
        self.created, self.written = None, {}

    def create(self, pool, name, size):
        self.created = (pool, name, size)

    def write_blocks(self, pool, name, blocks, size, progress):
        for offset, data in blocks:
            if data.count(0) != len(data):
                self.written[offset] = data


def _fill(chunks, size, digest):
    key = pool_cache.Key('img', 'sha512', digest)
    client = Recorder()
    cache_sources.from_stream(lambda: iter(chunks), size, key)(
        client, 'vms', 'cache.img.x.part', lambda: None)
    return client


def test_a_raw_stream_is_written_in_blocks_without_its_zeroes():
    data = b'\x01' * (5 * MiB) + bytes(4 * MiB) + b'\x02' * MiB
    data += bytes(4 * MiB)  # a whole zero block at the end: not written
    chunks = [data[i:i + 65536] for i in range(0, len(data), 65536)]
    client = _fill(chunks, len(data), hashlib.sha512(data).hexdigest())
    assert client.created == ('vms', 'cache.img.x.part', len(data))
    # 4 MiB blocks: data; data then zeroes; zeroes then data; zeroes.
    assert sorted(client.written) == [0, 4 * MiB, 8 * MiB]
    for offset, block in client.written.items():
        assert block == data[offset:offset + len(block)]


def test_a_short_stream_is_refused():
    data = b'\x01' * MiB
    with pytest.raises(exceptions.CacheFillFailed) as caught:
        _fill([data], 2 * MiB, hashlib.sha512(data).hexdigest())
    assert 'Glance sent 1048576 bytes of an image of 2097152' in \
        caught.value.format_message()


def test_a_glance_client_hash_error_is_named_as_such():
    def chunks():
        yield b'\x01' * 1024
        raise IOError(32, 'Corrupt image download. Hash was x expected y')
    with pytest.raises(exceptions.CacheFillFailed) as caught:
        _fill(chunks(), 2048, '0' * 128)
    assert caught.value.format_message().startswith(
        "Glance's data does not match the image's recorded hash")


@pytest.mark.parametrize('chunk', [65536, 3 * MiB, 5 * MiB + 7])
def test_blocks_reassemble_the_stream_whatever_its_chunk_size(chunk):
    data = bytes(4 * MiB) + b'\x03' * (3 * MiB) + bytes(6 * MiB) + b'\x04'
    chunks = [data[i:i + chunk] for i in range(0, len(data), chunk)]
    client = _fill(chunks, len(data), hashlib.sha512(data).hexdigest())
    image = bytearray(len(data))
    for offset, block in client.written.items():
        image[offset:offset + len(block)] = block
    assert bytes(image) == data
    # Whole zero blocks are never written.
    assert 0 not in client.written
