#!/usr/bin/env python3
"""scripts/bench/busy-guest.py's arithmetic on made-up samples and runs
(no QEMU, no vmig, no timing): where the first pass ends, how busy runs
are set against paused ones, and the boot sector it assembles (TAP
output)."""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchtest import Checks, load  # noqa: E402

bg = load(sys.argv[1], 'busy_guest')
checks = Checks()
check = checks.check


def s(t, status, syncs, sent):
    return {'t': t, 'status': status, 'syncs': syncs, 'transferred': sent,
            'remaining': 0, 'dirty-rate': 0, 'throttle': 0,
            'expected': None}


# A first pass of 100 MB/s, then a sync: the rate is that of the last
# sample before the sync, not after it (the second pass is slower here).
samples = [s(0.0, 'setup', None, None), s(0.05, 'active', 1, 5e6),
           s(0.5, 'active', 1, 50e6), s(1.0, 'active', 1, 100e6),
           s(1.05, 'active', 2, 101e6), s(2.0, 'active', 2, 110e6)]
fp = bg.first_pass(samples)
check('first pass ends at the last sample before the sync',
      fp is not None and abs(fp - 100e6) < 1, fp)

# Switched over right after the first sync: no active sample shows it.
samples = [s(0.05, 'active', 1, 5e6), s(0.4, 'active', 1, 80e6),
           s(0.45, 'device', 2, 90e6), s(0.6, 'completed', 2, 100e6)]
fp = bg.first_pass(samples)
check('first pass ends where the migration left active',
      fp is not None and abs(fp - 200e6) < 1, fp)

check('no active sample, no first pass',
      bg.first_pass([s(0.1, 'setup', None, None),
                     s(0.2, 'completed', 2, 9e6)]) is None)

# Busy against the paused run of the same round: round 0 at 50%, round 1
# at 100% (the machine got twice as fast, for both); medians of the two
# figures on their own would give 0.75 / 1.5 = 50%.  A paused run counts
# by its average (its samples' "first pass" is made half of that here).
def run(rnd, busy, ac, rate):
    first = rate if busy else rate / 2
    return {'tool': 'vmig', 'size': 512 << 20, 'busy': busy,
            'auto-converge': ac, 'round': rnd, 'status': 'completed',
            'total': 1.0, 'downtime': 100, 'expected': 100,
            'average': rate, 'samples': [
                s(0.0, 'active', 1, 0), s(1.0, 'active', 1, first),
                s(1.1, 'completed', 2, rate)]}


runs = [run(0, False, False, 1e9), run(0, True, True, 0.5e9),
        run(1, False, False, 2e9), run(1, True, True, 2e9)]
meta = {'date': 'd', 'machine': 'm', 'commit': 'c', 'build': 'b',
        'compare': None, 'qemu': 'q', 'bound': 60, 'rates': {512 << 20: 1}}
text = bg.markdown(meta, runs, ['vmig'])
row = [line for line in text.splitlines()
       if line.startswith('| 512 MiB | vmig |')]
check('busy / paused is taken per round',
      len(row) == 1 and row[0].endswith('| - / 75% |'), row)

# A run that did not converge still has a first pass, and is counted.
nc = run(2, True, False, 0.25e9)
nc['status'] = 'did not converge'
text = bg.markdown(meta, runs + [nc], ['vmig'])
row = [line for line in text.splitlines()
       if line.startswith('| 512 MiB | off | vmig |')]
check('a run that did not converge: 0/1, with its first pass',
      len(row) == 1 and '| 0/1 |' in row[0] and '0.23 GiB/s' in row[0], row)

if shutil.which('as') and shutil.which('ld'):
    tmp = tempfile.mkdtemp(prefix='busy-guest-')
    try:
        ws = 3 << 20
        with open(bg.build_guest(tmp, ws), 'rb') as f:
            img = f.read()
        end = (bg.WS_START + ws).to_bytes(4, 'little')
        check('the boot sector is 512 bytes with the boot signature',
              len(img) == 512 and img[510:] == b'\x55\xaa')
        check('the boot sector compares against the end of the set',
              end in img)
    finally:
        shutil.rmtree(tmp)
else:
    check('boot sector # SKIP as or ld not installed', True)

checks.finish()
