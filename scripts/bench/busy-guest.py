#!/usr/bin/python3
"""Busy guests against QEMU: a guest that keeps dirtying a working set
while it is migrated, by QEMU 7.2 under TCG and by vmig, in one run.

QEMU's guest is a boot sector assembled here with gas (as + ld, from
binutils) into a temporary directory: it switches to 32-bit protected
mode with flat segments and stores one byte into every 4 KiB page of
the working set (from 1 MiB up), sweep after sweep, forever, counting
the pages it wrote at a fixed address that the benchmark reads with
pmemsave.  Its page rate, measured before the runs, becomes vmig's
workload rate: one vCPU, pattern=sweep over the same working set, RAM
first filled with random data.  Both guests have the working set plus
GUEST_EXTRA of RAM.

Cases: each working set (--sizes), auto-converge off and on, busy; and
each size paused (the guest stopped before migrating) for the
first-pass throughput a busy guest is measured against.  Every round
runs every case once with the programs alternating (which goes first
changes from round to round); medians over the rounds.  A migration
still running after --bound seconds is cancelled and counted as "did
not converge".  query-migrate is sampled every SAMPLE_S during each
migration for the first pass and the plots.

    scripts/bench/setup-qemu-bench      # QEMU, binutils, matplotlib
    scripts/bench/busy-guest.py build --out /tmp/busy.md --plots /tmp
    scripts/bench/busy-guest.py build --sizes 512M --auto-converge on \\
        --rounds 1 --json /tmp/a.json
    scripts/bench/busy-guest.py --merge /tmp/a.json /tmp/b.json --out ...

--json keeps every run's figures and samples; --merge reports several
such files (each a shorter run, e.g. under a lock that is held for a
few minutes at most) as one.  Not part of the test suite.  See
docs/benchmarks.md.  Runs with Debian's /usr/bin/python3 (matplotlib
for --plots only; the rest is the standard library).
"""

import argparse
import datetime
import json
import os
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time

from benchlib import (GiB, MiB, PAGE, Machine, QmpError, git_commit,
                      machine_description, require_memory, on_free_port,
                      parse_size, qemu_migrate_tcp, qemu_version,
                      read_runs, size_name)
from downtime import percentile
from precopy import fill_ram

GUEST_EXTRA = 8 * MiB           # RAM besides the working set
WS_START = 1 * MiB              # where QEMU's working set begins
COUNTER = 0x500                 # QEMU guest: pages written (uint32)
SAMPLE_S = 0.05
RATE_WINDOW_S = 1.0             # the guest's rate before migrating
TOOL_NAMES = {'qemu': 'QEMU', 'vmig': 'vmig', 'compare': 'vmig (compare)'}

# The QEMU guest.  BIOS loads it at 0x7c00 in real mode; A20 on (port
# 0x92), a flat 4 GiB code and data segment (GUEST_ENTRY and GUEST_GDT,
# which postcopy.py's guest shares), then the sweep: %dl is odd, so no
# page it touches is ever a zero page again.
GUEST_ENTRY = r'''
	.code16
	.globl _start
_start:
	cli
	xorw %ax, %ax
	movw %ax, %ds
	movw %ax, %ss
	inb $0x92, %al
	orb $2, %al
	andb $0xfe, %al
	outb %al, $0x92
	lgdtl gdt_desc
	movl %cr0, %eax
	orl $1, %eax
	movl %eax, %cr0
	ljmpl $0x08, $flat
	.code32
flat:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
'''
GUEST_SWEEP = r'''
	xorl %ebx, %ebx
	movb $1, %dl
sweep:
	movl $WS_START, %eax
page:
	movb %dl, (%eax)
	incl %ebx
	movl %ebx, COUNTER
	addl $4096, %eax
	cmpl $WS_END, %eax
	jb page
	addb $2, %dl
	jmp sweep
'''
GUEST_GDT = r'''
	.p2align 3
gdt:
	.quad 0
	.quad 0x00cf9a000000ffff
	.quad 0x00cf92000000ffff
gdt_desc:
	.word gdt_desc - gdt - 1
	.long gdt
	.org 510
	.word 0xaa55
'''
GUEST_ASM = GUEST_ENTRY + GUEST_SWEEP + GUEST_GDT


