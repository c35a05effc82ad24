"""PREFIXqapi-types.{c,h}: C types for every schema type, enum lookup
tables, qapi_free_FOO() and struct reflection tables.

With builtins=True, qapi-builtin-types.{c,h} get the lists of built-in
scalars (strList, intList, ...) and the empty object q_empty; every other
generated types header includes that one, so several schemas (vmig's and
the test schema) can share one program.
"""

from .common import (c_name, camel_to_upper, c_string, c_enum_const, decl,
                     wrap_call)
from .gen import GenFile
from .schema import (ArrayType, AlternateType, EnumType, ObjectType,
                     feature_mask)
from .genstructinfo import gen_struct_info


# --- enums ---------------------------------------------------------------

def enum_consts(enum):
    """[(C constant, wire name, C feature mask)] of a schema enum."""
    return [(enum.const(v.name), v.name, feature_mask(v.features))
            for v in enum.values]


def gen_enum_decl(cname, consts, max_const):
    out = 'typedef enum %s {\n' % cname
    for const, _, _ in consts:
        out += '    %s,\n' % const
    out += '    %s,\n} %s;\n\n' % (max_const, cname)
    out += 'extern const QEnumLookup %s_lookup;\n' % cname
    define = '#define %s_str(val)' % cname
    call = 'qapi_enum_lookup(&%s_lookup, (val))' % cname
    if len(define) + len(call) < 80:
        out += '%s %s\n\n' % (define, call)
    else:
        out += '%s \\\n    %s\n\n' % (define, call)
    return out


def gen_enum_lookup(cname, consts, max_const):
    out = 'const QEnumLookup %s_lookup = {\n' % cname
    if consts:
        out += '    .array = (const char *const[]) {\n'
        for const, name, _ in consts:
            out += '        [%s] = %s,\n' % (const, c_string(name))
        out += '    },\n'
    if any(mask != '0' for _, _, mask in consts):
        # Sized to the whole enum: a value after the last one with a
        # feature must still read 0, not past the end of the array.
        out += '    .features = (const unsigned[%s]) {\n' % max_const
        for const, _, mask in consts:
            if mask != '0':
                out += '        [%s] = %s,\n' % (const, mask)
        out += '    },\n'
    out += '    .size = %s,\n};\n\n' % max_const
    return out


def event_enum(schema, prefix):
    """(C name, constants, max constant) of the PREFIXQAPIEvent enum."""
    ename = prefix + 'QAPIEvent'
    upper = camel_to_upper(ename)
    consts = [(c_enum_const(ename, ev.name, upper), ev.name,
               feature_mask(ev.features)) for ev in schema.events()]
    return c_name(ename), consts, upper + '__MAX'


# --- structs -------------------------------------------------------------

def gen_member_decls(members):
    out = ''
    for m in members:
        if m.has_flag():
            out += '    bool has_%s;\n' % m.c_name()
        out += '    %s;\n' % decl(m.type.c_type(), m.c_name())
    return out


def gen_object_decl(obj):
    out = 'struct %s {\n' % obj.c_name()
    if obj.base is not None and obj.base.members:
        if not obj.base.is_implicit():
            out += '    /* Members inherited from %s: */\n' % obj.base.name
        out += gen_member_decls(obj.base.members)
        if obj.local_members:
            out += '    /* Own members: */\n'
    out += gen_member_decls(obj.local_members)
    if obj.variants:
        out += '    union { /* union tag is @%s */\n' % \
            obj.variants.tag_member.c_name()
        for b in obj.variants.branches:
            out += '        %s %s;\n' % (b.type.c_name(), b.c_name())
        out += '    } u;\n'
    if obj.is_empty():
        # ISO C has no empty structs.
        out += '    char qapi_dummy_for_empty_struct;\n'
    out += '};\n\n'
    return out


def gen_alternate_decl(alt):
    out = 'struct %s {\n    QType type;\n    union { /* union tag is @type */\n' \
        % alt.c_name()
    for b in alt.branches:
        if b.type.c_type() is not None:     # 'null' carries no value
            out += '        %s;\n' % decl(b.type.c_type(), b.c_name())
    out += '    } u;\n};\n\n'
    return out


def gen_list_decl(arr):
    return ('struct %s {\n    %s *next;\n    %s;\n};\n\n'
            % (arr.c_name(), arr.c_name(),
               decl(arr.element_type.c_type(), 'value')))


def ordered_objects(objects):
    """Objects with every union's branch types (embedded by value)
    defined before the union."""
    done = set()
    order = []

    def visit(obj):
        if obj.name in done:
            return
        done.add(obj.name)
        if obj.variants:
            for b in obj.variants.branches:
                visit(b.type)
        order.append(obj)

    for obj in objects:
        visit(obj)
    return order


