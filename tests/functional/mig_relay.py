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
