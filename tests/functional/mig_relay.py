#!/usr/bin/env python3
"""Joins this process's standard input and output to a Unix socket, so
that two vmig processes can migrate over exec: on both ends:

    source:       migrate exec:python3 mig_relay.py connect PATH
    destination:  -incoming exec:python3 mig_relay.py listen PATH

Each direction ends on its own: end of input is passed on as a shutdown
of the socket's sending side, end of the socket's data as the end of the
output.  The relay exits when both directions have ended."""

import os
import selectors
import socket
import sys
import time

CONNECT_TIMEOUT = 20.0


def open_socket(mode, path):
    if mode == 'listen':
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if os.path.exists(path):
            os.unlink(path)
        srv.bind(path)
        srv.listen(1)
        conn, _ = srv.accept()
        srv.close()
        os.unlink(path)
        return conn
    deadline = time.monotonic() + CONNECT_TIMEOUT
    while True:  # the listening relay may not be up yet
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            return s
        except (FileNotFoundError, ConnectionRefusedError):
            s.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def end_output():
    """Tells the reader of our standard output that no more comes."""
    try:
        # stdin and stdout are one socket under vmig's exec: shutting it
        # down for writing is what the other end sees as end of stream.
        socket.socket(fileno=os.dup(1)).shutdown(socket.SHUT_WR)
    except OSError:
        os.close(1)


def main():
    mode, path = sys.argv[1], sys.argv[2]
    sock = open_socket(mode, path)
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
