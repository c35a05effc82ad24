"""PREFIXqapi-introspect.{c,h}: the query-qmp-schema result as JSON text.

The format is QEMU's SchemaInfo (qapi/introspect.json), with one
difference: type names are not masked, so clients see the real names.
Integer types all appear as 'int' (their range is not part of the wire
protocol), list types as '[ELEMENT]'.  Only what commands and events can
reach is listed.  Members never carry 'default': the schema language has
no default values (an absent optional member's meaning is documented).
"""

import json
import re

from .common import c_name, c_string
from .gen import GenFile
from .schema import (AlternateType, ArrayType, BuiltinType, EnumType,
                     ObjectType)


def use_name(t):
    if isinstance(t, BuiltinType) and t.json_type == 'int':
        return 'int'
    if isinstance(t, ArrayType):
        return '[%s]' % use_name(t.element_type)
    return t.name


def _with_features(info, features):
    names = [f if isinstance(f, str) else f.name for f in features]
    if names:
        info['features'] = names
    return info


class Introspector:
    def __init__(self, schema):
        self.schema = schema
        self.seen = set()
        self.queue = []
        self.infos = []

    def use(self, t):
        name = use_name(t)
        if name not in self.seen:
            self.seen.add(name)
            self.queue.append(t)
        return name

    def _type_info(self, t):
        name = use_name(t)
        if isinstance(t, BuiltinType):
            return {'name': name, 'meta-type': 'builtin',
                    'json-type': t.json_type}
        if isinstance(t, EnumType):
            return _with_features({
                'name': name, 'meta-type': 'enum',
                'members': [_with_features({'name': v.name}, v.features)
                            for v in t.values],
                'values': t.value_names()}, t.features)
        if isinstance(t, ArrayType):
            return {'name': name, 'meta-type': 'array',
                    'element-type': self.use(t.element_type)}
        if isinstance(t, ObjectType):
            info = {'name': name, 'meta-type': 'object',
                    'members': [_with_features(
                        {'name': m.name, 'type': self.use(m.type)},
                        m.features) for m in t.members]}
            if t.variants:
                info['tag'] = t.variants.tag_member.name
                info['variants'] = [{'case': b.name,
                                     'type': self.use(b.type)}
                                    for b in t.variants.branches]
            return _with_features(info, t.features)
        if isinstance(t, AlternateType):
            return _with_features({
                'name': name, 'meta-type': 'alternate',
                'members': [{'type': self.use(b.type)}
                            for b in t.branches]}, t.features)
        raise AssertionError(t)

    def build(self):
        for ent in self.schema.entities:
            if ent.meta == 'command':
                ret = ent.ret_type or self.schema.the_empty_object
                self.infos.append(_with_features({
                    'name': ent.name, 'meta-type': 'command',
                    'arg-type': self.use(ent.arg_type),
                    'ret-type': self.use(ret)}, ent.features))
            elif ent.meta == 'event':
                self.infos.append(_with_features({
                    'name': ent.name, 'meta-type': 'event',
                    'arg-type': self.use(ent.arg_type)}, ent.features))
        while self.queue:
            self.infos.append(self._type_info(self.queue.pop(0)))
        return self.infos


def _split(text, width=72):
    """@text in pieces that fit a line as C string literals, cut after
    ', ' where possible."""
    pieces = []
    current = ''
    for part in re.split(r'(?<=, )', text):
        if current and len(c_string(current + part)) > width:
            pieces.append(current)
            current = ''
        current += part
    pieces.append(current)
    return pieces


def gen_introspect(schema, outdir, prefix):
    infos = Introspector(schema).build()
    var = c_name(prefix) + 'qapi_introspect_json'
    h = GenFile(outdir, prefix + 'qapi-introspect.h', schema.fname,
                'The QAPI schema as returned by query-qmp-schema')
    c = GenFile(outdir, prefix + 'qapi-introspect.c', schema.fname,
                'The QAPI schema as returned by query-qmp-schema')
    h.add('/* JSON array of SchemaInfo objects (qapi/introspect.json). */\n'
          'extern const char %s[];\n' % var)
    c.add('#include "%sqapi-introspect.h"\n\n' % prefix)
    c.add('const char %s[] =\n' % var)
    lines = []
    for i, info in enumerate(infos):
        text = json.dumps(info, separators=(', ', ': '))
        text = ('[' if i == 0 else ' ') + text + \
            (']' if i == len(infos) - 1 else ',')
        lines += ['    ' + c_string(piece) for piece in _split(text)]
    if not lines:
        lines.append('    "[]"')
    c.add('\n'.join(lines) + ';\n')
    return [h, c]
