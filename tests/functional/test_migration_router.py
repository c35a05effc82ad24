#!/usr/bin/env python3
"""Strangers on the destination's incoming port (protocol section 10):
a flood of silent connections, port scans, garbage and a listener out of
descriptors.  None of them costs a thread, holds a real source up or
fails a waiting migration, exit-on-error or not; the real migration
after (or amid) them completes with equal digests."""

import os
import re
import socket
import struct
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmig_harness  # noqa: E402
from migration_helpers import (BUSY, MAGIC, REC_HELLO,  # noqa: E402
                               STREAM_HEADER, MigrationTestCase, dst_vm,
                               info, listen_staying, listen_uri, record,
                               src_vm, wait_status)
from vmig_harness import stretched, wait_for  # noqa: E402

REC_NOP = 0x80000001
REC_CHANNEL_HEADER = 4


def address(uri):
    host, port = uri[len('tcp:'):].rsplit(':', 1)
    return host, int(port)


def proc_status(vm, field):
    with open('/proc/%d/status' % vm.proc.pid) as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise KeyError(field)


def open_fds(vm):
    return len(os.listdir('/proc/%d/fd' % vm.proc.pid))


class Flood:
    """Opens silent connections to @uri from a thread until stopped,
    keeping the last @keep open; samples the destination's threads and
    descriptors meanwhile."""

    def __init__(self, vm, uri, keep=50):
        self.vm = vm
        self.addr = address(uri)
        self.keep = keep
        self.opened = 0
        self.max_threads = 0
        self.max_fds = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run)

    def sample(self):
        self.max_threads = max(self.max_threads,
                               proc_status(self.vm, 'Threads'))
        self.max_fds = max(self.max_fds, open_fds(self.vm))

    def run(self):
        conns = []
        while not self.stop.is_set():
            try:
                conns.append(socket.create_connection(self.addr, timeout=5))
                self.opened += 1
            except OSError:
                pass
            while len(conns) > self.keep:
                conns.pop(0).close()
            if self.opened % 10 == 0:
                self.sample()
            # 500 a second in the normal build, slower in sanitizer builds
            # as their source is: the router keeps MIG_ROUTER_MAX_PENDING
            # connections (the newest silent ones), so a source must
            # speak before that many more come.
            time.sleep(stretched(0.002))
        for c in conns:
            c.close()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


PIDS_CGROUP = '/sys/fs/cgroup/pids'


class ThreadLimit:
    """Puts @vm in a pids cgroup (v1) of its own, whose limit set_max()
    sets in threads; unittest.SkipTest where the host has none."""

    def __init__(self, vm):
        self.vm = vm
        self.path = os.path.join(PIDS_CGROUP, 'vmig-test-%d' % os.getpid())

    def __enter__(self):
        try:
            os.mkdir(self.path)
            self.write('cgroup.procs', self.vm.proc.pid)
        except OSError as e:
            self.remove()
            raise unittest.SkipTest('no pids cgroup to limit threads '
                                    'with: %s' % e)
        return self

    def write(self, name, value, base=None):
        with open(os.path.join(base or self.path, name), 'w') as f:
            f.write('%s\n' % value)

    def current(self):
        with open(os.path.join(self.path, 'pids.current')) as f:
            return int(f.read())

    def set_max(self, n):
        self.write('pids.max', n)

    def remove(self):
        if os.path.isdir(self.path):
            if self.vm.proc.poll() is None:
                self.write('cgroup.procs', self.vm.proc.pid, PIDS_CGROUP)
            os.rmdir(self.path)

    def __exit__(self, *exc):
        self.remove()


