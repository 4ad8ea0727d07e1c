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
"""How an image is laid out: librbd's create options, metadata, data pools.

The storage policy (disks/policy.py) speaks of object sizes and feature
names; librbd of orders and feature bits.  This module translates, and
reads back what an image was made with.
"""

from nova_rbd_imagebackend.ceph.bindings import rbd

FEATURE_BITS = {
    'layering': rbd.RBD_FEATURE_LAYERING,
    'exclusive-lock': rbd.RBD_FEATURE_EXCLUSIVE_LOCK,
    'object-map': rbd.RBD_FEATURE_OBJECT_MAP,
    'fast-diff': rbd.RBD_FEATURE_FAST_DIFF,
    'deep-flatten': rbd.RBD_FEATURE_DEEP_FLATTEN,
    'journaling': rbd.RBD_FEATURE_JOURNALING,
    'striping': rbd.RBD_FEATURE_STRIPINGV2,
    'data-pool': rbd.RBD_FEATURE_DATA_POOL,
}
_EC_OVERWRITES = 'ec_overwrites'
_ERASURE = 3  # pg_pool_t::TYPE_ERASURE


def create_options(layout):
    """Keyword arguments of librbd's create and clone for ``layout``.

    ``layout`` maps policy keys (object_size, stripe_unit, stripe_count,
    features, data_pool) to values; what it leaves out, librbd takes
    from the client's configuration, as it always did.
    """
    options = {}
    if layout.get('object_size'):
        options['order'] = layout['object_size'].bit_length() - 1
        # A clone otherwise keeps its parent's stripe unit, which librbd
        # refuses when it is larger than the clone's objects.
        options['stripe_unit'] = layout['object_size']
        options['stripe_count'] = 1
    if layout.get('stripe_unit'):
        options['stripe_unit'] = layout['stripe_unit']
        options['stripe_count'] = layout['stripe_count']
    if layout.get('features'):
        options['features'] = sum(FEATURE_BITS[f] for f in
                                  layout['features'])
    if layout.get('data_pool'):
        options['data_pool'] = layout['data_pool']
    return options


def feature_names(bits):
    return sorted(name for name, bit in FEATURE_BITS.items() if bits & bit)


class LayoutOps(object):
    """Mixed into CephClient: image metadata and layout, data pools."""

    def metadata(self, pool, name):
        """The image's metadata (``rbd image-meta``) as a dict."""
        def run():
            with self._open(pool, name, read_only=True) as image:
                return dict(image.metadata_list())
        return self.call('list metadata', run, '%s/%s' % (pool, name))

    def set_metadata(self, pool, name, items, remove=()):
        """Set ``items`` and remove the keys ``remove`` of the image."""
        if not items and not remove:
            return

        def run():
            with self._open(pool, name) as image:
                for key, value in sorted(items.items()):
                    image.metadata_set(key, value)
                for key in remove:
                    try:
                        image.metadata_remove(key)
                    except KeyError:
                        pass  # librbd: no such key
        self.call('set metadata', run, '%s/%s' % (pool, name))

    def describe(self, pool, name):
        """What the image was made with, as the policy's keys name it."""
        def run():
            with self._open(pool, name, read_only=True) as image:
                stat = image.stat()
                data_pool_id = image.data_pool_id()
                data_pool = None
                if data_pool_id not in (-1, self._ioctx(pool).get_pool_id()):
                    data_pool = self._connected().pool_reverse_lookup(
                        data_pool_id)
                return {
                    'object_size': stat['obj_size'],
                    'stripe_unit': image.stripe_unit(),
                    'stripe_count': image.stripe_count(),
                    'features': feature_names(image.features()),
                    'data_pool': data_pool,
                    'metadata': dict(image.metadata_list()),
                }
        return self.call('describe', run, '%s/%s' % (pool, name))

    def data_pool_kind(self, pool):
        """'replicated', 'erasure', 'erasure-no-overwrites', or None.

        None when the pool does not exist.  librbd can keep data only in
        an erasure-coded pool that allows partial overwrites.
        """
        for entry in self._mon_command({'prefix': 'osd pool ls',
                                        'detail': 'detail'}):
            if entry.get('pool_name') != pool:
                continue
            if entry.get('type') != _ERASURE:
                return 'replicated'
            flags = entry.get('flags_names', '').split(',')
            return 'erasure' if _EC_OVERWRITES in flags else \
                'erasure-no-overwrites'
        return None
