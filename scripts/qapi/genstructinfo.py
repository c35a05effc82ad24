"""Struct reflection tables (include/qapi/struct-info.h): FOO_info for
every struct and union, emitted into PREFIXqapi-types.{c,h}."""

from .common import c_string, wrap_call
from .schema import ArrayType, BuiltinType, EnumType, ObjectType, feature_mask


def schema_type_name(t):
    if isinstance(t, ArrayType):
        return '[%s]' % t.element_type.name
    return t.name


def _visit_wrapper(t):
    return 'qapi_member_visit_' + t.c_name()


def _gen_member(obj, m):
    t = m.type
    cn = obj.c_name()
    fields = [
        ('name', c_string(m.name)),
        ('type_name', c_string(schema_type_name(t))),
        ('kind', 'QAPI_MEMBER_KIND_' + t.member_kind()),
        ('offset', 'offsetof(%s, %s)' % (cn, m.c_name())),
        ('has_offset', 'offsetof(%s, has_%s)' % (cn, m.c_name())
         if m.has_flag() else '-1'),
        ('size', 'sizeof(%s)' % t.c_type().rstrip()),
    ]
    if isinstance(t, BuiltinType) and t.member_kind() == 'INT':
        fields.append(('is_signed', 'true'))
    if m.optional:
        fields.append(('optional', 'true'))
    if m.features:
        fields.append(('features', feature_mask(m.features)))
    if isinstance(t, EnumType):
        fields.append(('enum_lookup', '&%s_lookup' % t.c_name()))
    if isinstance(t, ObjectType):
        fields.append(('struct_info', '&%s_info' % t.c_name()))
    fields.append(('visit', _visit_wrapper(t)))
    return '    {\n' + ''.join('        .%s = %s,\n' % f for f in fields) + \
        '    },\n'


def gen_struct_info(objects):
    """Returns (header text, source text)."""
    h = '/* Struct reflection tables, see qapi/struct-info.h. */\n'
    c = ''
    wrapped = set()
    wrappers = ''
    for obj in objects:
        for m in obj.members:
            t = m.type
            if t.c_name() in wrapped:
                continue
            wrapped.add(t.c_name())
            wrappers += wrap_call('static bool ' + _visit_wrapper(t),
                                  ['Visitor *v', 'const char *name',
                                   'void *value', 'Error **errp'], '\n')
            wrappers += ('{\n    return %s(v, name, value, errp);\n}\n\n'
                         % t.visit_fn())
    for obj in objects:
        cn = obj.c_name()
        h += 'extern const QAPIStructInfo %s_info;\n' % cn
        c += wrap_call('static bool %s_info_visit' % cn,
                       ['Visitor *v', 'const char *name', 'void **obj',
                        'Error **errp'], '\n')
        c += ('{\n%s}\n\n' % (
                               wrap_call('return visit_type_' + cn,
                                         ['v', 'name', '(%s **)obj' % cn,
                                          'errp'], ';\n', '    ')))
        if obj.members:
            c += 'static const QAPIMemberInfo %s_members[] = {\n' % cn
            for m in obj.members:
                c += _gen_member(obj, m)
            c += '};\n\n'
        c += ('const QAPIStructInfo %s_info = {\n'
              '    .name = %s,\n'
              '    .size = sizeof(%s),\n' % (cn, c_string(obj.name), cn))
        if obj.members:
            c += ('    .members = %s_members,\n'
                  '    .n_members = G_N_ELEMENTS(%s_members),\n' % (cn, cn))
        c += '    .visit = %s_info_visit,\n};\n\n' % cn
    return h + '\n', wrappers + c
