#!/usr/bin/env python3
"""QMP protocol tests: greeting, negotiation, framing, error replies,
events, several clients and sockets, file-descriptor passing.

Each test talks to a real vmig over a real unix socket.  Most tests share
one vmig (started once per class) and open their own connections; after
every test the shared vmig must still be alive and answering.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmig_harness  # noqa: E402
from vmig_harness import QMPClient, QMPError, Vmig, LineSocket  # noqa: E402

NEGOTIATION_HINT = "Expecting capabilities negotiation with 'qmp_capabilities'"
ALREADY_NEGOTIATED = ('Capabilities negotiation is already complete, '
                      'command ignored')
# The streamer's limit (include/qapi/json-streamer.h).
MAX_MESSAGE = 64 * 1024 * 1024


def raw_connect(path):
    """A bare connection: the caller reads the greeting itself."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    return LineSocket(sock)


def fd_is_open_elsewhere(read_end):
    """True while some process still holds the write end of the pipe
    whose read end is @read_end (a read would block rather than see EOF).
    """
    os.set_blocking(read_end, False)
    try:
        data = os.read(read_end, 1)
    except BlockingIOError:
        return True
    assert data == b'', 'nobody should write to the test pipe'
    return False


def wait_closed_elsewhere(read_end):
    return vmig_harness.wait_for(lambda: not fd_is_open_elsewhere(read_end),
                                 what='the write end to be closed by vmig')


class SharedVmTest(unittest.TestCase):
    """Starts one vmig for the class; checks it survives every test."""

    vm = None

    @classmethod
    def setUpClass(cls):
        cls.vm = Vmig(name='qmp')
        cls.vm.launch()

    @classmethod
    def tearDownClass(cls):
        if cls.vm:
            try:
                cls.vm.shutdown()
                # Sanitizer builds report leaks and UB on stderr at exit.
                log = cls.vm.stderr_text()
                assert 'Sanitizer' not in log, log
                assert 'runtime error' not in log, log
            finally:
                cls.vm.__exit__(None, None, None)

    def setUp(self):
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            try:
                c.close()
            except OSError:
                pass
        # Whatever the test did, the machine and its monitor must be fine.
        self.assertIsNone(self.vm.proc.poll(), 'vmig died:\n%s'
                          % self.vm.stderr_text())
        self.assertIn('status', self.vm.cmd('query-status'))

    def client(self, negotiate=True):
        c = self.vm.new_qmp(negotiate)
        self.clients.append(c)
        return c

    def send_then_sync(self, c, data):
        """Sends @data, then a marked query-version; returns the replies
        that came before the marked one (which must succeed)."""
        if isinstance(data, str):
            data = data.encode()
        c.send_raw(data + b'\n{"execute": "query-version", "id": "sync"}\n')
        replies = []
        while True:
            r = c.recv_reply()
            if r.get('id') == 'sync':
                self.assertIn('return', r)
                return replies
            replies.append(r)

    def assert_one_error(self, replies, cls='GenericError', contains=()):
        self.assertEqual(len(replies), 1, replies)
        err = replies[0].get('error')
        self.assertIsNotNone(err, replies)
        self.assertEqual(err['class'], cls, err)
        for text in contains:
            self.assertIn(text, err['desc'])
        return err


class GreetingTest(SharedVmTest):

    def test_greeting_shape(self):
        conn = raw_connect(self.vm.qmp_path)
        try:
            line = conn.readline()
        finally:
            conn.close()
        self.assertTrue(line.endswith(b'\r\n'), line)
        self.assertNotIn(b'\n', line[:-2])
        greeting = json.loads(line)
        self.assertEqual(set(greeting), {'QMP'})
        self.assertEqual(set(greeting['QMP']), {'version', 'capabilities'})
        self.assertEqual(greeting['QMP']['capabilities'], [])
        version = greeting['QMP']['version']
        self.assertEqual(set(version), {'qemu', 'package'})
        self.assertEqual(set(version['qemu']), {'major', 'minor', 'micro'})
        for v in version['qemu'].values():
            self.assertIsInstance(v, int)
        self.assertTrue(version['package'].startswith('vmig '))
        # The greeting and query-version describe the same software.
        self.assertEqual(version, self.vm.cmd('query-version'))

    def test_query_version(self):
        info = self.vm.cmd('query-version')
        q = info['qemu']
        self.assertEqual(info['package'],
                         'vmig %d.%d.%d' % (q['major'], q['minor'],
                                            q['micro']))

    def test_replies_end_with_crlf(self):
        c = self.client()
        c.send_raw('{"execute": "query-status"}')
        ok = c.recv_line()
        c.send_raw('{"execute": "no-such-command"}')
        err = c.recv_line()
        for line in (ok, err):
            self.assertTrue(line.endswith(b'\r\n'), line)
            self.assertNotIn(b'\n', line[:-2])
            json.loads(line)
        self.assertIn('return', json.loads(ok))
        self.assertIn('error', json.loads(err))


