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

"""A Neutron STAND-IN: just enough of the networking API for Nova.

This is not Neutron and not part of what this project delivers or
supports.  The cloud runs no networking service: servers are booted with
``networks: none`` (compute API microversion 2.37 or later).  Nova still
asks Neutron a few questions for such servers (the extension list, the
ports of an instance on delete, its networks); this WSGI app answers
every list with an empty list, every single resource with 404, and
refuses every write, so Nova treats the server as one without ports.
It checks no token.
"""

import json
import re

VERSIONS = {'versions': [{'id': 'v2.0', 'status': 'CURRENT',
                          'links': [{'rel': 'self',
                                     'href': '/v2.0/'}]}]}
_COLLECTION = re.compile(r'^/v2\.0/([a-z0-9_-]+)(?:\.json)?/?$')
_ITEM = re.compile(r'^/v2\.0/([a-z0-9_-]+)/([^/]+?)(?:\.json)?/?$')


def _reply(start_response, status, body):
    data = json.dumps(body).encode()
    start_response(status, [('Content-Type', 'application/json'),
                            ('Content-Length', str(len(data)))])
    return [data]


def _not_found(start_response, what):
    return _reply(start_response, '404 Not Found', {'NeutronError': {
        'type': 'NotFound', 'message': '%s not found (stand-in: no '
                                       'networking here)' % what,
        'detail': ''}})


def application(environ, start_response):
    method = environ['REQUEST_METHOD']
    path = environ.get('PATH_INFO', '/')
    if path in ('', '/'):
        return _reply(start_response, '200 OK', VERSIONS)
    if method != 'GET':
        return _reply(start_response, '403 Forbidden', {'NeutronError': {
            'type': 'Forbidden', 'message': 'the Neutron stand-in of the '
            'sandbox cloud refuses every change', 'detail': ''}})
    match = _COLLECTION.match(path)
    if match:
        # "security-groups" is listed under "security_groups".
        return _reply(start_response, '200 OK',
                      {match.group(1).replace('-', '_'): []})
    match = _ITEM.match(path)
    if match:
        return _not_found(start_response, match.group(1))
    return _not_found(start_response, path)
