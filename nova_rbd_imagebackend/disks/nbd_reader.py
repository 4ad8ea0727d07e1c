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
"""A read-only NBD client: reads an export that qemu-nbd serves.

Just the parts of the protocol (fixed newstyle handshake, simple
replies) a sequential reader needs; qemu-nbd does the format work.
The NBD protocol: https://github.com/NetworkBlockDevice/nbd (doc/proto.md).
"""

import socket
import struct

NBDMAGIC = b'NBDMAGIC'
IHAVEOPT = 0x49484156454F5054
FLAG_FIXED_NEWSTYLE = 1
FLAG_NO_ZEROES = 2
OPT_EXPORT_NAME = 1
REQUEST_MAGIC = 0x25609513
REPLY_MAGIC = 0x67446698
CMD_READ = 0
CMD_DISC = 2
# qemu-nbd serves at most 32 MiB per request.
MAX_READ = 32 * 2 ** 20


class NbdError(Exception):
    """The NBD server broke the protocol or refused a read."""


class Export(object):
    """One connection to an NBD export, read sequentially or at will."""

    def __init__(self, path, timeout):
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(timeout)
        self._handle = 0
        try:
            self._sock.connect(path)
            self.size = self._handshake()
        except BaseException:
            self._sock.close()
            raise

    def _handshake(self):
        magic, opt, flags = struct.unpack('>8sQH', self._recv(18))
        if magic != NBDMAGIC or opt != IHAVEOPT or \
                not flags & FLAG_FIXED_NEWSTYLE:
            raise NbdError('not a fixed newstyle NBD server')
        no_zeroes = flags & FLAG_NO_ZEROES
        self._sock.sendall(struct.pack(
            '>I', FLAG_FIXED_NEWSTYLE | no_zeroes))
        self._sock.sendall(struct.pack('>QII', IHAVEOPT, OPT_EXPORT_NAME, 0))
        size, _flags = struct.unpack('>QH', self._recv(10))
        if not no_zeroes:
            self._recv(124)
        return size

    def read(self, offset, length):
        """``length`` bytes at ``offset`` (at most MAX_READ)."""
        self._handle += 1
        self._sock.sendall(struct.pack('>IHHQQI', REQUEST_MAGIC, 0, CMD_READ,
                                       self._handle, offset, length))
        magic, error, handle = struct.unpack('>IIQ', self._recv(16))
        if magic != REPLY_MAGIC or handle != self._handle:
            raise NbdError('unexpected reply from the NBD server')
        if error:
            raise NbdError('the NBD server failed to read %d bytes at %d '
                           '(error %d)' % (length, offset, error))
        return self._recv(length)

    def close(self):
        try:
            self._sock.sendall(struct.pack('>IHHQQI', REQUEST_MAGIC, 0,
                                           CMD_DISC, 0, 0, 0))
        except OSError:
            pass  # the server has gone already
        self._sock.close()

    def _recv(self, length):
        buf = bytearray(length)
        view, got = memoryview(buf), 0
        while got < length:
            n = self._sock.recv_into(view[got:])
            if not n:
                raise NbdError('the NBD server closed the connection')
            got += n
        return bytes(buf)
