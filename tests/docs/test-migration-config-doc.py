#!/usr/bin/env python3
"""Checks the generated migration configuration chapter; prints TAP.

    test-migration-config-doc.py MIGRATION-CONFIG.MD SOURCE-ROOT

The chapter (vmig-config-doc's output) is compared with its sources, read
independently of vmig-config-doc: the MigrationConfig members and their
features from the schema (through scripts/qapi), and the defaults and
rule tables from migration/config/config-rules.c.  Every option must have its
row and its legacy-form row, with its status (works, refused for now, not
implemented, no effect here) as the schema's features say, and every
rule, limit and host need must be listed, so a new option or rule can't
be left out of the chapter.
"""

import json
import os
import re
import sys

results = []


def check(ok, name, diag=''):
    results.append((bool(ok), name, diag))


# --- the chapter ---------------------------------------------------------

def sections(text):
    """'## Title' or '### Title' -> the text up to the next heading."""
    out = {}
    title = ''
    for line in text.splitlines():
        m = re.match(r'^#{2,3} (.*)$', line)
        if m:
            title = m.group(1)
            out[title] = []
        elif title:
            out[title].append(line)
    return out


def table_rows(lines):
    """The body rows of the Markdown table in @lines, as lists of cells
    (header and separator rows dropped)."""
    rows = [re.split(r'(?<!\\)\|', line.strip()[1:-1])
            for line in lines if line.startswith('|')]
    return [[c.strip() for c in row] for row in rows[2:]]


def rows_by_first_cell(rows):
    return {row[0]: row for row in rows}


# --- the sources ---------------------------------------------------------

def load_schema(srcdir):
    sys.path.insert(0, os.path.join(srcdir, 'scripts'))
    from qapi.schema import ArrayType, ObjectType, Schema
    schema = Schema(os.path.join(srcdir, 'qapi', 'qapi-schema.json'))
    config = next(t for t in schema.types(ObjectType)
                  if t.name == 'MigrationConfig')

    def type_name(t):
        # As in the reflection tables (scripts/qapi/genstructinfo.py).
        return '[%s]' % t.element_type.name if isinstance(t, ArrayType) \
            else t.name

    return schema, config, type_name


OPTION_RE = re.compile(r'\{\s*\.name\s*=\s*"([^"]+)",\s*'
                       r'\.def\s*=\s*(NULL|"[^"]*")([^}]*)\}')
RANGE_RE = re.compile(r'RANGE\((\d+),\s*(\d+)\)')
RULE_RE = re.compile(r'\b(EXCLUDES|REQUIRES|NOT_ABOVE)\(\s*"([^"]+)",\s*'
                     r'"([^"]+)"')
LIMIT_RE = re.compile(r'\b(NOT_IN|ONLY_WITH)\(\s*"([^"]+)",([^"]*)'
                      r'(?:"([^"]+)",)?')
NEED_RE = re.compile(r'\{\s*"([^"]+)",\s*(NULL|"([^"]+)"),\s*MIGRATION_HOST_')


def load_tables(srcdir):
    with open(os.path.join(srcdir, 'migration', 'config', 'config-rules.c')) as f:
        src = f.read()
    # Only the table bodies: the macro definitions look like entries.
    def table(name):
        start = src.index('const %s' % name)
        return src[start:src.index('};', start)]

    options = {}
    for name, default, rest in OPTION_RE.findall(
            table('MigrationOptionInfo migration_options[]')):
        rng = RANGE_RE.search(rest)
        options[name] = (None if default == 'NULL' else default[1:-1],
                         rng.groups() if rng else None)
    rules = RULE_RE.findall(table('MigrationRule migration_rules[]'))
    limits = [(opt, unless if kind == 'ONLY_WITH' else None)
              for kind, opt, _, unless in
              LIMIT_RE.findall(table('MigrationLimit migration_limits[]'))]
    need_table = table('MigrationHostNeed migration_host_needs[]')
    needs = [(opt, value or None)
             for opt, _, value in NEED_RE.findall(need_table)]
    return options, rules, limits, needs


# An option's status, from its member features (none: it works), as the
# Status cell starts.
STATUS = [('not-yet', '**refused for now**: not supported by this vmig yet'),
          ('unimplemented', '**not implemented**'),
          ('no-effect', 'accepted, **no effect here**'),
          (None, 'works')]


def expected_status(feats):
    found = [text for feature, text in STATUS if feature in feats]
    return found or ['works']


