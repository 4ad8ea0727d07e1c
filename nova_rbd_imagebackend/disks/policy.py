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
"""Storage policy of an instance's disks: layout, features, data pool, QoS.

Set per flavor, as extra specs ``rbd:<key>``, and per image, as image
properties ``rbd_<key>`` (the forms Nova uses for ``hw:`` and ``hw_``).
Where both set a key:

- librbd QoS (``qos_*``): the stricter value wins, whichever sets it.
  A limit protects the cluster from the disk; an image may tighten the
  flavor's limits for its own disks, never loosen them.
- layout, features and data pool: the flavor wins.  They decide where
  the disk's bytes live and what they cost the cluster, which is the
  operator's call; an image property is set by whoever uploads the
  image.  An image may name a data pool only if the operator lists it in
  ``[rbd_imagebackend] image_data_pools``.

The policy is applied when a disk is made and recorded on it as image
metadata (``RECORD_KEY``), QoS as librbd's own ``conf_rbd_qos_*`` image
metadata, so it travels with the disk on live migration and evacuation.
"""

import dataclasses
import json
import re

from nova_rbd_imagebackend import exceptions

FLAVOR_PREFIX = 'rbd:'
IMAGE_PREFIX = 'rbd_'
RECORD_KEY = 'nova_rbd_imagebackend.policy'
SNAPSHOT_RECORD_KEY = 'nova_rbd_imagebackend.snapshot_policy'
QOS_METADATA_PREFIX = 'conf_rbd_'

