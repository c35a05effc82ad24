#!/usr/bin/env python3
"""The v2 handshake between real and hand-played peers: validate-uuid,
the address arguments, a destination refusing what it cannot load (RAM
layout, a device version, an option its host lacks, a protocol version),
dry runs, garbage and silence from either side, and handshake timeouts.
Every refusal ends with the reason on both sides, the destination's
option named, the source's guest running, and no crash."""

import json
import os
import socket
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmig_harness  # noqa: E402
from migration_helpers import (BUSY, FINAL, MAGIC, REC_ACCEPT,  # noqa: E402
                               REC_ERROR, REC_HELLO, REC_REJECT,
                               STREAM_HEADER,
                               MigrationTestCase, StreamReader, accept_body,
                               dst_vm, hello_body, info, launched,
                               listen_uri, parse_hello, parse_reject, record,
                               src_vm, wait_status)
from vmig_harness import QMPError, wait_for  # noqa: E402

UUID_A = '6f1c3a1e-8d0b-4d59-9a4e-2f8a7c1d0b01'
UUID_B = '6f1c3a1e-8d0b-4d59-9a4e-2f8a7c1d0b02'
LAYOUT = {'blocks': [('pc.ram', 32 << 20, 4096)],
          'devices': [('counter', 1, 1), ('log', 2, 1)]}


class Peer:
    """A TCP server playing the destination by hand."""

    def __init__(self):
        self.srv = socket.socket()
        self.srv.bind(('127.0.0.1', 0))
        self.srv.listen(1)
        self.uri = 'tcp:127.0.0.1:%d' % self.srv.getsockname()[1]

    def accept(self):
        conn, _ = self.srv.accept()
        conn.settimeout(vmig_harness.TIMEOUT)
        return conn

    def close(self):
        self.srv.close()


def connect(uri):
    host, port = uri[len('tcp:'):].rsplit(':', 1)
    return socket.create_connection((host, int(port)),
                                    timeout=vmig_harness.TIMEOUT)


