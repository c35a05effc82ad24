"""The semantic model of a QAPI schema, and every check on it.

Schema(fname) parses the main schema file (following includes), checks each
expression's shape, builds entities (types, commands, events), resolves
type references and runs the semantic checks.  Every problem raises
QAPIError located at the offending definition ('FILE:LINE: problem').

Generators only read the model; they never re-check anything.
"""

import re

from .common import c_name, c_enum_const, camel_to_upper
from .error import QAPIError
from .parser import SchemaParser

SPECIAL_FEATURES = ('deprecated', 'unstable')

TYPE_NAME_RE = re.compile(r'^[A-Z][A-Za-z0-9]*$')
EVENT_NAME_RE = re.compile(r'^[A-Z][A-Z0-9_]*$')
LOWER_NAME_RE = re.compile(r'^[a-z][a-z0-9-]*$')
ENUM_VALUE_RE = re.compile(r'^[a-z0-9][a-z0-9-]*$')

META_KEYS = {
    # meta-type: (required keys, optional keys)
    'enum': ({'data'}, {'prefix', 'features'}),
    'struct': ({'data'}, {'base', 'features'}),
    'union': ({'base', 'discriminator', 'data'}, {'features'}),
    'alternate': ({'data'}, {'features'}),
    'command': (set(), {'data', 'returns', 'boxed', 'gen',
                        'success-response', 'allow-preconfig', 'features'}),
    'event': (set(), {'data', 'boxed', 'features'}),
}


# ---------------------------------------------------------------------------
# Entities

class Entity:
    meta = None

    def __init__(self, name, info, doc=None, features=()):
        self.name = name
        self.info = info
        self.doc = doc
        self.features = list(features)

    def describe(self):
        return "%s '%s'" % (self.meta, self.name)

    def c_name(self):
        return c_name(self.name)

    def feature_names(self):
        return [f.name for f in self.features]

    def is_implicit(self):
        return False


class Feature:
    def __init__(self, name, info):
        self.name = name
        self.info = info


class Type(Entity):
    """Common interface of everything usable as a member type."""

    builtin = False

    def c_type(self):
        """C type of a stored value (struct member, list element)."""
        raise NotImplementedError

    def c_param_type(self):
        """C type of a function parameter taking this value."""
        return self.c_type()

    def is_pointer(self):
        return self.c_type().endswith('*')

    def visit_fn(self):
        return 'visit_type_' + self.c_name()

    def qtype(self):
        """JSON kind, as the QType constant an alternate switches on."""
        raise NotImplementedError

    def member_kind(self):
        """QAPIMemberKind constant suffix for struct reflection."""
        raise NotImplementedError


class BuiltinType(Type):
    meta = 'built-in type'
    builtin = True

    # name: (C type, JSON type for introspection, QType, member kind)
    TABLE = {
        'str': ('char *', 'string', 'QTYPE_QSTRING', 'STR'),
        'number': ('double', 'number', 'QTYPE_QNUM', 'NUMBER'),
        'int': ('int64_t', 'int', 'QTYPE_QNUM', 'INT'),
        'int8': ('int8_t', 'int', 'QTYPE_QNUM', 'INT'),
        'int16': ('int16_t', 'int', 'QTYPE_QNUM', 'INT'),
        'int32': ('int32_t', 'int', 'QTYPE_QNUM', 'INT'),
        'int64': ('int64_t', 'int', 'QTYPE_QNUM', 'INT'),
        'uint8': ('uint8_t', 'int', 'QTYPE_QNUM', 'UINT'),
        'uint16': ('uint16_t', 'int', 'QTYPE_QNUM', 'UINT'),
        'uint32': ('uint32_t', 'int', 'QTYPE_QNUM', 'UINT'),
        'uint64': ('uint64_t', 'int', 'QTYPE_QNUM', 'UINT'),
        'size': ('uint64_t', 'int', 'QTYPE_QNUM', 'SIZE'),
        'bool': ('bool', 'boolean', 'QTYPE_QBOOL', 'BOOL'),
        'null': (None, 'null', 'QTYPE_QNULL', None),
        'any': ('json_t *', 'value', None, 'ANY'),
    }

    def __init__(self, name):
        super().__init__(name, None)
        self._c_type, self.json_type, self._qtype, self._kind = \
            self.TABLE[name]

    def describe(self):
        return "built-in type '%s'" % self.name

    def c_name(self):
        # 'int', 'bool': keywords as names, but fine inside visit_type_int.
        return self.name

    def c_type(self):
        return self._c_type

    def c_param_type(self):
        return 'const char *' if self.name == 'str' else self._c_type

    def is_pointer(self):
        return self.name in ('str', 'any')

    def qtype(self):
        return self._qtype

    def member_kind(self):
        return self._kind


