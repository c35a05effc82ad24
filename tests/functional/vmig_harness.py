"""Functional test harness: start vmig processes and talk QMP/HMP to them.

Tests are plain unittest.TestCase classes; vmig_harness.main() runs the
module's tests and prints TAP so meson counts every test case.

    with Vmig(args=['-m', '64M']) as vm:
        vm.cmd('stop')
        self.assertEqual(vm.cmd('query-status')['status'], 'paused')

Environment: VMIG_BINARY (path of the built vmig), VMIG_CTL (vmig-ctl),
VMIG_TEST_TIMEOUT (seconds for one wait, default 20).
"""

import contextlib
import json
import os
import resource
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import unittest

VMIG = os.environ.get('VMIG_BINARY', os.path.join(os.getcwd(), 'vmig'))
VMIG_CTL = os.environ.get('VMIG_CTL', os.path.join(os.getcwd(), 'vmig-ctl'))
TIMEOUT = float(os.environ.get('VMIG_TEST_TIMEOUT', '20'))


def stretched(seconds):
    """A bound of @seconds in the normal build, stretched in sanitizer
    builds as TIMEOUT is (its normal value is 20 s)."""
    return seconds * TIMEOUT / 20


class QMPError(Exception):
    """An error reply: .cls is the error class, .desc the message."""

    def __init__(self, cls, desc, response=None):
        super().__init__('%s: %s' % (cls, desc))
        self.cls = cls
        self.desc = desc
        self.response = response


def wait_for(predicate, timeout=TIMEOUT, interval=0.02, what='condition'):
    """Polls predicate() until it returns a true value, which is returned."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError('timed out after %ss waiting for %s'
                               % (timeout, what))
        time.sleep(interval)


@contextlib.contextmanager
def out_of_descriptors(vm, spare=0):
    """Inside, @vm may open @spare more descriptors than it has open:
    its listeners meet EMFILE.  The limit is restored after."""
    pid = vm.proc.pid
    soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    used = len(os.listdir('/proc/%d/fd' % pid))
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (used + spare, hard))
    try:
        yield
    finally:
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))


def assert_backs_off_at_emfile(test, vm):
    """A listener of @vm, with a client queued, meets EMFILE: it retries
    every SOCKET_ACCEPT_BACKOFF_MS (100 ms), warning each time, instead
    of being woken at once by the same client, thousands of times a
    second."""
    wait_for(lambda: 'Too many open files' in vm.stderr_text(),
             what='the listener to run out of descriptors')
    first = vm.stderr_text().count('Too many open files')
    time.sleep(1)
    later = vm.stderr_text().count('Too many open files')
    test.assertLess(later - first, 40, 'the listener spins at EMFILE')


class LineSocket:
    """A stream socket read line by line, with a timeout on every read."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b''

    def readline(self, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while b'\n' not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError('no complete line within %ss (have %r)'
                                   % (timeout, self.buf[:200]))
            ready, _, _ = select.select([self.sock], [], [], left)
            if not ready:
                continue
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError('connection closed (pending %r)'
                               % self.buf[:200])
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b'\n')
        return line + b'\n'

    def read_until(self, marker, timeout=TIMEOUT):
        """Reads until @marker (bytes) has been seen; returns all of it."""
        deadline = time.monotonic() + timeout
        while marker not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError('no %r within %ss (have %r)'
                                   % (marker, timeout, self.buf[-200:]))
            ready, _, _ = select.select([self.sock], [], [], left)
            if ready:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise EOFError('connection closed')
                self.buf += chunk
        idx = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:idx], self.buf[idx:]
        return out

    def close(self):
        self.sock.close()


