#!/usr/bin/env python3
"""Lets two vmig processes migrate over exec: on both ends.

The test listens first, with a Rendezvous on a Unix socket PATH, and
then starts both ends, each running this file as its command:

    destination:  -incoming exec:python3 mig_relay.py PATH
    source:       migrate exec:python3 mig_relay.py PATH

Each command joins its standard input and output to a connection to
PATH, which is listening already: nobody waits for anybody to come up.
The Rendezvous joins the first two connections.  Each direction ends on
its own: end of input is passed on as a shutdown of the socket's sending
side, end of the socket's data as the end of the output; a command exits
when both directions have ended."""

import os
import selectors
import socket
import struct
import sys
import threading


class Rendezvous:
    """Listens on @path at once; joins the first two connections, byte
    for byte and half-close for half-close, each direction in a thread.
    With @flip, a corrupt link: in the source's direction (the one
    opening with HELLO), bit 0 of the middle byte of the first RAM_PAGES
    record's body at or after offset @flip is inverted."""

    def __init__(self, path, flip=None):
        self.flip = flip
        self.flipped_at = None
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(path)
        self.srv.listen(2)
        self.socks = []
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        try:
            a, _ = self.srv.accept()
            self.socks.append(a)
            b, _ = self.srv.accept()
            self.socks.append(b)
        except OSError:
            return      # closed before both came
        for src, dst in ((a, b), (b, a)):
            threading.Thread(target=self._pipe, args=(src, dst),
                             daemon=True).start()

    def _pipe(self, src, dst):
        framing = Framing() if self.flip is not None else None
        try:
            while True:
                data = src.recv(1 << 16)
                if not data:
                    break
                if framing:
                    target = framing.feed(data, self.flip)
                    if target is not None and self.flipped_at is None:
                        at = target - (framing.done - len(data))
                        data = bytearray(data)
                        data[at] ^= 1
                        data = bytes(data)
                        self.flipped_at = target
                dst.sendall(data)
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            # One end is gone: so is the link, both ways (else the
            # other end's writes would wait forever).
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.srv.close()
        for s in self.socks:
            s.close()


class Framing:
    """Follows the records of one direction of a channel as its bytes
    pass (stream header, then 8-byte record headers whose length,
    checksum included, says where the next one starts) to find a byte
    to corrupt."""

    RAM_PAGES = 0x10

    def __init__(self):
        self.done = 0           # bytes fed so far
        self.next = 16          # offset of the next record header
        self.header = b''
        self.source = None      # whether this direction opens with HELLO
        self.pending = None     # the offset to flip, once known

    def feed(self, data, after):
        """Feeds @data; returns the offset to flip if it lies in @data:
        the middle of the body of a RAM_PAGES record at or after
        @after, in the source's direction."""
        start, self.done = self.done, self.done + len(data)
        while self.next < self.done and self.pending is None:
            lo = self.next + len(self.header) - start
            self.header += data[lo:lo + 8 - len(self.header)]
            if len(self.header) < 8:
                break
            rtype, length = struct.unpack('>II', self.header)
            if self.source is None:
                # HELLO on the main channel, CHANNEL_HEADER on the others.
                self.source = rtype in (1, 4)
            if (self.source and rtype == self.RAM_PAGES and
                    self.next >= after and length > 64):
                self.pending = self.next + 8 + length // 2
            self.next += 8 + length + (-length % 8)
            self.header = b''
        if self.pending is not None and start <= self.pending < self.done:
            return self.pending
        return None


def end_output():
    """Tells the reader of our standard output that no more comes."""
    try:
        # stdin and stdout are one socket under vmig's exec: shutting it
        # down for writing is what the other end sees as end of stream.
        socket.socket(fileno=os.dup(1)).shutdown(socket.SHUT_WR)
    except OSError:
        os.close(1)


def main():
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(sys.argv[1])
    sel = selectors.DefaultSelector()
    sel.register(0, selectors.EVENT_READ, 'in')
    sel.register(sock, selectors.EVENT_READ, 'sock')
    open_dirs = 2
    while open_dirs:
        for key, _ in sel.select():
            if key.data == 'in':
                data = os.read(0, 1 << 16)
                if data:
                    sock.sendall(data)
                else:
                    sel.unregister(0)
                    sock.shutdown(socket.SHUT_WR)
                    open_dirs -= 1
            else:
                data = sock.recv(1 << 16)
                if data:
                    view = memoryview(data)
                    while view:
                        view = view[os.write(1, view):]
                else:
                    sel.unregister(sock)
                    end_output()
                    open_dirs -= 1
    sock.close()


if __name__ == '__main__':
    try:
        main()
    except (BrokenPipeError, ConnectionResetError):
        sys.exit(1)