class NegotiationTest(SharedVmTest):

    def test_commands_refused_before_negotiation(self):
        c = self.client(negotiate=False)
        for cmd in ('query-version', 'query-status', 'no-such-command'):
            r = c.execute(cmd, id=cmd)
            self.assertEqual(r['error']['class'], 'CommandNotFound')
            self.assertEqual(r['error']['desc'], NEGOTIATION_HINT)
            self.assertEqual(r['id'], cmd)
        # A malformed request is still reported as what it is.
        c.send_raw('{"arguments": {}}\n')
        r = c.recv_reply()
        self.assertEqual(r['error']['class'], 'GenericError')
        self.assertNotEqual(r['error']['desc'], NEGOTIATION_HINT)
        # ... and negotiation then works.
        self.assertEqual(c.cmd('qmp_capabilities'), {})
        self.assertIn('qemu', c.cmd('query-version'))

    def test_negotiation_twice(self):
        c = self.client()
        r = c.execute('qmp_capabilities')
        self.assertEqual(r['error'],
                         {'class': 'CommandNotFound',
                          'desc': ALREADY_NEGOTIATED})
        self.assertIn('qemu', c.cmd('query-version'))

    def test_enable_oob_refused(self):
        c = self.client(negotiate=False)
        r = c.execute('qmp_capabilities', {'enable': ['oob']})
        self.assertEqual(r['error']['class'], 'GenericError')
        self.assertIn('oob', r['error']['desc'])
        # Still negotiating: the failed attempt changed nothing.
        r = c.execute('query-version')
        self.assertEqual(r['error']['desc'], NEGOTIATION_HINT)
        self.assertEqual(c.cmd('qmp_capabilities', enable=[]), {})
        self.assertIn('qemu', c.cmd('query-version'))

    def test_enable_unknown_capability(self):
        c = self.client(negotiate=False)
        r = c.execute('qmp_capabilities', {'enable': ['frobnicate']})
        self.assertEqual(r['error']['class'], 'GenericError')
        self.assertIn('frobnicate', r['error']['desc'])
        self.assertEqual(c.cmd('qmp_capabilities'), {})


class FramingTest(SharedVmTest):

    def test_partial_message(self):
        c = self.client()
        msg = b'{"execute": "query-version", "id": "split"}\n'
        for i in range(0, len(msg), 7):
            c.send_raw(msg[i:i + 7])
            time.sleep(0.01)
        r = c.recv_reply()
        self.assertEqual(r['id'], 'split')
        self.assertIn('qemu', r['return'])

    def test_split_inside_utf8_and_escape(self):
        c = self.client()
        # The fdname travels into the error message: a multi-byte
        # character and an escape split across sends must survive.
        msg = ('{"execute": "closefd", "arguments": '
               '{"fdname": "caf\u00e9\\"x"}}\n').encode()
        cut = msg.index(b'\xc3') + 1
        c.send_raw(msg[:cut])
        time.sleep(0.05)
        c.send_raw(msg[cut:])
        r = c.recv_reply()
        self.assertIn('caf\u00e9"x', r['error']['desc'])

    def test_several_messages_in_one_send(self):
        c = self.client()
        c.send_raw(''.join('{"execute": "query-version", "id": %d}' % i
                           for i in range(5)))
        ids = [c.recv_reply()['id'] for _ in range(5)]
        self.assertEqual(ids, list(range(5)))

    def test_no_newline_needed_between_messages(self):
        c = self.client()
        c.send_raw('{"execute":"query-version","id":1}'
                   '{"execute":"bogus","id":2}{"execute":"query-status",'
                   '"id":3}')
        r1, r2, r3 = c.recv_reply(), c.recv_reply(), c.recv_reply()
        self.assertIn('return', r1)
        self.assertEqual(r2['error']['class'], 'CommandNotFound')
        self.assertIn('status', r3['return'])

    def test_id_echo(self):
        c = self.client()
        for id in ('abc', 42, 1.5, {'a': [1, {'b': None}]}, [1, 'x'], True,
                   None):
            req = {'execute': 'query-version', 'id': id}
            c.send_raw(json.dumps(req))
            r = c.recv_reply()
            self.assertIn('id', r)
            self.assertEqual(r['id'], id)
        # Errors echo the id too.
        r = c.execute('no-such-command', id={'x': 1})
        self.assertEqual(r['id'], {'x': 1})
        self.assertEqual(r['error']['class'], 'CommandNotFound')

    def test_no_id_no_id(self):
        c = self.client()
        self.assertNotIn('id', c.execute('query-version'))


