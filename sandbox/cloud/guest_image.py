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

"""A real, tiny guest built from Debian packages and cached.

A raw disk (64 MiB, MBR with one FAT partition booted by syslinux) that
holds a Debian cloud kernel (``apt-get download`` + ``dpkg-deb -x``, not
installed) and a busybox initramfs with the virtio modules.  Its init
reads a marker at a fixed offset of its root disk (``/dev/vda``), prints
what it found on the serial console, writes a new one (same id, boot
count plus one), then prints the marker it reads back from the disk
every few seconds, so a guest that keeps running (after a live
migration, say) keeps showing its disk on the console.

A bootable disk rather than a kernel image plus ramdisk in Glance: Nova
checks a downloaded kernel like a disk image and refuses a Debian
vmlinuz before a live migration ("failed safety check: mbr").

The image is built once per kernel version and script, in a cache folder
outside any cloud folder (``$NOVA_RBD_GUEST_CACHE``, default
/var/tmp/nova-rbd-guest), and reused by later cloud starts.
"""

import hashlib
import os
import shutil
import struct
import subprocess
import tempfile

from sandbox import procs
from sandbox import SandboxError

KERNEL_META = 'linux-image-cloud-amd64'
DISK_MIB = 64
PART_START = 2048                      # sectors
PART_SECTORS = 48 * 2048               # 48 MiB
MARKER_SECTOR = 60 * 2048              # 60 MiB into the disk
MARKER_PREFIX = 'NOVA-RBD-MARKER'
MODULES = ('virtio', 'virtio_ring', 'virtio_pci_legacy_dev',
           'virtio_pci_modern_dev', 'virtio_pci', 'virtio_blk')
CMDLINE = 'console=ttyS0 panic=-1 quiet'

INIT = r"""#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /sbin /usr/bin /usr/sbin /tmp
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for pass in 1 2 3; do
    for m in /lib/modules/*.ko; do insmod "$m" 2>/dev/null; done
done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done
read_marker() {
    echo 3 > /proc/sys/vm/drop_caches
    dd if=/dev/vda bs=512 skip=@SECTOR@ count=1 2>/dev/null \
        | tr -d '\000' | head -n 1
}
old=$(read_marker)
case "$old" in
    @PREFIX@*)
        echo "GUEST: found marker: $old"
        id=$(echo "$old" | sed -n 's/.* id=\([^ ]*\).*/\1/p')
        n=$(echo "$old" | sed -n 's/.* boot=\([0-9]*\).*/\1/p')
        n=$((n + 1));;
    *)
        echo "GUEST: no marker on disk"
        id=$(cat /proc/sys/kernel/random/uuid)
        n=1;;
esac
new="@PREFIX@ id=$id boot=$n"
printf '%s\n' "$new" | dd of=/dev/vda bs=512 seek=@SECTOR@ count=1 \
    conv=sync,notrunc 2>/dev/null
sync
echo "GUEST: wrote marker: $new"
while true; do
    sleep 5
    echo "GUEST: marker on disk: $(read_marker)"
done
"""

SYSLINUX_CFG = """DEFAULT guest
PROMPT 0
TIMEOUT 0
LABEL guest
  KERNEL vmlinuz
  APPEND initrd=initrd.gz %s
""" % CMDLINE


def cache_dir():
    return os.environ.get('NOVA_RBD_GUEST_CACHE', '/var/tmp/nova-rbd-guest')


def _init_script():
    return (INIT.replace('@SECTOR@', str(MARKER_SECTOR))
            .replace('@PREFIX@', MARKER_PREFIX))


def _kernel_package():
    out = procs.run(['apt-cache', 'depends', KERNEL_META])
    for line in out.splitlines():
        line = line.strip()
        if line.startswith('Depends:') and 'linux-image-' in line:
            return line.split(':', 1)[1].strip()
    raise SandboxError('no kernel package behind %s; run apt-get update'
                       % KERNEL_META)