class RejectionTest(MigrationTestCase):

    def refused(self, src, dst, uri, **args):
        """Migrates, expecting the destination to refuse; returns the
        source's error-desc after checking the aftermath."""
        src.cmd('migrate', uri=uri, **args)
        result = wait_status(src, FINAL)
        self.assertEqual(result['status'], 'failed', result)
        self.assertIn('The destination refused the migration',
                      result['error-desc'])
        self.assert_source_runs(src)
        # exit-on-error: the destination says why, and exits 1.
        self.assertEqual(dst.wait_exit(), 1)
        self.assertIn('Refused the incoming migration', dst.stderr_text())
        self.assert_no_crash(src, dst)
        return result['error-desc']

    def test_ram_size_mismatch(self):
        with dst_vm(mem='32M', incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*BUSY, mem='64M') as src:
            desc = self.refused(src, dst, listen_uri(dst))
            self.assertIn("(LayoutMismatch): RAM block 'pc.ram' is 32 MiB "
                          "here but 64 MiB on the source", desc)
            self.assertIn("RAM block 'pc.ram' is 32 MiB here but 64 MiB",
                          dst.stderr_text())

    def test_device_version_not_loadable(self):
        # An older destination: its log device loads only version 1.
        dst = launched(dst_vm(incoming='tcp:127.0.0.1:0'),
                       VMIG_TEST_LOG_DEVICE_VERSION='1')
        with dst, src_vm(*BUSY) as src:
            desc = self.refused(src, dst, listen_uri(dst))
            self.assertIn("device 'log': the source saves state version 2, "
                          "this vmig loads versions 1 to 1", desc)

    def test_older_source_loads(self):
        # The other way round works: version 1 state loads into 2.
        src = launched(src_vm(*BUSY), VMIG_TEST_LOG_DEVICE_VERSION='1')
        with dst_vm(incoming='tcp:127.0.0.1:0') as dst, src:
            result = self.migrate(src, listen_uri(dst))
            self.assertEqual(result['status'], 'completed', result)
            wait_status(dst, 'completed')
            dst.cmd('stop')
            theirs = [r['text'] for r in dst.cmd('x-query-log')]
            self.assertEqual(theirs, [r['text']
                                      for r in src.cmd('x-query-log')])
            self.assertTrue(theirs)
            self.assertEqual(src.cmd('x-query-vm-digest')['ram'],
                             dst.cmd('x-query-vm-digest')['ram'])

    def test_host_lacks_a_feature(self):
        cases = [('zlib', {'multifd': True, 'multifd-compression': 'zlib'},
                  'multifd-compression'),
                 ('zstd', {'multifd': True, 'multifd-compression': 'zstd'},
                  'multifd-compression')]
        for lacks, cfg, option in cases:
            with self.subTest(lacks=lacks):
                dst = launched(dst_vm(incoming='tcp:127.0.0.1:0'),
                               VMIG_TEST_HOST_LACKS=lacks)
                with dst, src_vm(*BUSY) as src:
                    desc = self.refused(src, dst, listen_uri(dst),
                                        config=cfg)
                    self.assertIn("(IncompatibleConfig, option '%s')"
                                  % option, desc)
                    self.assertIn('this host does not support %s' % lacks,
                                  desc)

    def test_validate_uuid(self):
        with dst_vm('-uuid', UUID_A, incoming='tcp:127.0.0.1:0') as dst, \
                src_vm('-uuid', UUID_A, *BUSY) as src:
            result = self.migrate(src, listen_uri(dst),
                                  config={'validate-uuid': True})
            self.assert_completed(src, dst, result)
        for src_args, theirs in [(['-uuid', UUID_B], UUID_B),
                                 ([], 'none')]:
            with self.subTest(source=theirs):
                with dst_vm('-uuid', UUID_A,
                            incoming='tcp:127.0.0.1:0') as dst, \
                        src_vm(*(src_args + BUSY)) as src:
                    desc = self.refused(src, dst, listen_uri(dst),
                                        config={'validate-uuid': True})
                    self.assertIn("(UuidMismatch, option 'validate-uuid'): "
                                  "the source VM's UUID is %s, this VM's "
                                  "is %s" % (theirs, UUID_A), desc)
        # Without validate-uuid the UUIDs do not matter.
        with dst_vm('-uuid', UUID_A, incoming='tcp:127.0.0.1:0') as dst, \
                src_vm('-uuid', UUID_B, *BUSY) as src:
            self.assert_completed(src, dst,
                                  self.migrate(src, listen_uri(dst)))

    def test_bad_uuid_option(self):
        status, out = vmig_harness.run_vmig(['-uuid', 'nope'])
        self.assertEqual(status, 1)
        self.assertIn('-uuid nope: invalid UUID', out)

    def test_option_this_engine_lacks(self):
        with src_vm(*BUSY) as src:
            before = src.cmd('query-migrate-config')
            with self.assertRaises(QMPError) as ctx:
                src.cmd('migrate', uri='file:' + os.path.join(
                            src.tmpdir, 'never-written'),
                        config={'mapped-ram': True, 'multifd': True,
                                'direct-io': True})
            self.assertEqual(ctx.exception.desc,
                             "Option 'direct-io' is not supported by this "
                             "vmig yet")
            self.assertEqual(info(src), {})
            # Refused: the configuration in effect is what it was.
            self.assertEqual(src.cmd('query-migrate-config'), before)

    def test_uri_and_channels(self):
        chan = [{'channel-type': 'main',
                 'addr': {'transport': 'socket', 'type': 'inet',
                          'host': '127.0.0.1', 'port': '1'}}]
        with src_vm(*BUSY) as src:
            for args in ({}, {'uri': 'tcp:127.0.0.1:1', 'channels': chan}):
                with self.subTest(args=sorted(args)):
                    with self.assertRaises(QMPError) as ctx:
                        src.cmd('migrate', **args)
                    self.assertIn('uri', ctx.exception.desc)
                    self.assertIn('channels', ctx.exception.desc)
            self.assertEqual(info(src), {})