class StrangerTest(MigrationTestCase):

    def dst_alive_and_waiting(self, dst):
        """exit-on-error is on: a failure would have ended the process."""
        self.assertIsNone(dst.proc.poll())
        self.assertNotIn('incoming migration failed', dst.stderr_text())
        self.assertNotIn(info(dst).get('status'), ('failed', 'completed'))

    def still_migrates(self, src, dst, uri):
        """The strangers failed nothing: @dst waits on, and @src migrates
        to it."""
        self.dst_alive_and_waiting(dst)
        result = self.migrate(src, uri)
        self.assert_completed(src, dst, result)
        self.assert_no_crash(src, dst)

    def test_flood_during_multifd(self):
        # 200 silent connections before the source comes, more all along
        # its multifd migration: the router keeps MIG_ROUTER_MAX_PENDING
        # of them (router.h), reads them from its main loop, and serves
        # the real channels at once.
        with dst_vm(incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*BUSY) as src:
            uri = listen_uri(dst)
            threads_before = proc_status(dst, 'Threads')
            fds_before = open_fds(dst)
            with Flood(dst, uri) as flood:
                wait_for(lambda: flood.opened >= 200,
                         what='200 silent connections')
                flood.sample()
                self.dst_alive_and_waiting(dst)
                result = self.migrate(src, uri, config={
                    'multifd': True, 'multifd-channels': 4})
                flood.sample()
            self.assert_completed(src, dst, result)
            # The incoming thread and four channel receivers at most:
            # no thread per stranger.
            self.assertLessEqual(flood.max_threads, threads_before + 5,
                                 'threads grew with the strangers')
            # The cap, as the router's warnings say it.
            cap = re.search(r'(\d+) newer connections are waiting for '
                            r'their first record', dst.stderr_text())
            self.assertTrue(cap, 'no stranger was closed for the cap')
            # That many strangers, the main and four channel
            # connections, a wake-up eventfd each, and some room for a
            # connection being accepted or closed: not hundreds.
            self.assertLessEqual(flood.max_fds,
                                 fds_before + 2 * (int(cap[1]) + 5) + 10,
                                 'descriptors grew with the strangers')
            self.assert_no_crash(src, dst)

    def test_strangers_do_not_fail_exit_on_error(self):
        # exit-on-error is the default: none of these ends the process.
        with dst_vm(incoming='tcp:127.0.0.1:0,accept-timeout=300') as dst, \
                src_vm(*BUSY) as src:
            uri = listen_uri(dst)
            cases = [
                (b'', 'it closed without sending anything'),    # port scan
                (b'GET / HTTP/1.0\r\n\r\n', 'bad magic 47 45 54 20'),
                (STREAM_HEADER + record(REC_NOP, b''),
                 'its first record is NOP, not HELLO or CHANNEL_HEADER'),
                # A HELLO that stops: 48 of its 112 bytes.
                (STREAM_HEADER + struct.pack('>II', REC_HELLO, 100) +
                 b'\0' * 40, 'EOF after 48 of 112 bytes of a HELLO record'),
                (STREAM_HEADER + record(REC_CHANNEL_HEADER, b'\1' * 16 +
                                        struct.pack('>II', 1, 0)),
                 'extra channel of an unknown session'),
            ]
            for data, why in cases:
                with self.subTest(why=why):
                    conn = socket.create_connection(address(uri))
                    conn.sendall(data)
                    conn.close()
                    wait_for(lambda: why in dst.stderr_text(),
                             what='the warning "%s"' % why)
            # Silence, and a stream header that stops: accept-timeout.
            silent = socket.create_connection(address(uri))
            partial = socket.create_connection(address(uri))
            partial.sendall(MAGIC[:3])
            for why in ('no data within 300 ms',
                        'no whole stream header within 300 ms (3 bytes '
                        'arrived)'):
                wait_for(lambda: why in dst.stderr_text(),
                         what='the warning "%s"' % why)
            silent.close()
            partial.close()
            self.still_migrates(src, dst, uri)

    def test_silent_stranger_does_not_hold_a_source_up(self):
        # A stranger that stays silent for all of accept-timeout (a
        # minute here) is no reason to make a source wait.
        with dst_vm(incoming='tcp:127.0.0.1:0,accept-timeout=60000') as dst, \
                src_vm(*BUSY) as src:
            uri = listen_uri(dst)
            stranger = socket.create_connection(address(uri))
            stranger.sendall(MAGIC[:1])
            result = self.migrate(src, uri, timeout=stretched(30))
            self.assert_completed(src, dst, result)
            stranger.close()
            self.assert_no_crash(src, dst)

    def test_listener_backs_off_at_emfile(self):
        # As the QMP listener's test (test_qmp_protocol.py): out of
        # descriptors, the migration listener retries every
        # SOCKET_ACCEPT_BACKOFF_MS instead of spinning, and once
        # descriptors are free again, a source is served.
        with dst_vm(incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*BUSY) as src:
            uri = listen_uri(dst)
            clients = []
            with vmig_harness.out_of_descriptors(dst):
                for _ in range(3):
                    clients.append(socket.create_connection(address(uri)))
                vmig_harness.assert_backs_off_at_emfile(self, dst)
            for c in clients:
                c.close()
            self.still_migrates(src, dst, uri)


