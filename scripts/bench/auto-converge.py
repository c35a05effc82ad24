#!/usr/bin/env python3
"""Convergence of a busy guest, with and without auto-converge, for one or
more vmig builds side by side (#12 item 5).

Each run starts a source vmig with one vCPU, fills its guest RAM with
incompressible data, sets the workload to dirty a working set (the
"hotset") at a given rate with a given pattern (sweep: one byte per page,
in order, as a TCG guest looping over its memory does; random: the same
rate spread at random, so re-written pages do not hide the rate), then
migrates it over loopback TCP with no bandwidth limit and the given
downtime-limit.  It samples query-migrate every 50 ms and reports the
total time, the downtime, the passes (dirty syncs), the highest throttle
seen and when it was first seen, and the guest's write rate during the
migration.  A migration still running after --timeout seconds is
cancelled and reported as not converged.

Cases (size x pattern x auto-converge) and builds are interleaved round
by round, the build order alternating, and each figure is the median over
the rounds.

    scripts/bench/auto-converge.py before=BUILD_A after=BUILD_B \\
        --sizes 1G --patterns sweep --auto-converge on --rounds 3

Python standard library only; each run needs twice the guest's size in
free memory.  See docs/benchmarks.md, "Auto-converge".
"""

import argparse
import datetime
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

from benchlib import (MiB, Machine, QmpError, emit, machine_description,
                      parse_size, size_name)
import precopy
from precopy import fill_ram, start_destination

SAMPLE_S = 0.05


