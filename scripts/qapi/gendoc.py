"""The Markdown reference manual, from the schema's doc comments.

Free-standing doc comments give the section structure ('= Heading'
becomes a level-2 heading, '== Sub' level 3, ...) and their text is
copied.  Every definition gets a heading with an anchor (#type-NAME,
#command-NAME, #event-NAME), its description, its members with type,
optionality and description, its features (deprecated ones marked), and
the tagged sections (Returns, Errors, Since, Example...).
"""

import os
import re
import textwrap

from .gen import GenText
from .schema import (AlternateType, ArrayType, BuiltinType, Command,
                     EnumType, Event, ObjectType)

NOT_DOCUMENTED = '*Not documented.*'


def anchor(ent):
    kind = {'command': 'command', 'event': 'event'}.get(ent.meta, 'type')
    return '%s-%s' % (kind, ent.name)


def inline(text):
    """Doc text to Markdown: '@name' references become code spans."""
    return re.sub(r'@([A-Za-z0-9_-]+)', r'`\1`', text)


def type_ref(t):
    """A member type as Markdown, linking to schema-defined types."""
    if isinstance(t, ArrayType):
        return '[%s]' % type_ref(t.element_type)
    if isinstance(t, BuiltinType):
        return '`%s`' % t.name
    return '[`%s`](#type-%s)' % (t.name, t.name)


def _features_text(features, doc):
    out = ''
    for f in features:
        text = doc.features[f.name].text if doc and f.name in doc.features \
            else ''
        mark = '**%s**' % f.name if f.name == 'deprecated' else \
            '`%s`' % f.name
        out += '- %s%s\n' % (mark, ': ' + inline(text) if text else '')
    return out


def _member_line(name, what, text, features):
    tags = [what]
    names = [f.name for f in features]
    if 'deprecated' in names:
        tags.append('**deprecated**')
    tags += ['`%s`' % n for n in names if n != 'deprecated']
    desc = inline(text) if text else NOT_DOCUMENTED
    desc = desc.replace('\n', ' ')
    return '- `%s` (%s): %s\n' % (name, ', '.join(tags), desc)


def _members_text(members, doc):
    out = ''
    for m in members:
        text = doc.args[m.name].text if doc and m.name in doc.args else ''
        what = type_ref(m.type) + (', optional' if m.optional else '')
        out += _member_line(m.name, what, text, m.features)
    return out


def _section_text(sec):
    text = textwrap.dedent(sec.text).strip('\n')
    if sec.name.startswith('Example'):
        return '**%s:**\n\n```\n%s\n```\n\n' % (sec.name, text)
    if sec.name == 'Since':
        return '**Since:** %s\n\n' % text
    if sec.name == '':
        return inline(text) + '\n\n'
    if '\n' in text or text.startswith('- '):
        return '**%s:**\n\n%s\n\n' % (sec.name, inline(text))
    return '**%s:** %s\n\n' % (sec.name, inline(text))


class DocGenerator:
    def __init__(self, schema):
        self.schema = schema
        self.level = 1          # depth of the enclosing '=' section

    def free_doc(self, doc):
        out = ''
        para = []
        for line in doc.body + ['']:
            m = re.match(r'^(=+)\s+(.*)$', line)
            if m:
                self.level = len(m.group(1))
                out += '%s %s\n\n' % ('#' * (self.level + 1), m.group(2))
                continue
            if line.strip():
                para.append(line)
            elif para:
                out += inline('\n'.join(para)) + '\n\n'
                para = []
        return out

    def definition(self, ent):
        doc = ent.doc
        head = '#' * min(self.level + 2, 6)
        title = '%s %s `%s`' % (head, ent.meta.capitalize(), ent.name)
        if 'deprecated' in ent.feature_names():
            title += ' *(deprecated)*'
        out = '<a id="%s"></a>\n\n%s\n\n' % (anchor(ent), title)
        if doc and doc.body_text:
            out += inline(doc.body_text) + '\n\n'
        elif not doc:
            out += NOT_DOCUMENTED + '\n\n'
        out += getattr(self, '_' + type(ent).__name__)(ent, doc)
        if ent.features:
            out += '**Features:**\n\n' + _features_text(ent.features, doc) \
                + '\n'
        member_features = self._member_feature_docs(ent, doc)
        if member_features:
            out += '**Member features:**\n\n' + member_features + '\n'
        for sec in doc.sections if doc else []:
            out += _section_text(sec)
        return out

    def _member_feature_docs(self, ent, doc):
        """Documentation of features that only members carry."""
        if not doc:
            return ''
        own = set(ent.feature_names())
        return ''.join('- `%s`: %s\n' % (name, inline(sec.text))
                       for name, sec in doc.features.items()
                       if name not in own)

    def _EnumType(self, ent, doc):
        out = '**Values:**\n\n'
        for v in ent.values:
            text = doc.args[v.name].text if doc and v.name in doc.args \
                else ''
            out += _member_line(v.name, 'value', text, v.features)
        return out + '\n'

    def _ObjectType(self, ent, doc):
        out = ''
        if ent.base is not None and not ent.base.is_implicit():
            out += 'The members of %s, and:\n\n' % type_ref(ent.base)
            members = ent.local_members
        else:
            members = ent.members
        if members:
            out += '**Members:**\n\n' + _members_text(members, doc) + '\n'
        elif not ent.variants and not ent.base:
            out += '*No members.*\n\n'
        if ent.variants:
            tag = ent.variants.tag_member
            out += '**Depending on `%s`:**\n\n' % tag.name
            for b in ent.variants.branches:
                out += '- `%s`: the members of %s\n' % (b.name,
                                                        type_ref(b.type))
            out += '\n'
        return out

    def _AlternateType(self, ent, doc):
        out = '**One of:**\n\n'
        for b in ent.branches:
            text = doc.args[b.name].text if doc and b.name in doc.args \
                else ''
            out += _member_line(b.name, type_ref(b.type), text, [])
        return out + '\n'

    def _args_text(self, ent, doc, label):
        arg = ent.arg_type
        if arg is self.schema.the_empty_object:
            return ''
        if not arg.is_implicit():
            how = ' (boxed)' if ent.boxed else ''
            return '**%s:** the members of %s%s\n\n' % (label, type_ref(arg),
                                                         how)
        return '**%s:**\n\n%s\n' % (label, _members_text(arg.members, doc))

    def _Command(self, ent, doc):
        out = self._args_text(ent, doc, 'Arguments')
        if ent.ret_type is not None:
            out += '**Return type:** %s\n\n' % type_ref(ent.ret_type)
        notes = []
        if ent.allow_preconfig:
            notes.append('allowed before the machine starts (preconfig)')
        if not ent.success_response:
            notes.append('sends no success response')
        if not ent.gen:
            notes.append('hand-written marshaller')
        if notes:
            out += '**Notes:** %s.\n\n' % '; '.join(notes)
        return out

    def _Event(self, ent, doc):
        return self._args_text(ent, doc, 'Data')

    def generate(self, title):
        out = '# %s\n\n' % (title or 'QAPI reference')
        out += ('*Generated by scripts/qapi-gen.py from %s; do not edit.*\n\n'
                % os.path.basename(self.schema.fname))
        for item in self.schema.docs:
            if isinstance(item, (EnumType, ObjectType, AlternateType,
                                 Command, Event)):
                out += self.definition(item)
            else:
                out += self.free_doc(item)
        return out


def gen_doc(schema, path, title):
    f = GenText(os.path.dirname(path) or '.', os.path.basename(path),
                schema.fname, '')
    f.add(DocGenerator(schema).generate(title))
    return f
