#!/usr/bin/env python3
"""Fails when a file includes a header of a higher layer, or when the
parts of migration/ include each other upward or in a circle.

The layers, bottom to top (docs/architecture.md):

    util + qapi runtime  <-  io  <-  system  <-  migration  <-  monitor

and system/main.c, the composition root, above them all.  tools/ is a
client of util alone.  Inside migration/ the parts are ranked the same
way (PARTS below): a part may include its own headers and those of
lower-ranked parts; parts of equal rank may include each other, and the
graph of parts, like the graph of headers, must have no cycle.  The
codec and the configuration (CORE_PARTS) know no I/O and no machine:
they include only the util layer and each other.

The link step enforces the same layering for calls (each layer's library
links only those below it); this script covers headers, which the
compiler would accept in any direction.

Usage: check-layers.py SRCDIR.  Prints one line per break, then a
summary; exit status 1 if anything broke.
"""
import os
import re
import sys

LAYERS = {'util': 0, 'io': 1, 'system': 2, 'migration': 3, 'monitor': 4,
          'root': 5}

# Folders (or files) whose sources belong to a layer.
SOURCE_LAYER = [
    ('system/main.c', 'root'),
    ('util/', 'util'), ('qapi/', 'util'), ('tools/', 'util'),
    ('io/', 'io'), ('system/', 'system'), ('migration/', 'migration'),
    ('monitor/', 'monitor'),
    ('include/util/', 'util'), ('include/qapi/', 'util'),
    ('include/io/', 'io'), ('include/system/', 'system'),
    ('include/migration/', 'migration'), ('include/monitor/', 'monitor'),
]

# The parts of migration/, bottom to top.  include/migration/config*.h
# are the configuration's public face; include/migration/migration.h is
# the subsystem's, implemented by control/ and migration.c.
PARTS = {'config': 0, 'wire': 1, 'transport': 2, 'devices': 2, 'ram': 3,
         'multifd': 4, 'engine': 5, 'control': 6, 'top': 7}
CORE_PARTS = ('config', 'wire')
PUBLIC_PART = {
    'include/migration/config.h': 'config',
    'include/migration/config-validate.h': 'config',
    'include/migration/migration.h': 'control',
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
SCANNED = ('util', 'qapi', 'io', 'system', 'migration', 'monitor',
           'include', 'tools')


def layer_of(path):
    for prefix, layer in SOURCE_LAYER:
        if path == prefix or path.startswith(prefix):
            return layer
    return None


def part_of(path):
    if path in PUBLIC_PART:
        return PUBLIC_PART[path]
    if path == 'migration/migration.c':
        return 'top'
    m = re.match(r'migration/([^/]+)/', path)
    if m and m.group(1) in PARTS:
        return m.group(1)
    return None


def resolve(srcdir, including, name):
    """The repository path an #include "name" reaches, or None for
    headers generated into the build tree."""
    for cand in (os.path.join('include', name), name,
                 os.path.normpath(os.path.join(os.path.dirname(including),
                                               name))):
        if os.path.isfile(os.path.join(srcdir, cand)):
            return cand
    return None


def generated_layer(name):
    # The generator's output and config-host.h: all of it is compiled
    # into (or only declares what is in) the lowest layer, except the
    # command marshallers, whose header only declares the handlers.
    if name.startswith('qapi/qapi-') or name == 'config-host.h':
        return 'util'
    return None


def find_cycle(graph):
    """One cycle of @graph (node -> set of nodes) as a list, or None."""
    state = {}
    stack = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def main():
    srcdir = sys.argv[1] if len(sys.argv) > 1 else '.'
    problems = []
    files = 0
    header_graph = {}
    part_graph = {}
    for top in SCANNED:
        for dirpath, _, names in os.walk(os.path.join(srcdir, top)):
            for fname in sorted(names):
                if not fname.endswith(('.c', '.h')):
                    continue
                path = os.path.relpath(os.path.join(dirpath, fname), srcdir)
                layer = layer_of(path)
                if layer is None:
                    continue
                files += 1
                with open(os.path.join(srcdir, path)) as f:
                    text = f.read()
                for name in INCLUDE.findall(text):
                    target = resolve(srcdir, path, name)
                    tlayer = layer_of(target) if target else \
                        generated_layer(name)
                    if tlayer is None:
                        if target is None:
                            problems.append('%s: includes "%s", which is '
                                            'neither in the tree nor '
                                            'generated' % (path, name))
                        continue
                    if LAYERS[tlayer] > LAYERS[layer]:
                        problems.append('%s (%s) includes "%s" of the '
                                        'higher layer %s'
                                        % (path, layer, name, tlayer))
                    if part_of(path) in CORE_PARTS and tlayer != 'util' \
                            and part_of(target) not in CORE_PARTS:
                        problems.append('%s (migration/%s) includes "%s": '
                                        'the codec and the configuration '
                                        'include only util and each other'
                                        % (path, part_of(path), name))
                    if target and path.endswith('.h') and \
                            target.endswith('.h'):
                        header_graph.setdefault(path, set()).add(target)
                    src_part, dst_part = part_of(path), \
                        part_of(target) if target else None
                    if src_part and dst_part and src_part != dst_part:
                        if PARTS[dst_part] > PARTS[src_part]:
                            problems.append(
                                '%s (migration/%s) includes "%s" of the '
                                'higher part migration/%s'
                                % (path, src_part, name, dst_part))
                        part_graph.setdefault(src_part, set()).add(dst_part)
    cycle = find_cycle(header_graph)
    if cycle:
        problems.append('include cycle: ' + ' -> '.join(cycle))
    cycle = find_cycle(part_graph)
    if cycle:
        problems.append('cycle between the parts of migration/: ' +
                        ' -> '.join(cycle))
    for p in problems:
        print(p)
    print('check-layers: %d files, %d problem%s'
          % (files, len(problems), '' if len(problems) == 1 else 's'))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
