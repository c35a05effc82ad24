#!/usr/bin/env python3
"""scripts/check-layers.py on small made-up trees: it must pass a clean
one and name every kind of break (TAP output)."""
import os
import subprocess
import sys
import tempfile

SCRIPT = sys.argv[1]
REPO = sys.argv[2]


def tree(files):
    d = tempfile.mkdtemp(prefix='check-layers-')
    for path, text in files.items():
        full = os.path.join(d, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, 'w') as f:
            f.write(text)
    return d


def run(srcdir):
    p = subprocess.run([sys.executable, SCRIPT, srcdir],
                       capture_output=True, text=True)
    return p.returncode, p.stdout


CLEAN = {
    'include/util/u.h': '',
    'include/system/s.h': '#include "util/u.h"\n',
    'system/s.c': '#include "system/s.h"\n#include "qapi/qapi-types.h"\n',
    'migration/wire/wire.h': '#include "migration/config.h"\n',
    'include/migration/config.h': '',
    'migration/engine/e.c': '#include "migration/wire/wire.h"\n'
                            '#include "system/s.h"\n',
    'system/main.c': '#include "monitor/m.h"\n',
    'include/monitor/m.h': '',
}

CASES = [
    ('a clean tree passes', {}, 0, None),
    ('system including migration fails',
     {'system/bad.c': '#include "migration/config.h"\n'}, 1,
     'system/bad.c (system) includes "migration/config.h" of the higher '
     'layer migration'),
    ('io including system fails',
     {'io/bad.c': '#include "system/s.h"\n'}, 1, 'higher layer system'),
    ('util including io fails',
     {'util/bad.c': '#include "io/channel.h"\n',
      'include/io/channel.h': ''}, 1, 'higher layer io'),
    ('a migration part including a higher part fails',
     {'migration/wire/bad.c': '#include "migration/engine/engine.h"\n',
      'migration/engine/engine.h': ''}, 1,
     'of the higher part migration/engine'),
    ('config including wire fails',
     {'migration/config/bad.c': '#include "migration/wire/wire.h"\n'}, 1,
     'of the higher part migration/wire'),
    ('the configuration including the machine fails',
     {'migration/config/bad.c': '#include "system/s.h"\n'}, 1,
     'include only util and each other'),
    ('the codec including transport fails',
     {'migration/wire/bad.c': '#include "migration/transport/t.h"\n',
      'migration/transport/t.h': ''}, 1,
     'of the higher part migration/transport'),
    ('a header cycle fails',
     {'migration/ram/a.h': '#include "migration/ram/b.h"\n',
      'migration/ram/b.h': '#include "migration/ram/a.h"\n'}, 1,
     'include cycle'),
    ('a cycle between parts of equal rank fails',
     {'migration/devices/d.c': '#include "migration/transport/t.h"\n',
      'migration/transport/t.h': '',
      'migration/transport/t.c': '#include "migration/devices/d.h"\n',
      'migration/devices/d.h': ''}, 1,
     'cycle between the parts of migration/'),
    ('an include that resolves nowhere fails',
     {'system/bad.c': '#include "nowhere/x.h"\n'}, 1,
     'neither in the tree nor generated'),
]


def main():
    print('1..%d' % (len(CASES) + 1))
    n = 0
    failed = 0
    for name, extra, want_rc, want_text in CASES:
        n += 1
        files = dict(CLEAN)
        files.update(extra)
        rc, out = run(tree(files))
        ok = rc == want_rc and (want_text is None or want_text in out)
        if not ok:
            failed += 1
            print('# exit %d, output:\n# %s' % (rc, out.replace('\n', '\n# ')))
        print('%s %d - %s' % ('ok' if ok else 'not ok', n, name))
    n += 1
    rc, out = run(REPO)
    if rc != 0:
        failed += 1
        print('# ' + out.replace('\n', '\n# '))
    print('%s %d - this repository keeps its layers' %
          ('ok' if rc == 0 else 'not ok', n))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
