"""PREFIXqapi-visit.{c,h}: visit_type_FOO() for every schema type.

The generated walks follow the call protocol of include/qapi/visitor.h:
start / members / check / end, and on input failure the partial object is
freed (with the dealloc visitor) and *obj set to NULL.
"""

from .common import c_string, wrap_call
from .gen import GenFile
from .schema import AlternateType, ArrayType, EnumType, ObjectType


def _params(ret, fn, rest):
    """'bool fn(Visitor *v, ..., Error **errp)' wrapped at 80 columns."""
    return wrap_call('%s %s' % (ret, fn), ['Visitor *v'] + rest +
                     ['Error **errp'], '')


def visit_decl(t):
    cn = t.c_name()
    if isinstance(t, EnumType):
        return _params('bool', 'visit_type_' + cn,
                       ['const char *name', '%s *obj' % cn])
    return _params('bool', 'visit_type_' + cn,
                   ['const char *name', '%s **obj' % cn])


def members_decl(obj):
    cn = obj.c_name()
    return _params('bool', 'visit_type_%s_members' % cn, ['%s *obj' % cn])


# --- enums ---------------------------------------------------------------

def gen_visit_enum(enum):
    cn = enum.c_name()
    out = visit_decl(enum) + '\n{\n'
    out += ('    int value = *obj;\n'
            '    bool ok = visit_type_enum(v, name, &value, &%s_lookup, '
            'errp);\n\n' % cn)
    # Deprecated values: visit_type_enum() applies the policy, from
    # the feature masks in the lookup table.
    out += '    *obj = value;\n    return ok;\n}\n\n'
    return out


# --- structs and unions --------------------------------------------------

def _fail_if_not(call, args, indent):
    """'if (!call(args)) { return false; }' at @indent."""
    return (wrap_call('if (!' + call, args, ') {\n', indent) +
            indent + '    return false;\n' + indent + '}\n')


def _gen_member_visit(m):
    """Visit of one member; 'return false' on failure."""
    name = c_string(m.name)
    cn = m.c_name()
    indent = '        ' if m.optional else '    '
    body = ''
    if 'deprecated' in m.feature_names():
        body += _fail_if_not('visit_deprecated_accept', ['v', name, 'errp'],
                             indent)
    body += _fail_if_not(m.type.visit_fn(),
                         ['v', name, '&obj->' + cn, 'errp'], indent)
    if not m.optional:
        return body
    flag = 'obj->has_' + cn if m.has_flag() else 'has_' + cn
    return ('    if (visit_optional(v, %s, &%s)) {\n' % (name, flag) + body +
            '    }\n')


def gen_visit_members(obj):
    out = members_decl(obj) + '\n{\n'
    pointer_opts = [m for m in obj.local_members
                    if m.optional and not m.has_flag()]
    for m in pointer_opts:
        # Optional pointer members have no has_ flag: NULL means absent.
        out += '    bool has_%s = !!obj->%s;\n' % (m.c_name(), m.c_name())
    if pointer_opts:
        out += '\n'
    if obj.base is not None:
        bcn = obj.base.c_name()
        out += _fail_if_not('visit_type_%s_members' % bcn,
                            ['v', '(%s *)obj' % bcn, 'errp'], '    ')
    for m in obj.local_members:
        out += _gen_member_visit(m)
    if obj.variants:
        tag = obj.variants.tag_member
        out += '    switch (obj->%s) {\n' % tag.c_name()
        for b in obj.variants.branches:
            out += '    case %s:\n' % tag.type.const(b.name)
            out += wrap_call('return visit_type_%s_members' % b.type.c_name(),
                             ['v', '&obj->u.' + b.c_name(), 'errp'], ';\n',
                             '        ')
        out += '    default:\n        abort();\n    }\n'
    else:
        out += '    return true;\n'
    out += '}\n\n'
    return out


def gen_visit_object(obj):
    cn = obj.c_name()
    return visit_decl(obj) + '''
{
    bool ok = false;

%(start)s
    if (!*obj) {
        /* Only the dealloc visitor meets an absent object. */
        assert(visit_is_dealloc(v));
        ok = true;
        goto out_obj;
    }
    if (!visit_type_%(cn)s_members(v, *obj, errp)) {
        goto out_obj;
    }
    ok = visit_check_struct(v, errp);
out_obj:
    visit_end_struct(v, (void **)obj);
    if (!ok && visit_is_input(v)) {
        qapi_free_%(cn)s(*obj);
        *obj = NULL;
    }
    return ok;
}

''' % {'cn': cn,
       'start': _fail_if_not('visit_start_struct',
                             ['v', 'name', '(void **)obj',
                              'sizeof(%s)' % cn, 'errp'], '    ').rstrip('\n')}


# --- lists ---------------------------------------------------------------

def gen_visit_list(arr):
    cn = arr.c_name()
    return visit_decl(arr) + '''
{
    bool ok = false;
    GenericList *tail;
    size_t size = sizeof(**obj);

    if (!visit_start_list(v, name, (GenericList **)obj, size, errp)) {
        return false;
    }
    for (tail = (GenericList *)*obj; tail;
         tail = visit_next_list(v, tail, size)) {
        %(cn)s *elem = (%(cn)s *)tail;

%(visit)s    }
    ok = visit_check_list(v, errp);
out_obj:
    visit_end_list(v, (void **)obj);
    if (!ok && visit_is_input(v)) {
        qapi_free_%(cn)s(*obj);
        *obj = NULL;
    }
    return ok;
}

''' % {'cn': cn,
       'visit': wrap_call('if (!' + arr.element_type.visit_fn(),
                          ['v', 'NULL', '&elem->value', 'errp'], ') {\n',
                          '        ') +
       '            goto out_obj;\n        }\n'}