# How config-doc.c words a rule in the rules table.
RULE_VERBS = {
    'EXCLUDES': 'cannot be used together with',
    'REQUIRES': 'requires',
    'NOT_ABOVE': 'must not exceed',
}


# --- checks --------------------------------------------------------------

def check_options(secs, config, type_name, options):
    rows = rows_by_first_cell(table_rows(secs.get('Options', [])))
    check(len(options) == len(config.members),
          'config-rules.c parsed: one entry per option',
          '%d entries, %d members' % (len(options), len(config.members)))
    check(len(rows) == len(config.members),
          'options table: one row per MigrationConfig member',
          '%d rows, %d members' % (len(rows), len(config.members)))
    for m in config.members:
        row = rows.get('`%s`' % m.name)
        if not row or len(row) != 8:
            check(False, 'option %s has a row' % m.name, 'row: %r' % row)
            continue
        _, typ, default, valid, runtime, _, status, notes = row
        feats = m.feature_names()
        problems = []
        if typ != '`%s`' % type_name(m.type):
            problems.append('type %s' % typ)
        if m.name in options:
            def_text, rng = options[m.name]
            want = 'absent' if def_text is None else \
                '`"%s"`' % def_text if m.type.name == 'str' else \
                '`%s`' % def_text
            if not default.startswith(want):
                problems.append('default %s, expected %s' % (default, want))
            if rng and '%s to %s' % rng not in valid and \
                    'at least %s' % rng[0] not in valid:
                problems.append('range %s, expected %s to %s'
                                % ((valid,) + rng))
        else:
            problems.append('no entry in migration_options[]')
        if hasattr(m.type, 'values'):
            problems += ['enum value %s missing' % v.name
                         for v in m.type.values
                         if '`%s`' % v.name not in valid]
        if runtime != ('yes' if 'runtime' in feats else 'no'):
            problems.append('while migrating: %s' % runtime)
        wanted = expected_status(feats)
        if len(wanted) != 1:
            problems.append('features give more than one status: %s'
                            % wanted)
        elif not status.startswith(wanted[0]):
            problems.append("status '%s', expected '%s'"
                            % (status, wanted[0]))
        for feature, mark in [('capability', 'former capability'),
                              ('deprecated', '**deprecated**'),
                              ('unstable', 'unstable')]:
            if (feature in feats) != (mark in notes):
                problems.append("feature '%s' vs notes '%s'"
                                % (feature, notes))
        check(not problems, 'option %s: row is right' % m.name,
              '\n'.join(problems))
    return rows


def check_rules(secs, option_rows, rules, limits, needs):
    check(rules and limits and needs, 'config-rules.c parsed: rule tables',
          '%d rules, %d limits, %d host needs'
          % (len(rules), len(limits), len(needs)))
    rule_rows = table_rows(secs.get('Rules between options', []))
    check(len(rule_rows) == len(rules), 'rules table: one row per rule',
          '%d rows, %d rules' % (len(rule_rows), len(rules)))
    firsts = [row[0] for row in rule_rows]
    for kind, a, b in rules:
        name = 'rule %s %s %s' % (a, kind, b)
        check('`%s` %s `%s`' % (a, RULE_VERBS[kind], b) in firsts,
              name + ' is listed', 'not in: %s' % firsts)
        # Each option's row names the other option of its rules.
        rule_a = option_rows.get('`%s`' % a, [''] * 8)[5]
        rule_b = option_rows.get('`%s`' % b, [''] * 8)[5]
        check('`%s`' % b in rule_a and '`%s`' % a in rule_b,
              name + ' is in both options\' rows',
              '%s: %s\n%s: %s' % (a, rule_a, b, rule_b))

    limit_rows = table_rows(secs.get('Limits of transports and snapshots',
                                     []))
    check(len(limit_rows) == len(limits), 'limits table: one row per limit',
          '%d rows, %d limits' % (len(limit_rows), len(limits)))
    for opt, unless in limits:
        found = [row for row in limit_rows if row[0] == '`%s`' % opt and
                 (unless is None or '`%s`' % unless in row[1])]
        check(found, 'limit on %s%s is listed'
              % (opt, ' unless ' + unless if unless else ''))
        cell = option_rows.get('`%s`' % opt, [''] * 8)[5]
        check('not with' in cell, 'limit on %s is in its row' % opt, cell)

    need_rows = table_rows(secs.get('What the host must support', []))
    check(len(need_rows) == len(needs), 'host table: one row per host need',
          '%d rows, %d needs' % (len(need_rows), len(needs)))
    firsts = [row[0] for row in need_rows]
    for opt, value in needs:
        first = '`%s`' % opt + (' = `%s`' % value if value else '')
        check(first in firsts, 'host need of %s is listed' % first)
        cell = option_rows.get('`%s`' % opt, [''] * 8)[5]
        check('needs ' in cell, 'host need of %s is in its row' % first, cell)