class QMPClient:
    """One QMP connection. Events that arrive while waiting for a reply are
    kept in .events in arrival order."""

    def __init__(self, path, negotiate=True):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(path)
        self.conn = LineSocket(sock)
        self.events = []
        self.greeting = self.recv()
        if negotiate:
            self.cmd('qmp_capabilities')

    @property
    def sock(self):
        return self.conn.sock

    def close(self):
        self.conn.close()

    def send_raw(self, data, fds=None):
        if isinstance(data, str):
            data = data.encode()
        if fds:
            socket.send_fds(self.sock, [data], fds)
        else:
            self.sock.sendall(data)

    def recv_line(self, timeout=TIMEOUT):
        """The next raw line, exactly as sent (ends with CRLF)."""
        return self.conn.readline(timeout)

    def recv(self, timeout=TIMEOUT):
        """The next message (reply or event) as a dict."""
        return json.loads(self.recv_line(timeout))

    def recv_reply(self, timeout=TIMEOUT):
        """The next reply, queueing events seen before it."""
        while True:
            msg = self.recv(timeout)
            if 'event' in msg:
                self.events.append(msg)
                continue
            return msg

    def execute(self, name, args=None, id=None, fds=None, timeout=TIMEOUT):
        """Sends one command; returns the whole response dict."""
        req = {'execute': name}
        if args is not None:
            req['arguments'] = args
        if id is not None:
            req['id'] = id
        self.send_raw(json.dumps(req) + '\n', fds=fds)
        return self.recv_reply(timeout)

    def cmd(self, name, fds=None, **args):
        """Runs a command; returns its "return" value or raises QMPError.
        Python names use '_' where QMP uses '-'."""
        args = {k.replace('_', '-'): v for k, v in args.items()}
        resp = self.execute(name, args or None, fds=fds)
        if 'error' in resp:
            raise QMPError(resp['error']['class'], resp['error']['desc'], resp)
        return resp['return']

    def wait_event(self, name, timeout=TIMEOUT, match=None):
        """Returns (and removes) the first event @name (whose data contains
        @match), reading more messages as needed."""
        deadline = time.monotonic() + timeout
        while True:
            for i, ev in enumerate(self.events):
                if ev['event'] == name and _matches(ev.get('data', {}), match):
                    return self.events.pop(i)
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError('no event %s within %ss (have %s)'
                                   % (name, timeout,
                                      [e['event'] for e in self.events]))
            msg = self.recv(left)
            if 'event' in msg:
                self.events.append(msg)
            else:
                raise AssertionError('unexpected reply while waiting for '
                                     'event %s: %r' % (name, msg))


def _matches(data, match):
    return all(data.get(k) == v for k, v in (match or {}).items())


class HMPClient:
    """A human monitor over a unix socket; .run(line) returns the output
    printed before the next prompt."""

    PROMPT = b'(vmig) '

    def __init__(self, path):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(path)
        self.conn = LineSocket(sock)
        self.banner = self.conn.read_until(self.PROMPT).decode()

    def run(self, line, timeout=TIMEOUT):
        self.conn.sock.sendall(line.encode() + b'\n')
        out = self.conn.read_until(self.PROMPT, timeout)
        text = out[:-len(self.PROMPT)].decode()
        # Some terminals echo the command; the server does not, but be
        # lenient about a leading echo of exactly what we sent.
        if text.startswith(line + '\n'):
            text = text[len(line) + 1:]
        return text.replace('\r\n', '\n')

    def close(self):
        self.conn.close()


class Vmig:
    """A vmig process with a QMP socket (and optionally an HMP socket)."""

    def __init__(self, args=(), name='vm', hmp=False, qmp=True,
                 tmpdir=None, binary=None, pass_fds=()):
        self.args = list(args)
        self.pass_fds = tuple(pass_fds)   # inherited by the process
        self.name = name
        self.want_hmp = hmp
        self.want_qmp = qmp
        self.binary = binary or VMIG
        self._own_tmpdir = tmpdir is None
        self.tmpdir = tmpdir or tempfile.mkdtemp(prefix='vmig-test-')
        self.qmp_path = os.path.join(self.tmpdir, '%s-qmp.sock' % name)
        self.hmp_path = os.path.join(self.tmpdir, '%s-hmp.sock' % name)
        self.stderr_path = os.path.join(self.tmpdir, '%s.stderr' % name)
        self.proc = None
        self.qmp = None
        self.hmp_client = None
        self.extra_clients = []

    def command_line(self):
        cmd = [self.binary, '-name', self.name]
        if self.want_qmp:
            cmd += ['-qmp', 'unix:%s,server=on,wait=off' % self.qmp_path]
        if self.want_hmp:
            cmd += ['-monitor', 'unix:%s,server=on,wait=off' % self.hmp_path]
        return cmd + self.args

    def launch(self):
        self._stderr = open(self.stderr_path, 'wb')
        self.proc = subprocess.Popen(self.command_line(),
                                     stdin=subprocess.DEVNULL,
                                     stdout=self._stderr,
                                     stderr=self._stderr,
                                     pass_fds=self.pass_fds)
        if self.want_qmp:
            self.qmp = self.connect_when_up(lambda: QMPClient(self.qmp_path))
        return self

    def connect_when_up(self, factory):
        """factory()'s connection, retried while the socket is not there
        or not listening yet (it exists from bind(), before listen())."""
        def attempt():
            if self.proc.poll() is not None:
                raise RuntimeError('vmig exited with %d before its monitor '
                                   'was up: %s' % (self.proc.returncode,
                                                   self.stderr_text()))
            try:
                return factory()
            except (FileNotFoundError, ConnectionRefusedError):
                return None
        return wait_for(attempt, what='vmig monitor socket')

    def new_qmp(self, negotiate=True):
        client = self.connect_when_up(
            lambda: QMPClient(self.qmp_path, negotiate))
        self.extra_clients.append(client)
        return client

    def hmp(self, line):
        if self.hmp_client is None:
            assert self.want_hmp, 'Vmig(hmp=True) is needed for hmp()'
            self.hmp_client = self.connect_when_up(
                lambda: HMPClient(self.hmp_path))
        return self.hmp_client.run(line)

    def cmd(self, name, **args):
        return self.qmp.cmd(name, **args)

    def stderr_text(self):
        try:
            with open(self.stderr_path, 'rb') as f:
                return f.read().decode(errors='replace')
        except OSError:
            return ''

    def wait_exit(self, timeout=TIMEOUT):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise TimeoutError('vmig %s did not exit within %ss'
                               % (self.name, timeout))

    def shutdown(self, expect_status=0):
        """Asks vmig to quit and checks its exit status."""
        if self.proc is None or self.proc.poll() is not None:
            return self._finish(expect_status)
        try:
            self.qmp.cmd('quit')
        except (EOFError, OSError):
            pass  # it may close the socket before we read the reply
        return self._finish(expect_status)

    def _finish(self, expect_status):
        status = self.wait_exit()
        self._close_clients()
        if expect_status is not None and status != expect_status:
            raise AssertionError('vmig %s exited with %d, expected %d; '
                                 'stderr:\n%s' % (self.name, status,
                                                  expect_status,
                                                  self.stderr_text()))
        return status

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self._close_clients()

    def _close_clients(self):
        for c in [self.qmp, self.hmp_client] + self.extra_clients:
            if c is not None:
                try:
                    c.close()
                except OSError:
                    pass
        self.qmp = self.hmp_client = None
        self.extra_clients = []
        if getattr(self, '_stderr', None):
            self._stderr.close()
            self._stderr = None

    def __enter__(self):
        if self.proc is None:
            self.launch()
        return self

    def __exit__(self, exc_type, exc, tb):
        self.kill()
        # Every vmig of a sanitizer build is checked, even one a test
        # kills: TSan reports races on stderr and carries on.
        log = self.stderr_text()
        if self._own_tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
        if exc_type is None and ('Sanitizer' in log or
                                 'runtime error' in log):
            raise AssertionError('vmig %s: sanitizer report:\n%s'
                                 % (self.name, log))
        return False


