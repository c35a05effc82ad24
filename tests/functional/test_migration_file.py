#!/usr/bin/env python3
"""Migration through a file: the unidirectional stream (protocol section
7).  A running guest is saved with precopy passes into the file, a
stopped one in one pass; -incoming file: loads it after checking its
HELLO as a destination would.  Offsets, bad offsets, truncated and
corrupt files, and HELLOs a file cannot honour all end in a clear error,
never a crash."""

import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmig_harness  # noqa: E402
from migration_helpers import (BUSY, HELLO_REPLY_OPTIONAL,  # noqa: E402
                               REC_HELLO, REC_ONE_WAY, STREAM_HEADER,
                               MigrationTestCase, dst_vm, hello_body,
                               info, record, src_vm, wait_status,
                               warm_up)
from vmig_harness import run_vmig, wait_for  # noqa: E402

HEADER = b'not migration data, kept as it was\n'.ljust(4096, b'.')


class FileMigrationTest(MigrationTestCase):

    def save(self, src, path, **args):
        result = self.migrate(src, 'file:' + path, **args)
        self.assertEqual(result['status'], 'completed', result)
        self.assertEqual(src.cmd('query-status')['status'], 'postmigrate')
        return result

    def load_fails(self, uri, *args):
        """Loading @uri makes vmig exit 1 with a message; returns it."""
        status, out = run_vmig(['-m', '32M', '-incoming', uri] + list(args))
        self.assertEqual(status, 1, out)
        self.assertNotIn('Sanitizer', out)
        return out

    def test_running_guest_with_offset(self):
        with src_vm(*BUSY) as src:
            path = os.path.join(src.tmpdir, 'state')
            with open(path, 'wb') as f:
                f.write(HEADER)
            # Precopy passes into the file until the downtime allowed
            # is raised (the guest dirties faster than 1 ms of sending).
            warm_up(src)
            src.cmd('migrate', uri='file:%s,offset=4096' % path,
                    config={'max-bandwidth': 64 << 20, 'downtime-limit': 1})
            wait_for(lambda: info(src).get('ram', {}).get('iteration', 0)
                     >= 3, what='three passes')
            src.cmd('migrate-set-config', downtime_limit=60000)
            result = wait_status(src, ('completed', 'failed'))
            self.assertEqual(result['status'], 'completed', result)
            self.assertGreater(result['ram']['normal'], 2048)
            with open(path, 'rb') as f:
                self.assertEqual(f.read(4096), HEADER)
                self.assertEqual(f.read(16), STREAM_HEADER)
            with dst_vm(incoming='file:%s,offset=4096' % path) as dst:
                self.assert_completed(src, dst, result)

            # The stream is not where a wrong offset says.
            out = self.load_fails('file:' + path)
            self.assertIn('not a vmig migration stream: bad magic', out)
            out = self.load_fails('file:%s,offset=1G' % path)
            self.assertIn('offset', out)

    def test_stopped_guest(self):
        with src_vm('-S', *BUSY) as src:
            self.assertEqual(src.cmd('query-status')['status'], 'prelaunch')
            src.cmd('x-log-append', text='saved while stopped')
            path = os.path.join(src.tmpdir, 'state')
            result = self.save(src, path)
            # Nothing dirtied: one pass, then the switchover.
            self.assertEqual(result['ram']['iteration'], 2)
            with dst_vm('-S', incoming='file:' + path) as dst:
                self.assert_completed(src, dst, result, dst_state='paused')
                self.assertIn('saved while stopped',
                              [r['text'] for r in dst.cmd('x-query-log')])

    def test_truncated_and_corrupt(self):
        with src_vm(*BUSY) as src:
            path = os.path.join(src.tmpdir, 'state')
            self.save(src, path)
            data = open(path, 'rb').read()
        cut = os.path.join(os.path.dirname(path) + '-cut')
        try:
            with open(cut, 'wb') as f:
                f.write(data[:len(data) // 2])
            out = self.load_fails('file:' + cut)
            self.assertIn('incoming migration failed', out)
            self.assertIn('is truncated: EOF after', out)
            # Cut between two records: the stream just stops before END
            # (16 bytes with its checksum).
            with open(cut, 'wb') as f:
                f.write(data[:-16])
            self.assertIn('ended before END', self.load_fails('file:' + cut))
            # A record type turned to 0 after the HELLO.
            (hlen,) = struct.unpack_from('>I', data, 20)
            pos = 16 + 8 + hlen + (-hlen % 8)
            bad = data[:pos] + b'\0\0\0\0' + data[pos + 4:]
            with open(cut, 'wb') as f:
                f.write(bad)
            self.assertIn('invalid record type 0',
                          self.load_fails('file:' + cut))
        finally:
            os.unlink(cut)

    def test_hello_a_file_cannot_honour(self):
        with dst_vm(incoming='defer') as probe:
            blocks = [('pc.ram', 32 << 20, 4096)]
            devices = [('counter', 1, 1), ('log', 2, 1)]
            path = os.path.join(probe.tmpdir, 'crafted')
            # return-path on: makes no sense for a file (validator limit).
            with open(path, 'wb') as f:
                f.write(STREAM_HEADER + record(REC_HELLO, hello_body(
                    flags=1, config={'return-path': True}, blocks=blocks,
                    devices=devices)))
            out = self.load_fails('file:' + path)
            self.assertIn("Option 'return-path' cannot be used with URI "
                          "'file:%s'" % path, out)
            self.assertIn('IncompatibleConfig', out)
            # Not marked unidirectional: it waits for an answer.
            with open(path, 'wb') as f:
                f.write(STREAM_HEADER + record(REC_HELLO, hello_body(
                    blocks=blocks, devices=devices)))
            self.assertIn('not marked UNIDIRECTIONAL',
                          self.load_fails('file:' + path))
            # ONE_WAY belongs to a REPLY_OPTIONAL stream only.
            with open(path, 'wb') as f:
                f.write(STREAM_HEADER + record(REC_HELLO, hello_body(
                    flags=1, blocks=blocks, devices=devices)) +
                    record(REC_ONE_WAY, b''))
            self.assertIn('ONE_WAY after a HELLO without REPLY_OPTIONAL',
                          self.load_fails('file:' + path))
            # Whose source cannot wait for a switchover ack (through a
            # command: a file refuses the return path it needs first).
            with open(path, 'wb') as f:
                f.write(STREAM_HEADER + record(REC_HELLO, hello_body(
                    flags=HELLO_REPLY_OPTIONAL,
                    config={'switchover-ack': True, 'return-path': True},
                    blocks=blocks, devices=devices)))
            out = self.load_fails('exec:cat ' + path)
            self.assertIn("option 'switchover-ack'): switchover-ack needs "
                          "an answer", out)

    def test_failed_load_can_be_retried(self):
        with src_vm(*BUSY) as src:
            path = os.path.join(src.tmpdir, 'state')
            result = self.save(src, path)
            with dst_vm(incoming='defer') as dst:
                bad = path + '-empty'
                open(bad, 'wb').close()
                dst.cmd('migrate-incoming', uri='file:' + bad,
                        exit_on_error=False)
                dinfo = wait_status(dst, 'failed')
                self.assertIn('ended before a HELLO', dinfo['error-desc'])
                self.assertEqual(dst.cmd('query-status')['status'],
                                 'inmigrate')
                dst.cmd('migrate-incoming', uri='file:' + path)
                self.assert_completed(src, dst, result)

    def test_file_refuses_what_needs_a_peer(self):
        with src_vm(*BUSY) as src:
            path = os.path.join(src.tmpdir, 'state')
            resp = src.qmp.execute('migrate', {'uri': 'file:' + path,
                                               'dry-run': True})
            self.assertIn('dry run needs a destination that answers',
                          resp['error']['desc'])
            resp = src.qmp.execute('migrate', {
                'uri': 'file:' + path, 'config': {'return-path': True}})
            self.assertIn("Option 'return-path' cannot be used with URI",
                          resp['error']['desc'])
            self.assertNotIn('status', info(src))
            self.assertEqual(src.cmd('query-status')['status'], 'running')
            wait_for(lambda: src.cmd('x-query-workload')['writes'] > 0)


if __name__ == '__main__':
    vmig_harness.main()
