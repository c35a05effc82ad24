#!/usr/bin/env python3
"""Downtime against downtime-limit: N migrations per case, the measured
downtime's distribution and the prediction the switchover went by.

Cases: a paused guest (stopped before migrating) and a busy one (the
workload keeps writing a hot set while migrating), each over one
channel, multifd, and multifd with zstd (one channel and several).  The
guest's RAM is first filled with random data (as precopy.py does).
Digests are checked equal after each migration.  Each migration's
query-migrate gives `downtime` (VM stop to the
destination's confirmation) and `expected-downtime` (the prediction the
switchover decision went by).  Reported per case: p50, p95 and max of
the measured downtime, how many runs went over the limit and over
1.25x the limit, and the median of measured minus expected.

    scripts/bench/downtime.py build
    scripts/bench/downtime.py build --size 512M --runs 20 --out d.md
    scripts/bench/downtime.py build --compare /tmp/build-before

With --compare, each run also migrates with the other build's vmig, in
turn with this one's, so that the two see the same load.

Python standard library only; not part of the test suite.  Runs are
interleaved across cases so that a change in the machine's load falls
on all of them.  See docs/benchmarks.md.
"""

import argparse
import datetime
import os
import statistics
import sys

from benchlib import (GiB, MiB, QmpError, emit, machine_description,
                      mem_available, parse_size, size_name)
from precopy import VCPUS, migrate_once

CHANNELS = {
    'single channel': {},
    'multifd': {'multifd': True, 'multifd-channels': 4},
    'multifd, 1 ch, zstd': {'multifd': True, 'multifd-channels': 1,
                            'multifd-compression': 'zstd'},
    'multifd, zstd': {'multifd': True, 'multifd-channels': 4,
                      'multifd-compression': 'zstd'},
}


def prepare(guest, args):
    """What the source does before migrating: stop, or write @args'
    rate over its hot set."""
    def run(src):
        if guest == 'paused':
            src.cmd('stop')
        else:
            src.cmd('x-workload-set', rate=args.busy_rate, pattern='hotset',
                    hotset=args.hotset, content='text')
    return run


def percentile(values, pct):
    """The nearest-rank percentile: a value that was measured."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[rank - 1]


def bench(args):
    cases = [(g, c, b) for g in args.guests for c in CHANNELS
             for b in [args.build] + args.compare]
    runs = {case: [] for case in cases}
    for i in range(args.runs):
        for guest, channels, build in cases:
            print('%s, %s, %s: run %d of %d...'
                  % (build, guest, channels, i + 1, args.runs),
                  file=sys.stderr, flush=True)
            config = dict(CHANNELS[channels], **{
                'max-bandwidth': 0, 'downtime-limit': args.limit})
            runs[(guest, channels, build)].append(
                migrate_once(build, args.size, config, True, True,
                             prepare(guest, args)))
    return runs


def markdown(runs, args):
    date = datetime.datetime.now(datetime.timezone.utc)
    limit = args.limit
    out = [
        '%s, %s.' % (date.strftime('%Y-%m-%d %H:%M UTC'),
                     machine_description()),
        '',
        '%s guest, %d vCPUs, RAM full of random data, downtime-limit '
        '%d ms, loopback TCP, %d runs per case, interleaved; busy: each '
        'vCPU writes %s/s over a %s hot set.'
        % (size_name(args.size), VCPUS, limit, args.runs,
           size_name(args.busy_rate), size_name(args.hotset)),
        '',
        '| guest | channels | build | p50 | p95 | max | > limit '
        '| > 1.25x limit | expected (median) '
        '| measured - expected (median) |',
        '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ]
    for (guest, channels, build), infos in runs.items():
        down = [i['downtime'] for i in infos]
        pairs = [(i['downtime'], i['expected-downtime']) for i in infos
                 if 'expected-downtime' in i]
        expected = ('%d ms' % statistics.median(e for _, e in pairs)
                    if pairs else 'n/a')
        diff = ('%+d ms' % statistics.median(d - e for d, e in pairs)
                if pairs else 'n/a')
        out.append('| %s | %s | %s | %d ms | %d ms | %d ms | %d/%d '
                   '| %d/%d | %s | %s |'
                   % (guest, channels, build, percentile(down, 50),
                      percentile(down, 95), max(down),
                      sum(d > limit for d in down), len(down),
                      sum(d > limit * 1.25 for d in down), len(down),
                      expected, diff))
    return '\n'.join(out) + '\n'


def main():
    ap = argparse.ArgumentParser(
        description='Measured downtime against downtime-limit.')
    ap.add_argument('build', nargs='?', default='build',
                    help='the meson build directory (default: build)')
    ap.add_argument('--size', default='512M', type=parse_size,
                    help='guest size (default: 512M)')
    ap.add_argument('--runs', type=int, default=10,
                    help='migrations per case (default: 10)')
    ap.add_argument('--limit', type=int, default=300,
                    help='downtime-limit in ms (default: 300)')
    ap.add_argument('--guests', default='paused,busy',
                    type=lambda s: s.split(','),
                    help='paused, busy or both (default: paused,busy)')
    ap.add_argument('--busy-rate', default='64M', type=parse_size,
                    help='bytes/s each vCPU of the busy guest writes')
    ap.add_argument('--hotset', default='64M', type=parse_size,
                    help='the busy guest\'s hot set (default: 64M)')
    ap.add_argument('--compare', action='append', default=[],
                    metavar='BUILD',
                    help='another build directory to run in turn with '
                         'this one (e.g. before a change); repeatable')
    ap.add_argument('--out', help='also write the table to this file')
    args = ap.parse_args()

    for build in [args.build] + args.compare:
        if not os.access(os.path.join(build, 'vmig'), os.X_OK):
            ap.error('%s/vmig not found: build first' % build)
    if set(args.guests) - {'paused', 'busy'}:
        ap.error('--guests takes paused and busy')
    if mem_available() < 2 * args.size + 256 * MiB:
        sys.exit('downtime.py: needs %.1f GiB of free memory'
                 % ((2 * args.size + 256 * MiB) / GiB))
    try:
        runs = bench(args)
    except (QmpError, RuntimeError, OSError) as e:
        sys.exit('downtime.py: %s' % e)
    emit(markdown(runs, args), args.out)


if __name__ == '__main__':
    main()
