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
when both directions have ended.

With options instead, it is a TCP relay between two addresses that
makes the link worse, for the fault suite (test_fault_*.py):

    mig_relay.py --listen HOST:PORT --to HOST:PORT [--delay-ms N]
                 [--rate BYTES_PER_S] [--freeze-at RECORD_TYPE]

It prints "listening PORT" once it listens (PORT 0: any), then relays
each connection it accepts to a new connection to --to: every chunk
--delay-ms late, each direction at most --rate bytes per second, and
with --freeze-at it stops passing anything on either way when the
source's stream reaches a record of that type, and prints "frozen".
When either end closes, it closes the other."""

import argparse
import os
import queue
import selectors
import socket
import sys
import threading
import time

from migration_helpers import RECORD_HEADER, STREAM_HEADER, padded_body


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


class RecordFollower:
    """Follows the record headers of one direction of a channel as its
    bytes pass (protocol doc, "Records": the stream header, then 8-byte
    record headers whose length, checksum included, says where the next
    one starts)."""

    def __init__(self):
        self.done = 0                   # bytes fed so far
        self.next = len(STREAM_HEADER)  # offset of the next record header
        self.header = b''

    def feed(self, data):
        """Feeds @data; returns (offset, type, body length) of each
        record whose header it completes."""
        start, self.done = self.done, self.done + len(data)
        found = []
        while self.next < self.done:
            lo = self.next + len(self.header) - start
            self.header += data[lo:lo + RECORD_HEADER.size -
                                len(self.header)]
            if len(self.header) < RECORD_HEADER.size:
                break
            rtype, length = RECORD_HEADER.unpack(self.header)
            found.append((self.next, rtype, length))
            self.next += RECORD_HEADER.size + padded_body(length)
            self.header = b''
        return found


class Framing:
    """Finds a byte to corrupt in one direction of a channel."""

    RAM_PAGES = 0x10

    def __init__(self):
        self.records = RecordFollower()
        self.source = None      # whether this direction opens with HELLO
        self.pending = None     # the offset to flip, once known

    @property
    def done(self):
        return self.records.done

    def feed(self, data, after):
        """Feeds @data; returns the offset to flip if it lies in @data:
        the middle of the body of a RAM_PAGES record at or after
        @after, in the source's direction."""
        for off, rtype, length in self.records.feed(data):
            if self.source is None:
                # HELLO on the main channel, CHANNEL_HEADER on the others.
                self.source = rtype in (1, 4)
            if (self.pending is None and self.source and
                    rtype == self.RAM_PAGES and off >= after and
                    length > 64):
                self.pending = off + RECORD_HEADER.size + length // 2
        start = self.done - len(data)
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


# ---- The TCP relay ----

QUEUE_CHUNKS = 64                       # at most 4 MiB held per direction
CHUNK = 1 << 16


class RecordWatch:
    """Finds the first record of one type in a v2 stream."""

    def __init__(self, rtype):
        self.rtype = rtype
        self.records = RecordFollower()

    def feed(self, data):
        """How much of @data comes before the watched record, or None
        if it is not in @data."""
        start = self.records.done
        for off, rtype, _ in self.records.feed(data):
            if rtype == self.rtype:
                return max(off - start, 0)
        return None


