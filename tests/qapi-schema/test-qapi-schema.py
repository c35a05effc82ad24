#!/usr/bin/env python3
"""Tests of the QAPI generator itself; prints TAP.

    test-qapi-schema.py QAPI-GEN.PY TESTS-DIR

1. Every bad/NAME.json (with a bad/NAME.err) must make the generator exit
   with status 1 and print the .err text ('FILE:LINE: problem', FILE
   relative to bad/) on stderr.
2. The test schema must generate every C file, and its Markdown reference
   must show every definition, member documentation and the
   deprecation marks.
"""

import contextlib
import io
import os
import re
import subprocess
import sys
import tempfile
import traceback

results = []


def check(ok, name, diag=''):
    results.append((ok, name, diag))


def run_gen(gen, args):
    return subprocess.run([sys.executable, gen] + args, capture_output=True,
                          text=True)


def run_gen_inprocess(gen, args):
    """Like run_gen(), without starting a python per bad schema."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(gen)))
    from qapi.main import main as gen_main
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            status = gen_main(args)
        except Exception:       # a crash is a failure, with its traceback
            status = 'crash'
            traceback.print_exc(file=err)
    return subprocess.CompletedProcess(args, status, '', err.getvalue())


def test_bad_schemas(gen, testdir, outdir):
    baddir = os.path.join(testdir, 'bad')
    for err_name in sorted(os.listdir(baddir)):
        if not err_name.endswith('.err'):
            continue
        case = err_name[:-len('.err')]
        schema = os.path.join(baddir, case + '.json')
        with open(os.path.join(baddir, err_name)) as f:
            expected = f.read().strip()
        p = run_gen_inprocess(gen, ['-o', os.path.join(outdir, case),
                                    schema])
        stderr = p.stderr.strip()
        # Paths are printed as given: make them relative to bad/.
        shown = stderr.replace(baddir + os.sep, '')
        if p.returncode == 'crash':
            check(False, case, 'generator crashed:\n' + stderr)
        elif p.returncode != 1:
            check(False, case, 'exit status %d, expected 1; stderr: %s'
                  % (p.returncode, stderr))
        elif expected not in shown:
            check(False, case, 'expected error: %s\n  got: %s'
                  % (expected, shown))
        else:
            check(True, case)


DEFINITION_RE = re.compile(
    r"^\{ '(enum|struct|union|alternate|command|event)': '([^']+)'", re.M)

C_OUTPUTS = ['types', 'visit', 'commands', 'init-commands', 'events',
             'introspect']


def test_good_schema(gen, testdir, outdir):
    schema = os.path.join(testdir, 'qapi-schema-test.json')
    gendir = os.path.join(outdir, 'good')
    p = run_gen(gen, ['-p', 'test-', '-o', gendir, schema])
    check(p.returncode == 0 and not p.stderr, 'test schema generates',
          p.stderr)
    expected = ['test-qapi-%s.%s' % (o, ext) for o in C_OUTPUTS
                for ext in ('c', 'h')] + ['test-qapi-features.h']
    missing = [f for f in expected
               if not os.path.exists(os.path.join(gendir, f))]
    check(not missing, 'every C output exists', 'missing: %s' % missing)
    check(not os.path.exists(os.path.join(gendir, 'qapi-builtin-types.h')),
          'built-in types only with -b')

    md = os.path.join(outdir, 'reference.md')
    p = run_gen(gen, ['--doc', md, '--doc-title', 'Test reference', schema])
    check(p.returncode == 0, 'reference manual generates', p.stderr)
    if p.returncode != 0:
        return
    with open(md) as f:
        text = f.read()
    with open(schema) as f:
        definitions = DEFINITION_RE.findall(f.read())
    check(len(definitions) > 40, 'test schema is rich (%d definitions)'
          % len(definitions))
    undocumented = [name for meta, name in definitions
                    if not re.search(r'^#+ %s `%s`' % (meta.capitalize(),
                                                       re.escape(name)),
                                     text, re.M)]
    check(not undocumented, 'reference has a heading per definition',
          'missing: %s' % undocumented)
    for needle, what in [
            ('# Test reference', 'title'),
            ('## Test schema', 'free-standing heading'),
            ('Free-standing text is copied', 'free-standing text'),
            ('- `a` (`int`): mandatory integer', 'argument documentation'),
            ('- `b` (`str`, optional): optional string', 'optional member'),
            ('`old` (`int`, **deprecated**)', 'deprecated member'),
            ('`value-c` (value, **deprecated**)', 'deprecated enum value'),
            ('Command `test-cmd-deprecated` *(deprecated)*',
             'deprecated command'),
            ('`fresh` (`bool`, optional, `unstable`, `test-custom`)',
             'member features'),
            ('The members of [`TestBase`](#type-TestBase)', 'base link'),
            ('- `alpha`: the members of [`TestBranchAlpha`]', 'union branch'),
            ('**Return type:** [`TestInner`](#type-TestInner)',
             'return type'),
            ('**Returns:** `TestInner` with `a` as value', 'Returns section'),
            ('- GenericError if `a` is negative', 'Errors section'),
            ('```\n-> { "execute": "test-cmd-args"', 'example block'),
            ('**Since:** 0.1', 'Since section'),
            ('<a id="event-TEST_EVENT_ARGS"></a>', 'anchors'),
            ('sends no success response', 'command options')]:
        check(needle in text, 'reference shows ' + what,
              'not found: %r' % needle)


def main():
    gen, testdir = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as outdir:
        test_bad_schemas(gen, testdir, outdir)
        test_good_schema(gen, testdir, outdir)
    print('1..%d' % len(results))
    for i, (ok, name, diag) in enumerate(results, 1):
        print('%s %d - %s' % ('ok' if ok else 'not ok', i, name))
        if not ok and diag:
            for line in diag.splitlines():
                print('# ' + line)
    return 0 if all(ok for ok, _, _ in results) else 1


if __name__ == '__main__':
    sys.exit(main())