class EnumValue:
    def __init__(self, name, info, features):
        self.name = name
        self.info = info
        self.features = features


class EnumType(Type):
    meta = 'enum'

    def __init__(self, name, info, doc, features, values, prefix):
        super().__init__(name, info, doc, features)
        self.values = values
        self.prefix = prefix

    def c_type(self):
        return self.c_name()

    def qtype(self):
        return 'QTYPE_QSTRING'

    def member_kind(self):
        return 'ENUM'

    def const(self, value):
        return c_enum_const(self.name, value, self.prefix)

    def max_const(self):
        # FOO__MAX: doubled '_' so it can't clash with a value 'max'.
        prefix = self.prefix or camel_to_upper(self.name)
        return prefix + '__MAX'

    def value_names(self):
        return [v.name for v in self.values]


class ArrayType(Type):
    meta = 'array'

    def __init__(self, element_type):
        super().__init__(element_type.name + 'List', element_type.info)
        self.element_type = element_type

    def c_type(self):
        return self.c_name() + ' *'

    def qtype(self):
        return 'QTYPE_QLIST'

    def member_kind(self):
        return 'LIST'

    def is_implicit(self):
        return self.element_type.is_implicit()

    @property
    def builtin(self):
        return self.element_type.builtin


class Member:
    def __init__(self, name, info, type_ref, optional, features, owner):
        self.name = name
        self.info = info
        self.type_ref = type_ref
        self.optional = optional
        self.features = features
        self.owner = owner      # describe() text of the owner
        self.type = None        # resolved Type

    def c_name(self):
        return c_name(self.name)

    def describe(self):
        return "%s member '%s'" % (self.owner, self.name)

    def has_flag(self):
        """Optional members of non-pointer type carry 'bool has_NAME'."""
        return self.optional and not self.type.is_pointer()

    def feature_names(self):
        return [f.name for f in self.features]


class Variants:
    """The branches of a flat union, selected by enum member @tag_name."""

    def __init__(self, tag_name, info, branches):
        self.tag_name = tag_name
        self.info = info
        self.branches = branches   # list of Branch
        self.tag_member = None


class Branch:
    def __init__(self, name, info, type_ref):
        self.name = name
        self.info = info
        self.type_ref = type_ref
        self.type = None

    def c_name(self):
        return c_name(self.name)


class ObjectType(Type):
    """A struct or a flat union (with variants), possibly implicit.

    @base_ref is the base's name, or for a union with an inline base the
    implicit base object itself; @owner, for implicit types, describes
    the definition they belong to.
    """

    def __init__(self, name, info, doc, features, base_ref, local_members,
                 variants=None, meta='struct', owner=None):
        super().__init__(name, info, doc, features)
        self.meta = meta
        self.base_ref = base_ref
        self.base = None
        self.local_members = local_members
        self.variants = variants
        self._owner = owner      # for implicit types: describe() of owner
        self.members = None      # base members then local ones, once checked
        self._checking = False

    def is_implicit(self):
        return self._owner is not None

    def describe(self):
        return self._owner or super().describe()

    def c_type(self):
        return self.c_name() + ' *'

    def qtype(self):
        return 'QTYPE_QDICT'

    def member_kind(self):
        return 'STRUCT'

    def is_empty(self):
        return not self.members and not self.variants


