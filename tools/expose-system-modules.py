#!/usr/bin/env python3
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

"""Expose only the distribution's rados, rbd and libvirt to a virtualenv.

The bindings are built by Debian for the system's CPython and are not on
PyPI in a usable form.  ``--system-site-packages`` would also expose
Debian's urllib3, pyOpenSSL and friends, which shadow the versions Nova
needs, so instead this links just the binding files into one folder and
puts that folder on the venv's path with a .pth file.

Usage: expose-system-modules.py VENV_PYTHON
"""

import os
import subprocess
import sys

SYSTEM_DIR = '/usr/lib/python3/dist-packages'
MODULES = ('rados', 'rbd', 'libvirt', 'libvirt_qemu', 'libvirtaio',
           'libvirtmod', 'libvirtmod_qemu')


def module_files():
    wanted = set(MODULES)
    for name in sorted(os.listdir(SYSTEM_DIR)):
        stem = name.split('.', 1)[0]
        if stem in wanted and (name.endswith('.py') or name.endswith('.so')):
            yield name


def main(python):
    site = subprocess.check_output(
        [python, '-c', 'import sysconfig; print(sysconfig.get_paths()'
         '["purelib"])'], text=True).strip()
    link_dir = os.path.join(os.path.dirname(os.path.dirname(site)),
                            'system-modules')
    os.makedirs(link_dir, exist_ok=True)
    found = set()
    for name in module_files():
        target = os.path.join(SYSTEM_DIR, name)
        link = os.path.join(link_dir, name)
        if os.path.realpath(link) != target:
            if os.path.lexists(link):
                os.unlink(link)
            os.symlink(target, link)
        found.add(name.split('.', 1)[0])
    missing = {'rados', 'rbd', 'libvirt'} - found
    if missing:
        sys.exit('missing in %s: %s (install python3-rados, python3-rbd, '
                 'python3-libvirt)' % (SYSTEM_DIR, ', '.join(sorted(missing))))
    pth = os.path.join(site, 'system-modules.pth')
    content = link_dir + '\n'
    if not os.path.exists(pth) or open(pth).read() != content:
        with open(pth, 'w') as f:
            f.write(content)


if __name__ == '__main__':
    main(sys.argv[1] if len(sys.argv) > 1 else sys.executable)
