#!/usr/bin/env python3
"""What record checksums cost: multifd throughput over loopback TCP with
checksum "crc32c" against checksum "none", side by side in one run.

Each round migrates the same kind of filled guest (precopy.py's source:
incompressible RAM, workload idle) once with each setting, alternating
which goes first, so both see the same machine load; the median of each
setting's runs stands for it, and the report is their ratio.  The CPU
time each end spent per GiB sent is reported too: on a shared machine
it moves far less from run to run than the throughput.

    scripts/bench/checksum.py build
    scripts/bench/checksum.py build --size 2G --channels 4 --repeat 5

Python standard library only.  Not part of the test suite.  See
docs/benchmarks.md.
"""

import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (GiB, MiB, require_memory, parse_size,  # noqa: E402
                      size_name)
from precopy import migrate_once  # noqa: E402

SETTINGS = ('none', 'crc32c')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('build', nargs='?', default='build')
    ap.add_argument('--size', default='1G', type=parse_size)
    ap.add_argument('--channels', type=int, default=2)
    ap.add_argument('--repeat', type=int, default=3)
    args = ap.parse_args()
    require_memory(2 * args.size + 256 * MiB, 'checksum.py')
    runs = {s: [] for s in SETTINGS}
    cpu = {s: {'source': [], 'destination': []} for s in SETTINGS}
    for i in range(args.repeat):
        order = SETTINGS if i % 2 == 0 else tuple(reversed(SETTINGS))
        for setting in order:
            spent = {}
            print('round %d: checksum %s...' % (i + 1, setting),
                  file=sys.stderr, flush=True)
            info = migrate_once(args.build, args.size, {
                'max-bandwidth': 0, 'multifd': True,
                'multifd-channels': args.channels, 'checksum': setting},
                verify=True, prealloc=True, cpu=spent)
            sent = info['ram']['transferred'] / GiB
            runs[setting].append(sent / (info['total-time'] / 1000))
            for end in spent:
                cpu[setting][end].append(spent[end] / sent)
    median = {s: sorted(r)[len(r) // 2] for s, r in runs.items()}
    print('| guest | multifd channels | checksum | GiB/s (median of %d) '
          '| runs | source CPU s/GiB | destination CPU s/GiB |'
          % args.repeat)
    print('| --- | --- | --- | --- | --- | --- | --- |')
    for s in SETTINGS:
        print('| %s | %d | %s | %.2f | %s | %.3f | %.3f |'
              % (size_name(args.size), args.channels, s, median[s],
                 ', '.join('%.2f' % r for r in runs[s]),
                 statistics.median(cpu[s]['source']),
                 statistics.median(cpu[s]['destination'])))
    print('\ncrc32c / none: %.3f (cost %.1f%%)'
          % (median['crc32c'] / median['none'],
             100 * (1 - median['crc32c'] / median['none'])))


if __name__ == '__main__':
    main()