class MalformedInputTest(SharedVmTest):

    def check_json_error(self, data):
        c = self.client()
        replies = self.send_then_sync(c, data)
        self.assertGreaterEqual(len(replies), 1, data)
        for r in replies:
            self.assertEqual(r['error']['class'], 'GenericError', r)
            self.assertIn('JSON', r['error']['desc'])
            self.assertNotIn('id', r)
        return replies

    def test_bad_json(self):
        for data in ('{"execute": }',
                     '{"execute": "query-version",}',
                     "{'execute': 'query-version'}",
                     '{"execute": "query-version" "id": 1}',
                     '[}',
                     '}',
                     'nonsense',
                     '{"execute": "query\u0001version"}',
                     '{"execute": "query-version", "execute": "stop"}',
                     '{"execute": "a\\u0000b"}'):
            with self.subTest(data=data):
                self.check_json_error(data)

    def test_bad_utf8(self):
        self.check_json_error(b'{"execute": "query-version\xc3\x28"}')

    def test_resync_with_0xff(self):
        # An unterminated object swallows what follows, until the client
        # sends 0xFF, which drops it (QEMU's convention).
        c = self.client()
        c.send_raw(b'{"execute": "query-version", "arguments": {')
        time.sleep(0.05)
        c.send_raw(b'\xff{"execute": "query-version", "id": "ok"}\n')
        r = c.recv_reply()
        self.assertEqual(r['id'], 'ok')
        self.assertIn('return', r)

    def test_too_deep(self):
        self.check_json_error('[' * 2000 + ']' * 2000)

    def test_too_large(self):
        c = self.client()
        big = (b'{"execute": "query-version", "arguments": {"x": "' +
               b'a' * (MAX_MESSAGE + 16) + b'"}}')
        replies = self.send_then_sync(c, big)
        self.assertGreaterEqual(len(replies), 1)
        for r in replies:
            self.assertEqual(r['error']['class'], 'GenericError')
        self.assertTrue(any(str(MAX_MESSAGE) in r['error']['desc']
                            for r in replies), replies)

    def test_not_an_object(self):
        for data in ('[1, 2]', '42', '"query-version"', 'null', 'true'):
            with self.subTest(data=data):
                c = self.client()
                err = self.assert_one_error(self.send_then_sync(c, data))
                self.assertIn('object', err['desc'])

    def test_bad_request_members(self):
        cases = [
            ('{"arguments": {}}', 'execute'),
            ('{"id": 1}', 'execute'),
            ('{"execute": 1}', 'execute'),
            ('{"execute": ["query-version"]}', 'execute'),
            ('{"execute": "query-version", "frob": 1}', 'frob'),
            ('{"execute": "query-version", "arguments": []}', 'arguments'),
            ('{"execute": "query-version", "arguments": "x"}', 'arguments'),
        ]
        for data, word in cases:
            with self.subTest(data=data):
                c = self.client()
                self.assert_one_error(self.send_then_sync(c, data),
                                      contains=[word])

    def test_unknown_command(self):
        c = self.client()
        r = c.execute('no-such-command', id=5)
        self.assertEqual(r['error']['class'], 'CommandNotFound')
        self.assertIn('no-such-command', r['error']['desc'])
        self.assertEqual(r['id'], 5)

    def test_bad_arguments(self):
        c = self.client()
        cases = [
            ('getfd', {'fdname': 1}, 'fdname'),        # wrong type
            ('getfd', {'fdname': None}, 'fdname'),
            ('getfd', {}, 'fdname'),                   # missing
            ('query-version', {'verbose': True}, 'verbose'),  # unknown
            ('closefd', {'fdname': 'x', 'extra': 1}, 'extra'),
        ]
        for cmd, args, word in cases:
            with self.subTest(cmd=cmd, args=args):
                r = c.execute(cmd, args)
                self.assertIn('error', r, r)
                self.assertEqual(r['error']['class'], 'GenericError')
                self.assertIn(word, r['error']['desc'])


