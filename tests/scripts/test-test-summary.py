#!/usr/bin/env python3
"""scripts/test-summary.py on made-up meson logs: it counts TAP cases,
plans cut short and programs without TAP, ends with exactly
"N passed, N failed", and shows why each failure failed (TAP output)."""
import json
import os
import subprocess
import sys
import tempfile

SCRIPT = sys.argv[1]

FAILING = {'name': 'vmig:functional / t1', 'result': 'FAIL',
           'stdout': '1..4\nok 1 - a\nnot ok 2 - C.b\n'
                     '# Traceback (most recent call last):\n'
                     '#   File "x.py", line 3\n'
                     "# AssertionError: 'cancelled' not in 'closed'\n"
                     'ok 3 - c\nok 4 - d # SKIP no root\n'}
NO_TAP = {'name': 'vmig:unit / t2', 'result': 'FAIL', 'stdout': '',
          'stderr': 'setting up\nSegmentation fault in thing()\n'}
CUT_SHORT = {'name': 'vmig:unit / t3', 'result': 'ERROR',
             'stdout': '1..3\nok 1 - x\n', 'stderr': 'AddressSanitizer: x\n'}
PASSING = {'name': 'vmig:unit / t4', 'result': 'OK',
           'stdout': '1..2\nok 1 - x\nok 2 - y\n'}


def summary(*entries):
    d = tempfile.mkdtemp(prefix='test-summary-')
    logs = os.path.join(d, 'build-x', 'meson-logs')
    os.makedirs(logs)
    path = os.path.join(logs, 'testlog.json')
    with open(path, 'w') as f:
        for e in entries:
            f.write(json.dumps(e) + '\n')
    p = subprocess.run([sys.executable, SCRIPT, path], capture_output=True,
                       text=True)
    return p.returncode, p.stdout.splitlines()


CASES = []


def case(fn):
    CASES.append(fn)
    return fn


@case
def all_passing():
    rc, out = summary(PASSING)
    assert rc == 0, rc
    assert out == ['2 passed, 0 failed'], out


@case
def counts_every_kind():
    rc, out = summary(FAILING, NO_TAP, CUT_SHORT, PASSING)
    assert rc == 1, rc
    # t1: 2 ok + 1 skip + 1 fail; t2: 1 fail; t3: 1 ok + 2 missing.
    assert out[-1] == '5 passed, 4 failed', out
    assert out[-2] == '1 skipped', out


@case
def failure_shows_its_reason():
    rc, out = summary(FAILING, NO_TAP, CUT_SHORT)
    text = '\n'.join(out)
    assert 'FAILED: build-x: vmig:functional / t1: not ok 2 - C.b' in text
    assert "AssertionError: 'cancelled' not in 'closed'" in text, text
    assert 'Segmentation fault in thing()' in text, text
    assert 'AddressSanitizer: x' in text, text
    # The passing case after the failure is not taken as its reason.
    assert 'ok 3 - c' not in text, text


def main():
    print('1..%d' % len(CASES))
    failed = 0
    for n, fn in enumerate(CASES, 1):
        try:
            fn()
            print('ok %d - %s' % (n, fn.__name__))
        except AssertionError as e:
            failed += 1
            print('not ok %d - %s\n# %s' % (n, fn.__name__, e))
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
