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
"""Serve one image's bytes to a local QEMU over HTTP, by ranges.

QEMU's curl driver reads a remote image by HTTP range requests, but it
cannot send Glance's token.  This server, bound to loopback on a port
of the kernel's choosing, answers those requests from a callable that
reads a range from Glance with the caller's credentials.  Its one URL
holds a random token, so no other local process can guess it.
"""

import http.server
import re
import secrets
import threading

from oslo_log import log as logging

LOG = logging.getLogger(__name__)
RANGE = re.compile(r'^bytes=(\d+)-(\d+)$')


class RangeServer(object):
    """An HTTP server for ``size`` bytes read through ``read_range``.

    :param read_range: ``read_range(start, end)`` returns an iterable of
        the bytes from ``start`` to ``end`` inclusive.
    Use as a context manager; ``url`` is where the image is; ``error``
    is the first failure of ``read_range``, if any.
    """

    def __init__(self, size, read_range):
        self.size = size
        self.read_range = read_range
        self.error = None
        self.path = '/' + secrets.token_urlsafe(24)
        self._server = http.server.ThreadingHTTPServer(
            ('127.0.0.1', 0), _handler(self))
        self._server.daemon_threads = True
        self.url = 'http://127.0.0.1:%d%s' % (
            self._server.server_address[1], self.path)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def _handler(server):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def do_HEAD(self):
            if self._known():
                self._headers(200, server.size)

        def do_GET(self):
            if not self._known():
                return
            match = RANGE.match(self.headers.get('Range', ''))
            start, end = (int(match.group(1)), int(match.group(2))) \
                if match else (0, server.size - 1)
            end = min(end, server.size - 1)
            if start > end:
                self.send_error(416)
                return
            self._headers(206, end - start + 1, 'bytes %d-%d/%d' % (
                start, end, server.size))
            try:
                sent = 0
                for chunk in server.read_range(start, end):
                    self.wfile.write(chunk)
                    sent += len(chunk)
                if sent != end - start + 1:
                    raise IOError('Glance sent %d bytes of the range '
                                  '%d-%d' % (sent, start, end))
            except Exception as exc:
                # The client sees a short body; the fill reports why.
                server.error = server.error or exc
                self.close_connection = True

        def _known(self):
            if self.path != server.path:
                self.send_error(404)
                return False
            return True

        def _headers(self, status, length, content_range=None):
            self.send_response(status)
            self.send_header('Accept-Ranges', 'bytes')
            self.send_header('Content-Length', str(length))
            if content_range:
                self.send_header('Content-Range', content_range)
            self.end_headers()

        def log_message(self, fmt, *args):
            LOG.debug('Image range server: ' + fmt, *args)
    return Handler