# librbd's object sizes: 2^12 (4 KiB) to 2^25 (32 MiB).
OBJECT_SIZES = {'%dK' % (2 ** o // 1024) if o < 20 else
                '%dM' % (2 ** o // 2 ** 20): 2 ** o for o in range(12, 26)}
DEFAULT_OBJECT_SIZE = 4 * 2 ** 20  # librbd's rbd_default_order 22
FEATURES = ('layering', 'exclusive-lock', 'object-map', 'fast-diff',
            'deep-flatten')
# Clones need layering; fencing an evacuated host and cutting off a dead
# writer rely on the exclusive lock.
REQUIRED_FEATURES = ('layering', 'exclusive-lock')
FEATURE_NEEDS = {'object-map': 'exclusive-lock', 'fast-diff': 'object-map'}
QOS_KINDS = ('iops', 'read_iops', 'write_iops', 'bps', 'read_bps',
             'write_bps')
LAYOUT_KEYS = ('object_size', 'stripe_unit', 'stripe_count', 'features',
               'data_pool')
QOS_KEYS = tuple('qos_%s_%s' % (kind, what) for kind in QOS_KINDS
                 for what in ('limit', 'burst', 'burst_seconds'))
KEYS = LAYOUT_KEYS + QOS_KEYS

_SIZE = re.compile(r'([1-9][0-9]*)([KM]?)')
_POOL = re.compile(r'[A-Za-z0-9][A-Za-z0-9_.-]{0,127}')
_INT = re.compile(r'0|[1-9][0-9]{0,17}')


def _bad(key, value, reason):
    return exceptions.BadDiskPolicy(key=key, value=value, reason=reason)


def _size(key, value):
    match = _SIZE.fullmatch(value.strip().upper().replace('I', '')
                            .replace('B', ''))
    if not match:
        raise _bad(key, value, 'not a size such as 64K or 4M')
    return int(match.group(1)) * {'': 1, 'K': 1024,
                                  'M': 2 ** 20}[match.group(2)]


def _parse_object_size(key, value):
    size = _size(key, value)
    if size not in OBJECT_SIZES.values():
        raise _bad(key, value, 'not a power of two from 4K to 32M')
    return size


def _parse_stripe_unit(key, value):
    size = _size(key, value)
    if size % 4096:
        raise _bad(key, value, 'not a multiple of 4K')
    return size


def _parse_count(key, value, low, high):
    if not _INT.fullmatch(value.strip()):
        raise _bad(key, value, 'not a whole number')
    number = int(value)
    if not low <= number <= high:
        raise _bad(key, value, 'not between %d and %d' % (low, high))
    return number


def _parse_features(key, value):
    wanted = [f.strip() for f in value.split(',') if f.strip()]
    unknown = sorted(set(wanted) - set(FEATURES))
    if unknown:
        raise _bad(key, value, 'unknown feature %s; known: %s'
                   % (', '.join(unknown), ', '.join(FEATURES)))
    missing = [f for f in REQUIRED_FEATURES if f not in wanted]
    if missing:
        raise _bad(key, value, 'must include %s (clones need layering; '
                   'fencing needs exclusive-lock)' % ', '.join(missing))
    for feature, needs in FEATURE_NEEDS.items():
        if feature in wanted and needs not in wanted:
            raise _bad(key, value, '%s needs %s' % (feature, needs))
    return tuple(f for f in FEATURES if f in wanted)


def _parse_pool(key, value):
    if not _POOL.fullmatch(value.strip()):
        raise _bad(key, value, 'not a pool name')
    return value.strip()


def parse(key, value):
    """Return the value of policy key ``key`` (no prefix) given as text.

    :raises BadDiskPolicy: unknown key or bad value, with the reason.
    """
    value = str(value)
    if key == 'object_size':
        return _parse_object_size(key, value)
    if key == 'stripe_unit':
        return _parse_stripe_unit(key, value)
    if key == 'stripe_count':
        return _parse_count(key, value, 1, 4096)
    if key == 'features':
        return _parse_features(key, value)
    if key == 'data_pool':
        return _parse_pool(key, value)
    if key in QOS_KEYS:
        low = 1 if key.endswith('_seconds') else 0
        return _parse_count(key, value, low, 2 ** 60)
    raise _bad(key, value, 'unknown key; known: %s' % ', '.join(KEYS))


def own_keys(items, prefix):
    """``{key: text}`` of the entries of ``items`` under ``prefix``."""
    return {name[len(prefix):]: text for name, text in (items or {}).items()
            if name.startswith(prefix)}


@dataclasses.dataclass(frozen=True)
class Policy(object):
    """What an instance's disks are made with; empty: the pool defaults."""

    layout: tuple = ()  # sorted (key, value) of LAYOUT_KEYS
    qos: tuple = ()  # sorted (key, value) of QOS_KEYS
    sources: tuple = ()  # sorted (key, 'flavor' | 'image')

    def __bool__(self):
        return bool(self.layout or self.qos)

    def layout_options(self):
        """Options for librbd's create and clone (ceph/layouts.py)."""
        return dict(self.layout)

    def metadata(self):
        """Image metadata that carries the policy: QoS and the record."""
        items = {QOS_METADATA_PREFIX + key: str(value)
                 for key, value in self.qos}
        if self:
            items[RECORD_KEY] = self.record()
        return items

    def record(self):
        values = dict(self.layout)
        values.update(self.qos)
        return json.dumps({'values': values, 'from': dict(self.sources)},
                          sort_keys=True)


def from_specs(flavor_specs, image_props, image_data_pools=()):
    """The policy of a flavor's extra specs and an image's properties.

    :raises BadDiskPolicy: a bad value, or values that do not fit
        together (a stripe unit that does not divide the object size, a
        burst below its limit, a data pool the image may not name).
    """
    flavor = {k: parse(k, v) for k, v in
              own_keys(flavor_specs, FLAVOR_PREFIX).items()}
    image = {k: parse(k, v) for k, v in
             own_keys(image_props, IMAGE_PREFIX).items()}
    if 'data_pool' in image and 'data_pool' not in flavor and \
            image['data_pool'] not in image_data_pools:
        raise _bad(IMAGE_PREFIX + 'data_pool', image['data_pool'],
                   'images may name only the data pools in '
                   '[rbd_imagebackend] image_data_pools')
    values, sources = {}, {}
    for key in KEYS:
        choice = _choose(key, flavor.get(key), image.get(key))
        if choice is not None:
            values[key], sources[key] = choice
    _check_together(values)
    return Policy(
        layout=tuple(sorted((k, v) for k, v in values.items()
                            if k in LAYOUT_KEYS)),
        qos=tuple(sorted((k, v) for k, v in values.items()
                         if k in QOS_KEYS)),
        sources=tuple(sorted(sources.items())))


def _choose(key, from_flavor, from_image):
    if from_flavor is None and from_image is None:
        return None
    if from_image is None:
        return from_flavor, 'flavor'
    if from_flavor is None:
        return from_image, 'image'
    if key in QOS_KEYS:
        # 0 is librbd's "no limit": any other value is stricter.
        if from_flavor == 0 or 0 < from_image < from_flavor:
            return from_image, 'image'
    return from_flavor, 'flavor'


def _check_together(values):
    unit, count = values.get('stripe_unit'), values.get('stripe_count')
    if (unit is None) != (count is None):
        raise _bad('stripe_unit' if unit is None else 'stripe_count',
                   unit or count, 'stripe_unit and stripe_count go '
                   'together: set both or neither')
    size = values.get('object_size', DEFAULT_OBJECT_SIZE)
    if unit is not None and size % unit:
        raise _bad('stripe_unit', unit, 'does not divide the object size '
                   '(%d bytes)' % size)
    for kind in QOS_KINDS:
        limit = values.get('qos_%s_limit' % kind)
        burst = values.get('qos_%s_burst' % kind)
        if limit and burst and burst < limit:
            raise _bad('qos_%s_burst' % kind, burst,
                       'below its limit qos_%s_limit (%d); librbd would '
                       'ignore both' % (kind, limit))
