#!/usr/bin/env python3
"""scripts/bench/postcopy.py's arithmetic on made-up runs (no QEMU, no
vmig, no timing): blocktime per request, medians over completed runs, a
refused postcopy-preempt reported as such, the targets' verdicts,
QEMU's fault latencies from a made-up trace, and its boot sector (TAP
output)."""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchtest import Checks, load  # noqa: E402

pc = load(sys.argv[1], 'postcopy_bench')
checks = Checks()
check = checks.check


def run(tool, preempt, rnd, requests, blocktime, p99=None, **more):
    r = {'tool': tool, 'preempt': preempt, 'round': rnd,
         'status': 'completed', 'total': 2.0, 'postcopy': 1.0,
         'downtime': 20, 'transferred': 1 << 30, 'requests': requests,
         'blocktime': blocktime, 'vcpu-blocktime': [blocktime],
         'load': 2.0, 'rate-before': 1e6}
    if p99 is not None:
        r.update({'faults': requests, 'p50': p99 // 4, 'p99': p99,
                  'max': p99 * 2})
    r.update(more)
    return r


# 400 ms blocked over 1000 requests: 400 us each.
m = pc.mean_latency(run('qemu', False, 0, 1000, 400))
check('blocktime per request in microseconds', m == 400, m)
check('no requests: no mean',
      pc.mean_latency(run('qemu', False, 0, 0, 0)) is None)
check('no blocktime reported: no mean', pc.mean_latency(
    run('qemu', False, 0, 10, None, **{'vcpu-blocktime': None})) is None)

# One QEMU failure among three: the medians are over the two completed.
runs = [run('qemu', False, 0, 1000, 400),
        run('qemu', False, 1, 1000, 600),
        {'tool': 'qemu', 'preempt': False, 'round': 2, 'status': 'failed',
         'error': 'boom', 'load': 9.0},
        run('vmig', False, 0, 1000, 100, p99=300),
        run('vmig', False, 1, 1000, 150, p99=500),
        run('vmig', False, 2, 1000, 200, p99=400)]
s = pc.summary(runs, 'qemu', False)
check('summary counts runs and completed ones',
      (s['runs'], s['done']) == (3, 2), s)
check('median mean latency over completed runs', s['mean'] == 500, s)
check('load median over every run', s['load'] == 2.0, s)
v = pc.summary(runs, 'vmig', False)
check('vmig p99 median', v['p99'] == 400 and v['mean'] == 150, v)
check('no runs of a case: no summary',
      pc.summary(runs, 'vmig', True) is None)

# A vmig that refuses postcopy-preempt.
refused = {'tool': 'vmig', 'preempt': True, 'round': 0,
           'status': pc.UNAVAILABLE, 'error': "Option 'postcopy-preempt' "
           "is not supported by this vmig's migration engine yet"}
s = pc.summary(runs + [refused], 'vmig', True)
check('refused preempt is unavailable, not failed',
      s == {'unavailable': refused['error']}, s)

text = '\n'.join(pc.verdicts(runs + [refused]))
check('verdict: mean ratio QEMU / vmig', 'QEMU / vmig 3.33 ' in text, text)
check('verdict: vmig p99 against QEMU mean, said to differ',
      "vmig's p99 is 400 us" in text and 'below QEMU\'s mean' in text
      and 'no percentile' in text, text)
check('verdict: preempt unavailable', pc.UNAVAILABLE in text, text)

fast = runs + [run('vmig', True, 0, 1000, 50, p99=800)]
text = '\n'.join(pc.verdicts(fast))
check('verdict: preempt p99 below 1 ms', 'p99 800 us, below' in text, text)
text = '\n'.join(pc.verdicts(runs + [run('vmig', True, 0, 1000, 50,
                                         p99=1500)]))
check('verdict: preempt p99 over 1 ms', 'not below the 1000' in text, text)

meta = {'date': '2026-12-07 14:00 UTC', 'machine': 'test', 'commit': 'abc',
        'build': 'build', 'qemu': 'QEMU 7.2', 'size': 1 << 30,
        'postcopy-bandwidth': 0, 'rate': 4096 * 100000, 'bound': 120}
