#!/usr/bin/env python3
"""How fast one vCPU of the workload dirties guest pages, for each pattern,
with dirty tracking off and with each tracker on (not migrating).

For each case this starts a vmig with one vCPU, guest RAM allocated up
front (-mem-prealloc, so first-touch faults are not counted), and the
workload at an unreachable rate, so the vCPU writes as fast as it can.
With a tracker on, the log is started with x-dirty-log-start (the
backend chosen by -machine dirty-log) and synced every --sync-ms, as
migration passes would, so every sweep dirties pages that are logged
again.  Reported per case: pages/s and GB/s of wall time, and pages per
second of the vCPU thread's own CPU time (what it would do on a CPU of
its own: this machine is shared, so wall rates move with the load), and
with a tracker the cost per dirtied page against tracking off, from the
CPU-time rates, plus the time a sync takes per page it reports.  The
last row of each pattern is measured during a migration to a destination
on loopback TCP, with the default tracker and configuration: the rate
the guest keeps while migrated (the migration is cancelled after).

    scripts/bench/workload.py build
    scripts/bench/workload.py build --ram 1G --seconds 3 --repeat 3

Cases run interleaved (every case once per round), medians reported.
Python standard library only.  See docs/benchmarks.md.
"""

import argparse
import datetime
import os
import statistics
import sys
import tempfile
import time

from benchlib import (PAGE, Machine, machine_description, on_free_port,
                      parse_size, size_name)

# (name, -workload options): 'sweep' as a TCG test guest, the others with
# incompressible pages except the default content, text.
CASES = [
    ('sweep', 'pattern=sweep,hotset={ram}'),
    ('sequential/random', 'pattern=sequential,content=random'),
    ('random/random', 'pattern=random,content=random'),
    ('hotset/random', 'pattern=hotset,content=random'),
    ('sequential/text', 'pattern=sequential,content=text'),
]
# off, a -machine dirty-log value, or during a migration (default tracker)
TRACKERS = ['off', 'software', 'uffd-wp', 'migrating']
LOGGED = ('software', 'uffd-wp')
RATE = 1 << 40                          # far above what a vCPU reaches


def vcpu_cpu_seconds(pid):
    """User plus system time of thread 'vcpu 0' of process @pid."""
    task = '/proc/%d/task' % pid
    for tid in os.listdir(task):
        with open('%s/%s/comm' % (task, tid)) as f:
            if f.read().strip() != 'vcpu 0':
                continue
        with open('%s/%s/stat' % (task, tid)) as f:
            fields = f.read().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')
    raise RuntimeError('no thread "vcpu 0" in process %d' % pid)


def measure_writes(vm, logged, seconds, sync_ms):
    """The workload's writes of @vm over @seconds, the log x-dirty-log-
    start started synced every @sync_ms if @logged (once first, so only
    the window's writes count): pages/s of wall time ('wall') and of the
    vCPU thread's CPU time ('cpu'), that thread's share of a CPU, and the
    time a sync took per page it reported ('sync_ns', None unlogged)
    and the pages reported per second ('reported')."""
    sync_s, synced = 0.0, 0

    def sync():
        nonlocal sync_s, synced
        t = time.monotonic()
        pages = vm.cmd('x-dirty-log-sync')['pages']
        sync_s += time.monotonic() - t
        synced += pages

    if logged:
        sync()
    sync_s, synced = 0.0, 0
    w0 = vm.cmd('x-query-workload')['writes']
    c0 = vcpu_cpu_seconds(vm.proc.pid)
    t0 = time.monotonic()
    end = t0 + seconds
    while time.monotonic() < end:
        time.sleep(sync_ms / 1000 if logged else seconds)
        if logged:
            sync()
    w1 = vm.cmd('x-query-workload')['writes']
    c1 = vcpu_cpu_seconds(vm.proc.pid)
    t1 = time.monotonic()
    return {
        'wall': (w1 - w0) / (t1 - t0),
        'cpu': (w1 - w0) / max(c1 - c0, 1e-9),
        'cpu_share': (c1 - c0) / (t1 - t0),
        'sync_ns': sync_s / synced * 1e9 if synced else None,
        'reported': synced / (t1 - t0),
    }