def run_vmig(args, timeout=TIMEOUT):
    """Runs vmig to completion (for command-line error tests); returns
    (exit status, stdout+stderr text)."""
    proc = subprocess.run([VMIG] + list(args), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=timeout)
    return proc.returncode, proc.stdout.decode(errors='replace')


class TapResult(unittest.TestResult):
    """Prints one TAP line per test as it finishes."""

    def __init__(self):
        super().__init__()
        self.number = 0
        self._subtest_failures = {}

    def _line(self, ok, test, detail=None):
        self.number += 1
        print('%s %d - %s' % ('ok' if ok else 'not ok', self.number,
                              test.id().split('.', 1)[-1]), flush=True)
        if detail:
            for line in detail.rstrip().splitlines():
                print('# ' + line)
            sys.stdout.flush()

    def addSuccess(self, test):
        super().addSuccess(test)
        self._line(True, test)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._line(False, test, self._exc_info_to_string(err, test))

    def addError(self, test, err):
        super().addError(test, err)
        self._line(False, test, self._exc_info_to_string(err, test))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.number += 1
        print('ok %d - %s # SKIP %s' % (self.number,
                                         test.id().split('.', 1)[-1], reason),
              flush=True)

    def addSubTest(self, test, subtest, err):
        # unittest gives a test with a failing subtest no addSuccess or
        # addFailure: collect the failures and report the test as one
        # "not ok" when it stops, so the TAP plan still adds up.
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._subtest_failures.setdefault(test.id(), []).append(
                '%s\n%s' % (subtest, self._exc_info_to_string(err, test)))

    def stopTest(self, test):
        super().stopTest(test)
        failures = self._subtest_failures.pop(test.id(), None)
        if failures:
            self._line(False, test, '\n'.join(failures))

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._line(True, test)

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._line(False, test, 'unexpected success')


def main():
    """Runs the calling module's tests, printing TAP; exit 1 on failure."""
    module = sys.modules['__main__']
    suite = unittest.defaultTestLoader.loadTestsFromModule(module)
    if len(sys.argv) > 1:  # run only tests whose id contains an argument
        wanted = sys.argv[1:]
        suite = unittest.TestSuite(
            t for t in _flatten(suite) if any(w in t.id() for w in wanted))
    print('1..%d' % suite.countTestCases(), flush=True)
    result = TapResult()
    try:
        suite.run(result)
    except Exception:  # a broken fixture must still fail the run
        traceback.print_exc()
        sys.exit(1)
    sys.exit(0 if result.wasSuccessful() else 1)


def _flatten(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from _flatten(t)
        else:
            yield t