class ClientsTest(SharedVmTest):

    def test_disconnect_mid_command(self):
        for data in (b'{"execute": "query-qmp-schema"}\n',
                     b'{"execute": "query-version", "argu'):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(self.vm.qmp_path)
            sock.sendall(b'{"execute": "qmp_capabilities"}\n' + data)
            sock.close()
        # Hard reset (RST) instead of FIN.
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(self.vm.qmp_path)
        sock.sendall(b'{"execute": "qmp_capabilities"}\n' +
                     b'{"execute": "query-qmp-schema"}\n' * 50)
        sock.close()
        other = self.client()
        self.assertIn('qemu', other.cmd('query-version'))

    def test_client_that_does_not_read(self):
        # A client that floods commands and never reads its replies must
        # not stall anybody else.
        lazy = self.client()
        lazy.send_raw(b'{"execute": "query-qmp-schema"}\n' * 300)
        other = self.client()
        start = time.monotonic()
        for _ in range(20):
            other.cmd('query-version')
        self.assertLess(time.monotonic() - start, 10)

    def test_client_over_output_limit_is_dropped(self):
        lazy = self.client()
        lazy.send_raw('{"execute": "query-qmp-schema"}')
        reply_size = len(lazy.recv_line())
        count = 64 * 1024 * 1024 // reply_size + 200
        lazy.send_raw(b'{"execute": "query-qmp-schema"}' * count)
        vmig_harness.wait_for(
            lambda: 'not reading its output' in self.vm.stderr_text(),
            what='the log line about the dropped client')
        # Its connection is gone: reading ends (after what was sent; the
        # kernel resets a connection closed with unread input).
        with self.assertRaises((EOFError, ConnectionResetError)):
            while True:
                lazy.conn.readline()
        self.assertIn('qemu', self.client().cmd('query-version'))

    def test_many_clients(self):
        clients = [self.client() for _ in range(20)]
        for i, c in enumerate(clients):
            c.send_raw('{"execute": "query-version", "id": %d}' % i)
        for i, c in enumerate(clients):
            self.assertEqual(c.recv_reply()['id'], i)

    def test_query_commands(self):
        c = self.client()
        names = [x['name'] for x in c.cmd('query-commands')]
        self.assertEqual(names, sorted(names))
        self.assertEqual(len(names), len(set(names)))
        schema = c.cmd('query-qmp-schema')
        in_schema = {e['name'] for e in schema
                     if e['meta-type'] == 'command'}
        self.assertEqual(set(names), in_schema)
        for must in ('qmp_capabilities', 'query-version', 'query-commands',
                     'query-qmp-schema', 'getfd', 'closefd', 'quit', 'stop',
                     'cont', 'query-status'):
            self.assertIn(must, names)

    def test_query_qmp_schema(self):
        c = self.client()
        # Parse the raw line ourselves: it must be one valid JSON line.
        c.send_raw('{"execute": "query-qmp-schema"}')
        line = c.recv_line()
        self.assertTrue(line.endswith(b'\r\n'))
        schema = json.loads(line)['return']
        self.assertIsInstance(schema, list)
        by_name = {e['name']: e for e in schema}
        self.assertEqual(by_name['query-version']['meta-type'], 'command')
        self.assertEqual(by_name['STOP']['meta-type'], 'event')
        for e in schema:
            self.assertIn('meta-type', e)