md = pc.markdown(meta, runs + [refused])
rows = [line for line in md.splitlines() if line.startswith('| o')]
check('one table row per program and preempt setting', len(rows) == 3, rows)
check('QEMU row: 2/3 completed, 1000k pages/s, 500 us, no percentiles',
      rows[0].startswith('| off | QEMU 7.2 | 2/3 | 1000k |') and
      '| 500 us |' in
      rows[0] and rows[0].endswith('| - | - | - |'), rows[0])
check('vmig preempt row says unavailable',
      pc.UNAVAILABLE in rows[2], rows[2])
check('the failure is listed with its round',
      'QEMU 7.2, preempt off, round 3: boom' in md, md)
check('rate and bandwidth in the set-up',
      '100000 pages/s' in md and '0 (unlimited)' in md, md)

# QEMU's trace: faults paired with their page's placing by 4 KiB page
# (the fault's address need not be aligned), a fault on a page already
# received and placings nobody waited for left out.
trace = [
    '77@100.000010:mark_postcopy_blocktime_begin addr: 0x7f0000001234, '
    'dd: 0x5, time: 0, cpu: 0, already_received: 0',
    '77@100.000020:mark_postcopy_blocktime_end addr: 0x7f0000009000, '
    'dd: 0x5, time: 0, affected_cpu: 0',
    '77@100.000510:mark_postcopy_blocktime_end addr: 0x7f0000001000, '
    'dd: 0x5, time: 1, affected_cpu: 1',
    '77@100.100000:mark_postcopy_blocktime_begin addr: 0x7f0000002000, '
    'dd: 0x5, time: 1, cpu: 0, already_received: 1',
    '77@100.100100:mark_postcopy_blocktime_end addr: 0x7f0000002000, '
    'dd: 0x5, time: 1, affected_cpu: 0',
    'unrelated line',
    '77@100.999999:mark_postcopy_blocktime_begin addr: 0x7f0000003000, '
    'dd: 0x5, time: 1, cpu: 0, already_received: 0',
    '77@101.000099:mark_postcopy_blocktime_end addr: 0x7f0000003000, '
    'dd: 0x5, time: 2, affected_cpu: 1',
]
lat = pc.trace_latencies(trace)
check('trace: two faults, 500 and 100 us', lat == [500, 100], lat)
f = pc.latency_figures(list(range(1, 201)))
check('figures: nearest-rank percentiles',
      f == {'faults': 200, 'p50': 100, 'p99': 198, 'max': 200}, f)
check('figures: none without faults', pc.latency_figures([]) == {})

# With QEMU's percentiles the p99 target is judged on them.
traced = [dict(r, **{'p50': 2000, 'p99': 9000, 'max': 20000})
          if r['tool'] == 'qemu' and r['status'] == 'completed' else r
          for r in runs]
text = '\n'.join(pc.verdicts(traced))
check('verdict: p99 against QEMU\'s p99, met',
      'p99 fault latency: QEMU 9000 us, vmig 400 us, QEMU / vmig 22.50: '
      'the target (at least 2) is met' in text, text)
slow = [dict(r, p99=6000) if r['tool'] == 'vmig' else r for r in traced]
text = '\n'.join(pc.verdicts(slow))
check('verdict: p99 against QEMU\'s p99, not met',
      'QEMU / vmig 1.50: the target (at least 2) is not met' in text, text)

# The random guest assembles into one boot sector (needs binutils).
if shutil.which('as') and shutil.which('ld'):
    tmp = tempfile.mkdtemp()
    try:
        img = pc.BG.build_guest(tmp, 64 << 20, pc.Qemu.asm, pc.Qemu.asm_name)
        with open(img, 'rb') as f:
            sector = f.read()
        check('random guest: a 512-byte boot sector',
              len(sector) == 512 and sector[-2:] == b'\x55\xaa', len(sector))
    finally:
        shutil.rmtree(tmp)

checks.finish()
