"""Naming rules and small text helpers shared by all generator modules.

The C names derived here are part of the generated API (see
docs in the vmig brief): schema 'foo-bar' becomes C 'foo_bar', C keywords
get a 'q_' prefix, enum constants are the type name in UPPER_SNAKE plus the
value.
"""

import re

# C11 keywords plus a few names that would break generated code if used as
# identifiers (e.g. 'unix' is a predefined macro with GNU C).
C_KEYWORDS = frozenset('''
    auto break case char const continue default do double else enum extern
    float for goto if inline int long register restrict return short signed
    sizeof static struct switch typedef union unsigned void volatile while
    _Alignas _Alignof _Atomic _Bool _Complex _Generic _Imaginary _Noreturn
    _Static_assert _Thread_local bool true false asm typeof unix errno
'''.split())


def c_name(name, protect=True):
    """Map a schema name to a C identifier.

    Every character that cannot appear in a C identifier becomes '_'.
    With @protect, names that collide with C keywords or start with a digit
    get a 'q_' prefix.
    """
    result = re.sub(r'[^A-Za-z0-9_]', '_', name)
    if protect and (result in C_KEYWORDS or result[:1].isdigit()):
        return 'q_' + result
    return result


def camel_to_upper(name):
    """'RunState' -> 'RUN_STATE', 'QAPIEvent' -> 'QAPI_EVENT'.

    A '_' goes before an upper-case letter that follows a lower-case letter
    or digit, and before the last capital of an acronym that starts a new
    word ('QAPIEvent': the 'E').
    """
    s = c_name(name, False)
    out = []
    for i, ch in enumerate(s):
        if i > 0 and ch.isupper() and s[i - 1] != '_':
            prev = s[i - 1]
            nxt = s[i + 1] if i + 1 < len(s) else ''
            if prev.islower() or prev.isdigit() or \
                    (prev.isupper() and nxt.islower()):
                out.append('_')
        out.append(ch)
    return ''.join(out).upper()


def c_enum_const(type_name, value, prefix=None):
    """Name of the C constant for enum @type_name value @value."""
    if prefix is None:
        prefix = camel_to_upper(type_name)
    return prefix + '_' + c_name(value, False).upper()


def decl(ctype, name):
    """A C declaration: 'char *' + 'x' -> 'char *x', 'bool' + 'x' ->
    'bool x'."""
    return ctype + name if ctype.endswith('*') else ctype + ' ' + name


def c_string(text):
    """@text as a C string literal (ASCII only, escaped)."""
    out = ['"']
    for ch in text:
        if ch in '"\\':
            out.append('\\' + ch)
        elif ch == '\n':
            out.append('\\n')
        elif ' ' <= ch <= '~':
            out.append(ch)
        else:
            out.append('\\%03o' % ord(ch))
    out.append('"')
    return ''.join(out)


def wrap_call(head, args, end, indent=''):
    """indent + 'head(a, b, c)' + end, wrapped at 80 columns.

    Continuation lines align with the '(' unless that leaves no room, in
    which case they are indented by 4 more than the first line.
    """
    pieces = [a + (', ' if i < len(args) - 1 else ')' + end)
              for i, a in enumerate(args)] or [')' + end]
    out = indent + head + '('
    lead = len(out)
    if lead + max(len(p.rstrip()) for p in pieces) > 79:
        lead = len(indent) + 4
    col = len(out)
    for p in pieces:
        if col + len(p.rstrip()) > 79 and col > lead:
            out = out.rstrip() + '\n' + ' ' * lead
            col = lead
        out += p
        col += len(p)
    return out


def guard_name(filename):
    """Include guard for a generated header."""
    return 'VMIG_' + re.sub(r'[^A-Za-z0-9]', '_', filename).upper()
