#!/usr/bin/env python3
"""scripts/bench/tls.py's arithmetic on made-up runs (no QEMU, no vmig,
no timing): aes-gcm-rate's output, the AES bound, the cipher named by
query-migrate, medians, ratios against the targets, merged saves (TAP
output)."""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchtest import Checks, load  # noqa: E402

tb = load(sys.argv[1], 'tls_bench')
checks = Checks()
check = checks.check


rates = tb.parse_aes_rates('AES-128-GCM encrypt 4000.5\n'
                           'AES-128-GCM decrypt 3000\n')
check('aes-gcm-rate lines parsed',
      rates == {('AES-128-GCM', 'encrypt'): 4000.5,
                ('AES-128-GCM', 'decrypt'): 3000.0}, rates)
try:
    tb.parse_aes_rates('AES-128-GCM 4000\n')
    check('a malformed aes-gcm-rate line is refused', False)
except ValueError:
    check('a malformed aes-gcm-rate line is refused', True)

# One channel: one core encrypts, one decrypts, the slower one bounds.
b = tb.aes_bound(4000, 3000, 1, 2)
check('AES bound, one channel: the slower direction', abs(b - 3000) < 1e-6, b)
# Four channels on two CPUs: the CPUs split between the two ends.
b = tb.aes_bound(4000, 4000, 4, 2)
check('AES bound, channels beyond the CPUs: CPUs / (1/enc + 1/dec)',
      abs(b - 4000) < 1e-6, b)

check('cipher from a tls member with dashes',
      tb.cipher_of({'protocol': 'TLS1.3', 'cipher': 'AES-256-GCM'})
      == 'AES-256-GCM')
check('cipher from a suite name',
      tb.cipher_of({'cipher': 'TLS_AES_128_GCM_SHA256'}) == 'AES-128-GCM')
check('no tls member, no cipher', tb.cipher_of(None) is None)

GB = 10 ** 9


def run(tool, mode, time, rnd, scenario='multifd-2', **extra):
    r = {'tool': tool, 'mode': mode, 'scenario': scenario, 'round': rnd,
         'time': time, 'cpu': time, 'load': 1.0 + rnd}
    r.update(extra)
    return r


# vmig TLS: 2 s, 0.8 s, 1 s -> median 1 s (1000 MB/s); vmig plain
# 0.625 s (1600 MB/s); QEMU TLS 1.6 s (625 MB/s); QEMU plain 1 s.
tls_info = {'protocol': 'TLS1.3', 'cipher': 'AES-128-GCM'}
runs = [run('vmig', 'tls', 2.0, 0, tls=tls_info),
        run('vmig', 'tls', 0.8, 1), run('vmig', 'tls', 1.0, 2),
        run('vmig', 'plain', 0.625, 0), run('qemu', 'tls', 1.6, 0),
        run('qemu', 'plain', 1.0, 0),
        {'tool': 'qemu', 'mode': 'tls', 'scenario': 'multifd-2',
         'round': 1, 'error': 'migration failed: boom'}]
data = {'date': 'D', 'machine': 'M', 'commit': 'C', 'qemu-version': 'Q',
        'size': GB, 'cpus': 2, 'scenarios': ['multifd-2'],
        'modes': ['plain', 'tls'], 'tools': ['vmig', 'qemu'],
        'runs': runs,
        'aes': [{'AES-128-GCM encrypt': 2000, 'AES-128-GCM decrypt': 2000},
                {'AES-128-GCM encrypt': 1000, 'AES-128-GCM decrypt': 2000},
                {'AES-128-GCM encrypt': 3000, 'AES-128-GCM decrypt': 2000}]}
med = tb.medians(data)
check('median of the runs', abs(med['vmig', 'tls', 'multifd-2']['rate']
                                - 1000) < 1e-6, med)
check('a failed run is left out of the median',
      med['qemu', 'tls', 'multifd-2']['runs'] == 1 and
      med['qemu', 'tls', 'multifd-2']['of'] == 2, med)

text = tb.markdown(data)
row = [line for line in text.splitlines() if line.startswith('| multifd-2 |')]
cells = [c.strip() for c in row[0].strip('|').split('|')] if row else []
check('one row per scenario', len(row) == 1, text)
check('rates in MB/s, with the rounds each stands on when not all',
      cells[1:5] == ['1600 (1 of 3)', '1000', '1000 (1 of 3)',
                     '625 (1 of 3)'], cells)
check('vmig TLS / QEMU TLS against the 1.5x target',
      cells[5] == '1.60 met', cells)
check('vmig TLS / plain against the 70% target',
      cells[6] == '0.62 missed', cells)
# The negotiated cipher's median encrypt rate (2000) times 2 channels;
# the bound: min(2 x 2000, 2 / (1/2000 + 1/2000)) = 2000.
check('against core x channels, of the negotiated cipher',
      cells[8] == '0.25', cells)
check('against the AES bound', cells[9] == '0.50', cells)
check('the negotiated TLS facts are quoted',
      json.dumps(tls_info, sort_keys=True) in text)
check('the failure is listed with its reason',
      '- QEMU 7.2 tls, multifd-2 x1: migration failed: boom' in text, text)

with tempfile.TemporaryDirectory() as tmp:
    paths = []
    for i, date in enumerate(('2026-12-07 06:00 UTC', '2026-12-07 05:00 UTC')):
        d = dict(data, date=date, end='0%d:30 UTC' % (5 + i),
                 runs=[run('vmig', 'tls', 1.0, 0), run('vmig', 'tls', 3.0, 1)],
                 aes=data['aes'][:1])
        paths.append(os.path.join(tmp, '%d.json' % i))
        with open(paths[-1], 'w') as f:
            json.dump(d, f)
    m = tb.merge(paths)
    check('merged rounds stay apart',
          sorted(r['round'] for r in m['runs']) == [0, 1, 2, 3], m['runs'])
    check('merged: first start, last end, every AES round',
          m['date'] == '2026-12-07 05:00 UTC' and m['end'] == '06:30 UTC'
          and len(m['aes']) == 2, m)

checks.finish()