def gen_free_decl(t):
    cn = t.c_name()
    return ('void qapi_free_%s(%s *obj);\n' % (cn, cn) +
            wrap_call('G_DEFINE_AUTOPTR_CLEANUP_FUNC',
                      [cn, 'qapi_free_' + cn], '\n\n'))


def gen_free_def(t):
    cn = t.c_name()
    return (wrap_call('void qapi_free_' + cn, ['%s *obj' % cn], '\n') +
            '{\n'
            '    Visitor *v;\n'
            '\n'
            '    if (!obj) {\n'
            '        return;\n'
            '    }\n'
            '    v = qapi_dealloc_visitor_new();\n'
            '    visit_type_%s(v, NULL, &obj, NULL);\n'
            '    visit_free(v);\n'
            '}\n\n' % cn)


# --- files ---------------------------------------------------------------

def gen_types(schema, outdir, prefix, builtins):
    files = _gen_builtin_types(schema, outdir) if builtins else []

    h = GenFile(outdir, prefix + 'qapi-types.h', schema.fname,
                'Schema-defined QAPI types')
    c = GenFile(outdir, prefix + 'qapi-types.c', schema.fname,
                'Enum tables, qapi_free_FOO(), struct reflection tables')
    h.add('#include "qapi/qapi-builtin-types.h"\n\n')
    c.add('#include <stddef.h>\n\n'
          '#include "qapi/struct-info.h"\n'
          '#include "%sqapi-features.h"\n'
          '#include "%sqapi-types.h"\n'
          '#include "%sqapi-visit.h"\n\n' % (prefix, prefix, prefix))

    objects = schema.types(ObjectType)
    alternates = schema.types(AlternateType)
    enums = schema.types(EnumType)
    arrays = [t for t in schema.types(ArrayType)]

    # Forward declarations: structs refer to each other by pointer.
    for t in objects + alternates + arrays:
        h.add('typedef struct %s %s;\n' % (t.c_name(), t.c_name()))
    h.add('\n')

    for e in enums:
        consts = enum_consts(e)
        h.add(gen_enum_decl(e.c_name(), consts, e.max_const()))
        c.add(gen_enum_lookup(e.c_name(), consts, e.max_const()))
    ename, consts, emax = event_enum(schema, prefix)
    h.add('/* One value per event, for %sqapi_event_emit(). */\n' % c_name(
        prefix))
    h.add(gen_enum_decl(ename, consts, emax))
    c.add(gen_enum_lookup(ename, consts, emax))

    for obj in ordered_objects(objects):
        h.add(gen_object_decl(obj))
    for alt in alternates:
        h.add(gen_alternate_decl(alt))
    for arr in arrays:
        h.add(gen_list_decl(arr))

    for t in objects + alternates + arrays:
        h.add(gen_free_decl(t))
        c.add(gen_free_def(t))

    # Reflection tables for the schema's structs and unions (implicit
    # argument and base types are not addressed by name).
    hdecl, cdef = gen_struct_info([o for o in objects
                                   if not o.is_implicit()])
    h.add(hdecl)
    c.add(cdef)
    return files + [h, c]


def _gen_builtin_types(schema, outdir):
    h = GenFile(outdir, 'qapi-builtin-types.h', schema.fname,
                'Lists of built-in QAPI types, and the empty object')
    c = GenFile(outdir, 'qapi-builtin-types.c', schema.fname,
                'qapi_free_FOO() for built-in QAPI types')
    h.add('#include <stdbool.h>\n'
          '#include <stdint.h>\n'
          '#include <jansson.h>\n\n'
          '#include "qapi/struct-info.h"\n'
          '#include "qapi/util.h"\n'
          '#include "qapi/visitor.h"\n\n')
    c.add('#include "qapi/qapi-builtin-types.h"\n'
          '#include "qapi/qapi-builtin-visit.h"\n\n')
    empty = schema.the_empty_object
    h.add('typedef struct %s %s;\n' % (empty.c_name(), empty.c_name()))
    for arr in schema.builtin_arrays:
        h.add('typedef struct %s %s;\n' % (arr.c_name(), arr.c_name()))
    h.add('\n')
    h.add('/* Arguments of commands (and events) that take none. */\n')
    h.add(gen_object_decl(empty))
    for arr in schema.builtin_arrays:
        h.add(gen_list_decl(arr))
    for t in [empty] + schema.builtin_arrays:
        h.add(gen_free_decl(t))
        c.add(gen_free_def(t))
    return [h, c]