class EventsTest(SharedVmTest):

    def check_timestamp(self, ev):
        ts = ev['timestamp']
        self.assertEqual(set(ts), {'seconds', 'microseconds'})
        self.assertIsInstance(ts['seconds'], int)
        self.assertIsInstance(ts['microseconds'], int)
        self.assertTrue(0 <= ts['microseconds'] < 1000000)
        self.assertLess(abs(ts['seconds'] + ts['microseconds'] / 1e6 -
                            time.time()), 60)

    def test_events_reach_negotiated_clients_only(self):
        a = self.client()
        b = self.client()
        shy = self.client(negotiate=False)
        a.cmd('stop')
        try:
            for c in (a, b):
                ev = c.wait_event('STOP')
                self.assertEqual(set(ev), {'event', 'timestamp'})
                self.check_timestamp(ev)
            self.assertEqual(self.vm.cmd('query-status')['status'],
                             'paused')
        finally:
            a.cmd('cont')
        for c in (a, b):
            ev = c.wait_event('RESUME')
            self.check_timestamp(ev)
        # The unnegotiated client got nothing: its next message is the
        # reply to what it sends now.
        shy.send_raw('{"execute": "qmp_capabilities", "id": "neg"}')
        r = shy.recv()
        self.assertEqual(r, {'return': {}, 'id': 'neg'})
        # From now on it does get events.
        a.cmd('stop')
        a.cmd('cont')
        self.assertEqual(shy.wait_event('STOP')['event'], 'STOP')
        self.assertEqual(shy.wait_event('RESUME')['event'], 'RESUME')

    def test_event_line_format(self):
        a = self.client()
        a.cmd('stop')
        a.cmd('cont')
        # Raw check: the events are single CRLF-terminated lines too.
        b = self.client()
        self.vm.cmd('stop')
        line = b.recv_line()
        self.vm.cmd('cont')
        self.assertTrue(line.endswith(b'\r\n'))
        self.assertEqual(json.loads(line)['event'], 'STOP')
        b.wait_event('RESUME')


class FdPassingTest(SharedVmTest):

    def pipe(self):
        r, w = os.pipe()
        self.addCleanup(os.close, r)
        return r, w

    def send_fd(self, c, cmd, args, fd):
        """Sends @fd with a command, then closes our copy of it."""
        try:
            return c.execute(cmd, args, fds=[fd])
        finally:
            os.close(fd)

    def test_getfd_closefd(self):
        c = self.client()
        r, w = self.pipe()
        rsp = self.send_fd(c, 'getfd', {'fdname': 'mine'}, w)
        self.assertEqual(rsp, {'return': {}})
        # vmig holds the write end now.
        self.assertTrue(fd_is_open_elsewhere(r))
        c.cmd('closefd', fdname='mine')
        wait_closed_elsewhere(r)
        with self.assertRaises(QMPError) as cm:
            c.cmd('closefd', fdname='mine')
        self.assertEqual(cm.exception.desc,
                         "File descriptor named 'mine' not found")

    def test_closefd_unknown(self):
        c = self.client()
        with self.assertRaises(QMPError) as cm:
            c.cmd('closefd', fdname='nope')
        self.assertEqual(cm.exception.cls, 'GenericError')
        self.assertIn("'nope'", cm.exception.desc)

    def test_getfd_without_fd(self):
        c = self.client()
        with self.assertRaises(QMPError) as cm:
            c.cmd('getfd', fdname='x')
        self.assertEqual(cm.exception.desc,
                         'No file descriptor supplied via SCM_RIGHTS')

    def test_getfd_bad_name(self):
        c = self.client()
        for name in ('1abc', '7'):
            r, w = self.pipe()
            rsp = self.send_fd(c, 'getfd', {'fdname': name}, w)
            self.assertEqual(rsp['error']['desc'],
                             "Parameter 'fdname' expects a name not "
                             "starting with a digit")
            # The refused descriptor is not kept.
            wait_closed_elsewhere(r)

    def test_unclaimed_fd_is_closed(self):
        c = self.client()
        r, w = self.pipe()
        rsp = self.send_fd(c, 'query-version', None, w)
        self.assertIn('return', rsp)
        wait_closed_elsewhere(r)

    def test_getfd_replaces(self):
        c = self.client()
        r1, w1 = self.pipe()
        r2, w2 = self.pipe()
        self.send_fd(c, 'getfd', {'fdname': 'same'}, w1)
        self.send_fd(c, 'getfd', {'fdname': 'same'}, w2)
        wait_closed_elsewhere(r1)
        self.assertTrue(fd_is_open_elsewhere(r2))
        c.cmd('closefd', fdname='same')
        wait_closed_elsewhere(r2)

    def test_fds_are_per_connection_and_closed_on_disconnect(self):
        a = self.client()
        b = self.client()
        r, w = self.pipe()
        self.send_fd(a, 'getfd', {'fdname': 'a-only'}, w)
        with self.assertRaises(QMPError):
            b.cmd('closefd', fdname='a-only')
        self.assertTrue(fd_is_open_elsewhere(r))
        a.close()
        wait_closed_elsewhere(r)


