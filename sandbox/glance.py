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

"""A real glance-api on loopback, storing images in a sandbox cluster.

glance 33 serves its API as a WSGI application only; gunicorn runs it.
There is no keystone: a static identity stands in for it (see
glance_identity.py).  Images go to the
cluster's ``images`` pool as ``client.glance`` with glance_store's rbd
driver (``images/<id>@snap``, protected), and Glance shows their
``rbd://`` locations, which is what Nova needs to clone them.  A second
store, ``file``, keeps images outside the cluster (``upload(store='file')``).
"""

import json
import os
import shutil
import sys
import time
import urllib.request

from sandbox import ceph as ceph_sandbox
from sandbox import cephx
from sandbox import procs
from sandbox import SandboxError

CONF_TEMPLATE = """\
[DEFAULT]
bind_host = 127.0.0.1
bind_port = {port}
show_multiple_locations = True
show_image_direct_url = True
enabled_backends = ceph:rbd, file:file
image_cache_dir = {dir}/cache
log_file = {dir}/glance-api.log
debug = False

[database]
connection = {database}

[glance_store]
default_backend = ceph

[ceph]
rbd_store_pool = {pool}
rbd_store_user = glance
rbd_store_ceph_conf = {ceph_conf}
rbd_store_chunk_size = 8

[file]
filesystem_store_datadir = {dir}/images

[os_glance_staging_store]
filesystem_store_datadir = {dir}/staging

[os_glance_tasks_store]
filesystem_store_datadir = {dir}/tasks

[paste_deploy]
flavor = {flavor}

[oslo_policy]
enforce_scope = False

[oslo_concurrency]
lock_path = {dir}/locks
"""


# glance-api-paste.ini gains a "sandbox" flavor: Glance's own context
# middleware behind a static identity (sandbox/glance_identity.py) where
# keystone's token check would be.
PASTE_FLAVOR = """
[composite:glance-api-sandbox]
paste.composite_factory = glance.api:root_app_factory
/: api
/healthcheck: healthcheck

[filter:sandbox-identity]
paste.filter_factory = sandbox.glance_identity:filter_factory
"""
PASTE_PIPELINE = ('sandbox = cors http_proxy_to_wsgi versionnegotiation '
                  'osprofiler sandbox-identity context rootapp')


class GlanceSandbox(object):
    """glance-api serving http://127.0.0.1:<port> from ``directory``."""

    def __init__(self, directory, port, pid):
        self.directory = directory
        self.port = port
        self.pid = pid
        self.endpoint = 'http://127.0.0.1:%d' % port

    @classmethod
    def start(cls, ceph, directory, timeout=60, port=None, database=None,
              flavor='sandbox', extra_conf='', on_spawn=None):
        """Start glance-api on ``ceph`` (a CephSandbox); wait until up.

        By default Glance keeps its records in sqlite and trusts a static
        identity.  A cloud passes its own ``database`` URL, the
        ``keystone`` paste ``flavor`` and the matching ``extra_conf``
        ([keystone_authtoken] and so on); ``on_spawn(pid)`` is called as
        soon as gunicorn runs, for the caller's own records.
        """
        started = time.monotonic()
        directory = os.path.abspath(directory)
        os.makedirs(directory, mode=0o700, exist_ok=True)
        for sub in ('cache', 'staging', 'tasks', 'locks', 'images'):
            os.makedirs(os.path.join(directory, sub), exist_ok=True)
        port = port or ceph_sandbox.free_port()
        conf = os.path.join(directory, 'glance-api.conf')
        cephx.write_private(conf, CONF_TEMPLATE.format(
            port=port, dir=directory, pool=ceph_sandbox.IMAGES_POOL,
            ceph_conf=ceph.conf_path, flavor=flavor,
            # Glance's threads write at once; sqlite's 5 s default wait for
            # the lock is too short on a busy machine ("database is locked").
            database=database or
            'sqlite:///%s/glance.sqlite?timeout=60' % directory) +
            extra_conf)
        with open(os.path.join(sys.prefix, 'etc', 'glance',
                               'glance-api-paste.ini')) as f:
            paste = f.read()
        paste = paste.replace('[composite:api]\n', '[composite:api]\n' +
                              PASTE_PIPELINE + '\n', 1) + PASTE_FLAVOR
        with open(os.path.join(directory, 'glance-api-paste.ini'), 'w') as f:
            f.write(paste)
        bindir = os.path.dirname(sys.executable)
        procs.run([os.path.join(bindir, 'glance-manage'), '--config-file',
                   conf, 'db_sync'], timeout=timeout)
        top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = dict(os.environ, OS_GLANCE_CONFIG_DIR=directory,
                   PYTHONPATH=top)
        pid = procs.spawn(
            [os.path.join(bindir, 'gunicorn'), '--bind',
             '127.0.0.1:%d' % port, '--workers', '1', '--threads', '4',
             '--timeout', '300', '--name', 'glance-' + directory,
             '--no-control-socket',
             'glance.wsgi.api:application'],
            os.path.join(directory, 'gunicorn.log'), env=env)
        if on_spawn is not None:
            on_spawn(pid)
        box = cls(directory, port, pid)
        try:
            box._wait_ready(started + timeout)
        except BaseException:
            box.stop()
            raise
        box.ready_seconds = round(time.monotonic() - started, 2)
        return box

    def _wait_ready(self, deadline):
        while True:
            try:
                with urllib.request.urlopen(self.endpoint + '/versions',
                                            timeout=2) as reply:
                    json.load(reply)
                    return
            except OSError:
                if not procs.is_ours(self.pid, self.directory):
                    raise SandboxError('glance-api died; see %s' % (
                        os.path.join(self.directory, 'gunicorn.log')))
                if time.monotonic() > deadline:
                    raise SandboxError('glance-api not answering on %s'
                                       % self.endpoint)
                time.sleep(0.2)

    def stop(self):
        """Stop gunicorn (it stops its worker) and remove the folder."""
        if self.pid is not None:
            procs.terminate(self.pid, self.directory)
            self.pid = None
        shutil.rmtree(self.directory, ignore_errors=True)

    # -- a minimal client, for tests --------------------------------------

    def request(self, method, path, body=None, headers=None):
        data = None
        headers = dict(headers or {})
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            headers.setdefault('Content-Type', 'application/json')
        elif body is not None:
            data = body
        req = urllib.request.Request(self.endpoint + path, data=data,
                                     method=method, headers=headers)
        with urllib.request.urlopen(req, timeout=120) as reply:
            text = reply.read()
        return json.loads(text) if text else None

    def upload(self, data, disk_format='raw', name='image', store=None):
        """Create and upload an image; return its record once active.

        ``store``: 'file' keeps the image outside the cluster (the
        default store is the cluster's images pool).
        """
        image = self.request('POST', '/v2/images', {
            'name': name, 'disk_format': disk_format,
            'container_format': 'bare'})
        headers = {'Content-Type': 'application/octet-stream'}
        if store:
            headers['X-Image-Meta-Store'] = store
        self.request('PUT', '/v2/images/%s/file' % image['id'], data,
                     headers)
        return self.request('GET', '/v2/images/%s' % image['id'])

    def wait_active(self, image_id, timeout=60):
        """The image once Glance has made it active (imports are async)."""
        deadline = time.monotonic() + timeout
        while True:
            image = self.request('GET', '/v2/images/%s' % image_id)
            if image['status'] == 'active' or time.monotonic() > deadline:
                return image
            time.sleep(0.2)