def build_guest(tmpdir, ws, asm=GUEST_ASM, name='guest'):
    """Assembles the boot sector @asm (another benchmark's guest, with
    the same symbols) for working set @ws; returns its path."""
    src = os.path.join(tmpdir, '%s-%d.S' % (name, ws))
    obj = src[:-2] + '.o'
    img = src[:-2] + '.img'
    with open(src, 'w') as f:
        f.write(asm)
    subprocess.run(['as', '--32', '--defsym', 'WS_START=%d' % WS_START,
                    '--defsym', 'WS_END=%d' % (WS_START + ws),
                    '--defsym', 'COUNTER=%d' % COUNTER, '-o', obj, src],
                   check=True)
    subprocess.run(['ld', '-m', 'elf_i386', '-Ttext', '0x7c00',
                    '--oformat', 'binary', '-o', img, obj], check=True)
    if os.path.getsize(img) != 512:
        raise RuntimeError('the boot sector is %d bytes, not 512'
                           % os.path.getsize(img))
    return img


def wait_for(what, cond, timeout=120):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise RuntimeError('timed out waiting for ' + what)
        time.sleep(0.05)


# ---- the two programs --------------------------------------------------

class Qemu:
    # The boot sector (postcopy.py's guest is another), and its name.
    asm, asm_name = GUEST_ASM, 'guest'

    def __init__(self, args, tmp):
        self.binary = args.qemu
        self.tmp = tmp
        self.images = {}

    def _args(self, ws, img):
        return ['-machine', 'pc', '-accel', 'tcg', '-nodefaults',
                '-no-user-config', '-display', 'none', '-mem-prealloc',
                '-m', '%dM' % ((ws + GUEST_EXTRA) // MiB),
                '-drive', 'file=%s,format=raw,if=ide' % img]

    def _image(self, tmpdir, ws, name):
        # Each end has a copy: QEMU locks the image it opens.
        if ws not in self.images:
            self.images[ws] = build_guest(self.tmp, ws, self.asm,
                                          self.asm_name)
        path = os.path.join(tmpdir, name + '.img')
        shutil.copy(self.images[ws], path)
        return path

    def writes(self, m):
        path = os.path.join(os.path.dirname(m.sock), 'counter')
        m.cmd('pmemsave', val=COUNTER, size=4, filename=path)
        with open(path, 'rb') as f:
            return struct.unpack('<I', f.read())[0]

    def start_source(self, tmpdir, ws, rate):
        m = Machine(self.binary, tmpdir, 'qemu-src',
                    self._args(ws, self._image(tmpdir, ws, 'src')))
        try:
            # One whole sweep first: every page of the set is non-zero.
            wait_for('the QEMU guest to sweep its working set',
                     lambda: self.writes(m) > ws // PAGE)
        except Exception:
            m.stop()
            raise
        return m

    def start_destination(self, tmpdir, ws):
        return Machine(self.binary, tmpdir, 'qemu-dst',
                       self._args(ws, self._image(tmpdir, ws, 'dst')) +
                       ['-S', '-incoming', 'defer'])

    def migrate(self, src, dst, auto_converge):
        src.cmd('migrate-set-capabilities', capabilities=[
            {'capability': 'auto-converge', 'state': auto_converge}])
        qemu_migrate_tcp(src, dst)


class Vmig:
    def __init__(self, build):
        self.binary = os.path.join(build, 'vmig')
        # Each vmig traces its passes on its stderr (its log): the first
        # pass's own bandwidth, see traced_first_pass().
        os.environ['VMIG_TEST_TRACE_FD'] = '2'

    def _args(self, ws):
        return ['-m', str((ws + GUEST_EXTRA) // MiB), '-smp', '1',
                '-mem-prealloc']

    def writes(self, m):
        return m.cmd('x-query-workload')['writes']

    def start_source(self, tmpdir, ws, rate):
        m = Machine(self.binary, tmpdir, 'vmig-src', self._args(ws) + [
            '-workload', 'rate=64G,pattern=sequential,content=random,'
            'seed=7'])
        try:
            fill_ram(m, ws + GUEST_EXTRA, vcpus=1)
            if rate:
                m.cmd('x-workload-set', rate=rate, pattern='sweep',
                      hotset=ws)
        except Exception:
            m.stop()
            raise
        return m

    def start_destination(self, tmpdir, ws):
        dst, self.port = on_free_port(lambda port: Machine(
            self.binary, tmpdir, 'vmig-dst', self._args(ws) + [
                '-S', '-incoming', 'tcp:127.0.0.1:%d' % port]))
        return dst

    def migrate(self, src, dst, auto_converge):
        src.cmd('migrate', uri='tcp:127.0.0.1:%d' % self.port,
                config={'max-bandwidth': 0, 'auto-converge': auto_converge})


# ---- one migration -----------------------------------------------------

def guest_rate(tool, m, seconds):
    """Pages per second the guest writes, over @seconds."""
    w0, t0 = tool.writes(m), time.monotonic()
    time.sleep(seconds)
    w1, t1 = tool.writes(m), time.monotonic()
    return ((w1 - w0) % (1 << 32) if isinstance(tool, Qemu)
            else w1 - w0) / (t1 - t0)


def sample(info, t):
    ram = info.get('ram', {})
    return {'t': t, 'status': info.get('status'),
            'transferred': ram.get('transferred'),
            'remaining': ram.get('remaining'),
            'syncs': ram.get('dirty-sync-count'),
            'dirty-rate': ram.get('dirty-pages-rate'),
            'throttle': info.get('cpu-throttle-percentage', 0),
            'expected': info.get('expected-downtime')}


def first_pass(samples):
    """Bytes per second of the first pass: at the last sample taken
    before the first dirty sync after the initial one (or before the
    migration left "active", if it switched over right after that sync),
    what was sent over the time since migrate.  None without such a
    sample."""
    active = [s for s in samples
              if s['status'] == 'active' and s['syncs'] is not None]
    last = None
    for s in samples:
        if s['status'] != 'active' or s['syncs'] is None:
            if last:
                break
            continue
        if s['syncs'] > active[0]['syncs']:
            break
        last = s
    if last and last['t'] > 0 and last['transferred']:
        return last['transferred'] / last['t']
    return None


def traced_first_pass(log):
    """vmig's first-pass bandwidth (bytes/s) as its source measured it
    over the pass itself (the "pass 1 ended" trace line), or None.
    query-migrate's figures are published every 50 ms and sampled every
    SAMPLE_S: against a pass of a quarter of a second that loses up to a
    third of it; the trace loses nothing, and is taken the same way for
    the busy and the paused guest."""
    m = re.search(r'^pass 1 ended: .*, bandwidth (\d+)$', log, re.M)
    return float(m.group(1)) if m else None


def migrate_once(tool, args, tmp, ws, busy, auto_converge, rate):
    """One migration; returns its figures, with 'error' if it failed."""
    tmpdir = tempfile.mkdtemp(prefix='run-', dir=tmp)
    machines = []
    run = {}
    try:
        src = tool.start_source(tmpdir, ws, rate if busy else 0)
        machines.append(src)
        if busy:
            run['rate-before'] = guest_rate(tool, src, RATE_WINDOW_S)
        else:
            src.cmd('stop')
        dst = tool.start_destination(tmpdir, ws)
        machines.append(dst)
        # The machine's load as the migration starts: on a shared
        # machine it explains much of the spread.
        run['load'] = os.getloadavg()[0]
        w0 = tool.writes(src)
        t0 = time.monotonic()
        tool.migrate(src, dst, auto_converge)
        samples = []
        while True:
            info = src.cmd('query-migrate')
            t = time.monotonic() - t0
            samples.append(sample(info, t))
            if info.get('status') in ('completed', 'failed', 'cancelled'):
                break
            if t > args.bound:
                src.cmd('migrate_cancel')
                wait_for('the cancel', lambda: src.cmd('query-migrate').get(
                    'status') in ('cancelled', 'failed', 'completed'))
                info = src.cmd('query-migrate')
                break
            time.sleep(SAMPLE_S)
        w1 = tool.writes(src)
        run['samples'] = samples
        run['status'] = info['status']
        if info['status'] == 'failed':
            raise RuntimeError('migration failed: %s'
                               % info.get('error-desc'))
        if info['status'] == 'cancelled' or \
                info['status'] == 'completed' and t > args.bound:
            run['status'] = 'did not converge'
        active = [s for s in samples if s['status'] == 'active']
        run['max-throttle'] = max([s['throttle'] or 0 for s in samples])
        run['dirty-pages-rate'] = max([s['dirty-rate'] or 0 for s in active],
                                      default=0)
        # Running time of the guest during the migration: up to the
        # switchover, or to the cancel.
        running = samples[-1]['t'] - info.get('downtime', 0) / 1000
        if busy and running > 0:
            run['rate-during'] = ((w1 - w0) % (1 << 32) if isinstance(
                tool, Qemu) else w1 - w0) / running
        if run['status'] == 'completed':
            run['total'] = info['total-time'] / 1000
            run['downtime'] = info['downtime']
            # vmig keeps the prediction it switched over on; QEMU 7.2
            # reports one only while active: its last one.
            run['expected'] = info.get('expected-downtime',
                                       active[-1]['expected']
                                       if active else None)
            run['average'] = info['ram']['transferred'] / run['total']
        if isinstance(tool, Vmig):
            run['first-pass-traced'] = traced_first_pass(src.log_text())
        return run
    except (QmpError, RuntimeError, OSError,
            subprocess.CalledProcessError) as e:
        run['error'] = str(e)
        return run
    finally:
        for m in reversed(machines):
            m.stop()
        shutil.rmtree(tmpdir, ignore_errors=True)


def calibrate(qemu, tmp, ws):
    """QEMU's guest's page rate over @ws when not migrating: the median
    of five windows of half a second."""
    tmpdir = tempfile.mkdtemp(prefix='cal-', dir=tmp)
    m = None
    try:
        m = qemu.start_source(tmpdir, ws, 1)
        return statistics.median(guest_rate(qemu, m, 0.5) for _ in range(5))
    finally:
        if m:
            m.stop()
        shutil.rmtree(tmpdir, ignore_errors=True)


def bench(args, tmp):
    tools = {'qemu': Qemu(args, tmp), 'vmig': Vmig(args.build)}
    if args.compare:
        tools['compare'] = Vmig(args.compare)
    order = [t for t in ('qemu', 'vmig', 'compare') if t in tools]
    rates = {}
    for ws in args.sizes:
        if args.rate:
            rates[ws] = args.rate
        else:
            print('%s: QEMU guest rate...' % size_name(ws), file=sys.stderr,
                  flush=True)
            rates[ws] = int(calibrate(tools['qemu'], tmp, ws)) * PAGE
        print('%s: %d pages/s' % (size_name(ws), rates[ws] // PAGE),
              file=sys.stderr, flush=True)
    cases = [(ws, True, ac) for ws in args.sizes for ac in args.ac]
    if args.paused:
        cases += [(ws, False, False) for ws in args.sizes]
    runs = []
    for rnd in range(args.first_round - 1,
                     args.first_round - 1 + args.rounds):
        for ws, busy, ac in cases:
            for name in (order if rnd % 2 == 0 else order[::-1]):
                print('round %d, %s %s, auto-converge %s: %s...'
                      % (rnd + 1, size_name(ws), 'busy' if busy else
                         'paused', 'on' if ac else 'off', TOOL_NAMES[name]),
                      file=sys.stderr, flush=True)
                run = migrate_once(tools[name], args, tmp, ws, busy, ac,
                                   rates[ws])
                run.update({'tool': name, 'size': ws, 'busy': busy,
                            'auto-converge': ac, 'round': rnd})
                print('  %s' % ', '.join(
                    '%s %s' % (k, round(v, 3) if isinstance(v, float) else v)
                    for k, v in run.items() if k != 'samples'),
                    file=sys.stderr, flush=True)
                runs.append(run)
    return rates, runs


# ---- the report --------------------------------------------------------

def value(run, key):
    """A run's figure; the first pass is worked out from the samples
    here, so that a report of older --json files has it the same way
    (and for migrations that did not converge too)."""
    if key == 'first-pass':
        if run.get('first-pass-traced'):
            return run['first-pass-traced']
        return first_pass(run['samples']) if run.get('samples') else None
    return run.get(key)


def paused_rate(run):
    """What a busy first pass is measured against: the paused guest's
    own first (and only) pass where traced (vmig), else its average,
    set-up included as in a sampled busy first pass (QEMU)."""
    return run.get('first-pass-traced') or run['average']


def med(runs, key):
    values = [value(r, key) for r in runs if value(r, key) is not None]
    return statistics.median(values) if values else None


def fmt(value, form, scale=1):
    return '-' if value is None else form % (value / scale)


def busy_cases(runs):
    return sorted({(r['size'], r['auto-converge']) for r in runs
                   if r['busy']})


def load_text(runs):
    loads = [r['load'] for r in runs if 'load' in r]
    if not loads:
        return 'Load average not recorded.'
    return ('Load average (1 min) as the migrations started: median %.1f, '
            'from %.1f to %.1f.' % (statistics.median(loads),
                                                min(loads), max(loads)))


def markdown(meta, runs, tools):
    rates = {int(k): v for k, v in meta['rates'].items()}
    sizes = sorted({r['size'] for r in runs})
    out = [
        '# Busy guests: vmig and QEMU',
        '',
        '%s, %s.' % (meta['date'], meta['machine']),
        'vmig at commit %s (%s)%s; %s.' % (
            meta['commit'], meta['build'],
            '; compared with %s' % meta['compare'] if meta.get('compare')
            else '', meta['qemu']),
        '',
        'Guests: the working set plus %d MiB of RAM, one vCPU.  QEMU '
        '(-machine pc -accel tcg): a boot sector that stores one byte in '
        'every page of the working set, from 1 MiB up, sweep after sweep.  '
        'vmig: RAM filled with random data, then -workload pattern=sweep '
        'over the working set at the page rate QEMU\'s guest reached '
        'before the runs (%s).  Loopback TCP, no bandwidth limit, '
        'downtime-limit 300 ms (both defaults); a migration still running '
        'after %d s is cancelled ("did not converge").  %d round(s), the '
        'programs alternating; medians.  Pages/s are the guest\'s own '
        'count of pages written (QEMU: its counter; vmig: x-query-workload).'
        % (GUEST_EXTRA // MiB, ', '.join(
            '%s: %d pages/s (%.2f GB/s)' % (size_name(ws), rates[ws] // PAGE,
                                            rates[ws] / 1e9)
            for ws in sorted(rates)), meta['bound'],
           len({r['round'] for r in runs})),
        '',
        load_text(runs),
        '',
        '## Busy guests',
        '',
        '| working set | auto-converge | program | converged | total time '
        '| downtime | expected downtime | first pass | average '
        '| max throttle | guest pages/s before | during migration '
        '| dirty-pages-rate (max) |',
        '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: '
        '| ---: | ---: | ---: |',
    ]
    errors = []
    for ws, ac in busy_cases(runs):
        for name in tools:
            rs = [r for r in runs if r['busy'] and r['size'] == ws and
                  r['auto-converge'] == ac and r['tool'] == name]
            if not rs:
                continue
            errors += ['%s, %s busy, auto-converge %s: %s'
                       % (TOOL_NAMES[name], size_name(ws), 'on' if ac
                          else 'off', r['error']) for r in rs if 'error' in r]
            done = [r for r in rs if r.get('status') == 'completed']
            out.append(
                '| %s | %s | %s | %d/%d | %s | %s | %s | %s | %s | %s | %s '
                '| %s | %s |' % (
                    size_name(ws), 'on' if ac else 'off', TOOL_NAMES[name],
                    len(done), len(rs),
                    fmt(med(done, 'total'), '%.1f s'),
                    fmt(med(done, 'downtime'), '%d ms'),
                    fmt(med(done, 'expected'), '%d ms'),
                    fmt(med(rs, 'first-pass'), '%.2f GiB/s', GiB),
                    fmt(med(done, 'average'), '%.2f GiB/s', GiB),
                    fmt(med(rs, 'max-throttle'), '%d%%'),
                    fmt(med(rs, 'rate-before'), '%.0fk', 1000),
                    fmt(med(rs, 'rate-during'), '%.0fk', 1000),
                    fmt(med(rs, 'dirty-pages-rate'), '%.0fk', 1000)))
    out += ['', '## First pass: busy against paused', '',
            '| working set | program | paused pass | paused total '
            '| busy first pass (auto-converge off / on) '
            '| busy / paused, per round (off / on) |',
            '| --- | --- | ---: | ---: | ---: | ---: |']
    for ws in sizes:
        for name in tools:
            mine = [r for r in runs if r['size'] == ws and r['tool'] == name]
            errors += ['%s, %s paused: %s' % (TOOL_NAMES[name], size_name(ws),
                                              r['error'])
                       for r in mine if not r['busy'] and 'error' in r]
            paused = {r['round']: r for r in mine if not r['busy'] and
                      r.get('status') == 'completed'}
            busy = [[r for r in mine if r['busy'] and
                     r['auto-converge'] == ac] for ac in (False, True)]
            if not paused and not any(busy):
                continue
            # A paused guest's migration is one pass (nothing is
            # dirtied), whether its tail goes before or after the stop:
            # paused_rate().  Each busy run against the paused one of
            # its round (the machine's load drifts between rounds), then
            # the median.
            ratios = [med([{'r': value(r, 'first-pass') /
                            paused_rate(paused[r['round']])}
                           for r in b if r['round'] in paused and
                           value(r, 'first-pass')], 'r')
                      for b in busy]
            out.append('| %s | %s | %s | %s | %s | %s |' % (
                size_name(ws), TOOL_NAMES[name],
                fmt(statistics.median(paused_rate(r)
                                      for r in paused.values())
                    if paused else None, '%.2f GiB/s', GiB),
                fmt(med(list(paused.values()), 'total'), '%.2f s'),
                ' / '.join(fmt(med(b, 'first-pass'), '%.2f', GiB)
                           for b in busy),
                ' / '.join(fmt(r, '%.0f%%', 0.01) for r in ratios)))
    out += ['', '## Downtime of the busy migrations that converged', '',
            '| program | runs | p50 | p95 | max | over 300 ms '
            '| over 375 ms |', '| --- | ---: | ---: | ---: | ---: | ---: '
            '| ---: |']
    for name in tools:
        down = [r['downtime'] for r in runs if r['busy'] and
                r['tool'] == name and r.get('status') == 'completed']
        if down:
            out.append('| %s | %d | %d ms | %d ms | %d ms | %d | %d |' % (
                TOOL_NAMES[name], len(down), percentile(down, 50),
                percentile(down, 95), max(down),
                sum(d > 300 for d in down), sum(d > 375 for d in down)))
    if errors:
        out += ['', 'Failed runs:', ''] + ['- ' + e for e in errors]
    return '\n'.join(out) + '\n'


def smooth_rate(samples, window=0.2):
    """(t, bytes/s) over the last @window seconds at each sample."""
    pts = [(s['t'], s['transferred']) for s in samples
           if s['transferred'] is not None]
    out, j = [], 0
    for t, b in pts:
        while pts[j][0] < t - window:
            j += 1
        if t > pts[j][0]:
            out.append((t, (b - pts[j][1]) / (t - pts[j][0])))
    return out


def plot(runs, tools, path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    colors = {'qemu': '#ff7f0e', 'vmig': '#1f77b4', 'compare': '#2ca02c'}
    cases = busy_cases(runs)
    fig, axes = plt.subplots(len(cases), 2, squeeze=False,
                             figsize=(11, 2.9 * len(cases) + 0.6))
    for row, (ws, ac) in zip(axes, cases):
        for name in tools:
            rs = [r for r in runs if r['busy'] and r['size'] == ws and
                  r['auto-converge'] == ac and r['tool'] == name and
                  r.get('samples')]
            for i, r in enumerate(rs):
                label = TOOL_NAMES[name] if i == 0 else None
                pts = smooth_rate(r['samples'])
                # vmig's runs are short: drawn over QEMU's.
                z = 2 if name == 'qemu' else 3
                row[0].plot([p[0] for p in pts], [p[1] / GiB for p in pts],
                            color=colors[name], linewidth=0.9, alpha=0.8,
                            label=label, zorder=z)
                rem = [(s['t'], s['remaining'] / MiB) for s in r['samples']
                       if s['remaining'] is not None]
                row[1].plot([p[0] for p in rem], [p[1] for p in rem],
                            color=colors[name], linewidth=0.9, alpha=0.8,
                            label=label, zorder=z)
        title = '%s busy, auto-converge %s' % (size_name(ws),
                                                'on' if ac else 'off')
        row[0].set_title(title + ': throughput', fontsize=9)
        row[1].set_title(title + ': RAM left to send', fontsize=9)
        row[0].set_ylabel('GiB/s (200 ms window)', fontsize=8)
        row[1].set_ylabel('MiB', fontsize=8)
        row[1].set_yscale('symlog', linthresh=16)
        for ax in row:
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8, loc='upper right')
    for ax in axes[-1]:
        ax.set_xlabel('seconds since migrate', fontsize=8)
    fig.suptitle('Busy guests, vmig and QEMU 7.2 (every round drawn)')
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.savefig(path, dpi=100)
    plt.close(fig)


# ---- main --------------------------------------------------------------

def on_off(text):
    choices = {'off': [False], 'on': [True], 'both': [False, True]}
    if text not in choices:
        raise argparse.ArgumentTypeError('on, off or both')
    return choices[text]


def main():
    ap = argparse.ArgumentParser(
        description='Busy guests migrated by vmig and by QEMU 7.2 (TCG).')
    ap.add_argument('build', nargs='?', default='build',
                    help='the meson build directory (default: build)')
    ap.add_argument('--sizes', default='512M,1G',
                    type=lambda s: [parse_size(x) for x in s.split(',')],
                    help='working sets, comma-separated (default: 512M,1G)')
    ap.add_argument('--auto-converge', dest='ac', default=[False, True],
                    type=on_off, help='on, off or both (default: both)')
    ap.add_argument('--rounds', type=int, default=3,
                    help='runs of every case and program (default: 3)')
    ap.add_argument('--first-round', type=int, default=1,
                    help='number of the first round: a run split into '
                         'shorter ones goes on from where the last one '
                         'stopped, with the programs\' order alternating '
                         'on (default: 1)')
    ap.add_argument('--bound', type=int, default=60,
                    help='seconds before a migration is cancelled as not '
                         'converging (default: 60)')
    ap.add_argument('--no-paused', dest='paused', action='store_false',
                    help='leave out the paused guests')
    ap.add_argument('--rate', type=parse_size,
                    help="vmig's workload rate in bytes/s instead of the "
                         "QEMU guest's measured one (e.g. to run sizes "
                         "apart at one rate)")
    ap.add_argument('--compare', metavar='BUILD',
                    help='another vmig build directory, run in turn')
    ap.add_argument('--qemu', default='qemu-system-x86_64',
                    help='the QEMU binary (default: qemu-system-x86_64)')
    ap.add_argument('--out', help='also write the report to this file')
    ap.add_argument('--json', help='write every run (with its samples) to '
                                   'this file, for --merge')
    ap.add_argument('--plots', metavar='DIR',
                    help='write busy-guest.png (throughput and RAM left '
                         'over time) into DIR')
    ap.add_argument('--merge', nargs='+', metavar='JSON',
                    help='report the runs of these --json files instead '
                         'of running')
    args = ap.parse_args()

    if args.plots:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            ap.error('matplotlib not found for %s: run scripts/bench/'
                     'setup-qemu-bench, or leave out --plots'
                     % sys.executable)
    if args.merge:
        metas, runs = read_runs(args.merge)
        meta = metas[0]
        for m in metas[1:]:
            meta['rates'].update(m['rates'])
    else:
        if any(ws % MiB or ws < MiB for ws in args.sizes) or \
                any(WS_START + ws + GUEST_EXTRA > 3 * GiB
                    for ws in args.sizes):
            ap.error('working sets are whole MiB, at most 3 GiB minus %d '
                     'MiB (the QEMU guest is 32-bit, below the PCI hole)'
                     % ((WS_START + GUEST_EXTRA) // MiB))
        if min(args.rounds, args.bound, args.first_round) < 1:
            ap.error('--rounds, --first-round and --bound must be at '
                     'least 1')
        for build in [args.build] + ([args.compare] if args.compare else []):
            if not os.access(os.path.join(build, 'vmig'), os.X_OK):
                ap.error('%s/vmig not found: build first' % build)
        for tool in (args.qemu, 'as', 'ld'):
            if not shutil.which(tool):
                ap.error('%s not found: run scripts/bench/setup-qemu-bench'
                         % tool)
        require_memory(2 * (max(args.sizes) + GUEST_EXTRA) + 512 * MiB,
                       'busy-guest.py')
        date = datetime.datetime.now(datetime.timezone.utc)
        tmp = tempfile.mkdtemp(prefix='vmig-busy-')
        try:
            rates, runs = bench(args, tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        meta = {'date': date.strftime('%Y-%m-%d %H:%M UTC'),
                'machine': machine_description(), 'commit': git_commit(),
                'build': args.build, 'compare': args.compare,
                'qemu': qemu_version(args.qemu), 'bound': args.bound,
                'rounds': args.rounds, 'rates': rates}
        if args.json:
            with open(args.json, 'w') as f:
                json.dump({'meta': meta, 'runs': runs}, f)
    tools = [t for t in ('qemu', 'vmig', 'compare')
             if any(r['tool'] == t for r in runs)]
    text = markdown(meta, runs, tools)
    sys.stdout.write(text)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(text)
    if args.plots and busy_cases(runs):
        os.makedirs(args.plots, exist_ok=True)
        plot(runs, tools, os.path.join(args.plots, 'busy-guest.png'))


if __name__ == '__main__':
    main()
