#!/usr/bin/env python3
"""Which dirty tracker keeps both a busy guest and its migration fastest:
each tracker the machine offers priced side by side (#12 item 2).

Trackers (-machine dirty-log=, on the guest RAM named after the colon):
  software:anon      the software log, RAM anonymous (transparent huge
                     pages where the host has them, system/ram.c)
  uffd-wp:anon       uffd-wp at 4 KiB: a write-protect fault splits the
                     huge page it hits (the 'AnonHugePages' columns)
  software:hugetlb   the software log on 2 MiB hugetlbfs pages
  uffd-wp:hugetlb    uffd-wp at 2 MiB: one fault per huge page, and a
                     sync reports its 512 guest pages
The hugetlb ones need root: the bench mounts a hugetlbfs and raises
vm.nr_hugepages for the run, then puts both back.  Linux soft-dirty
(/proc/PID/clear_refs and pagemap bit 55) is only probed: where the
kernel has it, it is priced by no case here (see docs/benchmarks.md).

--part guest: one vCPU writing all guest RAM with --pattern (default
sweep: one byte per page, as a TCG test guest) as fast as it can, with tracking off and with each
tracker on (x-dirty-log-start, synced every --sync-ms): pages per
vCPU-second, the cost per dirtied page against tracking off on the same
memory, the time a sync takes per page it reports, the pages a sync
reports per page written (above 1: the tracker's granularity is coarser
than the guest's page), and AnonHugePages before the log starts and at
the end.

--part migration: a source whose RAM is first filled with random bytes,
then swept at --rate (default 380k pages/s, QEMU 7.2's TCG guest's rate
here), migrated over loopback TCP with max-bandwidth unlimited; the
first pass's throughput (page-bytes when query-migrate's iteration is 2,
over the time since migrate), the guest's write rate in the second
before migrating and during that first pass; the migration is cancelled
after the first pass.  Then the same source is paused and migrated
again to a new destination, to completion: the paused first pass is
the reference (busy / paused).

Cases run interleaved (every case once per round), medians reported.
Python standard library only.  See docs/benchmarks.md, "Which dirty
tracker".

    scripts/bench/trackers.py build --part guest --repeat 3
    scripts/bench/trackers.py build --part migration --repeat 3
"""

import argparse
import contextlib
import ctypes
import datetime
import mmap
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time

from benchlib import (MiB, PAGE, Machine, machine_description,
                      on_free_port, parse_size, size_name, wait_migration)
from workload import add_arguments, measure_writes, report

TRACKERS = ['software:anon', 'uffd-wp:anon', 'software:hugetlb',
            'uffd-wp:hugetlb']
HUGE = 2 * MiB
QEMU_RATE = 380000                      # pages/s, QEMU 7.2 TCG, #12
UNLIMITED = 1 << 40


def ram_args(memory, ram, hugedir):
    """vmig's guest RAM options for @memory ('anon' or 'hugetlb')."""
    mib = ram // MiB
    if memory == 'anon':
        return ['-m', str(mib), '-mem-prealloc']
    return ['-m', str(mib), '-object',
            'memory-backend-file,id=pc.ram,size=%dM,mem-path=%s,'
            'prealloc=on' % (mib, hugedir),
            '-machine', 'memory-backend=pc.ram']


def tracker_args(tracker, ram, hugedir):
    """vmig's options for @tracker ('off:MEMORY' is no tracker)."""
    name, memory = tracker.split(':')
    args = ram_args(memory, ram, hugedir)
    if name == 'off':
        return args
    # The last -machine wins and takes all its keys: one option.
    if memory == 'hugetlb':
        args[-1] += ',dirty-log=' + name
        return args
    return args + ['-machine', 'dirty-log=' + name]


def anon_huge_kib(pid):
    with open('/proc/%d/smaps_rollup' % pid) as f:
        for line in f:
            if line.startswith('AnonHugePages:'):
                return int(line.split()[1])
    return 0


