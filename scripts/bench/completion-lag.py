#!/usr/bin/env python3
"""How long after the destination the source reports "completed": the
gap between the two MIGRATION events' timestamps (both ends on one
clock), for one build or two side by side.

Management software waits for the source's event, so the source should
report the end when the destination confirms it, not after its own
cleanup (threads joined, channels closed, dirty tracking stopped).  Each
round migrates a guest whose workload writes all the time (the tests'
busy guest: the cleanup has dirty tracking to stop) over multifd; with
two builds the rounds alternate which goes first, so both see the same
machine load.

    scripts/bench/completion-lag.py build
    scripts/bench/completion-lag.py build --against old-build --size 2G

Python standard library only.  Not part of the test suite.  See
docs/benchmarks.md.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (MiB, Machine, require_memory,  # noqa: E402
                      parse_size, size_name, wait_migration)
from precopy import VCPUS, start_destination  # noqa: E402

WORKLOAD = 'rate=32M,pattern=random,content=text,seed=3'


def completed_at(machine):
    """The timestamp of @machine's "completed" MIGRATION event, in s."""
    machine.cmd('query-status')     # reads what came before its reply
    for e in machine.qmp.events:
        if (e['event'] == 'MIGRATION' and
                e['data']['status'] == 'completed'):
            t = e['timestamp']
            return t['seconds'] + t['microseconds'] / 1e6
    raise RuntimeError('%s sent no "completed" event' % machine.name)


def lag_once(build, size, channels):
    """One migration; the source's event minus the destination's, ms."""
    tmpdir = tempfile.mkdtemp(prefix='vmig-bench-')
    machines = []
    try:
        src = Machine(os.path.join(build, 'vmig'), tmpdir, 'src',
                      ['-m', str(size // MiB), '-smp', str(VCPUS),
                       '-workload', WORKLOAD])
        machines.append(src)
        time.sleep(1)               # some memory written
        dst, port = start_destination(build, tmpdir, size, False)
        machines.append(dst)
        dst.cmd('migrate-set-config', events=True)
        src.cmd('migrate', uri='tcp:127.0.0.1:%d' % port,
                config={'events': True, 'multifd': True,
                        'multifd-channels': channels})
        for m in (src, dst):
            info = wait_migration(m)
            if info['status'] != 'completed':
                raise RuntimeError('%s: migration %s: %s' % (
                    m.name, info['status'], info.get('error-desc')))
        return (completed_at(src) - completed_at(dst)) * 1000
    finally:
        for m in reversed(machines):
            m.stop()
        shutil.rmtree(tmpdir, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('build', nargs='?', default='build')
    ap.add_argument('--against', help='a second build, run side by side')
    ap.add_argument('--size', default='1G', type=parse_size)
    ap.add_argument('--channels', type=int, default=4)
    ap.add_argument('--repeat', type=int, default=5)
    args = ap.parse_args()
    require_memory(2 * args.size + 256 * MiB, 'completion-lag.py')
    builds = [args.build] + ([args.against] if args.against else [])
    runs = {b: [] for b in builds}
    for i in range(args.repeat):
        for b in builds if i % 2 == 0 else list(reversed(builds)):
            print('round %d: %s...' % (i + 1, b), file=sys.stderr,
                  flush=True)
            runs[b].append(lag_once(b, args.size, args.channels))
    print('| build | guest | multifd channels | lag ms: median | max '
          '| runs |')
    print('| --- | --- | --- | --- | --- | --- |')
    for b in builds:
        r = sorted(runs[b])
        print('| %s | %s | %d | %.1f | %.1f | %s |'
              % (b, size_name(args.size), args.channels, r[len(r) // 2],
                 r[-1], ', '.join('%.1f' % x for x in runs[b])))


if __name__ == '__main__':
    main()
