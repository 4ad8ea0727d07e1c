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

from oslo_config import cfg
import pytest

from nova_rbd_imagebackend import conf


def test_list_opts_is_pairs_of_group_and_options():
    listed = conf.list_opts()
    assert [(group.name, len(opts)) for group, opts in listed] == [
        ('rbd_imagebackend', len(conf.OPTS))]


@pytest.mark.parametrize('opt', conf.OPTS, ids=lambda o: o.name)
def test_every_option_explains_itself(opt):
    assert opt.help and len(opt.help.strip()) > 40
    assert opt.default is not None


def test_register_opts_is_idempotent_and_enforces_bounds():
    config = cfg.ConfigOpts()
    conf.register_opts(config)
    conf.register_opts(config)
    config([])
    assert config.rbd_imagebackend.op_timeout == 30
    with pytest.raises(ValueError):
        config.set_override('op_timeout', 0, group='rbd_imagebackend')
