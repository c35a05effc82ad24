"""What the self-tests of scripts/bench/ share: loading the script under
test as a module, and reporting checks as TAP."""
import importlib.util
import os
import sys


def load(path, name):
    """The script at @path as module @name, with its folder importable
    (for benchlib)."""
    sys.path.insert(0, os.path.dirname(path))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Checks:
    def __init__(self):
        self.results = []

    def check(self, name, ok, detail=''):
        self.results.append((name, ok, detail))

    def finish(self):
        """Prints the TAP report and exits, failing if a check did."""
        print('1..%d' % len(self.results))
        for i, (name, ok, detail) in enumerate(self.results, 1):
            print('%s %d - %s' % ('ok' if ok else 'not ok', i, name))
            if not ok:
                print('# got %r' % (detail,))
        sys.exit(0 if all(ok for _, ok, _ in self.results) else 1)
