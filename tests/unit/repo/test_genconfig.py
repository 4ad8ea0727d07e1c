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
"""tox -e genconfig's sample lists every option with its help."""

import os
import subprocess
import sys

from nova_rbd_imagebackend import conf

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))
GENERATOR = os.path.join(os.path.dirname(sys.executable),
                         'oslo-config-generator')


def test_sample_lists_every_option(tmp_path):
    sample = tmp_path / 'sample.conf'
    subprocess.run(
        [GENERATOR, '--config-file', os.path.join(
            TOP, 'etc', 'nova-rbd-imagebackend',
            'nova-rbd-imagebackend-config-generator.conf'),
         '--output-file', str(sample)], check=True, cwd=TOP)
    text = sample.read_text()
    assert '[rbd_imagebackend]' in text
    for opt in conf.OPTS:
        default = opt.default
        if isinstance(default, bool):
            default = str(default).lower()  # the sample's spelling
        elif isinstance(default, list):
            default = ','.join(default)
        assert ('#%s = %s' % (opt.name, default)).rstrip() in text
        first_line = opt.help.strip().splitlines()[0]
        assert first_line.split(',')[0][:40] in text.replace('\n# ', ' ')
