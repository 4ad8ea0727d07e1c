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
"""Pools of other kinds in a running sandbox: erasure-coded data pools.

An erasure-coded pool keeps k data and m coding chunks on k + m OSDs;
the sandbox's profile (k=2, m=1, one chunk per OSD) needs three.  librbd
keeps an image's data in such a pool only when it allows overwrites,
which Ceph allows only on bluestore OSDs unless told, as here for the
sandbox's memstore OSDs, not to check.
"""

from sandbox import SandboxError

PROFILE = 'sandbox-k2m1'


def erasure_coded(box, pool, overwrites=True, users=('client.nova',)):
    """Create the erasure-coded rbd data pool ``pool``.

    ``users`` get ``profile rbd`` on it on top of their caps.
    """
    if box.shape.osds < 3:
        raise SandboxError('an erasure-coded pool (k=2, m=1) needs 3 OSDs; '
                           'this sandbox has %d' % box.shape.osds)
    with box.admin() as admin:
        admin.command({'prefix': 'config set', 'who': 'mon',
                       'name': 'mon_debug_no_require_bluestore_for_ec_'
                               'overwrites', 'value': 'true'})
        admin.command({'prefix': 'osd erasure-code-profile set',
                       'name': PROFILE, 'profile': [
                           'k=2', 'm=1', 'crush-failure-domain=osd'],
                       'force': True})
        admin.command({'prefix': 'osd pool create', 'pool': pool,
                       'pg_num': 8, 'pgp_num': 8, 'pool_type': 'erasure',
                       'erasure_code_profile': PROFILE})
        if overwrites:
            admin.command({'prefix': 'osd pool set', 'pool': pool,
                           'var': 'allow_ec_overwrites', 'val': 'true'})
        admin.command({'prefix': 'osd pool application enable',
                       'pool': pool, 'app': 'rbd'})
        for user in users:
            admin.add_pools_to_caps(user, [pool])
