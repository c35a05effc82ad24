#!/usr/bin/env python3
"""Counts every test case that ran in one or more meson test logs.

meson's own summary counts test programs; our programs print TAP, so this
counts TAP lines ("ok"/"not ok"), treating a program that printed no TAP as
one test judged by its result, and planned-but-missing TAP cases (a crash
mid-run) as failures.  Prints a FAILED line per failure, each followed by
the last lines of its explanation (the TAP "# " lines after it, or the
program's stderr), then "N skipped" if any were, and last exactly one line
"N passed, N failed".  Exit status 1 if anything failed.

--optional PATH=REASON names a log that may be missing (a build this
host cannot make, such as the fuzzing one without clang): then it
counts as one skipped test, with REASON.
"""
import json
import os
import re
import sys

TAP_LINE = re.compile(r'^(not ok|ok)\b[^#]*(#\s*(SKIP|TODO)\b.*)?$', re.I)
TAP_PLAN = re.compile(r'^1\.\.(\d+)')
# How much of a failure's explanation is shown under its FAILED line: the
# end of a traceback holds the assertion, and CI keeps only the tail of
# the output, so a few lines each.
DETAIL_LINES = 8


def tail(lines):
    lines = [l for l in lines if l.strip()]
    return lines[-DETAIL_LINES:]


def stderr_tail(entry):
    """The last lines a program without a TAP explanation wrote."""
    lines = tail((entry.get('stderr') or '').splitlines())
    return ''.join('\n    ' + l.rstrip() for l in lines)


def count(log_path, totals, failures):
    # BUILD/meson-logs/testlog.json: failures name their build.
    build = os.path.basename(os.path.dirname(os.path.dirname(
        os.path.abspath(log_path))))
    with open(log_path) as f:
        for line in f:
            entry = json.loads(line)
            name = '%s: %s' % (build, entry['name'])
            passed = failed = skipped = 0
            plan = None
            detail = None   # the "# " lines after the last "not ok"
            for out in (entry.get('stdout') or '').splitlines():
                out = out.strip()
                if detail is not None and out.startswith('#'):
                    detail.append('    ' + out)
                    continue
                if detail is not None:
                    failures[-1] += ''.join('\n' + l for l in tail(detail))
                    detail = None
                m = TAP_PLAN.match(out)
                if m and plan is None:
                    plan = int(m.group(1))
                    continue
                m = TAP_LINE.match(out)
                if not m:
                    continue
                if m.group(3) and m.group(3).upper() == 'SKIP':
                    skipped += 1
                elif m.group(1).lower() == 'ok':
                    passed += 1
                else:
                    failed += 1
                    failures.append('%s: %s' % (name, out))
                    detail = []
            if detail:
                failures[-1] += ''.join('\n' + l for l in tail(detail))
            seen = passed + failed + skipped
            if seen == 0:
                if entry['result'] == 'SKIP':
                    skipped += 1
                elif entry['result'] in ('OK', 'EXPECTEDFAIL'):
                    passed += 1
                else:
                    failed += 1
                    failures.append('%s: %s' % (name, entry['result']) +
                                    stderr_tail(entry))
            elif plan is not None and seen < plan:
                failed += plan - seen
                failures.append('%s: %d planned tests did not run (%s)'
                                % (name, plan - seen, entry['result']) +
                                stderr_tail(entry))
            elif entry['result'] not in ('OK', 'SKIP', 'EXPECTEDFAIL') \
                    and failed == 0:
                # All cases passed but the program failed (leak report,
                # crash at exit): that is a failure too.
                failed += 1
                failures.append('%s: exited with %s' % (name, entry['result'])
                                + stderr_tail(entry))
            totals[0] += passed
            totals[1] += failed
            totals[2] += skipped


def main():
    totals = [0, 0, 0]
    failures = []
    args = sys.argv[1:]
    while args:
        path = args.pop(0)
        if path == '--optional':
            path, reason = args.pop(0).split('=', 1)
            if not os.path.exists(path):
                print('SKIPPED: ' + reason)
                totals[2] += 1
                continue
        count(path, totals, failures)
    for f in failures:
        print('FAILED: ' + f)
    # Skipped tests did not run: counted on a line of their own, so the
    # last line is always exactly "N passed, N failed".
    if totals[2]:
        print('%d skipped' % totals[2])
    print('%d passed, %d failed' % (totals[0], totals[1]))
    sys.exit(1 if totals[1] else 0)


if __name__ == '__main__':
    main()
