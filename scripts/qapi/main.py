"""Command line of the QAPI generator.

    qapi-gen.py [-b] [-o OUTDIR] [-p PREFIX] [--depfile FILE] SCHEMA.json

writes into OUTDIR:
    PREFIXqapi-types.{c,h}          types, enum tables, free, reflection
    PREFIXqapi-visit.{c,h}          visitors
    PREFIXqapi-commands.{c,h}       handler prototypes, marshallers
    PREFIXqapi-init-commands.{c,h}  PREFIXqmp_init_marshal()
    PREFIXqapi-events.{c,h}         event senders
    PREFIXqapi-introspect.{c,h}     query-qmp-schema JSON
    PREFIXqapi-features.h           custom feature masks
and with -b also qapi-builtin-types.{c,h} and qapi-builtin-visit.{c,h}
(lists of built-in types), which exactly one schema of a program must
provide.

    qapi-gen.py --doc FILE.md [--doc-title TITLE] SCHEMA.json

writes the Markdown reference manual instead.  On a schema error, prints 'FILE:LINE: problem' and exits 1.
"""

import argparse
import os
import sys

from .error import QAPIError
from .schema import Schema
from .gentypes import gen_types
from .genvisit import gen_visit
from .gencommands import gen_commands
from .genevents import gen_events
from .genintrospect import gen_introspect
from .genfeatures import gen_features
from .gendoc import gen_doc


def main(argv=None):
    ap = argparse.ArgumentParser(
        description='Generate C code and documentation from a QAPI schema.')
    ap.add_argument('-o', '--output-dir', default='.',
                    help='directory for the generated files')
    ap.add_argument('-p', '--prefix', default='',
                    help="prefix of every generated file name and of the "
                    "few global symbols (e.g. 'test-')")
    ap.add_argument('-b', '--builtins', action='store_true',
                    help='also generate code for the built-in types')
    ap.add_argument('--doc', metavar='FILE',
                    help='write only the Markdown reference manual, to FILE')
    ap.add_argument('--doc-title', default=None,
                    help='title of the Markdown reference')
    ap.add_argument('--depfile', metavar='FILE',
                    help='write a Makefile-style list of the schema modules '
                    'read, for the build system')
    ap.add_argument('schema', help='main schema file')
    args = ap.parse_args(argv)

    try:
        schema = Schema(args.schema)
    except QAPIError as e:
        print('%s: %s' % (os.path.basename(sys.argv[0]), e), file=sys.stderr)
        return 1
    if args.doc:
        gen_doc(schema, args.doc, args.doc_title).write()
        write_depfile(args.depfile, args.doc, schema)
        return 0
    os.makedirs(args.output_dir, exist_ok=True)
    files = []
    files += gen_features(schema, args.output_dir, args.prefix)
    files += gen_types(schema, args.output_dir, args.prefix, args.builtins)
    files += gen_visit(schema, args.output_dir, args.prefix, args.builtins)
    files += gen_commands(schema, args.output_dir, args.prefix)
    files += gen_events(schema, args.output_dir, args.prefix)
    files += gen_introspect(schema, args.output_dir, args.prefix)
    for f in files:
        f.write()
    write_depfile(args.depfile, files[0].path, schema)
    return 0


def write_depfile(path, target, schema):
    """'TARGET: MODULE...' so that editing any included module reruns the
    generator, without a second list of modules in meson.build."""
    if not path:
        return
    with open(path, 'w', encoding='utf-8') as f:
        f.write('%s: %s\n' % (target.replace(' ', '\\ '),
                              ' '.join(p.replace(' ', '\\ ')
                                       for p in schema.files)))