# --- alternates ----------------------------------------------------------

def _branch_visit(b, indent='        '):
    if b.type.name == 'null':
        return indent + 'ok = visit_type_null(v, name, errp);\n'
    return wrap_call('ok = ' + b.type.visit_fn(),
                     ['v', 'name', '&(*obj)->u.' + b.c_name(), 'errp'],
                     ';\n', indent)


def gen_visit_alternate(alt):
    cn = alt.c_name()
    out = visit_decl(alt) + '''
{
    bool ok = false;

    if (!visit_start_alternate(v, name, (GenericAlternate **)obj,
                               sizeof(**obj), errp)) {
        return false;
    }
    if (!*obj) {
        /* Only the dealloc visitor meets an absent object. */
        assert(visit_is_dealloc(v));
        ok = true;
        goto out_obj;
    }
    switch ((*obj)->type) {
'''
    has_string = False
    for b in alt.branches:
        qtype = b.type.qtype()
        if qtype == 'QTYPE_QSTRING':
            has_string = True
        out += '    case %s:\n' % qtype
        out += _branch_visit(b)
        out += '        break;\n'
    scalars = [b for b in alt.branches
               if b.type.qtype() in ('QTYPE_QBOOL', 'QTYPE_QNUM')]
    if not has_string and scalars:
        # Keyval input can't tell scalar kinds apart and reports every
        # scalar as a string: try the scalar branches in turn, the way
        # the string would have to be read for each.
        out += ('    case QTYPE_QSTRING:\n'
                '        /* Keyval input: every scalar arrives as a string. '
                '*/\n')
        for b in sorted(scalars, key=lambda b: b.type.qtype() != 'QTYPE_QBOOL'):
            out += wrap_call('if (' + b.type.visit_fn(),
                             ['v', 'name', '&(*obj)->u.' + b.c_name(),
                              'NULL'], ') {\n', '        ')
            out += ('            (*obj)->type = %s;\n'
                    '            ok = true;\n'
                    '            break;\n'
                    '        }\n' % b.type.qtype())
        out += '        G_GNUC_FALLTHROUGH;\n'
    out += '''    default:
        assert(visit_is_input(v));
        error_setg(errp, "Invalid parameter type for '%%s', expected: %%s",
                   name ? name : "null", "%s");
        /* Nothing valid inside: free just the shell. */
        g_free(*obj);
        *obj = NULL;
    }
out_obj:
    visit_end_alternate(v, (void **)obj);
    if (!ok && visit_is_input(v)) {
        qapi_free_%s(*obj);
        *obj = NULL;
    }
    return ok;
}

''' % (alt.name, cn)
    return out


# --- files ---------------------------------------------------------------

def _gen_defs(types):
    h = ''
    c = ''
    for t in types:
        if isinstance(t, EnumType):
            h += visit_decl(t) + ';\n\n'
            c += gen_visit_enum(t)
        elif isinstance(t, ObjectType):
            h += members_decl(t) + ';\n' + visit_decl(t) + ';\n\n'
            c += gen_visit_members(t) + gen_visit_object(t)
        elif isinstance(t, AlternateType):
            h += visit_decl(t) + ';\n\n'
            c += gen_visit_alternate(t)
        elif isinstance(t, ArrayType):
            h += visit_decl(t) + ';\n\n'
            c += gen_visit_list(t)
    return h, c


C_INCLUDES = '#include <assert.h>\n#include <stdlib.h>\n\n'


def gen_visit(schema, outdir, prefix, builtins):
    files = []
    if builtins:
        bh = GenFile(outdir, 'qapi-builtin-visit.h', schema.fname,
                     'Visitors for lists of built-in types')
        bc = GenFile(outdir, 'qapi-builtin-visit.c', schema.fname,
                     'Visitors for lists of built-in types')
        bh.add('#include "qapi/qapi-builtin-types.h"\n'
               '#include "qapi/visitor.h"\n\n')
        bc.add(C_INCLUDES + '#include "qapi/qapi-builtin-visit.h"\n\n')
        h, c = _gen_defs([schema.the_empty_object] + schema.builtin_arrays)
        bh.add(h)
        bc.add(c)
        files += [bh, bc]

    h = GenFile(outdir, prefix + 'qapi-visit.h', schema.fname,
                'Visitors for the schema types')
    c = GenFile(outdir, prefix + 'qapi-visit.c', schema.fname,
                'Visitors for the schema types')
    h.add('#include "qapi/qapi-builtin-visit.h"\n'
          '#include "%sqapi-types.h"\n\n' % prefix)
    c.add(C_INCLUDES + '#include "%sqapi-visit.h"\n\n' % prefix)
    types = [t for t in schema.entities
             if isinstance(t, (EnumType, ObjectType, AlternateType,
                               ArrayType))]
    hd, cd = _gen_defs(types)
    h.add(hd)
    c.add(cd)
    return files + [h, c]
