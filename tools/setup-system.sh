#!/usr/bin/env bash
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
#
# Install what this project needs on a Debian 12 machine, idempotently:
#   1. the Debian packages listed in bindep.txt (only the missing ones);
#   2. a virtualenv (default .venv) from the system's python3, with the
#      pinned Python packages and this project installed in it;
#   3. the distribution's rados, rbd and libvirt bindings exposed to it.
# A second run checks and changes nothing; it takes about a second.
#
# Environment: VENV (virtualenv folder), PYTHON (interpreter to build it
# from; default /usr/bin/python3, whose ABI matches the Debian bindings).

set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${VENV:-$top/.venv}
python=${PYTHON:-/usr/bin/python3}

say() { printf '[setup] %s\n' "$*"; }

# This machine's pip configuration may list package folders that do not
# exist; pip then warns once per package.  Drop only that warning.
pip_quiet() {
    "$venv/bin/pip" "$@" 2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2)
}

install_debian_packages() {
    local pkgs missing=()
    pkgs=$(sed -e 's/#.*//' -e 's/\[.*\]//' "$top/bindep.txt" | awk 'NF {print $1}')
    for pkg in $pkgs; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null \
                | grep -q 'install ok installed'; then
            missing+=("$pkg")
        fi
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        say "Debian packages: all $(wc -w <<<"$pkgs") present"
        return
    fi
    if [[ $(id -u) -ne 0 ]]; then
        say "missing Debian packages: ${missing[*]}"
        say "run this script as root, or: sudo apt-get install ${missing[*]}"
        exit 1
    fi
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
}

requirements_digest() {
    cat "$top/requirements.txt" "$top/test-requirements.txt" \
        "$top/constraints.txt" "$top/setup.cfg" | sha256sum | cut -d' ' -f1
    "$python" --version
}

build_venv() {
    local stamp=$venv/.requirements-digest digest
    digest=$(requirements_digest)
    if [[ -f $stamp && "$(cat "$stamp")" == "$digest" ]]; then
        say "virtualenv $venv: up to date"
    else
        if [[ ! -x $venv/bin/python ]]; then
            say "creating virtualenv $venv from $python"
            "$python" -m venv "$venv"
        fi
        say "installing pinned Python packages (a few minutes the first time)"
        pip_quiet install -q --upgrade pip setuptools wheel \
            -c "$top/constraints.txt"
        pip_quiet install -q -c "$top/constraints.txt" \
            -r "$top/requirements.txt" -r "$top/test-requirements.txt"
        pip_quiet install -q --no-deps --no-build-isolation -e "$top"
        echo "$digest" > "$stamp"
    fi
    "$venv/bin/python" "$top/tools/expose-system-modules.py" "$venv/bin/python"
    "$venv/bin/python" -c 'import rados, rbd, libvirt, nova' \
        || { say "the virtualenv cannot import rados/rbd/libvirt/nova"; exit 1; }
}

install_debian_packages
build_venv
say "ready: $venv"
