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

Where the stopped phase's time went: vmig writes a "stop-phase STEP T"
line at each step of it (VMIG_TEST_TRACE_FD, here its stderr; T on the
monotonic clock both ends share), and a second table gives each step's
median per case, and the steps of the slowest run.

QEMU (--qemu, qemu-system-x86_64 by default: scripts/bench/setup-qemu-bench
installs it) migrates a paused guest of the same size in the same runs,
its RAM a file of random bytes (as multifd-vs-qemu.py does), with the
same downtime-limit and channels, and return-path on, so that its
downtime too ends with the destination's word.

    scripts/bench/downtime.py build
    scripts/bench/downtime.py build --size 512M --runs 20 --out d.md
    scripts/bench/downtime.py build --compare /tmp/build-before
    scripts/bench/downtime.py build --guests paused --runs 2 --save a.json
    scripts/bench/downtime.py --merge a.json b.json --out d.md

With --compare, each run also migrates with the other build's vmig, in
turn with this one's, so that the two see the same load.

Python standard library only; not part of the test suite.  Runs are
interleaved across cases so that a change in the machine's load falls
on all of them.  See docs/benchmarks.md.
"""

import argparse
import datetime
import json
import os
import shutil
import statistics
import sys
import tempfile

from benchlib import (MiB, QmpError, emit, load_script, machine_description,
                      require_memory, parse_size, size_name, wait_migration)
from precopy import VCPUS, migrate_once

# The channel cases, named as multifd-vs-qemu.py's scenarios.
CHANNELS = 'precopy,multifd-4,multifd-1-zstd,multifd-4-zstd'
QEMU = 'QEMU'

# The steps of the stopped phase, in order, as vmig traces them; each
# row of the phase table is the time from the step before.
STEPS = [
    ('stopped', 'vCPUs stop'),
    ('synced', 'final dirty sync'),
    ('pages-queued', 'last pages handed out'),
    ('pages-sent', 'pages on the wire (SYNC)'),
    ('devices-saved', 'multifd END, devices saved'),
    ('end-sent', 'device state and END sent'),
    ('end-read', 'destination reads up to END'),
    ('channels-ended', 'destination channels end'),
    ('devices-loaded', 'destination loads devices'),
    ('confirmation-sent', 'SHUTDOWN sent'),
    ('confirmed', 'source has the confirmation'),
]


def vmig_config(channels, compression):
    if not channels:
        return {}
    config = {'multifd': True, 'multifd-channels': channels}
    if compression != 'none':
        config['multifd-compression'] = compression
    return config


# multifd-vs-qemu.py, whose scenarios and QEMU driver this reuses.
MVQ = load_script('multifd_vs_qemu', os.path.join(
    os.path.dirname(os.path.abspath(__file__)), 'multifd-vs-qemu.py'))


def stop_phase_times(logs):
    """{step: microseconds} from both ends' "stop-phase STEP T" lines."""
    times = {}
    for text in logs.values():
        for line in text.splitlines():
            words = line.split()
            if len(words) == 3 and words[0] == 'stop-phase':
                times[words[1]] = int(words[2])
    return times


def step_durations(times):
    """{step: ms since the step before}, for the steps traced."""
    out = {}
    before = times.get('stop')
    for step, _ in STEPS:
        if step in times and before is not None:
            out[step] = (times[step] - before) / 1000
        before = times.get(step, before)
    return out


