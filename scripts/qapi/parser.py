"""Reader for QAPI schema files.

The syntax is JSON with single-quoted strings and '#' comments.  A block of
comment lines opened and closed by a line holding just '##' is a
documentation comment; it documents the definition right after it (or is a
free-standing section of text when the next thing is not a definition).

The parser yields top-level expressions as Python dicts (key order kept),
each with the SourceInfo of its opening brace and its doc comment.
Includes are followed here, so the rest of the generator sees one flat list.
"""

import os

from .error import QAPIError, SourceInfo
from .doc import parse_doc_comment


class Expression:
    def __init__(self, expr, info, doc):
        self.expr = expr
        self.info = info
        self.doc = doc


class SchemaParser:
    def __init__(self, fname, included=None, expressions=None, pragma=None):
        self.fname = fname
        # Files already read, shared with nested parsers: a module included
        # twice is read once (like QEMU).
        self.included = included if included is not None else {}
        self.expressions = expressions if expressions is not None else []
        self.pragma = pragma if pragma is not None else {}
        try:
            with open(fname, encoding='utf-8') as f:
                self.src = f.read()
        except OSError as e:
            raise QAPIError(None, "can't read schema file '%s': %s"
                            % (fname, e.strerror))
        except UnicodeDecodeError:
            raise QAPIError(None, "schema file '%s' is not UTF-8" % fname)
        # realpath -> path as opened (for the build system's depfile)
        self.included[os.path.realpath(fname)] = fname
        self.pos = 0
        self.line = 1
        self.tok = None
        self.val = None
        self.tok_line = 1
        self.pending_doc = None
        self.free_docs = []
        self._parse_file()

    # --- lexer ---------------------------------------------------------

    def _info(self, line=None):
        return SourceInfo(self.fname, line if line is not None else
                          self.tok_line)

    def _error(self, msg, line=None):
        raise QAPIError(self._info(line), msg)

    def _read_doc_block(self):
        """Called with pos at the start of a '##' line; reads to the
        closing '##' and returns (first line number, list of lines with the
        leading '#' and one space stripped)."""
        start = self.line
        end = self.src.find('\n', self.pos)
        if end < 0:
            end = len(self.src)
        if self.src[self.pos:end].rstrip() != '##':
            self._error("junk after '##' at start of documentation comment",
                        start)
        self.pos = end + 1
        self.line += 1
        lines = []
        while True:
            if self.pos >= len(self.src):
                self._error('documentation comment must end with \'##\'',
                            start)
            end = self.src.find('\n', self.pos)
            if end < 0:
                end = len(self.src)
            text = self.src[self.pos:end].strip()
            self.pos = end + 1
            self.line += 1
            if text == '##':
                return start, lines
            if not text.startswith('#'):
                self._error('missing \'#\' in documentation comment line',
                            self.line - 1)
            text = text[1:]
            if text.startswith(' '):
                text = text[1:]
            elif text:
                self._error("missing space after '#'", self.line - 1)
            lines.append(text.rstrip())

    def _at_line_start(self):
        i = self.pos - 1
        while i >= 0 and self.src[i] in ' \t':
            i -= 1
        return i < 0 or self.src[i] == '\n'

    def _next(self):
        """Advance to the next token; doc blocks met on the way are
        stored in self.pending_doc (one at a time)."""
        while True:
            if self.pos >= len(self.src):
                self.tok = None
                self.tok_line = self.line
                return
            ch = self.src[self.pos]
            if ch == '\n':
                self.line += 1
                self.pos += 1
            elif ch in ' \t\r':
                self.pos += 1
            elif ch == '#':
                if self.src.startswith('##', self.pos) and \
                        self._at_line_start():
                    line, lines = self._read_doc_block()
                    self._doc_block(line, lines)
                    continue
                end = self.src.find('\n', self.pos)
                self.pos = len(self.src) if end < 0 else end
            else:
                break
        self.tok_line = self.line
        ch = self.src[self.pos]
        if ch in '{}[]:,':
            self.tok = ch
            self.pos += 1
        elif ch == "'":
            self.tok = 'STR'
            self.val = self._read_string()
        elif self.src.startswith('true', self.pos):
            self.tok, self.val = 'BOOL', True
            self.pos += 4
        elif self.src.startswith('false', self.pos):
            self.tok, self.val = 'BOOL', False
            self.pos += 5
        else:
            word = ch
            i = self.pos + 1
            while i < len(self.src) and self.src[i].isalnum():
                word += self.src[i]
                i += 1
            self._error("stray '%s'" % word)

    def _read_string(self):
        self.pos += 1
        out = []
        while True:
            if self.pos >= len(self.src) or self.src[self.pos] == '\n':
                self._error('missing terminating "\'"')
            ch = self.src[self.pos]
            self.pos += 1
            if ch == "'":
                return ''.join(out)
            if ch == '\\':
                esc = self.src[self.pos:self.pos + 1]
                self.pos += 1
                if esc in ("'", '"', '\\', '/'):
                    out.append(esc)
                elif esc == 'n':
                    out.append('\n')
                elif esc == 't':
                    out.append('\t')
                elif esc == 'u':
                    digits = self.src[self.pos:self.pos + 4]
                    if len(digits) != 4 or not all(
                            c in '0123456789abcdefABCDEF' for c in digits):
                        self._error('\\u escape needs 4 hex digits')
                    out.append(chr(int(digits, 16)))
                    self.pos += 4
                else:
                    self._error("unknown escape \\%s" % esc)
            elif ch < ' ' or ch > '~':
                self._error('string may contain only printable ASCII')
            else:
                out.append(ch)

    # --- doc blocks ----------------------------------------------------

    def _doc_block(self, line, lines):
        doc = parse_doc_comment(self._info(line), lines)
        if doc.symbol is None:
            # Free-standing text (e.g. a section heading): kept in order
            # with the definitions for the reference manual.
            if self.pending_doc is not None:
                self._error('documentation for \'%s\' is not followed by '
                            'the definition' % self.pending_doc.symbol,
                            self.pending_doc.info.line)
            # Met while looking ahead past the previous definition: keep
            # it until that one is stored, so the order stays right.
            self.free_docs.append(Expression(None, doc.info, doc))
            return
        if self.pending_doc is not None:
            self._error('documentation for \'%s\' is not followed by the '
                        'definition' % self.pending_doc.symbol,
                        self.pending_doc.info.line)
        self.pending_doc = doc

    # --- grammar -------------------------------------------------------

    def _value(self):
        if self.tok == '{':
            return self._object()
        if self.tok == '[':
            return self._array()
        if self.tok in ('STR', 'BOOL'):
            val = self.val
            self._next()
            return val
        self._error('expected value, got %s' % self._tok_desc())

    def _tok_desc(self):
        if self.tok is None:
            return 'end of file'
        if self.tok == 'STR':
            return "string '%s'" % self.val
        if self.tok == 'BOOL':
            return 'true' if self.val else 'false'
        return "'%s'" % self.tok

    def _object(self):
        obj = {}
        self._next()
        if self.tok == '}':
            self._next()
            return obj
        while True:
            if self.tok != 'STR':
                self._error('expected string key, got %s' % self._tok_desc())
            key = self.val
            self._next()
            if self.tok != ':':
                self._error("expected ':' after key '%s'" % key)
            self._next()
            if key in obj:
                self._error("duplicate key '%s'" % key)
            obj[key] = self._value()
            if self.tok == '}':
                self._next()
                return obj
            if self.tok != ',':
                self._error("expected ',' or '}', got %s" % self._tok_desc())
            self._next()

    def _array(self):
        arr = []
        self._next()
        if self.tok == ']':
            self._next()
            return arr
        while True:
            arr.append(self._value())
            if self.tok == ']':
                self._next()
                return arr
            if self.tok != ',':
                self._error("expected ',' or ']', got %s" % self._tok_desc())
            self._next()

    def _flush_free_docs(self):
        self.expressions.extend(self.free_docs)
        self.free_docs = []

    def _parse_file(self):
        self._next()
        self._flush_free_docs()
        while self.tok is not None:
            if self.tok != '{':
                self._error('expected a top-level definition (an object), '
                            'got %s' % self._tok_desc())
            line = self.tok_line
            doc = self.pending_doc
            self.pending_doc = None
            expr = self._object()
            info = self._info(line)
            if 'include' in expr:
                self._include(expr, info, doc)
            elif 'pragma' in expr:
                self._pragma(expr, info, doc)
            else:
                self.expressions.append(Expression(expr, info, doc))
            self._flush_free_docs()
        if self.pending_doc is not None:
            self._error('documentation for \'%s\' is not followed by the '
                        'definition' % self.pending_doc.symbol,
                        self.pending_doc.info.line)

    def _include(self, expr, info, doc):
        if len(expr) != 1:
            raise QAPIError(info, "invalid 'include' directive: unexpected "
                            "key '%s'" % sorted(set(expr) - {'include'})[0])
        name = expr['include']
        if not isinstance(name, str):
            raise QAPIError(info, "value of 'include' must be a string")
        if doc is not None:
            raise QAPIError(doc.info, 'documentation comment before '
                            "'include'")
        path = os.path.join(os.path.dirname(self.fname), name)
        if not os.path.exists(path):
            raise QAPIError(info, "can't read include file '%s'" % path)
        if os.path.realpath(path) in self.included:
            return
        SchemaParser(path, self.included, self.expressions, self.pragma)

    def _pragma(self, expr, info, doc):
        if len(expr) != 1:
            raise QAPIError(info, "invalid 'pragma' directive: unexpected "
                            "key '%s'" % sorted(set(expr) - {'pragma'})[0])
        if doc is not None:
            raise QAPIError(doc.info, "documentation comment before "
                            "'pragma'")
        pragma = expr['pragma']
        if not isinstance(pragma, dict):
            raise QAPIError(info, "value of 'pragma' must be an object")
        for key, value in pragma.items():
            if key == 'doc-required':
                if not isinstance(value, bool):
                    raise QAPIError(info, "pragma 'doc-required' must be "
                                    "true or false")
            elif key in ('command-name-exceptions', 'member-name-exceptions',
                         'command-returns-exceptions',
                         'documentation-exceptions'):
                if not isinstance(value, list) or \
                        not all(isinstance(v, str) for v in value):
                    raise QAPIError(info, "pragma '%s' must be a list of "
                                    "strings" % key)
            else:
                raise QAPIError(info, "unknown pragma '%s'" % key)
            self.pragma[key] = value