class OverrideTest(MigrationTestCase):
    """The source's configuration rules; a destination that had set an
    option otherwise says so (stderr, query-migrate)."""

    def test_destination_options_overridden(self):
        with dst_vm(incoming='tcp:127.0.0.1:0,multifd=on,'
                    'downtime-limit=500,zero-page-detection=legacy') as dst, \
                src_vm(*BUSY) as src:
            # The source sets max-bandwidth (the destination did not) and
            # the same zero-page detection: neither is an override.
            result = self.migrate(src, listen_uri(dst), config={
                'max-bandwidth': 64 << 20, 'zero-page-detection': 'legacy'})
            self.assert_completed(src, dst, result)
            self.assertEqual(info(dst)['overridden-config'], [
                {'option': 'multifd', 'local': 'true', 'source': 'false'},
                {'option': 'downtime-limit', 'local': '500',
                 'source': '300'}])
            log = dst.stderr_text()
            self.assertIn("incoming migration: option 'multifd' is false as "
                          "the source's configuration says, not true as set "
                          "here", log)
            self.assertIn("option 'downtime-limit' is 300 as the source's "
                          "configuration says, not 500 as set here", log)
            self.assertEqual(log.count("incoming migration: option"), 2, log)
            # The migration ran with the source's options.
            cfg = dst.cmd('query-migrate-config')
            self.assertIs(cfg['multifd'], False)
            self.assertEqual(cfg['downtime-limit'], 300)
            self.assertNotIn('multifd', info(dst))
            self.assertNotIn('overridden-config', result)

    def test_nothing_overridden(self):
        with dst_vm(incoming='defer') as dst, src_vm(*BUSY) as src:
            dst.cmd('migrate-incoming', uri='tcp:127.0.0.1:0',
                    config={'downtime-limit': 500})
            result = self.migrate(src, listen_uri(dst),
                                  config={'downtime-limit': 500})
            self.assert_completed(src, dst, result)
            self.assertNotIn('overridden-config', info(dst))
            self.assertNotIn("incoming migration: option", dst.stderr_text())


class DryRunTest(MigrationTestCase):

    def test_compatible(self):
        with dst_vm(incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*BUSY) as src:
            uri = listen_uri(dst)
            result = self.migrate(src, uri, dry_run=True)
            self.assertEqual(result['status'], 'completed', result)
            self.assertIs(result['dry-run'], True)
            self.assertNotIn('ram', result)
            self.assert_source_runs(src)
            dinfo = wait_status(dst, 'completed')
            self.assertIs(dinfo['dry-run'], True)
            self.assertEqual(dst.cmd('query-status')['status'], 'inmigrate')
            # Nothing moved; the real migration comes next.
            result = self.migrate(src, uri)
            self.assertNotIn('dry-run', result)
            self.assert_completed(src, dst, result)

    def test_incompatible(self):
        with dst_vm(mem='64M', incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*BUSY) as src:
            result = self.migrate(src, listen_uri(dst), dry_run=True)
            self.assertEqual(result['status'], 'failed')
            self.assertIs(result['dry-run'], True)
            self.assertIn("RAM block 'pc.ram' is 64 MiB here but 32 MiB",
                          result['error-desc'])
            self.assert_source_runs(src)
            # A refused dry run is an answer, not a failure: no exit.
            dinfo = wait_status(dst, 'failed')
            self.assertIs(dinfo['dry-run'], True)
            self.assertIsNone(dst.proc.poll())
            self.assertTrue(listen_uri(dst))


