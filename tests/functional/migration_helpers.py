"""Helpers of the migration tests: a source and a destination vmig, the
end of a migration, the proof that both hold the same state, and the v2
stream's records for tests that play a peer by hand (the format is
docs/devel/migration-protocol.md).

The proof of a migration is x-query-vm-digest: the source is stopped
(postmigrate) once the migration completed, and destinations run no
workload (or are paused with -S), so both digests are stable.
"""

import contextlib
import json
import os
import re
import socket
import struct
import threading
import unittest

from vmig_harness import TIMEOUT, Vmig, stretched, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
RELAY = os.path.join(HERE, 'mig_relay.py')

# The liveness-timeout (s) of tests that break links on purpose: short,
# so they end soon, but stretched in sanitizer builds, where a loaded
# machine delays a PONG by seconds and would trip 2 s by accident.
LIVENESS = max(2, round(stretched(2)))

# A guest that writes memory all the time, rewriting many pages per pass.
BUSY = ['-workload', 'rate=32M,pattern=random,content=text,seed=3']
FINAL = ('completed', 'failed', 'cancelled')

MAGIC = b'\x89VMIG\r\n\x1a'
STREAM_HEADER = MAGIC + struct.pack('>II', 2, 0)
REC_HELLO, REC_ACCEPT, REC_REJECT = 1, 2, 3
REC_DEVICE_STATE = 0x11
REC_POSTCOPY_RUN = 0x15
REC_END, REC_ONE_WAY, REC_SHUTDOWN, REC_ERROR = 0x13, 0x17, 0x24, 0x25
HELLO_REPLY_OPTIONAL = 1 << 16
RECORD_HEADER = struct.Struct('>II')    # type, body length


def src_vm(*args, name='src', mem='32M', **kw):
    return Vmig(name=name, args=['-m', mem] + list(args), **kw)


def dst_vm(*args, name='dst', mem='32M', incoming=None, **kw):
    extra = ['-incoming', incoming] if incoming else []
    return Vmig(name=name, args=['-m', mem] + extra + list(args), **kw)


@contextlib.contextmanager
def environment(**values):
    """Sets environment variables for the vmig processes launched
    inside."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def launched(vm, **env):
    """Launches @vm with the environment variables @env set."""
    with environment(**env):
        return vm.launch()


def info(vm):
    return vm.cmd('query-migrate')


def wait_status(vm, statuses, timeout=TIMEOUT):
    """Waits until query-migrate's status is one of @statuses; returns
    the whole query-migrate reply."""
    if isinstance(statuses, str):
        statuses = (statuses,)

    def check():
        i = info(vm)
        return i if i.get('status') in statuses else None
    return wait_for(check, timeout=timeout,
                    what='migration status in %s' % (statuses,))


def listen_uri(vm):
    """The URI a source migrates to for a destination listening on
    tcp:...:0 or unix:, from query-migrate's socket-address."""
    addr = wait_for(lambda: info(vm).get('socket-address'),
                    what='socket-address')[0]
    if addr['type'] == 'unix':
        return 'unix:' + addr['path']
    host = addr['host']
    if ':' in host:
        host = '[%s]' % host
    return 'tcp:%s:%s' % (host, addr['port'])


def port_of(uri):
    """The port of a tcp: URI."""
    return int(uri.rsplit(':', 1)[1])


def listen_staying(vm):
    """Starts @vm's (-incoming defer) listener on a free loopback port,
    staying after a failed attempt for the next one (exit-on-error off);
    returns the URI a source migrates to."""
    vm.cmd('migrate-incoming', uri='tcp:127.0.0.1:0', exit_on_error=False)
    return listen_uri(vm)


def digest(vm):
    return vm.cmd('x-query-vm-digest')


def rss_anon_kib(vm):
    """The anonymous memory @vm's process holds, in KiB."""
    with open('/proc/%d/status' % vm.proc.pid) as f:
        for line in f:
            if line.startswith('RssAnon:'):
                return int(line.split()[1])
    raise AssertionError('no RssAnon in /proc/PID/status')


def free_tcp_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def have_ipv6():
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(('::1', 0))
        return True
    except OSError:
        return False


def have_zero_copy():
    """Whether TCP sockets take SO_ZEROCOPY here (vmig's own probe)."""
    so_zerocopy = getattr(socket, 'SO_ZEROCOPY', 60)    # Linux's value
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, so_zerocopy, 1)
        return True
    except OSError:
        return False


def warm_up(vm, writes=4096):
    """Lets a guest with a workload fill some memory first, so that there
    is more than zero pages to migrate."""
    if (vm.cmd('x-query-workload')['rate'] > 0 and
            vm.cmd('query-status')['status'] == 'running'):
        wait_for(lambda: vm.cmd('x-query-workload')['writes'] >= writes,
                 what='%d guest writes' % writes)