@contextlib.contextmanager
def hugetlbfs(ram, tmpdir):
    """A hugetlbfs directory with room for two guests of @ram, a source
    and its destination (for its lifetime: vm.nr_hugepages raised, then
    put back), or None with a message if this host cannot have one."""
    path = '/proc/sys/vm/nr_hugepages'
    mnt = os.path.join(tmpdir, 'huge')
    need = 2 * ram // HUGE
    try:
        with open(path) as f:
            before = int(f.read())
        os.mkdir(mnt)
        subprocess.run(['mount', '-t', 'hugetlbfs', '-o', 'pagesize=2M',
                        'none', mnt], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as e:
        print('no hugetlbfs: %s' % e, file=sys.stderr)
        yield None
        return
    try:
        with open(path, 'w') as f:
            f.write(str(before + need))
        with open('/proc/meminfo') as f:
            free = [int(l.split()[1]) for l in f
                    if l.startswith('HugePages_Free:')][0]
        if free < need:
            print('only %d free huge pages of the %d needed' % (free, need),
                  file=sys.stderr)
            yield None
        else:
            yield mnt
    finally:
        subprocess.run(['umount', mnt], check=False)
        with open(path, 'w') as f:
            f.write(str(before))


def soft_dirty_probe(pages=16):
    """Whether the kernel keeps Linux soft-dirty bits: pages of a new
    mapping written after clear_refs 4, counted with pagemap bit 55."""
    m = mmap.mmap(-1, pages * PAGE)
    addr = ctypes.addressof(ctypes.c_char.from_buffer(m))
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('4')
    for i in range(pages):
        m[i * PAGE] = 1
    flagged = 0
    with open('/proc/self/pagemap', 'rb') as f:
        f.seek(addr // PAGE * 8)
        for (entry,) in struct.iter_unpack('Q', f.read(pages * 8)):
            flagged += entry >> 55 & 1
    return flagged, pages


def guest_case(binary, tmpdir, ram, hugedir, tracker, pattern, seconds,
               sync_ms):
    vm = Machine(binary, tmpdir, 'guest', tracker_args(tracker, ram,
                                                       hugedir) +
                 ['-workload', 'rate=%d,pattern=%s,content=random,'
                  'hotset=%d' % (UNLIMITED, pattern, ram)])
    try:
        logged = not tracker.startswith('off:')
        huge0 = anon_huge_kib(vm.proc.pid)
        backend = 'off'
        if logged:
            vm.cmd('x-dirty-log-start')
            backend = vm.cmd('x-dirty-log-sync')['backend']
        time.sleep(1)
        r = measure_writes(vm, logged, seconds, sync_ms)
        r.update(backend=backend, huge0=huge0 / 1024,
                 huge1=anon_huge_kib(vm.proc.pid) / 1024)
        return r
    finally:
        vm.stop()


def fill(vm, ram):
    """Every page written once with random bytes, then the workload
    idles: a paused guest's pages are not all zero."""
    vm.cmd('x-workload-set', rate=UNLIMITED, pattern='sequential',
           content='random')
    deadline = time.monotonic() + 60
    while vm.cmd('x-query-workload')['writes'] < ram // PAGE:
        if time.monotonic() > deadline:
            raise RuntimeError('filling guest RAM took too long')
        time.sleep(0.05)
    vm.cmd('x-workload-set', rate=0)


def destination(binary, tmpdir, ram, hugedir, memory):
    """The source's kind of RAM: the handshake wants the same pages."""
    return on_free_port(lambda port: Machine(
        binary, tmpdir, 'dst', ram_args(memory, ram, hugedir) +
        ['-S', '-incoming', 'tcp:127.0.0.1:%d' % port]))


def first_pass(binary, tmpdir, ram, hugedir, memory, src, busy):
    """Migrates @src; returns the first pass's throughput (bytes/s), the
    workload's writes in that pass (pages/s) and how long it took.
    A busy migration is cancelled after its first pass."""
    dst, port = destination(binary, tmpdir, ram, hugedir, memory)
    try:
        w0 = src.cmd('x-query-workload')['writes']
        t0 = time.monotonic()
        src.cmd('migrate', uri='tcp:127.0.0.1:%d' % port,
                config={'max-bandwidth': 0})
        while True:
            i = src.cmd('query-migrate')
            ram_info = i.get('ram', {})
            done = i.get('status') in ('completed', 'failed', 'cancelled')
            if done or ram_info.get('iteration', 1) > 1:
                break
            time.sleep(0.01)
        t1 = time.monotonic()
        w1 = src.cmd('x-query-workload')['writes']
        if i.get('status') == 'failed':
            raise RuntimeError('migration failed: %s' % i.get('error-desc'))
        if busy and not done:
            src.cmd('migrate_cancel')
        wait_migration(src)
        return {'first_bps': ram_info['page-bytes'] / (t1 - t0),
                'pass_rate': (w1 - w0) / (t1 - t0), 'pass_s': t1 - t0,
                'status': i['status']}
    finally:
        dst.stop()


def migration_case(binary, tmpdir, ram, hugedir, tracker, rate):
    src = Machine(binary, tmpdir, 'src', tracker_args(tracker, ram,
                                                      hugedir))
    try:
        fill(src, ram)
        src.cmd('x-workload-set', rate=rate * PAGE, pattern='sweep',
                hotset=ram)
        time.sleep(0.5)
        before = measure_writes(src, False, 1, 1000)['wall']
        memory = tracker.split(':')[1]
        busy = first_pass(binary, tmpdir, ram, hugedir, memory, src, True)
        src.cmd('stop')
        paused = first_pass(binary, tmpdir, ram, hugedir, memory, src,
                            False)
        return {'before': before, 'during': busy['pass_rate'],
                'busy_bps': busy['first_bps'], 'busy_s': busy['pass_s'],
                'paused_bps': paused['first_bps'],
                'ratio': busy['first_bps'] / paused['first_bps']}
    finally:
        src.stop()


def med(rs, key):
    vals = [r[key] for r in rs if r.get(key) is not None]
    return statistics.median(vals) if vals else None


def md_table(head, rows):
    """A markdown table: two text columns, the others numbers."""
    return (['| %s |' % ' | '.join(head),
             '| --- | --- |' + ' ---: |' * (len(head) - 2)] +
            ['| %s |' % ' | '.join(r) for r in rows])


def guest_table(results, trackers):
    rows = []
    for t in trackers:
        rs = results[t]
        name, memory = t.split(':')
        cpu = med(rs, 'cpu')
        base = med(results['off:' + memory], 'cpu')
        sync = med(rs, 'sync_ns')
        reported = med([dict(x=r['reported'] / r['wall']) for r in rs], 'x')
        logged = name != 'off'
        rows.append([
            rs[0]['backend'], memory, '%.0f' % med(rs, 'wall'), '%.0f' % cpu,
            '%.2fx' % (base / cpu) if logged else '',
            '%.0f ns' % ((1 / cpu - 1 / base) * 1e9) if logged else '',
            '%.1f ns' % sync if sync is not None else '',
            '%.3f' % reported if logged else '',
            '%.0f / %.0f' % (med(rs, 'huge0'), med(rs, 'huge1'))])
    return md_table(['tracker', 'memory', 'pages/s (wall)',
                     'pages per vCPU-second', 'slowdown (vCPU-second)',
                     'cost per dirtied page', 'sync per page',
                     'pages reported per page written',
                     'AnonHugePages before / after (MiB)'], rows)


def migration_table(results, trackers):
    rows = []
    for t in trackers:
        rs = results[t]
        rows.append(t.split(':') + [
            '%.0f' % med(rs, 'before'), '%.0f' % med(rs, 'during'),
            '%.0f' % (med(rs, 'busy_bps') / 1e6),
            '%.0f' % (med(rs, 'paused_bps') / 1e6),
            '%.2f' % med(rs, 'ratio')])
    return md_table(['tracker', 'memory', 'guest pages/s before',
                     'guest pages/s in the first pass',
                     'first pass busy (MB/s)', 'first pass paused (MB/s)',
                     'busy / paused'], rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add_arguments(ap, 2)
    ap.add_argument('--part', choices=('guest', 'migration'),
                    required=True)
    ap.add_argument('--pattern', default='sweep',
                    choices=('sweep', 'random', 'sequential', 'hotset'),
                    help='guest: the workload\'s pattern (default sweep; '
                    'content=random)')
    ap.add_argument('--rate', type=int, default=QEMU_RATE,
                    help='migration: the guest\'s pages/s (default %d)'
                    % QEMU_RATE)
    ap.add_argument('--trackers', default=','.join(TRACKERS),
                    help='comma-separated (default all)')
    args = ap.parse_args()

    binary = os.path.join(args.build, 'vmig')
    ram = parse_size(args.ram)
    trackers = args.trackers.split(',')
    results = {}
    with tempfile.TemporaryDirectory(prefix='vmig-bench-') as tmpdir, \
            hugetlbfs(ram, tmpdir) as hugedir:
        if hugedir is None:
            trackers = [t for t in trackers if not t.endswith(':hugetlb')]
        if args.part == 'guest':
            memories = sorted({t.split(':')[1] for t in trackers})
            trackers = ['off:' + m for m in memories] + trackers
        for _ in range(args.repeat):
            for t in trackers:
                if args.part == 'guest':
                    r = guest_case(binary, tmpdir, ram, hugedir, t,
                                   args.pattern, args.seconds, args.sync_ms)
                    print('%-17s %10.0f pages/vCPU-s, huge %4.0f -> %4.0f '
                          'MiB' % (t, r['cpu'], r['huge0'], r['huge1']),
                          file=sys.stderr)
                else:
                    r = migration_case(binary, tmpdir, ram, hugedir, t,
                                       args.rate)
                    print('%-17s guest %7.0f -> %7.0f pages/s, first pass '
                          '%5.0f MB/s busy, %5.0f paused' % (
                              t, r['before'], r['during'],
                              r['busy_bps'] / 1e6, r['paused_bps'] / 1e6),
                          file=sys.stderr)
                results.setdefault(t, []).append(r)

    flagged, probed = soft_dirty_probe()
    head = ('%s, guest RAM %s, medians of %d round(s), load average %s at '
            'the end; Linux soft-dirty: %d of %d pages written after '
            'clear_refs flagged' % (
                datetime.date.today(), size_name(ram), args.repeat,
                ' '.join('%.1f' % x for x in os.getloadavg()), flagged,
                probed))
    if args.part == 'guest':
        head += ('; one vCPU, pattern %s over all RAM, unthrottled, %g s '
                 'per case, sync every %g ms' % (args.pattern, args.seconds,
                                                 args.sync_ms))
        table = guest_table(results, trackers)
    else:
        head += ('; the guest sweeping all RAM at %d pages/s, loopback '
                 'TCP, max-bandwidth unlimited' % args.rate)
        table = migration_table(results, trackers)
    report('\n'.join([head, machine_description(), ''] + table) + '\n',
           args.out)


if __name__ == '__main__':
    main()
