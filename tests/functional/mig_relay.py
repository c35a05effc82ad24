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

TcpRelay stands between a source and a destination on TCP instead, for
every connection of a migration (main and multifd), and can freeze the
link: it stops forwarding both ways but keeps every socket open, so each
end's kernel still acknowledges what it sends (keepalive probes too)
while nothing gets through, as on a link that died without a reset."""

import os
import selectors
import socket
import sys
import threading


class Rendezvous:
    """Listens on @path at once; joins the first two connections, byte
    for byte and half-close for half-close, each direction in a thread."""

    def __init__(self, path):
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

    @staticmethod
    def _pipe(src, dst):
        try:
            while True:
                data = src.recv(1 << 16)
                if not data:
                    break
                dst.sendall(data)
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self):
        self.srv.close()
        for s in self.socks:
            s.close()


class TcpRelay:
    """Listens on 127.0.0.1 (its port: .port) and joins each connection
    to @target_port there, until freeze()."""

    def __init__(self, target_port):
        self.target = ('127.0.0.1', target_port)
        self.srv = socket.socket()
        self.srv.bind(('127.0.0.1', 0))
        self.srv.listen(16)
        self.port = self.srv.getsockname()[1]
        self.frozen = threading.Event()
        self.socks = []
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                a, _ = self.srv.accept()
                b = socket.create_connection(self.target)
            except OSError:
                return      # closed
            self.socks += [a, b]
            for src, dst in ((a, b), (b, a)):
                threading.Thread(target=self._pipe, args=(src, dst),
                                 daemon=True).start()

    def _pipe(self, src, dst):
        sel = selectors.DefaultSelector()
        sel.register(src, selectors.EVENT_READ)
        try:
            while not self.frozen.is_set():
                if not sel.select(0.05):
                    continue
                data = src.recv(1 << 16)
                # Frozen meanwhile: what was read goes nowhere.
                if not data or self.frozen.is_set():
                    break
                dst.sendall(data)
            if not self.frozen.is_set():
                dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def freeze(self):
        """From now on nothing passes, and nothing is closed."""
        self.frozen.set()

    def close(self):
        self.srv.close()
        for s in self.socks:
            s.close()


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