class AlternateType(Type):
    meta = 'alternate'

    def __init__(self, name, info, doc, features, branches):
        super().__init__(name, info, doc, features)
        self.branches = branches

    def c_type(self):
        return self.c_name() + ' *'

    def member_kind(self):
        return 'ALTERNATE'

    def qtype(self):
        return None


class Command(Entity):
    meta = 'command'

    def __init__(self, name, info, doc, features, arg_ref, ret_ref, boxed,
                 gen, success_response, allow_preconfig):
        super().__init__(name, info, doc, features)
        self.arg_ref = arg_ref
        self.ret_ref = ret_ref
        self.arg_type = None
        self.ret_type = None
        self.boxed = boxed
        self.gen = gen
        self.success_response = success_response
        self.allow_preconfig = allow_preconfig


class Event(Entity):
    meta = 'event'

    def __init__(self, name, info, doc, features, arg_ref, boxed):
        super().__init__(name, info, doc, features)
        self.arg_ref = arg_ref
        self.arg_type = None
        self.boxed = boxed


# ---------------------------------------------------------------------------
# The schema

class Schema:
    def __init__(self, fname):
        self.fname = fname
        parser = SchemaParser(fname)
        self.pragma = parser.pragma
        self.files = list(parser.included.values())   # every module read
        self.entities = []       # definitions in schema order (incl. implicit)
        self.docs = []           # free-standing docs and entities, in order
        self._by_name = {}
        self._define_builtins()
        for e in parser.expressions:
            if e.expr is None:
                self.docs.append(e.doc)
                continue
            entity = self._define(e.expr, e.info, e.doc)
            self.docs.append(entity)
        # Every named type gets a list type, so FooList is always there.
        for ent in list(self.entities):
            if isinstance(ent, Type) and not ent.is_implicit():
                self._array_of(ent)
        self._check()
        self.feature_bits = self._assign_feature_bits()

    # --- definitions ---------------------------------------------------

    def _add(self, ent):
        other = self._by_name.get(ent.name)
        if other is not None:
            where = ' (at %s)' % other.info if other.info else ''
            raise QAPIError(ent.info, "%s is already defined%s"
                            % (ent.describe(), where))
        self._by_name[ent.name] = ent
        self.entities.append(ent)
        return ent

    def _define_builtins(self):
        self.builtins = []
        for name in BuiltinType.TABLE:
            t = BuiltinType(name)
            self._by_name[name] = t
            self.builtins.append(t)
        self.builtin_arrays = [self._array_of(t) for t in self.builtins
                               if t.name != 'null']
        # The empty object: arguments of commands without 'data'.
        self.the_empty_object = ObjectType('q_empty', None, None, [], None,
                                           [], owner='empty object')
        self.the_empty_object.members = []
        self._by_name['q_empty'] = self.the_empty_object

    def _array_of(self, elem):
        name = elem.name + 'List'
        t = self._by_name.get(name)
        if t is None:
            t = ArrayType(elem)
            self._by_name[name] = t
            if not elem.builtin:
                self.entities.append(t)
        return t

    def _define(self, expr, info, doc):
        metas = [k for k in expr if k in META_KEYS]
        if not metas:
            raise QAPIError(info, "expression must have one of the keys "
                            + ', '.join("'%s'" % k for k in META_KEYS))
        if len(metas) > 1:
            raise QAPIError(info, "expression has more than one meta key: "
                            + ', '.join("'%s'" % k for k in metas))
        meta = metas[0]
        name = expr[meta]
        if not isinstance(name, str):
            raise QAPIError(info, "'%s' requires a string name" % meta)
        what = "%s '%s'" % (meta, name)
        required, optional = META_KEYS[meta]
        for key in expr:
            if key == 'if':
                raise QAPIError(info, "%s: 'if' conditionals are not "
                                "supported" % what)
            if key != meta and key not in required | optional:
                raise QAPIError(info, "%s has unknown key '%s'"
                                % (what, key))
        for key in sorted(required):
            if key not in expr:
                raise QAPIError(info, "%s misses key '%s'" % (what, key))
        self._check_def_name(meta, name, info)
        features = self._features(expr.get('features', []), info, what)
        return getattr(self, '_def_' + meta)(name, expr, info, doc, features,
                                               what)

    def _check_def_name(self, meta, name, info):
        what = "%s '%s'" % (meta, name)
        if name.startswith(('q_', 'q-')):
            raise QAPIError(info, "%s: names starting with 'q_' are "
                            "reserved" % what)
        if meta == 'event':
            if not EVENT_NAME_RE.match(name):
                raise QAPIError(info, "%s: event names must be UPPER_CASE"
                                % what)
        elif meta == 'command':
            if not LOWER_NAME_RE.match(name) and \
                    name not in self.pragma.get('command-name-exceptions',
                                                []):
                raise QAPIError(info, "%s: command names must be "
                                "lower-case with '-'" % what)
        else:
            if not TYPE_NAME_RE.match(name):
                raise QAPIError(info, "%s: type names must be CamelCase"
                                % what)
            if name.endswith('List'):
                raise QAPIError(info, "%s: type names ending with 'List' "
                                "are reserved for list types" % what)

    def _check_lower_name(self, name, info, what, enum_value=False,
                          member=False):
        regex = ENUM_VALUE_RE if enum_value else LOWER_NAME_RE
        if not isinstance(name, str):
            raise QAPIError(info, "%s: names must be strings" % what)
        if not regex.match(name) and \
                name not in self.pragma.get('member-name-exceptions', []):
            raise QAPIError(info, "%s: name '%s' must be lower-case with "
                            "'-'" % (what, name))
        if member and (re.match(r'^(has|q)[-_]', name) or name == 'u'):
            raise QAPIError(info, "%s: name '%s' is reserved for generated "
                            "C code" % (what, name))

    def _features(self, raw, info, what):
        if not isinstance(raw, list):
            raise QAPIError(info, "%s: 'features' must be a list" % what)
        feats = []
        seen = set()
        for f in raw:
            if isinstance(f, dict):
                extra = set(f) - {'name'}
                if 'if' in extra:
                    raise QAPIError(info, "%s: 'if' conditionals are not "
                                    "supported" % what)
                if extra or 'name' not in f:
                    raise QAPIError(info, "%s: a feature must be a string "
                                    "or {'name': STRING}" % what)
                f = f['name']
            if not isinstance(f, str):
                raise QAPIError(info, "%s: a feature must be a string or "
                                "{'name': STRING}" % what)
            self._check_lower_name(f, info, "%s feature" % what)
            if f in seen:
                raise QAPIError(info, "%s has feature '%s' twice"
                                % (what, f))
            seen.add(f)
            feats.append(Feature(f, info))
        return feats

    def _type_ref(self, raw, info, what, allow_list=True):
        """A member type reference: 'Name' or ['Name']."""
        if isinstance(raw, str):
            return raw
        if isinstance(raw, list) and allow_list:
            if len(raw) != 1 or not isinstance(raw[0], str):
                raise QAPIError(info, "%s: a list type must be ['TYPE'] "
                                "with one type name" % what)
            return raw
        raise QAPIError(info, "%s: type must be a name%s" % (
            what, " or ['NAME']" if allow_list else ''))

    def _members(self, data, info, owner):
        if not isinstance(data, dict):
            raise QAPIError(info, "%s: 'data' must be an object" % owner)
        members = []
        for key, raw in data.items():
            optional = key.startswith('*')
            name = key[1:] if optional else key
            what = "%s member '%s'" % (owner, name)
            self._check_lower_name(name, info, what, member=True)
            features = []
            if isinstance(raw, dict):
                extra = set(raw) - {'type', 'features'}
                if 'if' in extra:
                    raise QAPIError(info, "%s: 'if' conditionals are not "
                                    "supported" % what)
                if extra:
                    raise QAPIError(info, "%s has unknown key '%s'"
                                    % (what, sorted(extra)[0]))
                if 'type' not in raw:
                    raise QAPIError(info, "%s misses key 'type'" % what)
                features = self._features(raw.get('features', []), info,
                                          what)
                raw = raw['type']
            members.append(Member(name, info, self._type_ref(raw, info, what),
                                  optional, features, owner))
        return members

    def _bool(self, expr, key, default, info, what):
        val = expr.get(key, default)
        if not isinstance(val, bool):
            raise QAPIError(info, "%s: '%s' must be true or false"
                            % (what, key))
        return val

    def _def_enum(self, name, expr, info, doc, features, what):
        data = expr['data']
        if not isinstance(data, list):
            raise QAPIError(info, "%s: 'data' must be a list" % what)
        values = []
        for v in data:
            vfeat = []
            if isinstance(v, dict):
                extra = set(v) - {'name', 'features'}
                if 'if' in extra:
                    raise QAPIError(info, "%s: 'if' conditionals are not "
                                    "supported" % what)
                if extra or 'name' not in v:
                    raise QAPIError(info, "%s: a value must be a string or "
                                    "{'name': ..., 'features': [...]}"
                                    % what)
                vfeat = self._features(v.get('features', []), info,
                                       "%s value '%s'" % (what, v['name']))
                v = v['name']
            self._check_lower_name(v, info, "%s value" % what, True)
            values.append(EnumValue(v, info, vfeat))
        prefix = expr.get('prefix')
        if prefix is not None and (not isinstance(prefix, str) or
                                   not re.match(r'^[A-Za-z_][A-Za-z0-9_]*$',
                                                prefix)):
            raise QAPIError(info, "%s: 'prefix' must be a C identifier"
                            % what)
        return self._add(EnumType(name, info, doc, features, values, prefix))

    def _def_struct(self, name, expr, info, doc, features, what):
        base = expr.get('base')
        if base is not None and not isinstance(base, str):
            raise QAPIError(info, "%s: 'base' must be a type name" % what)
        members = self._members(expr['data'], info, what)
        return self._add(ObjectType(name, info, doc, features, base,
                                    members))

    def _def_union(self, name, expr, info, doc, features, what):
        base = expr['base']
        if isinstance(base, dict):
            implicit = ObjectType('q_obj_%s-base' % name, info, None, [],
                                  None, self._members(base, info, what),
                                  owner=what)
            self._add(implicit)
            base = implicit     # referred to directly: it has no name
        elif not isinstance(base, str):
            raise QAPIError(info, "%s: 'base' must be a type name or an "
                            "object" % what)
        tag = expr['discriminator']
        if not isinstance(tag, str):
            raise QAPIError(info, "%s: 'discriminator' must be a member "
                            "name" % what)
        data = expr['data']
        if not isinstance(data, dict):
            raise QAPIError(info, "%s: 'data' must be an object" % what)
        branches = []
        for case, raw in data.items():
            bwhat = "%s branch '%s'" % (what, case)
            if isinstance(raw, dict):
                if set(raw) != {'type'}:
                    raise QAPIError(info, "%s must be a type name or "
                                    "{'type': NAME}" % bwhat)
                raw = raw['type']
            branches.append(Branch(case, info,
                                   self._type_ref(raw, info, bwhat, False)))
        return self._add(ObjectType(name, info, doc, features, base, [],
                                    Variants(tag, info, branches),
                                    meta='union'))

    def _def_alternate(self, name, expr, info, doc, features, what):
        data = expr['data']
        if not isinstance(data, dict) or not data:
            raise QAPIError(info, "%s: 'data' must be a non-empty object"
                            % what)
        branches = []
        for case, raw in data.items():
            bwhat = "%s branch '%s'" % (what, case)
            if case.startswith('*'):
                raise QAPIError(info, "%s: alternate branches can't be "
                                "optional" % bwhat)
            self._check_lower_name(case, info, bwhat)
            if isinstance(raw, dict):
                if set(raw) != {'type'}:
                    raise QAPIError(info, "%s must be a type name or "
                                    "{'type': NAME}" % bwhat)
                raw = raw['type']
            branches.append(Branch(case, info,
                                   self._type_ref(raw, info, bwhat)))
        return self._add(AlternateType(name, info, doc, features, branches))

    def _arg_ref(self, expr, name, info, what):
        """'data' of a command/event: None, a type name or an implicit
        struct."""
        data = expr.get('data')
        if data is None or data == {}:
            return None
        if isinstance(data, str):
            return data
        if isinstance(data, dict):
            if expr.get('boxed'):
                raise QAPIError(info, "%s: 'boxed': true requires 'data' "
                                "to name a type" % what)
            implicit = ObjectType('q_obj_%s-arg' % name, info, None, [],
                                  None, self._members(data, info, what),
                                  owner=what)
            self._add(implicit)
            return implicit     # referred to directly: it has no name
        raise QAPIError(info, "%s: 'data' must be a type name or an object"
                        % what)

    def _def_command(self, name, expr, info, doc, features, what):
        arg = self._arg_ref(expr, name, info, what)
        ret = expr.get('returns')
        if ret is not None:
            ret = self._type_ref(ret, info, "%s 'returns'" % what)
        return self._add(Command(
            name, info, doc, features, arg, ret,
            self._bool(expr, 'boxed', False, info, what),
            self._bool(expr, 'gen', True, info, what),
            self._bool(expr, 'success-response', True, info, what),
            self._bool(expr, 'allow-preconfig', False, info, what)))

    def _def_event(self, name, expr, info, doc, features, what):
        arg = self._arg_ref(expr, name, info, what)
        return self._add(Event(name, info, doc, features, arg,
                               self._bool(expr, 'boxed', False, info, what)))

    # --- checks --------------------------------------------------------

    def _resolve(self, ref, info, what):
        if isinstance(ref, list):
            elem = self._resolve(ref[0], info, what)
            if isinstance(elem, ArrayType):
                raise QAPIError(info, "%s: lists of lists are not supported"
                                % what)
            if elem.name == 'null':
                raise QAPIError(info, "%s: lists of 'null' are not "
                                "supported" % what)
            return self._array_of(elem)
        t = self._by_name.get(ref)
        # Implicit types (q_obj_..., q_empty) have no name in the schema.
        if t is None or not isinstance(t, Type) or t.is_implicit():
            raise QAPIError(info, "%s uses unknown type '%s'" % (what, ref))
        return t

    def _check(self):
        for ent in list(self.entities):
            if isinstance(ent, ObjectType):
                self._check_object(ent)
            elif isinstance(ent, EnumType):
                self._check_enum(ent)
        for ent in list(self.entities):
            if isinstance(ent, AlternateType):
                self._check_alternate(ent)
            elif isinstance(ent, Command):
                self._check_command(ent)
            elif isinstance(ent, Event):
                self._check_event(ent)
        for ent in self.entities:
            self._check_doc(ent)
        if self.pragma.get('doc-required'):
            for ent in self.entities:
                if ent.doc is None and not ent.is_implicit() and \
                        not isinstance(ent, ArrayType):
                    raise QAPIError(ent.info, "%s has no documentation "
                                    "comment" % ent.describe())

    def _check_enum(self, enum):
        seen = {}
        for v in enum.values:
            const = enum.const(v.name)
            if const in seen:
                raise QAPIError(enum.info, "%s value '%s' clashes with "
                                "value '%s'" % (enum.describe(), v.name,
                                                seen[const]))
            seen[const] = v.name

    def _check_members_unique(self, members, against=None):
        seen = dict(against or {})
        for m in members:
            key = m.c_name()
            if key in seen:
                raise QAPIError(m.info, "%s collides with %s"
                                % (m.describe(), seen[key].describe()))
            seen[key] = m
        return seen

    def _check_member_type(self, m):
        m.type = self._resolve(m.type_ref, m.info, m.describe())
        if m.type.name == 'null':
            raise QAPIError(m.info, "%s: type 'null' is only allowed as an "
                            "alternate branch" % m.describe())

    def _check_object(self, obj):
        if obj.members is not None:
            return
        if obj._checking:
            raise QAPIError(obj.info, "%s is its own base" % obj.describe())
        obj._checking = True
        base_members = []
        if isinstance(obj.base_ref, ObjectType):
            base = obj.base_ref
        elif obj.base_ref is not None:
            base = self._resolve(obj.base_ref, obj.info,
                                 "%s base" % obj.describe())
        if obj.base_ref is not None:
            if not isinstance(base, ObjectType) or base.variants:
                raise QAPIError(obj.info, "%s: base '%s' must be a struct "
                                "type" % (obj.describe(), base.name))
            self._check_object(base)
            obj.base = base
            base_members = base.members
        for m in obj.local_members:
            self._check_member_type(m)
        seen = self._check_members_unique(
            obj.local_members, {m.c_name(): m for m in base_members})
        obj.members = base_members + obj.local_members
        obj._checking = False
        if obj.variants:
            self._check_variants(obj, seen)

    def _check_variants(self, obj, seen):
        var = obj.variants
        what = obj.describe()
        tag = next((m for m in obj.members if m.name == var.tag_name), None)
        if tag is None:
            base = 'its base' if obj.base.is_implicit() \
                else "base '%s'" % obj.base.name
            raise QAPIError(var.info, "%s: discriminator '%s' is not a "
                            "member of %s" % (what, var.tag_name, base))
        if not isinstance(tag.type, EnumType):
            raise QAPIError(var.info, "%s: discriminator member '%s' must "
                            "be of enum type" % (what, tag.name))
        if tag.optional:
            raise QAPIError(var.info, "%s: discriminator member '%s' must "
                            "not be optional" % (what, tag.name))
        var.tag_member = tag
        values = tag.type.value_names()
        for b in var.branches:
            if b.name not in values:
                raise QAPIError(b.info, "%s branch '%s' is not a value of "
                                "%s" % (what, b.name, tag.type.describe()))
            b.type = self._resolve(b.type_ref, b.info,
                                   "%s branch '%s'" % (what, b.name))
            # A branch may itself be a union (QEMU's MigrationAddress has
            # SocketAddress as a branch): its members, and those of each
            # of its own branches, then share the outer object.
            if not isinstance(b.type, ObjectType):
                raise QAPIError(b.info, "%s branch '%s' must be a struct "
                                "or union type, not %s"
                                % (what, b.name, b.type.describe()))
            self._check_object(b.type)
            # The branch's members share one JSON object with the base's.
            for m in self._all_members(b.type):
                if m.c_name() in seen:
                    raise QAPIError(b.info, "%s branch '%s': %s collides "
                                    "with %s" % (what, b.name, m.describe(),
                                                 seen[m.c_name()]
                                                 .describe()))
        covered = [b.name for b in var.branches]
        missing = [v for v in values if v not in covered]
        if missing:
            raise QAPIError(var.info, "%s has no branch for %s value%s %s"
                            % (what, tag.type.describe(),
                               's' if len(missing) > 1 else '',
                               ', '.join("'%s'" % v for v in missing)))
        # Keep branches in enum order: the generated switch reads better.
        var.branches.sort(key=lambda b: values.index(b.name))

    def _all_members(self, obj):
        """Every member that can appear in @obj's JSON object: its own,
        and those of every branch of its variants, recursively."""
        out = list(obj.members)
        if obj.variants:
            for b in obj.variants.branches:
                out += [m for m in self._all_members(b.type)
                        if m not in out]
        return out

    def _check_alternate(self, alt):
        seen = {}
        for b in alt.branches:
            what = "%s branch '%s'" % (alt.describe(), b.name)
            b.type = self._resolve(b.type_ref, b.info, what)
            if isinstance(b.type, AlternateType) or b.type.name == 'any':
                raise QAPIError(b.info, "%s: %s can't be an alternate "
                                "branch" % (what, b.type.describe()))
            qtype = b.type.qtype()
            if qtype in seen:
                raise QAPIError(b.info, "%s can't be distinguished from "
                                "branch '%s' (both are JSON %s)"
                                % (what, seen[qtype].name,
                                   qtype[len('QTYPE_Q'):].lower()))
            seen[qtype] = b
        names = {}
        for b in alt.branches:
            if b.c_name() in names:
                raise QAPIError(b.info, "%s branch '%s' collides with branch "
                                "'%s'" % (alt.describe(), b.name,
                                          names[b.c_name()]))
            names[b.c_name()] = b.name

    def _check_args(self, ent, what):
        if ent.arg_ref is None:
            ent.arg_type = self.the_empty_object
            return
        if isinstance(ent.arg_ref, ObjectType):
            ent.arg_type = ent.arg_ref
            return
        t = self._resolve(ent.arg_ref, ent.info, "%s 'data'" % what)
        if not isinstance(t, ObjectType):
            raise QAPIError(ent.info, "%s: 'data' must be a struct type, "
                            "not %s" % (what, t.describe()))
        if t.variants and not ent.boxed:
            raise QAPIError(ent.info, "%s: 'data' may be a union type only "
                            "with 'boxed': true" % what)
        ent.arg_type = t

    def _check_command(self, cmd):
        what = cmd.describe()
        self._check_args(cmd, what)
        if cmd.ret_ref is not None:
            cmd.ret_type = self._resolve(cmd.ret_ref, cmd.info,
                                         "%s 'returns'" % what)
            if cmd.ret_type.name == 'null':
                raise QAPIError(cmd.info, "%s can't return 'null'" % what)

    def _check_event(self, ev):
        self._check_args(ev, ev.describe())

    def _doc_members(self, ent):
        """Names a doc comment of @ent may describe with '@name:'."""
        if isinstance(ent, EnumType):
            return ent.value_names()
        if isinstance(ent, ObjectType):
            return [m.name for m in ent.members]
        if isinstance(ent, AlternateType):
            return [b.name for b in ent.branches]
        if isinstance(ent, (Command, Event)):
            return [m.name for m in ent.arg_type.members] \
                if not ent.boxed else []
        return []

    def _all_features(self, ent):
        names = set(ent.feature_names())
        if isinstance(ent, EnumType):
            for v in ent.values:
                names.update(f.name for f in v.features)
        elif isinstance(ent, ObjectType):
            for m in ent.members:
                names.update(m.feature_names())
        elif isinstance(ent, (Command, Event)):
            for m in ent.arg_type.members:
                names.update(m.feature_names())
        return names

    def _check_doc(self, ent):
        doc = ent.doc
        if doc is None:
            return
        if doc.symbol != ent.name:
            raise QAPIError(doc.info, "documentation comment is for '%s', "
                            "but the definition that follows is %s"
                            % (doc.symbol, ent.describe()))
        valid = self._doc_members(ent)
        for name, sec in doc.args.items():
            if name not in valid:
                raise QAPIError(sec.info, "documentation of %s describes "
                                "'%s', which is not one of its members"
                                % (ent.describe(), name))
        features = self._all_features(ent)
        for name, sec in doc.features.items():
            if name not in features:
                raise QAPIError(sec.info, "documentation of %s describes "
                                "feature '%s', which it does not have"
                                % (ent.describe(), name))

    def _assign_feature_bits(self):
        """Custom feature name -> index from QAPI_FEATURE_CUSTOM_FIRST_BIT
        (qapi/util.h, which is 2), in alphabetical order."""
        names = set()
        for ent in self.entities:
            names.update(self._all_features(ent))
        custom = sorted(names - set(SPECIAL_FEATURES))
        # Bits 2..30: the masks are enum constants, which must fit an int.
        if len(custom) > 29:
            raise QAPIError(None, 'too many custom features (%d, at most 29 '
                            'are supported)' % len(custom))
        return {name: i for i, name in enumerate(custom)}

    # --- queries for generators ----------------------------------------

    def types(self, cls=Type):
        return [e for e in self.entities if isinstance(e, cls)]

    def commands(self):
        return [e for e in self.entities if isinstance(e, Command)]

    def events(self):
        return [e for e in self.entities if isinstance(e, Event)]


def feature_mask(features):
    """C expression for a QAPI_FEATURE_* mask of @features (names or
    Feature objects)."""
    names = [f if isinstance(f, str) else f.name for f in features]
    if not names:
        return '0'
    return ' | '.join('QAPI_FEATURE_' + c_name(n, False).upper()
                      for n in names)
