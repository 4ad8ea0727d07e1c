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
"""The package's layering rules, as written in its docstring.

Read from the source (ast), not by importing: an import inside a function
counts as much as one at the top.
"""

import ast
import os
import pathlib

import pytest

PACKAGE = 'nova_rbd_imagebackend'
ROOT = pathlib.Path(__file__).resolve().parents[2] / PACKAGE
UNIT = pathlib.Path(__file__).resolve().parent
# Layers, lowest first; a module may import its own layer or lower ones.
RANK = {'conf': 0, 'exceptions': 0, 'ceph': 1, 'disks': 2, 'checks': 3,
        'nova': 4, 'cmd': 5}
# Outside nova/, the plugin may use only these parts of Nova.
NOVA_PUBLIC = {'nova.conf', 'nova.exception', 'nova.utils'}
MAX_LINES = 300
# Test files under tests/unit/<sub>/ that are about the subpackage as a
# whole rather than one module of it.
WHOLE_PACKAGE_TESTS = {'test_layers.py',
                       'nova/test_nova_internals.py'}


def modules():
    """{dotted name: path} of every module of the package."""
    found = {}
    for path in sorted(ROOT.rglob('*.py')):
        parts = path.relative_to(ROOT.parent).with_suffix('').parts
        if parts[-1] == '__init__':
            parts = parts[:-1]
        found['.'.join(parts)] = path
    return found


MODULES = modules()


def imported(path):
    """The dotted names a module imports (modules, not attributes)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                full = '%s.%s' % (node.module, alias.name)
                names.add(full if full in MODULES or full.startswith(
                    'nova.') else node.module)
    return names


def layer(module):
    parts = module.split('.')
    return parts[1] if len(parts) > 1 else None


def ours(names):
    return {n for n in names if n in MODULES and n != PACKAGE}


@pytest.mark.parametrize('module', sorted(MODULES))
def test_only_the_ceph_package_imports_rados_and_rbd(module):
    found = {n for n in imported(MODULES[module])
             if n.split('.')[0] in ('rados', 'rbd') or
             n == PACKAGE + '.ceph.bindings'}
    if layer(module) != 'ceph':
        assert not found, '%s imports %s' % (module, found)


@pytest.mark.parametrize('module', sorted(MODULES))
def test_only_the_nova_package_touches_novas_internals(module):
    if layer(module) == 'nova':
        return
    private = {n for n in imported(MODULES[module])
               if n.split('.')[0] == 'nova' and n not in NOVA_PUBLIC}
    assert not private, '%s imports %s' % (module, sorted(private))


@pytest.mark.parametrize('module', sorted(MODULES))
def test_imports_point_down(module):
    if layer(module) is None:
        return
    rank = RANK[layer(module)]
    upward = {n for n in ours(imported(MODULES[module]))
              if RANK[layer(n)] > rank}
    assert not upward, '%s (layer %s) imports %s' % (module, layer(module),
                                                     sorted(upward))


def test_no_module_imports_one_that_imports_it_back():
    graph = {m: ours(imported(p)) for m, p in MODULES.items()}
    cycles = []

    def visit(module, stack):
        for target in sorted(graph[module]):
            if target in stack:
                cycles.append(stack[stack.index(target):] + [target])
            elif target not in done:
                visit(target, stack + [target])
        done.add(module)
    done = set()
    for module in sorted(graph):
        if module not in done:
            visit(module, [module])
    assert not cycles, cycles


@pytest.mark.parametrize('module', sorted(MODULES))
def test_small_modules_that_say_their_job(module):
    source = MODULES[module].read_text()
    assert source.count('\n') <= MAX_LINES, '%s has %d lines' % (
        module, source.count('\n'))
    doc = ast.get_docstring(ast.parse(source))
    if MODULES[module].stat().st_size == 0:
        return  # an empty package marker
    assert doc, '%s has no docstring' % module
    assert doc.splitlines()[0].endswith('.'), doc.splitlines()[0]


def test_unit_tests_mirror_the_package_tree():
    subpackages = {p.name for p in ROOT.iterdir()
                   if (p / '__init__.py').exists()}
    folders = {p.name for p in UNIT.iterdir()
               if p.is_dir() and p.name != '__pycache__'}
    # repo/ tests the repository's other parts: devstack, sandbox, etc/.
    assert folders - {'repo'} <= subpackages, folders - subpackages
    strays = []
    for test in UNIT.rglob('test_*.py'):
        rel = test.relative_to(UNIT)
        if rel.parts[0] == 'repo' or str(rel) in WHOLE_PACKAGE_TESTS:
            continue
        module = ROOT.joinpath(*rel.parts[:-1], rel.name[len('test_'):])
        if not module.exists():
            strays.append(str(rel))
    assert not strays, 'tests named after no module: %s' % strays


def test_the_rules_see_every_layer():
    # Guards the test itself: it must have found real modules everywhere.
    layers = {layer(m) for m in MODULES}
    assert set(RANK) <= layers | {'conf', 'exceptions'}
    bindings = PACKAGE + '.ceph.bindings'
    assert os.path.basename(str(MODULES[bindings])) == 'bindings.py'
    assert {'rados', 'rbd'} <= imported(MODULES[bindings])
    assert bindings in imported(MODULES[PACKAGE + '.ceph.connection'])