def is_json(text):
    try:
        json.loads(text)
        return True
    except ValueError:
        return False


def check_legacy(secs, schema, config):
    caps = rows_by_first_cell(table_rows(secs.get('Former capabilities',
                                                  [])))
    params = rows_by_first_cell(table_rows(secs.get('Former parameters',
                                                    [])))
    check(len(caps) + len(params) == len(config.members),
          'legacy forms: one row per option',
          '%d + %d rows, %d members'
          % (len(caps), len(params), len(config.members)))
    for m in config.members:
        n = m.name
        is_cap = 'capability' in m.feature_names()
        row = (caps if is_cap else params).get('`%s`' % n)
        wrong = (params if is_cap else caps).get('`%s`' % n)
        if is_cap:
            want = ['`migrate-set-capabilities {"capabilities": '
                    '[{"capability": "%s", "state": true}]}`' % n,
                    '`migrate_set_capability %s on`' % n,
                    '`migrate-set-config {"%s": true}`' % n,
                    '`migrate_set_config %s=on`' % n]
        else:
            want = ['`migrate-set-parameters {"%s": ' % n,
                    '`migrate_set_parameter %s ' % n,
                    '`migrate-set-config {"%s": ' % n,
                    '`migrate_set_config %s=' % n]
        ok = row is not None and wrong is None and len(row) == 5 and \
            all(cell.startswith(w) for cell, w in zip(row[1:], want))
        if ok and not is_cap:
            # Both QMP forms carry the same arguments, valid JSON unless
            # the value is the placeholder V.
            args = [re.sub(r'^`[a-z-]+ (.*)`$', r'\1', c)
                    for c in (row[1], row[3])]
            ok = args[0] == args[1] and \
                (args[0].endswith(': V}') or is_json(args[0]))
        check(ok, 'legacy forms of %s' % n, 'row: %r' % (row or wrong))

    # The fixed forms name real commands, with the arguments shown.
    commands = {c.name: c for c in schema.commands()}
    for name in ['query-migrate-capabilities', 'query-migrate-parameters',
                 'query-migrate-config', 'migrate-set-capabilities',
                 'migrate-set-parameters', 'migrate-set-config', 'migrate',
                 'migrate-incoming']:
        check(name in commands, 'command %s exists' % name)
    args = {name: [m.name for m in commands[name].arg_type.members]
            for name in ['migrate-set-capabilities', 'migrate-incoming']
            if name in commands}
    check(args.get('migrate-set-capabilities') == ['capabilities'],
          'migrate-set-capabilities takes "capabilities"', repr(args))
    elem = commands['migrate-set-capabilities'].arg_type.members[0].type
    check([m.name for m in elem.element_type.members] ==
          ['capability', 'state'],
          'capabilities are {"capability", "state"}')
    check({'uri', 'config'} <= set(args.get('migrate-incoming', [])),
          'migrate-incoming takes "uri" and "config"', repr(args))


def check_links(text, schema):
    names = {e.name for e in schema.entities}
    for kind, name in re.findall(r'qmp-reference\.md#(type|command|event)-'
                                 r'([A-Za-z0-9_-]+)', text):
        check(name in names, 'link to %s %s resolves' % (kind, name))


def main():
    md, srcdir = sys.argv[1], sys.argv[2]
    with open(md) as f:
        text = f.read()
    secs = sections(text)
    schema, config, type_name = load_schema(srcdir)
    options, rules, limits, needs = load_tables(srcdir)
    option_rows = check_options(secs, config, type_name, options)
    check_rules(secs, option_rows, rules, limits, needs)
    check_legacy(secs, schema, config)
    check_links(text, schema)
    print('1..%d' % len(results))
    for i, (ok, name, diag) in enumerate(results, 1):
        print('%s %d - %s' % ('ok' if ok else 'not ok', i, name))
        if not ok and diag:
            for line in diag.splitlines():
                print('# ' + line)
    return 0 if all(ok for ok, _, _ in results) else 1


if __name__ == '__main__':
    sys.exit(main())