class Trace:
    """What a vmig reports for tests (VMIG_TEST_TRACE_FD), read from a
    pipe as it comes: relays wait for the destination's events rather
    than sleep, and tests check what the destination did."""

    def __init__(self):
        self.lines = []
        self.cond = threading.Condition()
        self.r, self.w = os.pipe()
        threading.Thread(target=self._read, daemon=True).start()

    def launched(self, vm):
        """Launches @vm writing into this trace."""
        vm.pass_fds += (self.w,)
        try:
            with environment(VMIG_TEST_TRACE_FD=str(self.w)):
                vm.launch()
        finally:
            os.close(self.w)    # vmig's copy only: its exit ends the pipe
        return vm

    def _read(self):
        with os.fdopen(self.r, 'rb') as f:
            for line in f:
                with self.cond:
                    self.lines.append(line.decode().rstrip('\n'))
                    self.cond.notify_all()

    def wait(self, predicate, what):
        """Waits until predicate(lines so far) holds."""
        with self.cond:
            if not self.cond.wait_for(lambda: predicate(self.lines),
                                      TIMEOUT):
                raise TimeoutError('timed out after %ss waiting for %s; '
                                   'trace: %s' % (TIMEOUT, what, self.lines))

    def bound(self):
        """The multifd channels the destination bound, in order."""
        with self.cond:
            return [int(m.group(1)) for m in
                    (re.fullmatch(r'multifd channel (\d+) bound', line)
                     for line in self.lines) if m]


class MigrationTestCase(unittest.TestCase):
    """Assertions shared by the migration tests."""

    def migrate(self, src, uri=None, timeout=TIMEOUT, **args):
        """Migrates @src to @uri (after warm_up()) and waits for the end;
        returns the source's last query-migrate."""
        if uri is not None:
            args['uri'] = uri
        warm_up(src)
        self.assertEqual(src.cmd('migrate', **args), {})
        return wait_status(src, FINAL, timeout)

    def assert_completed(self, src, dst, result, dst_state='running'):
        """@result (the source's final query-migrate) says completed, the
        source is postmigrate, the destination completed and in
        @dst_state, and both hold the same RAM and devices."""
        self.assertEqual(result['status'], 'completed', result)
        self.assertEqual(src.cmd('query-status')['status'], 'postmigrate')
        dinfo = wait_status(dst, FINAL)
        self.assertEqual(dinfo['status'], 'completed', dinfo)
        wait_for(lambda: dst.cmd('query-status')['status'] == dst_state,
                 what='destination %s' % dst_state)
        self.assertEqual(digest(src), digest(dst))

    def assert_source_runs(self, src):
        """The source guest runs (and writes) again after a failure."""
        self.assertEqual(src.cmd('query-status')['status'], 'running')
        before = src.cmd('x-query-workload')['writes']
        wait_for(lambda: src.cmd('x-query-workload')['writes'] > before,
                 what='the source guest writing again')

    def assert_no_crash(self, *vms):
        for vm in vms:
            log = vm.stderr_text()
            self.assertNotIn('Sanitizer', log)
            self.assertNotIn('runtime error', log)
            self.assertNotIn('Assertion', log)


# ---- The stream by hand ----

def pad8(b):
    return b + b'\0' * (-len(b) % 8)


def padded_body(length):
    """The bytes a record body of @length takes in the stream."""
    return length + (-length % 8)


def record(rtype, body):
    return pad8(RECORD_HEADER.pack(rtype, len(body)) + body)


def put_str(s):
    b = s.encode()
    return struct.pack('>H', len(b)) + b


def put_blob(b):
    return struct.pack('>I', len(b)) + b


def hello_body(min_v=2, max_v=2, flags=0, config=None, blocks=(),
               devices=(), session=b'\x42' * 16, uuid=b'\0' * 16):
    """A HELLO body: @blocks are (id, size, page size), @devices (id,
    version, min version)."""
    body = struct.pack('>III', min_v, max_v, flags) + session + uuid
    body += put_str('test-peer')
    body += put_blob(json.dumps(config or {}).encode())
    body += struct.pack('>I', len(blocks))
    for bid, size, psize in blocks:
        body += put_str(bid) + struct.pack('>QQ', size, psize)
    body += struct.pack('>I', len(devices))
    for did, ver, minv in devices:
        body += put_str(did) + struct.pack('>II', ver, minv)
    return body


def parse_hello(body):
    """(session id, config JSON bytes) of a HELLO body."""
    session = body[12:28]
    pos = 44
    (n,) = struct.unpack_from('>H', body, pos)
    pos += 2 + n
    (n,) = struct.unpack_from('>I', body, pos)
    return session, body[pos + 4:pos + 4 + n]


def accept_body(session, config_json, version=2):
    return (struct.pack('>II', version, 0) + session + put_str('test-peer') +
            put_blob(config_json) + struct.pack('>I', 0))


def parse_reject(body):
    """(class, option, message) of a REJECT or ERROR body."""
    pos = 8
    out = []
    for _ in range(3):
        (n,) = struct.unpack_from('>H', body, pos)
        out.append(body[pos + 2:pos + 2 + n].decode())
        pos += 2 + n
    return tuple(out)


class StreamReader:
    """Reads the v2 stream from a socket, with a timeout on each read."""

    def __init__(self, sock, timeout=TIMEOUT):
        self.sock = sock
        self.sock.settimeout(timeout)
        self.buf = b''

    def _need(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise EOFError('stream ended after %d bytes' % len(self.buf))
            self.buf += chunk

    def header(self):
        self._need(16)
        head, self.buf = self.buf[:16], self.buf[16:]
        return head

    def record(self):
        self._need(RECORD_HEADER.size)
        rtype, length = RECORD_HEADER.unpack_from(self.buf)
        size = RECORD_HEADER.size + padded_body(length)
        self._need(size)
        body = self.buf[8:8 + length]
        self.buf = self.buf[size:]
        return rtype, body