def one_run(build, size, pattern, rate, auto_converge, downtime_limit,
            max_bandwidth, timeout, dirty_log=None):
    """One migration of a busy @size guest; returns its figures."""
    tmpdir = tempfile.mkdtemp(prefix='vmig-ac-')
    machines = []
    try:
        src = Machine(os.path.join(build, 'vmig'), tmpdir, 'src',
                      ['-m', str(size // MiB), '-smp', '1', '-workload',
                       'rate=64G,pattern=sequential,content=random,seed=7'] +
                      (['-machine', 'dirty-log=' + dirty_log]
                       if dirty_log else []))
        machines.append(src)
        fill_ram(src, size)
        dst, port = start_destination(build, tmpdir, size, True)
        machines.append(dst)
        src.cmd('x-workload-set', rate=rate, pattern=pattern, hotset=size)
        # Let the workload reach its pace before the clock starts.
        time.sleep(0.5)
        writes0 = src.cmd('x-query-workload')['writes']
        t0 = time.monotonic()
        src.cmd('migrate', uri='tcp:127.0.0.1:%d' % port, config={
            'max-bandwidth': max_bandwidth, 'downtime-limit': downtime_limit,
            'auto-converge': auto_converge})
        top, first_throttle, info = 0, None, {}
        # The guest's writes while it ran: the last sample before the
        # switchover stopped it.
        running = (0, 0)
        while True:
            writes = src.cmd('x-query-workload')['writes'] - writes0
            info = src.cmd('query-migrate')
            now = time.monotonic() - t0
            if info['status'] == 'active':
                running = (now, writes)
            pct = info.get('cpu-throttle-percentage', 0)
            if pct and first_throttle is None:
                first_throttle = now
            top = max(top, pct)
            if info['status'] in ('completed', 'failed', 'cancelled'):
                break
            if now > timeout:
                src.cmd('migrate_cancel')
                break
            time.sleep(SAMPLE_S)
        ram = info.get('ram', {})
        done = info['status'] == 'completed'
        secs = (info['total-time'] / 1000 if done else
                time.monotonic() - t0)
        return {
            'converged': done,
            'status': info['status'],
            'total_s': secs,
            'downtime_ms': info.get('downtime') if done else None,
            'expected_ms': info.get('expected-downtime'),
            'passes': ram.get('dirty-sync-count'),
            'throttle': top,
            'first_throttle_s': first_throttle,
            'guest_pages_s': (running[1] / running[0] if running[0]
                              else None),
        }
    finally:
        for m in reversed(machines):
            m.stop()
        shutil.rmtree(tmpdir, ignore_errors=True)


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(value, spec, unit=1):
    return '-' if value is None else spec % (value / unit)


def report(builds, cases, results, args):
    lines = [
        '# Auto-converge: busy guest, one vCPU, loopback TCP',
        '',
        'Date: %s UTC' % datetime.datetime.utcnow().strftime(
            '%Y-%m-%d %H:%M'),
        'Machine: %s' % machine_description(),
        'Workload rate %s/s, downtime-limit %d ms, max-bandwidth %s, '
        '%d round(s), timeout %d s, dirty tracker %s; builds: %s' % (
            size_name(args.rate), args.downtime_limit,
            size_name(args.max_bandwidth) + '/s' if args.max_bandwidth
            else 'none', args.rounds,
            args.timeout, args.dirty_log or 'default',
            ', '.join('%s=%s' % b for b in builds)),
        '',
        '| set | pattern | auto-converge | build | converged | total s '
        '| downtime ms | passes | max throttle % | first throttle s '
        '| guest kpages/s |',
        '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ]
    for case in cases:
        for name, _ in builds:
            runs = results[(case, name)]
            ok = [r for r in runs if r['converged']]
            lines.append(
                '| %s | %s | %s | %s | %d/%d | %s | %s | %s | %s | %s | %s |'
                % (size_name(case[0]), case[1],
                   'on' if case[2] else 'off', name, len(ok), len(runs),
                   fmt(median([r['total_s'] for r in ok]), '%.1f'),
                   fmt(median([r['downtime_ms'] for r in ok]), '%d'),
                   fmt(median([r['passes'] for r in runs]), '%d'),
                   fmt(median([r['throttle'] for r in runs]), '%d'),
                   fmt(median([r['first_throttle_s'] for r in runs]),
                       '%.1f'),
                   fmt(median([r['guest_pages_s'] for r in runs]),
                       '%.0f', 1000)))
    lines.append('')
    lines.append('Medians: total and downtime over the runs that '
                 'converged, first throttle over those that throttled, '
                 'the rest over all runs.')
    return '\n'.join(lines) + '\n'


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('builds', nargs='+', metavar='NAME=BUILD',
                    help='build directories holding vmig, with a label')
    ap.add_argument('--sizes', default='512M,1G')
    ap.add_argument('--patterns', default='sweep,random')
    ap.add_argument('--auto-converge', default='both',
                    choices=('on', 'off', 'both'))
    ap.add_argument('--rate', type=parse_size, default=parse_size('1536M'),
                    help='workload bytes/s (one byte per page counts as '
                    'a page); default QEMU\'s measured ~380k pages/s')
    ap.add_argument('--downtime-limit', type=int, default=300)
    ap.add_argument('--max-bandwidth', type=parse_size, default=0,
                    help='bytes/s; default 0, no limit')
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--timeout', type=float, default=40)
    ap.add_argument('--dirty-log', choices=('software', 'uffd-wp'),
                    help='the source\'s dirty tracker (-machine '
                    'dirty-log=); default: the build\'s')
    ap.add_argument('--out', help='also write the report here')
    ap.add_argument('--json', help='write every run\'s figures here')
    args = ap.parse_args()

    builds = []
    for b in args.builds:
        name, sep, path = b.partition('=')
        if not sep or not os.path.exists(os.path.join(path, 'vmig')):
            ap.error('%s: want NAME=BUILD with BUILD/vmig' % b)
        builds.append((name, path))
    precopy.VCPUS = 1
    acs = {'on': [True], 'off': [False], 'both': [False, True]}
    cases = [(parse_size(s), p, ac) for s in args.sizes.split(',')
             for p in args.patterns.split(',')
             for ac in acs[args.auto_converge]]
    results = {(c, n): [] for c in cases for n, _ in builds}
    runs = []
    for rnd in range(args.rounds):
        for case in cases:
            order = builds if rnd % 2 == 0 else builds[::-1]
            for name, path in order:
                try:
                    r = one_run(path, case[0], case[1], args.rate, case[2],
                                args.downtime_limit, args.max_bandwidth,
                                args.timeout, args.dirty_log)
                except (QmpError, RuntimeError, OSError) as e:
                    sys.exit('%s %s: %s' % (name, case, e))
                r.update(build=name, size=case[0], pattern=case[1],
                         auto_converge=case[2], round=rnd)
                print(json.dumps(r), flush=True)
                results[(case, name)].append(r)
                runs.append(r)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(runs, f, indent=1)
    emit(report(builds, cases, results, args), args.out)


if __name__ == '__main__':
    main()
