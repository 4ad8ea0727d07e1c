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
"""Facts about the cluster: fsid, monitors, pool usage and settings.

Read over the open connection with monitor commands, never with the
``ceph`` command-line tool.  Monitor addresses come from the current
monmap and quorum, not from ceph.conf: monitors move and fail.
"""

import json

from nova_rbd_imagebackend.ceph import bindings
from nova_rbd_imagebackend.ceph.bindings import rados
from nova_rbd_imagebackend import exceptions


class ClusterQueries(object):
    """Mixed into CephClient: read-only questions to the monitors."""

    def fsid(self):
        return self.call('get fsid', lambda: self._connected().get_fsid())

    def _mon_command(self, cmd):
        def run():
            ret, out, err = self._connected().mon_command(
                json.dumps(dict(cmd, format='json')), b'',
                timeout=int(self.op_timeout))
            if ret:
                raise exceptions.CephError(op=cmd['prefix'],
                                           reason='%s (%d)' % (err, ret))
            return json.loads(out)
        return self.call(cmd['prefix'], run)

    def monitors(self):
        """Every monitor of the current monmap, and whether it is in quorum.

        Returns [{'name', 'addrs': [(type, host, port)], 'in_quorum'}],
        from one ``quorum_status``: the monmap and the quorum of the same
        moment.  A stopped monitor stays in the monmap; it leaves the
        quorum once the others have noticed (a few seconds).
        """
        status = self._mon_command({'prefix': 'quorum_status'})
        return parse_monitors(status)

    def mon_addrs(self, live_only=True):
        """Return [(host, port)] of the monitors, for libvirt's <host>.

        Only monitors in quorum by default: QEMU tries the <host> entries
        when it connects, and a guest started now has no use for a
        monitor that is down.  ``live_only=False`` lists the whole monmap.
        """
        mons = self.monitors()
        live = [mon for mon in mons if mon['in_quorum']]
        # No quorum named at all (not an answer a monitor gives): list
        # every monitor rather than none.
        return [libvirt_addr(mon['addrs'])
                for mon in (live if live_only and live else mons)]

    def pool_usage(self, pool):
        """Return {'total', 'free', 'used'} in bytes for ``pool``.

        ``free`` is the pool's ``max_avail`` (what can still be written,
        after replication); ``total`` is that plus what is stored.
        """
        for entry in self._mon_command({'prefix': 'df'})['pools']:
            if entry['name'] == pool:
                stats = entry['stats']
                used = stats.get('stored', stats.get('bytes_used', 0))
                free = stats['max_avail']
                return {'total': used + free, 'free': free, 'used': used}
        raise exceptions.RbdNotFound(name='pool %s' % pool)

    def pool_exists(self, pool):
        return self.call('check pool', lambda: self._connected().pool_exists(
            pool), name=pool)

    def pool_applications(self, pool):
        return self._mon_command({'prefix': 'osd pool application get',
                                  'pool': pool})

    def require_min_compat_client(self):
        return self._mon_command({'prefix': 'osd dump'}).get(
            'require_min_compat_client')

    def clone_v2_allowed(self):
        """True when clones need no protected snapshot (min compat mimic)."""
        if self._clone_v2 is None:
            compat = self.require_min_compat_client() or ''
            self._clone_v2 = compat >= 'mimic'
        return self._clone_v2


def parse_monitors(status):
    """The monitors of a ``quorum_status`` answer (see ``monitors``)."""
    quorum = set(status.get('quorum_names') or ())
    found = []
    for mon in status['monmap']['mons']:
        vec = mon.get('public_addrs', {}).get('addrvec', [])
        addrs = [(a['type'],) + split_addr(a['addr']) for a in vec]
        if not addrs and mon.get('addr'):
            addrs = [('v1',) + split_addr(mon['addr'].split('/')[0])]
        found.append({'name': mon['name'], 'addrs': addrs,
                      'in_quorum': mon['name'] in quorum})
    return found


def split_addr(addr):
    """'[::1]:6789' or '10.0.0.1:6789' -> (host without brackets, port)."""
    host, _sep, port = addr.rpartition(':')
    return host.strip('[]'), port


def libvirt_addr(addrs):
    """The (host, port) of one monitor's [(type, host, port)] for <host>.

    The legacy (v1) address is preferred, as Nova's in-tree backend uses
    it and QEMU's librbd accepts it on every release; a monitor that only
    has a v2 address contributes that.
    """
    chosen = ([a for a in addrs if a[0] == 'v1'] or
              [a for a in addrs if a[0] == 'v2'] or addrs)
    return chosen[0][1:]


def auth_sources(conf_path, user):
    """Where librados would look for this user's key, without connecting.

    Returns {'keyring': [paths], 'key': bool, 'keyfile': path or ''} with
    librados's metavariables ($cluster, $name) already expanded.
    """
    bindings.require()
    try:
        cluster = rados.Rados(rados_id=user, conffile=conf_path or '')
    except rados.Error as exc:
        raise exceptions.CephError(
            op='read %s' % (conf_path or 'the default ceph.conf'),
            reason=str(exc) or type(exc).__name__)
    try:
        keyrings = [p.strip() for p in cluster.conf_get('keyring').split(',')
                    if p.strip()]
        return {'keyring': keyrings, 'key': bool(cluster.conf_get('key')),
                'keyfile': cluster.conf_get('keyfile') or ''}
    finally:
        cluster.shutdown()
