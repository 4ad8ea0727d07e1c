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
"""The external commands Nova still runs on this plugin's paths.

Nova runs no ``ceph`` or ``rbd`` command on a host the plugin serves.
The plugin runs ``qemu-nbd`` (with QEMU's curl driver, which ``qemu-img
info`` probes first) to convert an image that is not raw as it comes
from Glance into the pool image cache.  Nova's own code still runs
these:

* ``qemu-img``: to inspect and convert an image that is not in the
  cluster after downloading it, and to create the file an ephemeral disk
  is formatted in;
* ``mkfs`` and ``mkfs.<fs>``: to format ephemeral disks (``<fs>`` is
  ``[DEFAULT] default_ephemeral_format``, ext4 when unset);
* ``[DEFAULT] mkisofs_cmd`` (genisoimage), or ``mkfs.vfat`` with
  ``config_drive_format = vfat``: to build config drives.
"""

import shutil

from nova_rbd_imagebackend.checks import results
from nova_rbd_imagebackend.disks import qemu_export

DEFAULT_EPHEMERAL_FS = 'ext4'


def _found(command):
    return shutil.which(command) is not None


def _missing_fix(command, package):
    return 'install %s (%s) so that nova-compute finds %s on its PATH' % (
        package, command, command)


def qemu_img(host):
    if _found('qemu-img'):
        return results.ok('command qemu-img', 'found (image download and '
                          'ephemeral disks)')
    return results.fail(
        'command qemu-img', 'qemu-img is not on the PATH: images that are '
        'not in the cluster and ephemeral disks cannot be created',
        _missing_fix('qemu-img', 'qemu-utils'))


def qemu_nbd(host):
    options = host.conf.rbd_imagebackend
    if not (options.pool_image_cache and
            options.convert_without_local_copy):
        return results.ok('command qemu-nbd', 'not used: images that are '
                          'not raw are converted in a staging folder')
    reason = qemu_export.unavailable()
    if reason is None:
        return results.ok('command qemu-nbd', 'found, with the curl driver '
                          '(images that are not raw, without a local copy)')
    return results.warn(
        'command qemu-nbd', '%s: images that are not raw are converted in '
        'a staging folder under the instances path, as large as the disk'
        % reason, 'install qemu-utils and qemu-block-extra')


def mkfs(host):
    fs = host.conf.default_ephemeral_format or DEFAULT_EPHEMERAL_FS
    missing = [c for c in ('mkfs', 'mkfs.%s' % fs) if not _found(c)]
    if not missing:
        return results.ok('command mkfs', 'found mkfs.%s (ephemeral disks)'
                          % fs)
    return results.warn(
        'command mkfs', '%s not on the PATH: flavors with an ephemeral '
        'disk fail on this host' % ' and '.join(missing),
        _missing_fix(missing[-1], 'the package of mkfs.%s' % fs))


def config_drive(host):
    conf = host.conf
    if conf.config_drive_format == 'vfat':
        command, package = 'mkfs.vfat', 'dosfstools'
    else:
        command, package = conf.mkisofs_cmd, 'genisoimage'
    if _found(command):
        return results.ok('command %s' % command, 'found (config drives)')
    detail = '%s is not on the PATH: servers with a config drive fail on ' \
        'this host' % command
    if conf.force_config_drive:
        return results.fail('command %s' % command,
                            detail + ', and force_config_drive is set',
                            _missing_fix(command, package))
    return results.warn('command %s' % command, detail,
                        _missing_fix(command, package))


COMMANDS = (qemu_img, qemu_nbd, mkfs, config_drive)
