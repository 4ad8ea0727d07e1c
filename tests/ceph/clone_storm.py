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
"""Many clones, then many removes, at once, with a short deadline.

Run as its own process so that it uses native threads (the mode
nova-compute runs in), not the eventlet mode of the test process.
Prints one JSON object: for each image name, what its caller was told.

    python -m tests.ceph.clone_storm CEPH_CONF USER POOL PARENT SNAP COUNT
"""

import concurrent.futures
import json
import sys
import uuid

from nova_rbd_imagebackend.ceph import client as ceph_client
from nova_rbd_imagebackend import exceptions

DEADLINE = 2
WORKERS = 8


def outcome(fn):
    try:
        fn()
    except exceptions.CephBusy:
        return 'busy'
    except exceptions.CephTimeout:
        return 'timeout'
    except exceptions.CephError as exc:
        return 'error: %s' % exc.format_message()
    return 'done'


def storm(ceph_conf, user, pool, parent, snap, count):
    client = ceph_client.CephClient(ceph_conf, user, 10, DEADLINE, WORKERS,
                                    DEADLINE)
    client.exists(pool, parent)  # connect before the clock matters
    names = ['storm-%s' % uuid.uuid4() for _ in range(count)]
    with concurrent.futures.ThreadPoolExecutor(count) as callers:
        clones = dict(zip(names, callers.map(lambda n: outcome(
            lambda: client.clone(pool, parent, snap, pool, n)), names)))
        done = [n for n in names if clones[n] == 'done']
        removes = dict(zip(done, callers.map(lambda n: outcome(
            lambda: client.remove(pool, n)), done)))
    result = {'clones': clones, 'removes': removes,
              'stats': client.stats}
    client.close()
    return result


if __name__ == '__main__':
    conf, user, pool, parent, snap, count = sys.argv[1:]
    print(json.dumps(storm(conf, user, pool, parent, snap, int(count))))