def qemu_once(args, tmp, content, channels, compression):
    """One migration of a paused QEMU guest whose RAM is @content;
    returns query-migrate's final answer."""
    tmpdir = tempfile.mkdtemp(prefix='run-', dir=tmp)
    tool = MVQ.Qemu(args)
    machines = []
    try:
        src, dst, _ = tool.start(tmpdir, content,
                                 os.path.join(tmpdir, 'dst.ram'),
                                 args.size, True)
        machines = [src, dst]
        for m in machines:
            m.cmd('migrate-set-capabilities', capabilities=[
                {'capability': 'return-path', 'state': True}])
        src.cmd('migrate-set-parameters', **{'downtime-limit': args.limit})
        tool.migrate(src, dst, None, channels, compression)
        info = wait_migration(src)
        if info['status'] != 'completed':
            raise RuntimeError('QEMU migration %s: %s'
                               % (info['status'], info.get('error-desc')))
        return info
    finally:
        for m in machines:
            m.stop()
        shutil.rmtree(tmpdir, ignore_errors=True)


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


def bench(args, tmp):
    builds = [args.build] + args.compare
    cases = [(g, c, b) for g in args.guests for c in args.channels
             for b in builds + ([QEMU] if args.qemu and g == 'paused'
                                else [])]
    runs = {case: [] for case in cases}
    phases = {case: [] for case in cases}
    content = None
    if any(b == QEMU for _, _, b in cases):
        content = os.path.join(tmp, 'content.ram')
        MVQ.write_content('random', content, args.size)
    for i in range(args.runs):
        for guest, channels, build in cases:
            print('%s, %s, %s: run %d of %d...'
                  % (build, guest, channels, i + 1, args.runs),
                  file=sys.stderr, flush=True)
            if build == QEMU:
                info = qemu_once(args, tmp, content,
                                 *MVQ.parse_scenario(channels))
            else:
                config = dict(vmig_config(*MVQ.parse_scenario(channels)), **{
                    'max-bandwidth': 0, 'downtime-limit': args.limit})
                logs = {}
                info = migrate_once(build, args.size, config, True, True,
                                    prepare=prepare(guest, args), logs=logs)
                phases[(guest, channels, build)].append(
                    step_durations(stop_phase_times(logs)))
            runs[(guest, channels, build)].append(info)
            print('  downtime %d ms, expected %s' % (
                info['downtime'], info.get('expected-downtime', 'n/a')),
                file=sys.stderr, flush=True)
            # Kept as they come: a run cut short keeps what it measured.
            if args.save:
                save(args.save, runs, phases)
    return runs, phases


def phase_table(runs, phases):
    """Each step's median per case, and the slowest run's steps."""
    cases = [c for c in runs if any(phases[c])]
    if not cases:
        return []
    out = ['', 'Where the stopped phase went (vmig, ms from the step '
           'before; median, and in brackets the slowest run\'s):', '',
           '| step | ' + ' | '.join(
               '%s, %s, %s' % (g, c, os.path.basename(b.rstrip('/')))
               for g, c, b in cases) + ' |',
           '| --- |' + ' ---: |' * len(cases)]
    for step, title in STEPS:
        cells = []
        for case in cases:
            slowest = max(range(len(runs[case])),
                          key=lambda k: runs[case][k]['downtime'])
            values = [p[step] for p in phases[case] if step in p]
            cells.append('%.1f (%.1f)' % (statistics.median(values),
                                          phases[case][slowest].get(
                                              step, float('nan')))
                         if values else 'n/a')
        out.append('| %s | %s |' % (title, ' | '.join(cells)))
    return out


def runs_per_case(runs):
    counts = sorted({len(infos) for infos in runs.values()})
    return ('%d' % counts[0] if len(counts) == 1
            else '%d to %d' % (counts[0], counts[-1]))