def run_case(binary, tmpdir, ram, options, tracker, seconds, sync_ms):
    vm = Machine(binary, tmpdir, 'wl', [
        '-m', str(ram // (1 << 20)), '-mem-prealloc', '-workload',
        'rate=%d,%s' % (RATE, options.format(ram=ram))] +
        (['-machine', 'dirty-log=' + tracker] if tracker in LOGGED else []))
    dst = None
    try:
        backend = None
        if tracker in LOGGED:
            vm.cmd('x-dirty-log-start')
            backend = vm.cmd('x-dirty-log-sync')['backend']
        time.sleep(1)                   # a sweep or so before measuring
        if tracker == 'migrating':
            # A destination on loopback; the migration runs with its
            # defaults, its passes syncing the log, while we measure.
            dst, port = on_free_port(lambda port: Machine(
                binary, tmpdir, 'dst', [
                    '-m', str(ram // (1 << 20)), '-mem-prealloc', '-S',
                    '-incoming', 'tcp:127.0.0.1:%d' % port]))
            vm.cmd('migrate', uri='tcp:127.0.0.1:%d' % port)
            time.sleep(0.5)             # set-up and first syncs
        r = measure_writes(vm, backend is not None, seconds, sync_ms)
        r['backend'] = backend or 'off'
        if dst:
            status = vm.cmd('query-migrate').get('status')
            # Converged within the window: the guest was stopped for part
            # of it, so the rate would be no rate at all.
            r['backend'] = 'migrating' if status == 'active' else status
            vm.cmd('migrate_cancel')
        return r
    finally:
        vm.stop()
        if dst:
            dst.stop()


def report(text, out):
    """Prints @text, and appends it to file @out too if given (--out)."""
    print(text)
    if out:
        with open(out, 'a') as f:
            f.write(text + '\n')


def add_arguments(ap, seconds):
    """The options of this bench, which trackers.py shares; @seconds is
    the default measuring time per case."""
    ap.add_argument('build', help='meson build directory (holds vmig)')
    ap.add_argument('--ram', default='1G', help='guest RAM (default 1G)')
    ap.add_argument('--seconds', type=float, default=seconds,
                    help='measuring time per case (default %g)' % seconds)
    ap.add_argument('--sync-ms', type=float, default=100,
                    help='sync period with a tracker on (default 100)')
    ap.add_argument('--repeat', type=int, default=1,
                    help='rounds, every case once per round (default 1)')
    ap.add_argument('--out', help='also append the table to this file')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add_arguments(ap, 3)
    args = ap.parse_args()

    binary = os.path.join(args.build, 'vmig')
    ram = parse_size(args.ram)
    results = {}
    with tempfile.TemporaryDirectory(prefix='vmig-bench-') as tmpdir:
        for _ in range(args.repeat):
            for name, options in CASES:
                for tracker in TRACKERS:
                    r = run_case(binary, tmpdir, ram, options, tracker,
                                 args.seconds, args.sync_ms)
                    results.setdefault((name, tracker), []).append(r)
                    print('%-18s %-7s %-15s %9.0f pages/s wall, %9.0f per '
                          'vCPU-second' % (name, tracker, r['backend'],
                                           r['wall'], r['cpu']),
                          file=sys.stderr)

    def med(rs, key):
        vals = [r[key] for r in rs if r[key] is not None]
        return statistics.median(vals) if vals else None

    lines = [
        '%s, guest RAM %s, one vCPU, sync every %g ms with a tracker on, '
        'medians of %d round(s) of %g s, load average %s at the end' % (
            datetime.date.today(), size_name(ram), args.sync_ms,
            args.repeat, args.seconds,
            ' '.join('%.1f' % x for x in os.getloadavg())),
        machine_description(), '',
        '| pattern | tracker | pages/s (wall) | GB/s (wall) | vCPU CPU share '
        '| pages per vCPU-second | GB per vCPU-second | cost per dirtied '
        'page | sync per page |',
        '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ]
    for name, _ in CASES:
        base = med(results[(name, 'off')], 'cpu')
        for tracker in TRACKERS:
            rs = results[(name, tracker)]
            cpu = med(rs, 'cpu')
            sync = med(rs, 'sync_ns')
            cost = ('%.0f ns' % ((1 / cpu - 1 / base) * 1e9)
                    if tracker in LOGGED else '')
            lines.append('| %s | %s | %.0f | %.2f | %.2f | %.0f | %.2f | %s '
                         '| %s |' % (
                             name, rs[0]['backend'], med(rs, 'wall'),
                             med(rs, 'wall') * PAGE / 1e9,
                             med(rs, 'cpu_share'), cpu, cpu * PAGE / 1e9,
                             cost,
                             '%.0f ns' % sync if sync is not None else ''))
    report('\n'.join(lines) + '\n', args.out)


if __name__ == '__main__':
    main()
