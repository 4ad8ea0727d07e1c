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
"""One boot from the pool image cache, in a process of its own.

    python -m tests.ceph.cache_worker CEPH_CONF USER POOL IMAGE_ID MIB \
        DST_NAME LEASE_SECONDS [SECONDS_PER_MIB]

The image's data is made up from IMAGE_ID (``image_data``), so every
process serving the same image streams the same bytes, and the test
knows their hash.  Prints "filling" when this process starts streaming
into the cache, then one JSON line: {"filled": bool, "seconds": float}.
"""

import hashlib
import json
import random
import sys
import time

from nova_rbd_imagebackend.ceph import client as ceph_client
from nova_rbd_imagebackend.disks import cache_sources
from nova_rbd_imagebackend.disks import pool_cache

MiB = 2 ** 20


def image_data(image_id, mib, pause=0.0):
    """Chunks of a made-up raw image: every third 4 MiB are zeroes."""
    rng = random.Random(image_id)
    for i in range(mib):
        block = rng.randbytes(MiB)
        if (i // 4) % 3 == 2:
            block = bytes(MiB)
        if pause:
            time.sleep(pause)
        yield block


def key_of(image_id, mib):
    digest = hashlib.sha512()
    for block in image_data(image_id, mib):
        digest.update(block)
    return pool_cache.Key(image_id, 'sha512', digest.hexdigest())


def main(argv):
    conf, user, pool, image_id, mib, dst, lease = argv[:7]
    pause = float(argv[7]) if len(argv) > 7 else 0.0
    mib, lease = int(mib), int(lease)
    client = ceph_client.CephClient(conf, user, 10, 30, 4)

    def chunks():
        print('filling', flush=True)
        return image_data(image_id, mib, pause)
    key = key_of(image_id, mib)
    started = time.monotonic()
    filled = pool_cache.clone(
        client, pool, key, dst,
        cache_sources.from_stream(chunks, mib * MiB, key), lease, 300)
    print(json.dumps({'filled': filled,
                      'seconds': round(time.monotonic() - started, 2)}),
          flush=True)
    client.close()


if __name__ == '__main__':
    main(sys.argv[1:])
