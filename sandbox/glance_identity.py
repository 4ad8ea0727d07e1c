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
"""A static identity for the sandbox's Glance, in place of keystone.

keystonemiddleware would validate the token and set these headers; Glance's
own context middleware then builds the request context from them.  Here
every request is the same admin with the ``service`` role, which is what
Nova's service token carries in a real cloud (Glance requires that role to
register image locations).
"""

IDENTITY = {
    'HTTP_X_IDENTITY_STATUS': 'Confirmed',
    'HTTP_X_USER_ID': 'sandbox',
    'HTTP_X_PROJECT_ID': 'sandbox',
    'HTTP_X_ROLES': 'admin,member,reader,service',
}


def filter_factory(global_conf, **local_conf):
    def make(app):
        def middleware(environ, start_response):
            environ.update(IDENTITY)
            return app(environ, start_response)
        return middleware
    return make