class TwoSocketsTest(unittest.TestCase):

    def tmpdir(self):
        tmp = tempfile.mkdtemp(prefix='vmig-test-')
        self.addCleanup(shutil.rmtree, tmp, True)
        return tmp

    def test_two_qmp_sockets(self):
        tmp = self.tmpdir()
        second = os.path.join(tmp, 'second.sock')
        args = ['-qmp', 'unix:%s,server=on,wait=off' % second]
        with Vmig(name='two', tmpdir=tmp, args=args) as vm:
            c2 = vmig_harness.wait_for(
                lambda: os.path.exists(second) and QMPClient(second),
                what='second QMP socket')
            try:
                self.assertEqual(c2.cmd('query-version'),
                                 vm.cmd('query-version'))
                c2.cmd('stop')
                self.assertEqual(vm.qmp.wait_event('STOP')['event'], 'STOP')
                self.assertEqual(c2.wait_event('STOP')['event'], 'STOP')
                self.assertEqual(vm.cmd('query-status')['status'], 'paused')
            finally:
                c2.close()
            vm.shutdown()
            # The monitor removes the socket files it created.
            self.assertFalse(os.path.exists(second))
            self.assertFalse(os.path.exists(vm.qmp_path))


class SpecTest(unittest.TestCase):
    """-qmp option strings."""

    tmpdir = TwoSocketsTest.tmpdir

    def test_bad_specs(self):
        cases = [
            ('unix:/tmp/vmig-never.sock,server=off', 'server=off'),
            ('unix:/tmp/vmig-never.sock,bogus=1', 'bogus'),
            ('unix:/tmp/vmig-never.sock,wait=maybe', 'wait'),
            ('server=on', 'address'),
            ('stdio,wait=off', 'stdio'),
            ('carrier-pigeon:x', 'carrier-pigeon'),
        ]
        for spec, word in cases:
            with self.subTest(spec=spec):
                status, out = vmig_harness.run_vmig(['-qmp', spec])
                self.assertNotEqual(status, 0)
                self.assertIn(word, out)
                self.assertIn(spec, out)

    def test_wait_on(self):
        tmp = self.tmpdir()
        path = os.path.join(tmp, 'wait.sock')
        args = ['-qmp', 'unix:%s,server=on,wait=on' % path]
        with Vmig(name='wait', qmp=False, tmpdir=tmp, args=args) as vm:
            c = vm.connect_when_up(lambda: QMPClient(path))
            try:
                self.assertIn('qemu', c.cmd('query-version'))
                try:
                    c.cmd('quit')
                except (EOFError, OSError):
                    pass
            finally:
                c.close()
            self.assertEqual(vm.wait_exit(), 0)

    def test_qmp_stdio(self):
        proc = subprocess.Popen([vmig_harness.VMIG, '-qmp', 'stdio'],
                                stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        out, err = proc.communicate(
            b'{"execute": "qmp_capabilities"}\n'
            b'{"execute": "query-version", "id": 1}\n'
            b'{"execute": "quit"}\n', timeout=vmig_harness.TIMEOUT)
        self.assertEqual(proc.returncode, 0, err)
        lines = out.split(b'\r\n')
        self.assertIn('QMP', json.loads(lines[0]))
        self.assertEqual(json.loads(lines[1]), {'return': {}})
        self.assertEqual(json.loads(lines[2])['id'], 1)



class OutOfDescriptorsTest(unittest.TestCase):
    """A QMP listener that cannot accept for want of descriptors backs
    off instead of spinning on the client that stays queued, and accepts
    again once descriptors are free."""

    def test_listener_backs_off_at_emfile(self):
        with Vmig(name='emfile') as vm:
            clients = []
            # Room for one more client, then none.
            with vmig_harness.out_of_descriptors(vm, spare=1):
                for _ in range(4):
                    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    s.connect(vm.qmp_path)
                    clients.append(s)
                vmig_harness.assert_backs_off_at_emfile(self, vm)
            # Descriptors again: the queued clients are greeted.
            for s in clients[1:]:
                s.settimeout(10)
                self.assertIn(b'"QMP"', s.recv(4096))
            self.assertEqual(vm.cmd('query-status')['status'], 'running')
            for s in clients:
                s.close()



def rss_mib(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024
    raise AssertionError('no VmRSS for %d' % pid)


class OutputMemoryTest(unittest.TestCase):
    """The output queued for clients that never read is the system's
    again once they are gone (issue: RSS 40 -> 668 MiB with 4 such
    clients, still 607 MiB after)."""

    CLIENTS = 4

    def assert_rss_back(self, pid, baseline):
        """RSS falls back near @baseline (MiB); generous: 64 MiB is one
        client's whole allowance."""
        limit = baseline + 64
        try:
            vmig_harness.wait_for(lambda: rss_mib(pid) <= limit,
                                  what='RSS back near the baseline')
        except Exception:
            self.fail('RSS %.0f MiB, baseline %.0f MiB' %
                      (rss_mib(pid), baseline))

    @unittest.skipIf('TSAN_OPTIONS' in os.environ,
                     "ThreadSanitizer's allocator returns freed memory "
                     "on its own schedule")
    def test_rss_returns_after_lazy_clients(self):
        with Vmig(name='lazy') as vm:
            pid = vm.proc.pid
            vm.qmp.send_raw('{"execute": "query-qmp-schema"}')
            reply = len(vm.qmp.recv_line())
            baseline = rss_mib(pid)
            count = MAX_MESSAGE // reply + 200
            socks = []
            for _ in range(self.CLIENTS):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(vm.qmp_path)
                s.sendall(b'{"execute": "qmp_capabilities"}' +
                          b'{"execute": "query-qmp-schema"}' * count)
                socks.append(s)
            vmig_harness.wait_for(
                lambda: vm.stderr_text().count('not reading its output')
                >= self.CLIENTS, timeout=max(vmig_harness.TIMEOUT, 120),
                what='every lazy client to be dropped')
            for s in socks:
                s.close()
            self.assert_rss_back(pid, baseline)
            self.assertEqual(vm.cmd('query-status')['status'], 'running')

    # The normal build shows this bug (100 MiB kept against 4 MiB); under
    # the sanitizers RSS also holds what their allocators keep for
    # threads and clients still connected, which came back in one ASan
    # run and not in another.
    @unittest.skipIf('TSAN_OPTIONS' in os.environ or
                     'ASAN_OPTIONS' in os.environ,
                     "a sanitizer's allocator returns freed memory on its "
                     "own schedule")
    def test_rss_returns_after_clients_catch_up(self):
        # Clients that let 48 MiB pile up, then read it all and stay
        # (two: each kept 64 MiB, more than the bound).
        with Vmig(name='slow') as vm:
            pid = vm.proc.pid
            vm.qmp.send_raw('{"execute": "query-qmp-schema"}')
            reply = len(vm.qmp.recv_line())
            baseline = rss_mib(pid)
            count = 48 * 1024 * 1024 // reply
            clients = []
            for i in range(2):
                c = vm.new_qmp()
                c.send_raw(b'{"execute": "query-qmp-schema"}' * count)
                clients.append(c)
                vmig_harness.wait_for(
                    lambda: rss_mib(pid) >= baseline + 40 * (i + 1),
                    what='the output to pile up')
            for c in clients:
                for _ in range(count):
                    c.recv_line()
            self.assert_rss_back(pid, baseline)
            for c in clients:
                self.assertIn('qemu', c.cmd('query-version'))


if __name__ == '__main__':
    vmig_harness.main()