class PeerTest(MigrationTestCase):
    """Hand-played peers: garbage, silence, other protocol versions."""

    def test_garbage_from_the_destination(self):
        cases = [(b'HTTP/1.1 400 Bad Request\r\n\r\n',
                  'not a vmig migration stream: bad magic 48 54 54 50'),
                 (b'\x16\x03\x01\x00\x05hello',
                  'the peer started TLS but this end has no TLS configured'),
                 (b'QEVM\x00\x00\x00\x03', 'a QEMU (v1) migration stream')]
        with src_vm(*BUSY) as src:
            for junk, message in cases:
                with self.subTest(message=message):
                    peer = Peer()
                    src.cmd('migrate', uri=peer.uri)
                    conn = peer.accept()
                    conn.sendall(junk)
                    result = wait_status(src, FINAL)
                    self.assertEqual(result['status'], 'failed')
                    self.assertIn(message, result['error-desc'])
                    conn.close()
                    peer.close()
            self.assert_source_runs(src)
            self.assert_no_crash(src)

    def test_silent_destination_times_out(self):
        src = launched(src_vm(*BUSY),
                       VMIG_TEST_HANDSHAKE_TIMEOUT_MS='300')
        with src:
            peer = Peer()
            src.cmd('migrate', uri=peer.uri)
            conn = peer.accept()
            result = wait_status(src, FINAL)
            self.assertEqual(result['status'], 'failed')
            self.assertIn('did not answer the handshake within 300 ms',
                          result['error-desc'])
            self.assert_source_runs(src)
            conn.close()
            peer.close()

    def test_destination_picks_a_version_not_offered(self):
        with src_vm(*BUSY) as src:
            peer = Peer()
            src.cmd('migrate', uri=peer.uri)
            conn = peer.accept()
            reader = StreamReader(conn)
            self.assertEqual(reader.header(), STREAM_HEADER)
            rtype, body = reader.record()
            self.assertEqual(rtype, REC_HELLO)
            session, config = parse_hello(body)
            self.assertNotIn(b'tls-creds', config)
            conn.sendall(STREAM_HEADER + record(
                REC_ACCEPT, accept_body(session, config, version=7)))
            result = wait_status(src, FINAL)
            self.assertIn('the destination chose protocol version 7, but '
                          'this source offered versions 2 to 2',
                          result['error-desc'])
            # The destination had accepted: it is told why nothing comes.
            rtype, body = reader.record()
            self.assertEqual(rtype, REC_ERROR)
            cls, _, message = parse_reject(body)
            self.assertEqual(cls, 'ProtocolError')
            self.assertIn('protocol version 7', message)
            self.assert_source_runs(src)
            conn.close()
            peer.close()

    def test_destination_changes_an_option(self):
        with src_vm(*BUSY) as src:
            peer = Peer()
            src.cmd('migrate', uri=peer.uri)
            conn = peer.accept()
            reader = StreamReader(conn)
            reader.header()
            session, config = parse_hello(reader.record()[1])
            cfg = json.loads(config)
            cfg['downtime-limit'] = 12345
            conn.sendall(STREAM_HEADER + record(REC_ACCEPT, accept_body(
                session, json.dumps(cfg).encode())))
            result = wait_status(src, FINAL)
            self.assertIn("the destination changed option 'downtime-limit' "
                          "from 300 to 12345", result['error-desc'])
            rtype, body = reader.record()
            self.assertEqual((rtype, parse_reject(body)[0]),
                             (REC_ERROR, 'IncompatibleConfig'))
            conn.close()
            peer.close()

    def source_says(self, dst, data, settle=True):
        """Sends @data to the listening @dst; returns what it answers.
        With @settle, waits until @dst is done with the connection (one
        is served at a time, and the next test step connects again)."""
        conn = connect(listen_uri(dst))
        conn.sendall(data)
        conn.shutdown(socket.SHUT_WR)
        reader = StreamReader(conn)
        try:
            head = reader.header()
            return head, reader.record()
        except EOFError:
            return None, None
        finally:
            conn.close()
            if settle:
                wait_status(dst, ('completed', 'failed'))

    def test_future_protocol_version(self):
        with dst_vm(incoming='defer') as dst:
            dst.cmd('migrate-incoming', uri='tcp:127.0.0.1:0',
                    exit_on_error=False)
            hello = hello_body(min_v=3, max_v=5, **LAYOUT)
            head, (rtype, body) = self.source_says(
                dst, STREAM_HEADER + record(REC_HELLO, hello))
            self.assertEqual(head, STREAM_HEADER)
            self.assertEqual(rtype, REC_REJECT)
            self.assertEqual(struct.unpack_from('>II', body), (2, 2))
            cls, option, message = parse_reject(body)
            self.assertEqual(cls, 'UnsupportedVersion')
            self.assertEqual(message, 'no common protocol version: the '
                             'source speaks versions 3 to 5, the '
                             'destination 2 to 2')
            dinfo = wait_status(dst, 'failed')
            self.assertIn('UnsupportedVersion', dinfo['error-desc'])
            # An unknown critical flag and a malformed HELLO get their
            # classes too.
            hello = hello_body(flags=1 << 5, **LAYOUT)
            _, (rtype, body) = self.source_says(
                dst, STREAM_HEADER + record(REC_HELLO, hello))
            self.assertEqual(parse_reject(body)[0], 'UnsupportedFeature')
            _, (rtype, body) = self.source_says(
                dst, STREAM_HEADER + record(REC_HELLO, b'\0\0\0\2'))
            self.assertEqual(parse_reject(body)[0], 'ProtocolError')
            self.assertIn('HELLO: truncated', parse_reject(body)[2])
            # Nothing, not even a NOP, may come before HELLO: the router
            # drops such a stranger unanswered.
            head, _ = self.source_says(
                dst, STREAM_HEADER + record(0x80000001, b'') +
                record(REC_HELLO, hello_body(**LAYOUT)), settle=False)
            self.assertIsNone(head)
            self.assertIn('its first record is NOP, not HELLO or '
                          'CHANNEL_HEADER', dst.stderr_text())
            self.assert_no_crash(dst)

    def test_option_not_built_yet(self):
        # A source that sends an option vmig refuses (an older vmig, another
        # implementation) gets the destination validator's precise REJECT.
        with dst_vm(incoming='defer') as dst:
            dst.cmd('migrate-incoming', uri='tcp:127.0.0.1:0',
                    exit_on_error=False)
            for config, option, value in [
                    ({'background-snapshot': True}, 'background-snapshot',
                     ''),
                    ({'direct-io': True}, 'direct-io', '')]:
                with self.subTest(option=option):
                    hello = hello_body(config=config, **LAYOUT)
                    _, (rtype, body) = self.source_says(
                        dst, STREAM_HEADER + record(REC_HELLO, hello))
                    self.assertEqual(rtype, REC_REJECT)
                    self.assertEqual(parse_reject(body), (
                        'IncompatibleConfig', option,
                        "Option '%s' is not supported by this vmig yet%s"
                        % (option, value)))
            self.assert_no_crash(dst)

    def test_garbage_to_the_destination(self):
        # Strangers fail nothing, exit-on-error or not: the router drops
        # them with a warning (more cases in test_migration_router.py).
        with dst_vm(incoming='tcp:127.0.0.1:0') as dst, src_vm(*BUSY) as src:
            head, _ = self.source_says(dst, b'GET / HTTP/1.0\r\n\r\n',
                                       settle=False)
            self.assertIsNone(head)     # no answer to a stranger
            wait_for(lambda: 'bad magic 47 45 54 20' in dst.stderr_text(),
                     what='the warning')
            self.assertIsNone(dst.proc.poll())
            result = self.migrate(src, listen_uri(dst))
            self.assert_completed(src, dst, result)
            self.assert_no_crash(src, dst)

    def test_silent_source_times_out(self):
        with dst_vm(incoming='defer') as dst:
            dst.cmd('migrate-incoming', uri='tcp:127.0.0.1:0',
                    config={'accept-timeout': 300})
            conn = connect(listen_uri(dst))
            conn.sendall(MAGIC[:3])
            wait_for(lambda: 'no whole stream header within 300 ms' in
                     dst.stderr_text(), what='the warning')
            self.assertEqual(conn.recv(1), b'')     # closed
            self.assertNotIn(info(dst).get('status'), ('failed',))
            self.assertIsNone(dst.proc.poll())
            conn.close()

if __name__ == '__main__':
    vmig_harness.main()