class Link:
    """One relayed connection: a reader and a writer per direction, the
    chunks between them in a bounded queue (so a slow writer slows the
    sender down, as a slow link does)."""

    def __init__(self, client, server, opts, tap=None, replies_open=None):
        """@tap, if any, sees (and may change) each chunk from the
        client before it is passed on; @replies_open, if any, is an
        Event the server's chunks wait for before they are passed on."""
        self.socks = (client, server)
        self.opts = opts
        self.frozen = threading.Event()
        self.closed = threading.Event()
        watch = RecordWatch(opts.freeze_at) if opts.freeze_at else None
        for src, dst, w, t, gate in ((client, server, watch, tap, None),
                                     (server, client, None, None,
                                      replies_open)):
            q = queue.Queue(QUEUE_CHUNKS)
            threading.Thread(target=self._read, args=(src, q, w, t),
                             daemon=True).start()
            threading.Thread(target=self._write, args=(dst, q, gate),
                             daemon=True).start()

    def _read(self, sock, q, watch, tap):
        delay = self.opts.delay_ms / 1000
        try:
            while True:
                data = sock.recv(CHUNK)
                if self.frozen.is_set():
                    break
                if tap and data:
                    data = tap(data)
                cut = watch.feed(data) if watch else None
                if cut is not None:
                    if cut:
                        q.put((time.monotonic() + delay, data[:cut]))
                    q.put((0, None))    # the writer freezes here
                    break
                # b'' is the end of this direction, passed on as late as
                # the data before it.
                q.put((time.monotonic() + delay, data))
                if not data:
                    return
            # Frozen: nothing more is passed on.  An end that closes (a
            # peer killed) still closes the other, unless the link is
            # dead, which carries no FIN or RST either.
            while sock.recv(CHUNK):
                pass
            if self.opts.dead:
                return
        except OSError:
            pass
        self.close()

    def _write(self, sock, q, gate=None):
        rate = self.opts.rate
        step = CHUNK // 16 if rate else CHUNK   # smooth pacing: 4 KiB
        start, sent = time.monotonic(), 0
        try:
            while True:
                due, data = q.get()
                if gate:
                    gate.wait()
                if data is None:
                    self.frozen.set()
                    print('frozen', flush=True)
                    return
                time.sleep(max(0, due - time.monotonic()))
                if not data:
                    sock.shutdown(socket.SHUT_WR)
                    return
                for i in range(0, len(data), step):
                    piece = data[i:i + step]
                    if rate:
                        time.sleep(max(0, start + sent / rate -
                                       time.monotonic()))
                    if self.frozen.is_set():
                        return
                    sock.sendall(piece)
                    sent += len(piece)
        except OSError:
            self.close()

    def close(self):
        if not self.closed.is_set():
            self.closed.set()
            for s in self.socks:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class TcpRelay:
    """The same relay inside a test process: listens on 127.0.0.1 (its
    port: .port), joins each connection to @target_port there, and
    freeze() stops every link at once, keeping every socket open, as a
    link that died without a reset (test_migration_liveness.py)."""

    def __init__(self, target_port, delay_ms=0, rate=0, tap_for=None):
        """@tap_for(n), if given, returns the tap (see Link) of the n-th
        connection (from 0), or None."""
        self.tap_for = tap_for
        self.opts = argparse.Namespace(delay_ms=delay_ms, rate=rate,
                                       freeze_at=0, dead=True)
        self.target = ('127.0.0.1', target_port)
        self.srv = socket.create_server(('127.0.0.1', 0))
        self.port = self.srv.getsockname()[1]
        self.links = []
        self.frozen = False
        self.replies_open = threading.Event()
        self.replies_open.set()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.srv.accept()
                server = socket.create_connection(self.target)
            except OSError:
                return      # closed
            tap = self.tap_for(len(self.links)) if self.tap_for else None
            link = Link(client, server, self.opts, tap, self.replies_open)
            self.links.append(link)
            if self.frozen:
                link.frozen.set()

    def hold_replies(self):
        """From now on what the servers send waits in the relay (up to
        its queue's bound, then in the sockets) until release_replies();
        the clients' data passes as before."""
        self.replies_open.clear()

    def release_replies(self):
        self.replies_open.set()

    def freeze(self):
        """From now on nothing passes, and nothing is closed."""
        self.frozen = True
        for link in self.links:
            link.frozen.set()

    def close(self):
        self.srv.close()
        for link in self.links:
            link.close()


def split_addr(text):
    host, _, port = text.rpartition(':')
    return host, int(port)


def relay_main(argv):
    ap = argparse.ArgumentParser(prog='mig_relay.py')
    ap.add_argument('--listen', required=True, type=split_addr)
    ap.add_argument('--to', required=True, type=split_addr)
    ap.add_argument('--delay-ms', type=float, default=0)
    ap.add_argument('--rate', type=int, default=0)
    ap.add_argument('--freeze-at', type=lambda v: int(v, 0), default=0)
    opts = ap.parse_args(argv)
    opts.dead = False
    srv = socket.create_server(opts.listen)
    print('listening %d' % srv.getsockname()[1], flush=True)
    while True:
        client, _ = srv.accept()
        try:
            server = socket.create_connection(opts.to)
        except OSError:
            client.close()
            continue
        Link(client, server, opts)


if __name__ == '__main__':
    if len(sys.argv) > 1 and sys.argv[1].startswith('--'):
        relay_main(sys.argv[1:])
        sys.exit(0)
    try:
        main()
    except (BrokenPipeError, ConnectionResetError):
        sys.exit(1)
