"""Documentation comments.

A definition's doc comment looks like:

    ##
    # @query-foo:
    #
    # What it does (free text, any number of paragraphs).
    #
    # @member: what the member means; continuation lines
    #     are indented
    #
    # Features:
    #
    # @deprecated: why
    #
    # Returns: what comes back
    #
    # Since: 0.1
    ##

A comment that does not start with '@symbol:' is free-standing text; lines
starting with '=' in it are section headings.
"""

import re

from .error import QAPIError, SourceInfo

SYMBOL_RE = re.compile(r'^@([^\s:]+):\s*$')
MEMBER_RE = re.compile(r'^@([^\s:]+):(?:\s+(.*))?$')
TAG_RE = re.compile(r'^(Returns|Errors|Since|Notes?|Examples?|TODO|'
                    r'See also)\s*:\s*(.*)$')


class DocSection:
    """One '@name:' description, or a tagged section like 'Since:'."""

    def __init__(self, name, info, text=''):
        self.name = name
        self.info = info
        self.lines = [text] if text else []

    @property
    def text(self):
        return '\n'.join(self.lines).strip('\n')


class Doc:
    def __init__(self, info, symbol):
        self.info = info
        self.symbol = symbol
        self.body = []          # lines of the introduction
        self.args = {}          # member name -> DocSection
        self.features = {}      # feature name -> DocSection
        self.sections = []      # tagged DocSections, in order

    @property
    def body_text(self):
        return '\n'.join(self.body).strip('\n')


def _line_info(info, offset):
    # +1: the opening '##' line precedes the first text line.
    return SourceInfo(info.fname, info.line + 1 + offset)


def parse_doc_comment(info, lines):
    """Build a Doc from the text lines of one '##' block."""
    m = SYMBOL_RE.match(lines[0]) if lines else None
    if not m:
        if lines and lines[0].startswith('@'):
            raise QAPIError(_line_info(info, 0),
                            "first line of a definition's documentation "
                            "must be '@NAME:' alone")
        doc = Doc(info, None)
        doc.body = list(lines)
        return doc
    doc = Doc(info, m.group(1))
    mode = 'body'        # 'body', 'args' or 'features'
    current = None       # DocSection receiving continuation lines
    is_member = False    # current documents a member or feature
    blank = False        # a blank line was seen inside current
    for i, line in enumerate(lines[1:], 1):
        linfo = _line_info(info, i)
        if line == 'Features:':
            mode = 'features'
            current = None
            continue
        mm = MEMBER_RE.match(line)
        if mm:
            name = mm.group(1)
            if mode == 'body':
                mode = 'args'
            table = doc.features if mode == 'features' else doc.args
            if name in table:
                raise QAPIError(linfo, "'%s' is documented twice" % name)
            current = DocSection(name, linfo, mm.group(2) or '')
            table[name] = current
            is_member, blank = True, False
            continue
        tm = TAG_RE.match(line)
        if tm:
            current = DocSection(tm.group(1), linfo, tm.group(2))
            doc.sections.append(current)
            is_member, blank = False, False
            continue
        if not line:
            blank = True
            if current is None:
                doc.body.append(line)
            else:
                current.lines.append(line)
            continue
        if current is None and mode == 'body':
            doc.body.append(line)
            continue
        if current is None or (is_member and blank and
                               not line.startswith(' ')):
            # Unindented text after the member list belongs to no member:
            # keep it as an untagged section.
            current = DocSection('', linfo, line)
            doc.sections.append(current)
            is_member, blank = False, False
            continue
        current.lines.append(line.strip() if is_member else line)
        blank = False
    return doc
