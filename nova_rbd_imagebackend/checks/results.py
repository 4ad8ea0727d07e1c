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
"""A check's verdict: ok, warn or fail, with a detail and a fix."""

import collections

OK, WARN, FAIL = 'ok', 'warn', 'fail'
Result = collections.namedtuple('Result', 'check status detail fix')


def ok(check, detail):
    return Result(check, OK, detail, '')


def warn(check, detail, fix=''):
    return Result(check, WARN, detail, fix)


def fail(check, detail, fix=''):
    return Result(check, FAIL, detail, fix)


def failures(results):
    return [r for r in results if r.status == FAIL]
