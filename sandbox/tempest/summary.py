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

"""The outcome of a tempest run, read from its subunit stream.

``results(stream)`` turns the bytes of ``stestr last --subunit`` into
one record per test (id, status, seconds, reason); ``report(records,
seconds)`` renders the counts, every failure with the last line of its
traceback, and every skip with its reason.
"""

import io
import re

import subunit
import testtools

PASSED = ('success', 'xfail')
FAILED = ('fail', 'uxsuccess')
# "tempest.api.x.Test.test_y[id-...,smoke]" -> "tempest.api.x.Test.test_y"
_ATTRS = re.compile(r'\[.*\]$')


def short_id(test_id):
    """The test id without tempest's ``[id-...,tags]`` suffix."""
    return _ATTRS.sub('', test_id)


def results(stream):
    """One dict per test from a subunit v2 byte string, in stream order."""
    records = []

    def on_test(test):
        if test['status'] in ('exists', None):
            return
        details = test['details']
        reason = _text(details.get('reason'))
        if test['status'] in FAILED:
            reason = _last_line(_text(details.get('traceback')) or reason)
        start, stop = test['timestamps']
        seconds = (stop - start).total_seconds() if start and stop else 0.0
        records.append({'id': short_id(test['id']), 'status': test['status'],
                        'seconds': round(seconds, 1),
                        'reason': ' '.join(reason.split())})

    case = subunit.ByteStreamToStreamResult(io.BytesIO(stream),
                                            non_subunit_name='stdout')
    result = testtools.StreamToDict(on_test)
    result.startTestRun()
    try:
        case.run(result)
    finally:
        result.stopTestRun()
    return records


def counts(records):
    """``{'passed': n, 'skipped': n, 'failed': n}``."""
    out = {'passed': 0, 'skipped': 0, 'failed': 0}
    for record in records:
        if record['status'] in PASSED:
            out['passed'] += 1
        elif record['status'] == 'skip':
            out['skipped'] += 1
        else:
            out['failed'] += 1
    return out


def failed(records):
    return [r for r in records if r['status'] not in PASSED + ('skip',)]


def report(records, seconds):
    """A plain-text summary of ``records`` for a run of ``seconds``."""
    total = counts(records)
    lines = ['tempest: %d passed, %d skipped, %d failed in %.0f s '
             '(%.1f min)' % (total['passed'], total['skipped'],
                             total['failed'], seconds, seconds / 60.0)]
    bad = failed(records)
    if bad:
        lines.append('')
        lines.append('failed:')
        for record in sorted(bad, key=lambda r: r['id']):
            lines.append('  %s (%.0f s)' % (record['id'], record['seconds']))
            lines.append('      %s' % (record['reason'] or record['status']))
    skips = {}
    for record in records:
        if record['status'] == 'skip':
            skips.setdefault(record['reason'] or '(no reason given)',
                             []).append(record['id'])
    if skips:
        lines.append('')
        lines.append('skipped by tempest itself:')
        for reason in sorted(skips):
            lines.append('  %s' % reason)
            for test_id in sorted(skips[reason]):
                lines.append('      %s' % test_id)
    return '\n'.join(lines) + '\n'


def _text(content):
    if content is None:
        return ''
    try:
        return content.as_text().strip()
    except Exception:  # binary attachment
        return ''


def _last_line(text):
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ''