def markdown(runs, phases, args):
    date = datetime.datetime.now(datetime.timezone.utc)
    limit = args.limit
    out = [
        '%s, %s.' % (date.strftime('%Y-%m-%d %H:%M UTC'),
                     machine_description()),
        '',
        '%s guest, %d vCPUs, RAM full of random data, downtime-limit '
        '%d ms, loopback TCP, %s runs per case, interleaved; busy: each '
        'vCPU writes %s/s over a %s hot set.'
        % (size_name(args.size), VCPUS, limit,
           runs_per_case(runs),
           size_name(args.busy_rate), size_name(args.hotset)),
        '',
        '| guest | channels | build | p50 | p95 | max | > limit '
        '| > 1.25x limit | expected (median) '
        '| measured - expected (median) |',
        '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ]
    if args.qemu:
        out[2:2] = ['QEMU: %s, paused guest whose RAM is a file of random '
                    'bytes, return-path on; its downtime is its own '
                    'measure (stop to the end of its completion).'
                    % args.qemu, '']
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
                   % (guest, channels, os.path.basename(build.rstrip('/')),
                      percentile(down, 50),
                      percentile(down, 95), max(down),
                      sum(d > limit for d in down), len(down),
                      sum(d > limit * 1.25 for d in down), len(down),
                      expected, diff))
    out += phase_table(runs, phases)
    return '\n'.join(out) + '\n'


def save(path, runs, phases):
    """The runs' figures, to be tabled with others' (--merge)."""
    with open(path, 'w') as f:
        json.dump([[list(case), runs[case], phases[case]] for case in runs
                   if runs[case]], f)


def merge(paths):
    """The runs saved in @paths, case by case in their first order."""
    runs, phases = {}, {}
    for path in paths:
        with open(path) as f:
            for case, infos, steps in json.load(f):
                case = tuple(case)
                runs.setdefault(case, []).extend(infos)
                phases.setdefault(case, []).extend(steps)
    return runs, phases


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
    ap.add_argument('--channels', default=CHANNELS,
                    type=lambda s: s.split(','),
                    help='precopy (one channel), multifd-N or '
                         'multifd-N-zstd, comma-separated (default: %s)'
                    % CHANNELS)
    ap.add_argument('--qemu', default='qemu-system-x86_64',
                    help='the QEMU binary for the paused guest\'s '
                         'comparison; "none" to leave QEMU out')
    ap.add_argument('--tmp-dir', default='/dev/shm' if os.path.isdir(
                        '/dev/shm') else tempfile.gettempdir(),
                    help='where the QEMU guest\'s RAM files go')
    ap.add_argument('--out', help='also write the table to this file')
    ap.add_argument('--save', metavar='FILE',
                    help='also write the runs\' figures to FILE (JSON)')
    ap.add_argument('--merge', nargs='+', metavar='FILE',
                    help='run nothing: table the runs saved in these '
                         'files together (give the same --size, --limit, '
                         '--busy-rate, --hotset and --qemu as they had)')
    args = ap.parse_args()
    if args.merge:
        args.qemu = None if args.qemu == 'none' else args.qemu
        emit(markdown(*merge(args.merge), args), args.out)
        return
    if args.qemu == 'none' or 'paused' not in args.guests:
        args.qemu = None
    elif not shutil.which(args.qemu):
        ap.error('%s not found: run scripts/bench/setup-qemu-bench, or '
                 'give --qemu none' % args.qemu)
    for name in args.channels:
        try:
            MVQ.parse_scenario(name)
        except ValueError as e:
            ap.error(str(e))

    for build in [args.build] + args.compare:
        if not os.access(os.path.join(build, 'vmig'), os.X_OK):
            ap.error('%s/vmig not found: build first' % build)
    if set(args.guests) - {'paused', 'busy'}:
        ap.error('--guests takes paused and busy')
    require_memory((3 if args.qemu else 2) * args.size + 256 * MiB,
                   'downtime.py')
    # Each vmig traces its stopped phase on its stderr (its log).
    os.environ['VMIG_TEST_TRACE_FD'] = '2'
    tmp = tempfile.mkdtemp(prefix='vmig-downtime-', dir=args.tmp_dir)
    try:
        runs, phases = bench(args, tmp)
    except (QmpError, RuntimeError, OSError) as e:
        sys.exit('downtime.py: %s' % e)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.save:
        save(args.save, runs, phases)
    emit(markdown(runs, phases, args), args.out)


if __name__ == '__main__':
    main()