def image(log=None):
    """Path of the cached raw disk; build it first if it is missing."""
    package = _kernel_package()
    key = hashlib.sha256((package + _init_script() + SYSLINUX_CFG).encode()
                         ).hexdigest()[:12]
    target = os.path.join(cache_dir(), '%s-%s.raw' % (package, key))
    if os.path.exists(target):
        return target
    os.makedirs(cache_dir(), exist_ok=True)
    if log:
        log('building the guest image from %s (cached in %s)'
            % (package, cache_dir()))
    work = tempfile.mkdtemp(prefix='build-', dir=cache_dir())
    try:
        _build(package, work, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def _build(package, work, target):
    debs = os.path.join(cache_dir(), 'debs')
    os.makedirs(debs, exist_ok=True)
    # _apt must be able to write where it downloads.
    os.chmod(debs, 0o777)
    if not any(n.startswith(package + '_') for n in os.listdir(debs)):
        subprocess.run(['apt-get', 'download', '-q', package], cwd=debs,
                       check=True, stdout=subprocess.DEVNULL)
    deb = [n for n in os.listdir(debs) if n.startswith(package + '_')][0]
    tree = os.path.join(work, 'kernel')
    procs.run(['dpkg-deb', '-x', os.path.join(debs, deb), tree],
              timeout=300)
    version = package[len('linux-image-'):]
    vmlinuz = os.path.join(tree, 'boot', 'vmlinuz-' + version)

    root = os.path.join(work, 'initramfs')
    for sub in ('bin', 'lib/modules', 'dev', 'proc', 'sys'):
        os.makedirs(os.path.join(root, sub))
    # busybox-static's /bin/busybox: the initramfs has no libc.
    busybox = '/bin/busybox'
    shutil.copy(busybox, os.path.join(root, 'bin', 'busybox'))
    moddir = os.path.join(tree, 'lib', 'modules', version, 'kernel')
    for dirpath, _dirs, files in os.walk(moddir):
        for name in files:
            if name[:-3] in MODULES and name.endswith('.ko'):
                shutil.copy(os.path.join(dirpath, name),
                            os.path.join(root, 'lib', 'modules', name))
    init = os.path.join(root, 'init')
    with open(init, 'w') as f:
        f.write(_init_script())
    os.chmod(init, 0o755)
    initrd = os.path.join(work, 'initrd.gz')
    subprocess.run('find . | cpio -o -H newc --quiet | gzip -9 > %s'
                   % initrd, shell=True, cwd=root, check=True)

    part = os.path.join(work, 'part.img')
    with open(part, 'wb') as f:
        f.truncate(PART_SECTORS * 512)
    procs.run(['mkfs.vfat', '-h', str(PART_START), '-n', 'GUEST', part])
    procs.run(['syslinux', '--install', part])
    cfg = os.path.join(work, 'syslinux.cfg')
    with open(cfg, 'w') as f:
        f.write(SYSLINUX_CFG)
    env = dict(os.environ, MTOOLS_SKIP_CHECK='1')
    procs.run(['mcopy', '-i', part, vmlinuz, '::vmlinuz'], env=env)
    procs.run(['mcopy', '-i', part, initrd, '::initrd.gz'], env=env)
    procs.run(['mcopy', '-i', part, cfg, '::syslinux.cfg'], env=env)

    disk = os.path.join(work, 'disk.raw')
    with open(disk, 'wb') as f:
        f.truncate(DISK_MIB * 1024 * 1024)
    with open('/usr/lib/syslinux/mbr/mbr.bin', 'rb') as f:
        mbr = f.read()[:440].ljust(446, b'\0')
    # One bootable FAT32-LBA (0x0c) partition; CHS fields say "use LBA".
    mbr += struct.pack('<B3sB3sII', 0x80, b'\xfe\xff\xff', 0x0c,
                       b'\xfe\xff\xff', PART_START, PART_SECTORS)
    mbr = mbr.ljust(510, b'\0') + b'\x55\xaa'
    with open(disk, 'r+b') as out, open(part, 'rb') as inp:
        out.write(mbr)
        out.seek(PART_START * 512)
        shutil.copyfileobj(inp, out, 1024 * 1024)
    os.rename(disk, target)