class ResourceTest(MigrationTestCase):

    def test_no_thread_is_an_error_not_an_abort(self):
        # Out of threads, the destination fails the migration and says
        # why in query-migrate; vmig goes on, and once threads can be had
        # again the migration completes.
        cfg = {'multifd': True, 'multifd-channels': 2}
        with dst_vm(incoming='defer') as dst, src_vm(*BUSY) as src:
            uri = listen_staying(dst)
            with ThreadLimit(dst) as limit:
                for spare, why in (
                        (0, 'Cannot serve the incoming migration'),
                        (1, 'Cannot start the receiver of multifd '
                            'channel')):
                    with self.subTest(spare=spare):
                        limit.set_max(limit.current() + spare)
                        result = self.migrate(src, uri, config=cfg)
                        self.assertEqual(result['status'], 'failed')
                        dinfo = wait_status(dst, 'failed')
                        self.assertIn(why, dinfo['error-desc'])
                        self.assertIsNone(dst.proc.poll())
                        self.assert_source_runs(src)
                limit.set_max('max')
                result = self.migrate(src, uri, config=cfg)
            self.assert_completed(src, dst, result)
            self.assert_no_crash(src, dst)

    def test_source_out_of_threads(self):
        # A source that cannot start one of the migration's threads (the
        # connect, the migration, the return path, a multifd channel's)
        # fails the migration with the reason; its guest runs on, and
        # once threads can be had again the migration completes.
        cfg = {'multifd': True, 'multifd-channels': 2}
        with src_vm(*BUSY) as src, ThreadLimit(src) as limit:
            idle = limit.current()
            # The connect thread may or may not have ended when the
            # migration thread starts: one spare thread reaches either.
            for spare, why in (
                    (0, 'Cannot start a thread to connect'),
                    (1, "Cannot start (the migration thread|the return "
                        "path's thread)"),
                    (2, "Cannot start (the return path's thread|the "
                        "thread of multifd channel)")):
                with self.subTest(spare=spare), \
                        dst_vm(incoming='tcp:127.0.0.1:0') as dst:
                    # The last attempt's threads are gone.
                    wait_for(lambda: limit.current() == idle,
                             what='the source back to %d threads' % idle)
                    limit.set_max(idle + spare)
                    result = self.migrate(src, listen_uri(dst), config=cfg)
                    limit.set_max('max')
                    self.assertEqual(result['status'], 'failed')
                    self.assertRegex(result['error-desc'], why)
                    self.assertIsNone(src.proc.poll())
                    self.assert_source_runs(src)
            with dst_vm(incoming='tcp:127.0.0.1:0') as dst:
                result = self.migrate(src, listen_uri(dst), config=cfg)
                self.assert_completed(src, dst, result)
                self.assert_no_crash(src, dst)

    def test_mapped_ram_loads_without_threads(self):
        # The source chose four loader threads; a destination that can
        # start none loads every part in its incoming thread.
        with src_vm(*BUSY) as src:
            path = os.path.join(src.tmpdir, 'state')
            result = self.migrate(src, 'file:' + path, config={
                'mapped-ram': True, 'multifd': True, 'multifd-channels': 4})
            self.assertEqual(result['status'], 'completed', result)
            with dst_vm(incoming='defer') as dst, ThreadLimit(dst) as limit:
                limit.set_max(limit.current() + 1)
                dst.cmd('migrate-incoming', uri='file:' + path)
                self.assert_completed(src, dst, result)
                self.assert_no_crash(src, dst)


if __name__ == '__main__':
    vmig_harness.main()
