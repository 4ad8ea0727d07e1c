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

"""Glance's rbd:// image locations: rbd://<fsid>/<pool>/<image>/<snap>."""

import collections
from urllib import parse

Location = collections.namedtuple('Location', 'fsid pool image snapshot')

SCHEME = 'rbd://'


class BadLocation(ValueError):
    """Not an rbd location with four non-empty parts."""


def parse_url(url):
    """Return the Location an rbd:// URL names; raise BadLocation."""
    if not isinstance(url, str) or not url.startswith(SCHEME):
        raise BadLocation('not an rbd:// URL: %r' % (url,))
    parts = [parse.unquote(p) for p in url[len(SCHEME):].split('/')]
    if len(parts) != 4 or not all(parts):
        raise BadLocation('an rbd URL has four non-empty parts: %r' % url)
    return Location(*parts)


def format_url(fsid, pool, image, snapshot):
    return SCHEME + '/'.join(parse.quote(p, safe='') for p in
                             (fsid, pool, image, snapshot))
