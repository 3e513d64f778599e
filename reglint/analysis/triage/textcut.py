"""The prefilter's second text cut: the syntax cut's units and components, read from the text.

decision.py decides with CPython's parser which functions of a file could hold a penalty
(a parameter source, a reduction and a loss or penalty name in one component of functions
joined by calls). That parse costs more than anything else reglint does on a large tree, and
most files that reach it are model files where the three features sit in unrelated methods.
This module answers the same question from the text, with a few regular expressions over the
file in which strings and comments are blanked, and sends a file to the parser only when it
cannot read it with confidence; for a file it keeps, it also prunes as the syntax cut would
(see "pruning" below), so such a file never meets `ast`. It must never say "no" where the syntax
cut would say "yes", nor prune a function the syntax cut keeps:

- strings and comments are blanked with the tokenizer's own rules (quotes, triple quotes,
  backslash escapes, comments up to the line end); an f-string keeps the code of its
  replacement fields; a string whose value could be part of the constant "loss" (the analysis
  reads a "loss" key) leaves a marker;
- units are the syntax cut's: the module's own statements, each function (nested functions
  and classes included) and each method of a class; a class nested in a class body is skipped
  as the syntax cut skips it; a block ends at the first line, outside brackets, indented no more
  than its header; decorators count for the function and for what surrounds it;
- each feature is found by a pattern that matches at least what the syntax cut's node test
  matches (see the features section below); calls found the same way join units by the
  syntax cut's own rule (components.py). Losses, the costliest feature to look for, are looked
  for last and only in components that have the other two.

Where the text is not what this module understands (indentation with tabs, identifiers outside
ASCII, unbalanced brackets, an unterminated string, an f-string with nested replacement fields),
it answers "maybe". tests/test_textcut.py checks on every fixture, snippet, generated program and the
benchmark's corpora that a file this module rules out is ruled out by the syntax cut too, and
tests/test_pruning.py that its pruning keeps every line of every function the syntax cut keeps.
"""

from __future__ import annotations

import functools
import keyword
import re
import warnings
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from functools import reduce
from itertools import accumulate
from operator import or_
from typing import AbstractSet, Callable, Iterable, Iterator, Optional

from reglint.analysis import optimizers
from reglint.analysis.triage import inert
from reglint.analysis.triage.components import (
    PARAMS,
    TERMS,
    Components,
    complete_units,
    component_roots,
    senders_of,
    with_module_component,
)
from reglint.analysis.triage.flowcut import may_call_an_optimizer_class, parse_ok
from reglint.analysis.triage.words import value_mentions, whole_words
from reglint.analysis.vocabulary import (
    ATTRIBUTE_BY_NAME,
    BACKWARD_FUNCTIONS,
    LOSS_FUNCTION_EXTRA_WORDS,
    LOSS_STEMS,
    MODEL_BUILDERS,
    OPTIMIZER_MODULE,
    PARAM_ATTRIBUTE_SUFFIX,
    PARAM_ATTRIBUTES,
    PARAM_METHODS,
    PARAMETER_MAKERS,
    PENALTY_STEMS,
    TERM_CALL_WORDS,
    UNIMPORTED_MODULES,
    CallArgument,
    arguments_allow_a_term,
    parameter_makers_in,
    returns_a_penalty_or_loss,
)

# ---------------------------------------------------------------------------- blanking

_Q3S, _Q3D = "'''", '"""'
_TOKEN = re.compile(
    r"#[^\r\n]*"
    + r"|" + _Q3S + r"[^'\\]*(?:(?:\\.|'(?!''))[^'\\]*)*(?:" + _Q3S + r"|\Z)"
    + r"|" + _Q3D + r'[^"\\]*(?:(?:\\.|"(?!""))[^"\\]*)*(?:' + _Q3D + r"|\Z)"
    + r"|'[^'\\\r\n]*(?:\\(?:\r\n|.)[^'\\\r\n]*)*'?"
    + r'|"[^"\\\r\n]*(?:\\(?:\r\n|.)[^"\\\r\n]*)*"?',
    re.S,
)
_PREFIX = re.compile(r"(?<![\w])[A-Za-z]{1,2}\Z")
_STRING_PREFIXES = frozenset({"", "r", "u", "f", "b", "fr", "rf", "br", "rb"})
# Values a string piece may have if implicit concatenation makes "loss" of it.
_LOSS_PIECES = frozenset({"l", "lo", "los", "loss", "o", "os", "oss", "s", "ss"})
_LOSS_MARK = "\x00"  # cannot be in code that parses; it only ever adds a loss feature
_FIELD = re.compile(r"\{([^{}]*)\}")
_DOUBLED_BRACES = re.compile(r"\{\{|\}\}")


class _Unsure(Exception):
    """The text is not what this module reads with confidence: let the parser decide."""


def _string_value(body: str, raw: bool) -> Optional[str]:
    if raw or "\\" not in body:
        return body
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escapes (`"\\d"`) warn, and stay as written
            return body.encode("utf-8").decode("unicode_escape")
    except (UnicodeDecodeError, ValueError):
        return None


def _may_spell_loss(body: str, raw: bool) -> bool:
    value = _string_value(body, raw)
    return value is None or value in _LOSS_PIECES


def _blank_token(text: str, match: re.Match[str]) -> str:
    token = match.group()
    if token[0] == "#":
        return " "
    quote = token[:3] if token[:3] in (_Q3S, _Q3D) else token[0]
    if len(token) < 2 * len(quote) or not token.endswith(quote) or (len(quote) == 1 and len(token) == 1):
        raise _Unsure("unterminated string")
    start = match.start()
    prefix = ""
    if start and text[start - 1].isalpha():
        prefix_match = _PREFIX.search(text, max(0, start - 3), start)
        prefix = prefix_match.group().lower() if prefix_match else ""
        if prefix not in _STRING_PREFIXES:
            prefix = ""  # `if"x"`, `or"x"`: a keyword before the quote, not a prefix
    body = token[len(quote) : -len(quote)]
    if body.endswith("\\") and (len(body) - len(body.rstrip("\\"))) % 2:
        raise _Unsure("unterminated string")  # its last quote is escaped
    if "b" in prefix:
        return " S "  # bytes are never the str "loss"
    raw = "r" in prefix
    if "f" not in prefix:
        return f" S{_LOSS_MARK} " if _may_spell_loss(body, raw) else " S "
    # An f-string: its replacement fields are code; its literal parts are strings.
    plain = _DOUBLED_BRACES.sub("  ", body)
    fields = _FIELD.findall(plain)
    literal = _FIELD.sub("\x01", plain)
    if "{" in literal or "}" in literal:
        # A nested format spec (`{v:.{n}f}`), braces or quotes inside a field: read it in full.
        pieces, fields = _fstring_parts(body)
    else:
        pieces = literal.split("\x01")
    mark = any(_may_spell_loss(piece, raw) for piece in pieces)
    code = " ".join(fields).replace("\n", " ").replace("\r", " ")
    if "'" in code or '"' in code or "#" in code:
        code = _TOKEN.sub(lambda m: _blank_token(code, m), code)  # strings inside a field (`d['k']`)
    return f" S{_LOSS_MARK if mark else ''} ({code}) "


def _fstring_parts(body: str) -> tuple[list[str], list[str]]:
    """An f-string body's literal pieces (doubled braces as blanks, format specs included) and
    the code of its replacement fields, nested ones in format specs too, read as CPython 3.11
    reads them: a field's expression ends at the `}`, `!` (not `!=`) or `:` outside its brackets
    and strings. Raises _Unsure where the body is not that (a backslash or `#` in a field, an
    unterminated field, a lone `}`)."""
    pieces: list[str] = []
    fields: list[str] = []
    piece = ""  # the literal piece read so far, up to `position`
    position = 0
    while True:
        brace = _BRACE.search(body, position)
        if brace is None:
            pieces.append(piece + body[position:])
            return pieces, fields
        at = brace.start()
        if body.startswith(brace.group() * 2, at):
            piece += body[position:at] + "  "
            position = at + 2
            continue
        if brace.group() == "}":
            raise _Unsure("a lone } in an f-string")
        pieces.append(piece + body[position:at])
        piece = ""
        position = _fstring_field(body, at + 1, pieces, fields)


_BRACE = re.compile(r"[{}]")
_FIELD_STOP = re.compile(r"""[(\[{)\]}'"#\\!:]""")


def _fstring_field(body: str, start: int, pieces: list[str], fields: list[str]) -> int:
    """Read the field whose expression starts at `start` (after its `{`) into `fields` (and its
    format spec's literal text into `pieces`); returns the offset after its closing `}`."""
    depth, position = 0, start
    while True:
        stop = _FIELD_STOP.search(body, position)
        if stop is None:
            raise _Unsure("an unterminated f-string field")
        at, character = stop.start(), stop.group()
        position = at + 1
        if character in "([{":
            depth += 1
        elif character in ")]}":
            if depth:
                depth -= 1
                continue
            if character != "}":
                raise _Unsure("an unbalanced f-string field")
            fields.append(body[start:at])
            return position
        elif character in "'\"":
            quote = body[at : at + 3] if body.startswith(character * 3, at) else character
            end = body.find(quote, at + len(quote))
            if end == -1 or "\\" in body[at:end]:
                raise _Unsure("a string in an f-string field this module does not read")
            position = end + len(quote)
        elif character in "#\\":
            raise _Unsure("a comment or backslash in an f-string field")
        elif depth == 0 and not (character == "!" and body.startswith("=", position)):
            fields.append(body[start:at])
            if character == "!":  # a conversion: one letter, then the spec or the end
                if body[position : position + 1] not in ("r", "s", "a"):
                    raise _Unsure("an f-string conversion this module does not read")
                position += 1
                if body.startswith("}", position):
                    return position + 1
                if not body.startswith(":", position):
                    raise _Unsure("an f-string conversion this module does not read")
                position += 1
            return _format_spec(body, position, pieces, fields)


def _format_spec(body: str, start: int, pieces: list[str], fields: list[str]) -> int:
    """Read a format spec from `start` to its field's closing `}`: literal text, and nested
    fields (`{v:>{width}}`), which are code."""
    literal_start = position = start
    while True:
        brace = _BRACE.search(body, position)
        if brace is None:
            raise _Unsure("an unterminated f-string format spec")
        at = brace.start()
        pieces.append(body[literal_start:at])
        if brace.group() == "}":
            return at + 1
        literal_start = position = _fstring_field(body, at + 1, pieces, fields)


@functools.lru_cache(maxsize=4)  # the triage asks it of one text several times (a str caches its hash)
def _blanked(text: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    joined: list[tuple[int, int]] = []

    def blank_and_note(match: re.Match[str]) -> str:
        token = match.group()
        if "\n" in token or token[-1] == "\\":
            joined.append(match.span())
        return _blank_token(text, match)

    # What is left of a backslash ends a continued line.
    return _TOKEN.sub(blank_and_note, text).replace("\\\n", " "), tuple(joined)


def blank(text: str, joined: Optional[list[tuple[int, int]]] = None) -> str:
    """The text with comments removed and each string literal replaced by `S` (f-strings by the
    code of their fields), one line per physical line of code; raises _Unsure. `joined`, when
    given, receives the spans (in the text with line breaks made `\\n`) of the tokens that hold a
    line break or end in a backslash: the only tokens that change where lines start."""
    blanked, spans = _blanked(text)
    if joined is not None:
        joined.extend(spans)
    return blanked


# ---------------------------------------------------------------------------- units
#
# The blanked text is cut into spans (consecutive, non-overlapping); a unit is a set of spans. A
# span of module code or of a class body belongs to the module's unit (the module's code runs the
# class bodies, whose attributes may be lambdas a method calls), a span
# holding a function to that function's unit. The span just before a decorated function (it ends
# with the decorators) belongs to the function as well as to the module or class around it.


@dataclass
class TextUnit:
    name: Optional[str]
    owner: Optional[str]
    spans: list[int] = field(default_factory=list)
    features: int = 0
    called_names: frozenset[str] = frozenset()
    called_attributes: frozenset[str] = frozenset()
    registered: bool = False  # a def directly in the body of a module-level class
    mentioned: frozenset[str] = frozenset()  # the file's class names it reads
    inert: bool = False  # sends values nowhere (inert.py)


@dataclass
class _Split:
    starts: list[int]  # span starts, increasing; span i is starts[i]:starts[i + 1]
    units: list[TextUnit]
    class_headers: list[tuple[str, int, int]] = field(default_factory=list)  # (name, start, its span)
    brackets: str = ""  # the text's round_brackets(), which the split read

    @functools.cached_property
    def ends(self) -> list[int]:
        """Where each span ends: the next one's start, the text's end for the last."""
        return self.starts[1:] + [len(self.brackets)]

    @functools.cached_property
    def readers(self) -> list[TextUnit]:
        """The unit that reads each span: the function whose span it is (for the span before a
        decorated function, the function), else the module's."""
        readers = [self.units[0]] * len(self.starts)
        for unit in self.units:
            for index in unit.spans:
                readers[index] = unit
        return readers

    def reader_at(self, offset: int) -> TextUnit:
        """The unit that reads the code at `offset`."""
        return self.readers[bisect_right(self.starts, offset) - 1]


# `def name` / `class name`, found by the keyword (a pattern that starts with a literal is
# searched several times faster than one anchored at each line or led by `\\b`), kept only where
# the keyword starts its line after the indentation (and an optional `async`).
_DEF_WORD = re.compile(r"def[ \t]+(\w+)", re.A)
_CLASS_WORD = re.compile(r"class[ \t]+(\w+)", re.A)
_ASYNC_PREFIX = re.compile(r"[ ]*async[ \t]+\Z")


def _headers(text: str) -> list[tuple[int, int, Optional[str], Optional[str]]]:
    """(line start, indentation, function name, class name) of each def or class header, in
    the order of the text (ASCII text)."""
    found: list[tuple[int, int, Optional[str], Optional[str]]] = []
    for pattern, is_def in ((_DEF_WORD, True), (_CLASS_WORD, False)):
        for match in pattern.finditer(text):
            keyword_start = match.start()
            if keyword_start and (text[keyword_start - 1].isalnum() or text[keyword_start - 1] == "_"):
                continue  # part of a longer word (`undef x`)
            line_start = text.rfind("\n", 0, keyword_start) + 1
            indent = keyword_start - line_start
            if text.count(" ", line_start, keyword_start) != indent:
                if not is_def or not _ASYNC_PREFIX.match(text, line_start, keyword_start):
                    continue  # not at the start of its line
                indent = len(text[line_start:keyword_start]) - len(text[line_start:keyword_start].lstrip(" "))
            name = match.group(1)
            found.append((line_start, indent, name, None) if is_def else (line_start, indent, None, name))
    found.sort(key=lambda header: header[0])
    return found


# Square and curly brackets as round ones: the bracket depth is then two counts, not six.
_AS_ROUND_BRACKETS = str.maketrans({"[": "(", "{": "(", "]": ")", "}": ")"})


def round_brackets(text: str) -> str:
    return text.translate(_AS_ROUND_BRACKETS)


def _depth(brackets: str, start: int, end: int) -> int:
    """How many more brackets open than close in [start, end) of a round_brackets() text."""
    return brackets.count("(", start, end) - brackets.count(")", start, end)


_DEDENT_PATTERNS: dict[int, re.Pattern[str]] = {}


def _block_end(text: str, brackets: str, header_start: int, indent: int) -> int:
    """Where the block opened by the header at `header_start` ends: the start of the first line
    outside brackets that is indented no more than `indent` (or the end of the text)."""
    pattern = _DEDENT_PATTERNS.get(indent)
    if pattern is None:
        # From the newline before the line (a literal first: a fast search).
        pattern = _DEDENT_PATTERNS[indent] = re.compile(rf"\n[ ]{{0,{indent}}}(?=[^ \n])")
    position = text.find("\n", header_start)
    depth, counted = 0, header_start
    while position != -1:
        match = pattern.search(text, position)
        if match is None:
            return len(text)
        line_start = match.start() + 1
        depth += _depth(brackets, counted, line_start)
        counted = line_start
        if depth < 0:
            raise _Unsure("unbalanced brackets")
        if depth == 0:
            return line_start
        position = text.find("\n", line_start)
    return len(text)


# From the start of a line: blank lines, then the indentation of the next line with code.
_NEXT_CODE_INDENT = re.compile(r"(?:[ ]*\n)*([ ]*)(?=[^ \n])")


def _body_indent(text: str, brackets: str, header_start: int) -> int:
    """The indentation of the first statement after a class header (which may span lines in
    brackets); -1 when there is none on a line of its own."""
    newline = text.find("\n", header_start)
    while newline != -1 and _depth(brackets, header_start, newline) > 0:
        newline = text.find("\n", newline + 1)
    if newline == -1 or "\\" in text[header_start:newline]:
        return -1  # (a continued header line: unsure where the body starts)
    found = _NEXT_CODE_INDENT.match(text, newline + 1)
    return -1 if found is None else len(found.group(1))


class _Splitter:
    def __init__(self, text: str, brackets: str) -> None:
        self.text = text
        self.brackets = brackets
        self.module = TextUnit(None, None)
        self.units = [self.module]
        self.starts: list[int] = []
        self.cursor = 0  # everything before it is in a span
        # Open class blocks: (end, skipped, name, the indentation of its body's statements when the
        # class is at module level, else -1).
        self.classes: list[tuple[int, bool, str, int]] = []
        self.class_headers: list[tuple[str, int, int]] = []

    def open_classes(self, position: int) -> list[tuple[int, bool, str, int]]:
        while self.classes and self.classes[-1][0] <= position:
            self.classes.pop()
        return self.classes

    def span(self, end: int, unit: Optional[TextUnit]) -> int:
        self.starts.append(self.cursor)
        if unit is not None:
            unit.spans.append(len(self.starts) - 1)
        self.cursor = end
        return len(self.starts) - 1

    def hand_out(self, upto: int) -> list[int]:
        """Spans up to `upto`: module code, or class bodies, which the module's code runs (a
        class attribute may be a lambda that a method calls: `extra = lambda self, m: ...`)."""
        made = []
        while self.cursor < upto:
            classes = self.open_classes(self.cursor)
            if classes:
                made.append(self.span(min(upto, classes[-1][0]), self.module))
            else:
                made.append(self.span(upto, self.module))
        return made

    def split(self) -> _Split:
        text = self.text
        for start, indent, function_name, class_name in _headers(text):
            if start < self.cursor:
                continue  # inside a function, which is one unit with everything nested in it
            decorated = text.find("@", self.cursor, start) != -1
            before = self.hand_out(start)
            end = _block_end(text, self.brackets, start, indent)
            classes = self.open_classes(start)
            in_class = bool(classes)
            if class_name is not None:
                # A class nested in a class body is skipped whole, as the syntax cut skips it.
                body_indent = _body_indent(text, self.brackets, start) if indent == 0 and not in_class else -1
                classes.append((end, in_class, class_name, body_indent))
                line_end = text.find("\n", start)
                header_span = self.span(len(text) if line_end == -1 else line_end + 1, None)
                self.class_headers.append((class_name, start, header_span))
                continue
            if in_class and classes[-1][1]:
                self.span(end, None)  # a method of a skipped class
                continue
            unit = TextUnit(function_name, classes[-1][2] if in_class else None)
            unit.registered = in_class and 0 < classes[-1][3] == indent
            if decorated:
                unit.spans.extend(before)
            self.span(end, unit)
            self.units.append(unit)
        self.hand_out(len(text))
        return _Split(self.starts, self.units, self.class_headers, self.brackets)


def split_units(text: str, brackets: Optional[str] = None) -> _Split:
    """The syntax cut's units over blanked text (with balanced brackets): units[0] is the
    module's own code. Every span starts outside brackets, at the start of a line."""
    return _Splitter(text, round_brackets(text) if brackets is None else brackets).split()


# ---------------------------------------------------------------------------- features
#
# What each syntax-cut test becomes on blanked text (each matches at least as much):
#   parameters  attribute weight/bias/*_weight, call .parameters()/.named_parameters()/.state_dict()
#   term        call .sum()/.mean()/.norm()/.vector_norm() whose arguments may build a term
#               (vocabulary.arguments_allow_a_term, read by _call_arguments); an import of such a
#               name anywhere gives every unit the feature
#   loss        a loss-like name (one in which the analysis' PENALTY_NAME or LOSS_NAME finds a
#               match) that may be stored to: before `=` or an augmented operator outside
#               brackets (with more targets after a comma), in a bracketed target before `) =`,
#               in a `for ... in` or `as` target, before `:=`, or annotated at a line start; a def
#               whose name holds one of those stems or LOSS_FUNCTION's other words
#               (training_step, criterion); .backward() / .manual_backward(); a string that may
#               be (part of) "loss"
# tests/test_textcut.py checks that the stems are the alternatives of PENALTY_NAME and LOSS_NAME.

def _alternation(words: Iterable[str]) -> str:
    """Words as one regex alternative, longest first."""
    return "(?:" + "|".join(sorted(words, key=lambda word: (-len(word), word))) + ")"


# The opening bracket of a call, after the closing brackets of a parenthesized callee:
# `(model.parameters)()`, `(torch.optim.Adam)(...)` are calls of the name inside.
_CALL_OPEN = r"[\s)]*\("
_PARAM_TEXT = re.compile(
    r"\.\s*(?:" + _alternation(PARAM_ATTRIBUTES | {r"\w*" + PARAM_ATTRIBUTE_SUFFIX}) + r"\b|"
    + _alternation(PARAM_METHODS) + _CALL_OPEN + ")",
    re.A,
)
# A layer whose call looks up rows of its weight (ROW_LAYERS): the unit that names it makes the
# layer, which reaches the units that call it along the channels that join units (an attribute
# its __init__ stores, an argument, a return), as a `.parameters()` call's set does. An import
# that renames it (`Embedding as Table`) may make one in any unit.
# So does a call of a class that makes parameters (PARAMETER_CLASSES: `self.P = nn.Parameter(...)`).
_PARAMETER_MAKER_TEXT = re.compile(r"\b" + _alternation(PARAMETER_MAKERS) + r"\b", re.A)
_PARAMETER_MAKER_RENAMED = re.compile(r"\b" + _alternation(PARAMETER_MAKERS) + r"\s+as\b", re.A)


def _names_a_parameter_maker(text: str) -> bool:
    # (`in` first: a pattern led by a word boundary scans every position)
    return any(word in text for word in parameter_makers_in(text)) and _PARAMETER_MAKER_TEXT.search(text) is not None

_TERM_WORDS = _alternation(TERM_CALL_WORDS)
_TERM_TEXT = re.compile(r"\.\s*(" + _TERM_WORDS + ")" + _CALL_OPEN, re.A)
# (Led by the literal word: a search for it is fast; the word boundary before it is checked after.)
_TERM_IMPORT = re.compile(r"import(?:\b[^\n;]*|\s*\([^)]*)\b" + _TERM_WORDS + r"\b", re.A)
_BACKWARD_TEXT = re.compile(r"\.\s*" + _alternation(BACKWARD_FUNCTIONS) + _CALL_OPEN, re.A)
# The analysis' PENALTY_NAME and LOSS_NAME stems, matched on lower-cased text.
_LOSSY_STEM = re.compile("|".join(PENALTY_STEMS + LOSS_STEMS))
_WORD_REST = re.compile(r"\w*", re.A)
_AUGMENTED = r"(?:[-+*/%@&|^]|//|\*\*|<<|>>)?=(?!=)"
# A stored name is followed by `=` (or an augmented operator) after blanks, or by `, more
# targets =`; in brackets (`(a, loss) = ...`) by target characters, then `)` or `]`, then `=`.
# Both are decided from the end of the run of target characters after the name, which is the same
# for every name in one run (a long comma list holds many), so each run is scanned once. Outside
# brackets a statement ends at its line's end (blanking joined continued lines), so there the run
# and the blanks before `=` stay on the line: `from torch.nn import L1Loss, MSELoss` followed,
# lines later, by `x = 1` stores neither name.
_AUGMENTED_AT = re.compile(r"[ ]*" + _AUGMENTED, re.A)
_BLANKS_AND_COMMA = re.compile(r"[ ]*,", re.A)
_TARGET_CHARACTERS = r"[\w ,.*]*"
_BRACKETED_TARGET_CHARACTERS = r"[\w\s,.*()\[\]]*"
_CLOSING_BRACKET = re.compile(r"[)\]]")


class _Runs:
    """The end of the run of `characters` from a position, remembered for the run last found."""

    def __init__(self, text: str, characters: str) -> None:
        self.text = text
        self.pattern = re.compile(characters, re.A)
        self.start = self.end = -1

    def end_from(self, position: int) -> int:
        if not self.start <= position < self.end:
            self.start, self.end = position, self.pattern.match(self.text, position).end()  # type: ignore[union-attr]
        return max(self.end, position)


class _StoreContexts:
    """Whether a name ending at a position is followed by what makes it an assignment target."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.targets = _Runs(text, _TARGET_CHARACTERS)
        self.bracketed = _Runs(text, _BRACKETED_TARGET_CHARACTERS)
        # The closing brackets followed by an assignment in the bracketed run last found.
        self.sites_run = (-1, -1)
        self.sites: list[int] = []

    def direct(self, end: int) -> bool:
        """`name =`, `name +=`, `name, other =` (outside brackets)."""
        if _AUGMENTED_AT.match(self.text, end):
            return True
        comma = _BLANKS_AND_COMMA.match(self.text, end)
        return comma is not None and _AUGMENTED_AT.match(self.text, self.targets.end_from(comma.end())) is not None

    def bracketed_target(self, end: int) -> bool:
        """`name, other) =`, `name] =`: a closing bracket and an assignment in the run after it."""
        run_end = self.bracketed.end_from(end)
        run = (self.bracketed.start, self.bracketed.end)
        if run != self.sites_run:
            self.sites_run = run
            self.sites = [
                bracket.start()
                for bracket in _CLOSING_BRACKET.finditer(self.text, *run)
                if _AUGMENTED_AT.match(self.text, bracket.end())
            ]
        index = bisect_left(self.sites, end)
        return index < len(self.sites) and self.sites[index] < run_end


_AFTER_WALRUS_OR_COLON = re.compile(r"\s*:", re.A)
# What may stand before an annotated target's name, read backwards: its attribute chain, blanks,
# then the start of a statement (a line start, `;`, a compound statement's `:`) or the end of a
# call or subscript the chain starts with (`rows[0].loss: float`).
_ANNOTATED_TARGET_BEFORE = re.compile(r"[\w.]*[ ]*(?:\Z|[\n;:)\]])", re.A)
# `for` targets end at `in`; an `as` target is a name, an attribute or a subscript on its line, or
# a bracketed target (which may span lines).
_TARGETS = re.compile(
    r"\bfor\s+([\w\s,.*()\[\]]*?)\bin\b|\bas\s+([(\[][\w\s,.*()\[\]]*|[\w ,.*()\[\]]*)", re.A
)
_DEF_BEFORE = re.compile(r"\bdef\s+\Z", re.A)
# LOSS_FUNCTION's words that hold no stem (the others do: a def named with a stem is a loss).
_LOSS_FUNCTION_DEF = re.compile(r"\bdef\s+\w*?" + _alternation(LOSS_FUNCTION_EXTRA_WORDS))  # on lower()
# `f(` (not after a dot) and `.m(`, read backwards from the bracket on the reversed text: a
# search for `(` is several times faster than one for every word.
_CALLED_NAME_REVERSED = re.compile(r"\([\s)]*(\w+)(?![\w.])", re.A)
_CALLED_ATTRIBUTE_REVERSED = re.compile(r"\([\s)]*(\w+)\s*\.", re.A)
# The optimizer names no other name is part of ("Adam" covers AdamW, NAdam, SparseAdam...): a
# text holds some optimizer name exactly when it holds one of these.
OPTIMIZER_WORDS = optimizers.OPTIMIZER_WORDS
_OPTIMIZER_NAMES = "|".join(sorted(optimizers.ALL_NAMES, key=len, reverse=True))
_OPTIMIZER_NAMED = re.compile(r"\b(?:" + _OPTIMIZER_NAMES + r")\b", re.A)
_DEFINED_BEFORE = re.compile(r"\b(?:class|def)[ ]+\Z", re.A)
_ATTRIBUTE_BEFORE = re.compile(r"\.\s*\Z")
_OPTIMIZER_ALIAS = re.compile(r"\b(?:" + _OPTIMIZER_NAMES + r")\s+as\s+(\w+)", re.A)
_SUBCLASSED_ALIAS = re.compile(r"\b(?:" + "|".join(sorted(optimizers.SUBCLASSED_FACTORY_NAMES)) + r")\s+as\s+(\w+)", re.A)


def _stored_loss_name_in(text: str, lowered: str, brackets: str, stores: _StoreContexts, start: int, end: int) -> bool:
    """A loss-like name that may be stored to (see above) in [start, end), a range that starts
    outside brackets at a line start; `lowered` is text.lower()."""
    depth, counted = 0, start
    last_word_end = -1
    for stem in _LOSSY_STEM.finditer(lowered, start, end):
        if stem.start() < last_word_end:
            continue  # another stem in a word already looked at
        word_start = _name_start(text, stem.start())
        word_end = _WORD_REST.match(text, stem.end()).end()  # type: ignore[union-attr]
        last_word_end = word_end
        depth += _depth(brackets, counted, word_start)
        counted = word_start
        if _DEF_BEFORE.search(text, max(0, word_start - 16), word_start):
            return True  # a function named like a penalty or a loss
        if depth <= 0 and stores.direct(word_end):
            return True
        if stores.bracketed_target(word_end):
            return True
        colon = _AFTER_WALRUS_OR_COLON.match(text, word_end)
        if colon is not None:
            if text.startswith("=", colon.end()):
                return True  # `loss := ...`
            if _annotated_target_at(text, word_start):
                return True  # `loss: Tensor = ...`
    for target in _TARGETS.finditer(text, start, end):
        names = target.group(1) if target.group(1) is not None else target.group(2)
        if _LOSSY_STEM.search(names.lower()):
            return True
    return False


def _annotated_target_at(text: str, word_start: int) -> bool:
    """Whether the name at `word_start`, followed by `:`, may be an annotated assignment's target
    (`loss: Tensor = ...`, `x = 1; reg: float = ...`, `if ok: l1: float = ...`) rather than an
    `if`/`for`/`def` header's last word or a lambda's argument."""
    line_start = text.rfind("\n", 0, word_start) + 1
    head = text[line_start:word_start][::-1]
    return _ANNOTATED_TARGET_BEFORE.match(head) is not None


class _LossSearch:
    """Whether a loss feature is in given ranges of a blanked text (spans: each starts outside
    brackets, at a line start, so no statement crosses a range's ends)."""

    def __init__(self, text: str, brackets: str) -> None:
        self.text = text
        self.brackets = brackets
        self.lowered = text.lower()
        self.backward = "backward" in text
        self.marked = _LOSS_MARK in text
        self.loss_function_words = "training_step" in self.lowered or "criterion" in self.lowered
        self.stores = _StoreContexts(text)

    def any_of(self, split: _Split, units: list[TextUnit]) -> bool:
        """A loss feature in `units`: in their text, or a method's class names it a penalty."""
        if any(unit.owner is not None and returns_a_penalty_or_loss(unit.name or "", unit.owner) for unit in units):
            return True  # what forward() of `class L2Regularizer` returns is a penalty, of `class RegularizedLoss` a loss
        return self.any_in(_ranges(split, iter(units)))

    def any_in(self, ranges: list[tuple[int, int]]) -> bool:
        text, lowered = self.text, self.lowered
        for start, end in ranges:
            if self.backward and _BACKWARD_TEXT.search(text, start, end):
                return True  # .backward() / .manual_backward()
            if self.marked and text.find(_LOSS_MARK, start, end) != -1:
                return True  # a string that may be (part of) "loss"
            if self.loss_function_words and _LOSS_FUNCTION_DEF.search(lowered, start, end):
                return True
            if _stored_loss_name_in(text, lowered, self.brackets, self.stores, start, end):
                return True
        return False


class _SpanFeatures:
    def __init__(self, starts: list[int]) -> None:
        self.starts = starts
        self.bits = [0] * len(starts)

    def mark_all(
        self, pattern: re.Pattern[str], text: str, bit: int, counts: Callable[[re.Match[str]], bool] = lambda _: True
    ) -> None:
        """Give `bit` to each span where `pattern` matches (and `counts` says the match counts)."""
        position = 0
        while True:
            match = pattern.search(text, position)
            if match is None:
                return
            if not counts(match):
                position = match.end()
                continue
            index = bisect_right(self.starts, match.start()) - 1
            self.bits[index] |= bit
            # The rest of this span has the bit already: go on from the next span.
            position = self.starts[index + 1] if index + 1 < len(self.starts) else len(text)


def _unit_features(text: str, split: _Split, imports_term: bool, names_a_parameter_maker: bool) -> None:
    """Each unit's parameter and term features and the calls it makes (losses come later)."""
    spans = _SpanFeatures(split.starts)
    spans.mark_all(_PARAM_TEXT, text, PARAMS)
    spans.mark_all(_TERM_TEXT, text, TERMS, _TermCalls(text).may_build_a_term)
    every_unit = TERMS if imports_term else 0
    if names_a_parameter_maker:
        if _PARAMETER_MAKER_RENAMED.search(text):
            every_unit |= PARAMS
        else:
            spans.mark_all(_PARAMETER_MAKER_TEXT, text, PARAMS)
    size = len(text)
    reversed_text = text[::-1]
    ends = split.ends
    for unit in split.units:
        features = every_unit
        names: set[str] = set()
        attributes: set[str] = set()
        for index in unit.spans:
            features |= spans.bits[index]
            start, end = size - ends[index], size - split.starts[index]
            names.update(_CALLED_NAME_REVERSED.findall(reversed_text, start, end))
            attributes.update(_CALLED_ATTRIBUTE_REVERSED.findall(reversed_text, start, end))
        unit.features = features
        unit.called_names = frozenset(name[::-1] for name in names)
        unit.called_attributes = frozenset(name[::-1] for name in attributes)


_WORD = re.compile(r"\w+", re.A)


def _instance_facts(text: str, split: _Split) -> dict[str, AbstractSet[str]]:
    """For the joins of calls on objects and of their attributes (components.py): the class
    names each unit reads (one read in a class body or header line counts for the module's code),
    and each class's base names. Nothing when no class has a method."""
    units = split.units
    if not split.class_headers or not any(unit.owner is not None for unit in units):
        return {}
    brackets = split.brackets
    bases: dict[str, AbstractSet[str]] = {}
    header_spans = set()
    for name, start, span in split.class_headers:
        header_spans.add(span)
        opening = text.find("(", start)
        colon = text.find(":", start)
        while colon != -1 and _depth(brackets, start, colon) > 0:
            colon = text.find(":", colon + 1)
        if opening != -1 and (colon == -1 or opening < colon):
            bases[name] = frozenset(_WORD.findall(text, opening, len(text) if colon == -1 else colon))
    names = {name for name, _start, _span in split.class_headers}
    found: dict[int, set[str]] = {}
    if len(names) <= 64:
        for offset, name in whole_words(text, names, ascii_words=True):
            if bisect_right(split.starts, offset) - 1 in header_spans:
                continue  # `class Extra(Base):` defines Extra and names its bases (above)
            found.setdefault(id(split.reader_at(offset)), set()).add(name)
    else:  # (a search per name, for thousands of names, costs more than the words of each span)
        for index, (start, end) in enumerate(zip(split.starts, split.ends)):
            if index in header_spans:
                continue
            read = names.intersection(_WORD.findall(text, start, end))
            if read:
                found.setdefault(id(split.readers[index]), set()).update(read)
    for unit in units:
        unit.mentioned = frozenset(found.get(id(unit), ()))
    return bases


def _finds_a_term_call(text: str) -> bool:
    calls = _TermCalls(text)
    return any(calls.may_build_a_term(match) for match in _TERM_TEXT.finditer(text))


class _TermCalls:
    """Which term calls found in a blanked text may build a term with the arguments they are given
    (vocabulary.arguments_allow_a_term): as a method always, as a torch function only where the
    callee may be a dotted name led by a name an import binds (or torch used unimported)."""

    def __init__(self, text: str) -> None:
        self.module_names: Optional[frozenset[str]] = None
        self.text = text

    def may_build_a_term(self, match: re.Match[str]) -> bool:
        """`match`: a term call _TERM_TEXT found in the text."""
        arguments = _call_arguments(self.text, match.end())
        if arguments is None:
            return True
        word = match.group(1)
        if arguments_allow_a_term(word, arguments, may_be_a_function=False):
            return True
        return arguments_allow_a_term(word, arguments) and self._may_name_a_module(match.start())

    def _may_name_a_module(self, dot: int) -> bool:
        """Whether what stands before the `.` at `dot` may be a dotted name led by a module's name."""
        head = _dotted_head(self.text, dot)
        if head is None:
            return True  # (not a plain dotted name for sure: it may be a parenthesized one)
        if not head:
            return False  # a subscript's or a call's result
        if self.module_names is None:
            self.module_names = _import_bound_words(self.text) | frozenset(UNIMPORTED_MODULES)
        return head in self.module_names


_BLANKS = " \t\n\r\f\v"


def _dotted_head(text: str, dot: int) -> Optional[str]:
    """The first name of the dotted name that ends before `text[dot]` (a `.`); "" where a call's
    or a subscript's result ends there (`f(x).sum`, `x.pow(2).sum`, `x[0].sum`: no dotted name),
    None where it cannot be told (`(torch).sum` may be a parenthesized one)."""
    position = dot
    while True:
        end = _space_before(text, position)
        start = _name_start(text, end)
        if start == end:
            break
        if text[start].isdigit():
            return None  # a number's digits
        before = _space_before(text, start)
        if before > 0 and text[before - 1] == ".":
            position = before - 1
            continue
        return text[start:end]
    end = _space_before(text, position)
    if end == 0:
        return None
    if text[end - 1] == "]":
        return ""
    if text[end - 1] != ")":
        return None
    opening = _opening_bracket(text, end - 1)
    if opening is None:
        return None
    before = _space_before(text, opening)
    if before == 0:
        return None
    mark = text[before - 1]
    if mark in ")]":
        return ""
    if mark.isalnum() or mark == "_":
        word = text[_name_start(text, before):before]
        if keyword.iskeyword(word) or keyword.issoftkeyword(word):
            return None  # `return (torch).sum(x)`: a parenthesized expression after a keyword
        return ""
    return None


def _name_start(text: str, end: int) -> int:
    """Where the identifier that ends at `end` starts (`end` itself where none does)."""
    while end > 0 and (text[end - 1].isalnum() or text[end - 1] == "_"):
        end -= 1
    return end


def _space_before(text: str, end: int) -> int:
    while end > 0 and text[end - 1] in _BLANKS:
        end -= 1
    return end


def _opening_bracket(text: str, closing: int) -> Optional[int]:
    """Where the bracket closed at `closing` opens (blanked text), None past _MAX_ARGUMENTS_TEXT."""
    depth = 0
    for position in range(closing, max(-1, closing - _MAX_ARGUMENTS_TEXT), -1):
        mark = text[position]
        if mark in ")]}":
            depth += 1
        elif mark in "([{":
            depth -= 1
            if depth == 0:
                return position
    return None


_IMPORT_WORD = re.compile(r"\bimport\b", re.A)
_WORD = re.compile(r"\w+", re.A)


def _import_bound_words(text: str) -> frozenset[str]:
    """Every word written in an import statement after `import` (to its line's end, its `;` or
    its closing bracket): the names the file's imports may bind, and more."""
    words: set[str] = set()
    for found in _IMPORT_WORD.finditer(text):
        start = _space_after(text, found.end())
        if text.startswith("(", start):
            end = text.find(")", start)
        else:
            end = min(_end_or_length(text, "\n", start), _end_or_length(text, ";", start))
        words.update(_WORD.findall(text, start, len(text) if end == -1 else end))
    return frozenset(words)


def _space_after(text: str, start: int) -> int:
    while start < len(text) and text[start] in _BLANKS:
        start += 1
    return start


def _end_or_length(text: str, mark: str, start: int) -> int:
    end = text.find(mark, start)
    return len(text) if end == -1 else end


# What separates or nests a call's arguments in blanked text (strings are blanked: no bracket or
# comma in them); a call's arguments are read up to this many characters, else not at all.
_ARGUMENT_EDGE = re.compile(r"[()\[\]{},]")
_MAX_ARGUMENTS_TEXT = 4000
_KEYWORD_ARGUMENT = re.compile(r"(\w+)\s*=(?!=)", re.A)
# (a lambda's parameters and a generator's `for` targets hold commas outside brackets)
_COMMA_HOLDER = re.compile(r"\b(?:lambda|for)\b", re.A)


def _call_arguments(text: str, start: int) -> Optional[list[CallArgument]]:
    """The arguments of the call whose `(` ends just before `start` in blanked text, as the term
    rules read them; None where they cannot be read with confidence (unbalanced, too long, a
    lambda or a generator's `for` among them)."""
    arguments: list[CallArgument] = []
    limit = min(len(text), start + _MAX_ARGUMENTS_TEXT)
    depth = 0
    argument_start = position = start
    while (edge := _ARGUMENT_EDGE.search(text, position, limit)) is not None:
        position = edge.end()
        mark = edge.group()
        if mark in "([{":
            depth += 1
        elif mark in ")]}":
            if depth:
                depth -= 1
                continue
            if mark != ")":
                return None
            last = text[argument_start:edge.start()]
            if last.strip():
                argument = _call_argument(last)
                if argument is None:
                    return None
                arguments.append(argument)
            return arguments
        elif not depth:
            argument = _call_argument(text[argument_start:edge.start()])
            if argument is None:
                return None
            arguments.append(argument)
            argument_start = position
    return None


def _call_argument(written: str) -> Optional[CallArgument]:
    written = written.strip()
    if not written or _COMMA_HOLDER.search(written):
        return None
    if written.startswith("*"):
        return CallArgument(None, 2 if written.startswith("**") else 1, False)
    keyword = _KEYWORD_ARGUMENT.match(written)
    if keyword is not None:
        return CallArgument(keyword.group(1), 0, _is_none(written[keyword.end():]))
    return CallArgument(None, 0, _is_none(written))


def _is_none(value: str) -> bool:
    value = value.strip()
    while value.startswith("(") and value.endswith(")"):
        value = value[1:-1].strip()
    return value == "None"


def _imports_a_term(text: str) -> bool:
    """`import` (a word) followed on its line, or in its brackets, by a term function's name."""
    position = 0
    while (match := _TERM_IMPORT.search(text, position)) is not None:
        start = match.start()
        if start == 0 or not (text[start - 1].isalnum() or text[start - 1] == "_"):
            return True
        position = start + 1  # `a_import`: the next `import` may be inside this match
    return False


def _ranges(split: _Split, units: Iterator[TextUnit]) -> list[tuple[int, int]]:
    """The spans of `units` as ranges of the text, adjacent spans merged."""
    indices = sorted({index for unit in units for index in unit.spans})
    ends = split.ends
    ranges: list[tuple[int, int]] = []
    for index in indices:
        start = split.starts[index]
        end = ends[index]
        if ranges and ranges[-1][1] == start:
            ranges[-1] = (ranges[-1][0], end)
        else:
            ranges.append((start, end))
    return ranges


@dataclass
class TextFacts:
    optimizer: bool  # an optimizer construction may be in the file
    penalty: bool  # some component of units may hold a penalty
    # With prune=True, for a file where a penalty but no optimizer construction is possible: how
    # to make the text libcst should parse instead (see "pruning" below). It is made only when
    # asked for: the flow cut rules out most such files without it.
    prune: Optional[Callable[[], Optional[str]]] = None
    # For a file where a penalty is possible: how to make the flow cut's skeleton (see "the flow
    # cut's skeleton" below), made only when the flow cut is asked.
    skeletal: Optional[Callable[[], Optional["Skeleton"]]] = None

    @functools.cached_property
    def pruned(self) -> Optional[str]:
        """The pruned text; None: the file as it is."""
        return self.prune() if self.prune is not None else None

    @functools.cached_property
    def skeleton(self) -> Optional["Skeleton"]:
        """The flow cut's skeleton of the file; None: there is none to make."""
        return self.skeletal() if self.skeletal is not None else None


def text_facts(
    text: str,
    common_methods: frozenset[str],
    optimizer: bool = True,
    penalty: bool = True,
    prune: bool = False,
) -> Optional[TextFacts]:
    """What the syntax cut could find in `text`, from the text; None when unsure. `optimizer`
    and `penalty` say which of the two questions to answer (the other answer is False)."""
    if "\t" in text or "\f" in text:
        return None  # indentation widths: leave them to the parser
    joined: list[tuple[int, int]] = []
    try:
        blanked = blank(text, joined)
    except (_Unsure, RecursionError):
        return None
    if not blanked.isascii():
        return None  # identifiers the parser would NFKC-normalize
    brackets = round_brackets(blanked)
    if _depth(brackets, 0, len(brackets)) != 0:
        return None  # unbalanced brackets: a broken file, which the parser reports (RL000)
    constructs = may_construct_an_optimizer(blanked, text) if optimizer else None  # None: not asked yet
    optimizer = bool(constructs)
    if not penalty:
        return TextFacts(optimizer, False)
    # The whole file as one unit first: most files stop here.
    imports_term = _imports_a_term(blanked)
    if not (imports_term or _finds_a_term_call(blanked)) or not (_PARAM_TEXT.search(blanked) or _names_a_parameter_maker(blanked)):
        return TextFacts(optimizer, False)
    try:
        split = split_units(blanked, brackets)
    except _Unsure:
        return None
    found = _candidates(blanked, split, imports_term, common_methods)
    if found is None:
        return TextFacts(optimizer, False)
    components, candidates = found
    roots = components.roots
    losses = _LossSearch(blanked, brackets)
    conflicted = _CONFLICT_MARKER.search(text) is not None
    skeletal = None if conflicted else (lambda: _skeleton(text, blanked, brackets, split, joined))
    # A loss in a candidate's component completes it; one in the module's component completes
    # every candidate. The file's answer is the union's: one search, which stops at the first loss.
    chosen = [unit for unit, root, candidate in zip(split.units, roots, candidates) if candidate or root == roots[0]]
    if not losses.any_of(split, chosen):
        return TextFacts(optimizer, False)
    if prune and not conflicted:
        if constructs is None:
            constructs = may_construct_an_optimizer(blanked, text)
        if not constructs:
            # Pruning needs each component's answer (a loss found in one component's units is
            # found in the union's, so some component is live), asked only when libcst is to
            # parse the file: the flow cut rules out most such files first.
            def pruned() -> Optional[str]:
                return _pruned(text, blanked, brackets, split, _live(split, components, candidates, losses), joined)

            return TextFacts(optimizer, True, pruned, skeletal)
    return TextFacts(optimizer, True, skeletal=skeletal)


@functools.lru_cache(maxsize=4)  # asked by text_facts, then by training.trains of the same text
def may_construct_an_optimizer(blanked: str, text: str) -> bool:
    """Can the module's own code (`text`, blanked) construct an optimizer? By calling a class, or
    by calling one held as a value: where the code names a class without calling it, the flow
    cut follows the value to a call (flowcut.may_call_an_optimizer_class)."""
    called, named = _optimizer_classes_in(blanked)
    if called or not named:
        return called
    tree = parse_ok(text)
    return tree is None or may_call_an_optimizer_class(tree, text)


def _optimizer_classes_in(blanked: str) -> tuple[bool, bool]:
    """(called, named): does the code call an optimizer class, does it name one otherwise? A class
    is named in code outside import statements and the `class`/`def` that defines one: as an
    attribute (`optim.Adam`), as a bare name an import binds (by name or `*`), or by an alias an
    import binds to it (used outside the import). A bare name no import binds is the file's own
    class, or nothing the analysis qualifies (`super(AdamW, self)` in the class defining AdamW).
    A call of getattr where the module torch.optim may be named names a class too (the flow cut
    follows it: `getattr(torch.optim, cfg.optimizer)`)."""
    if not optimizers.mentions_an_optimizer(blanked):
        return False, False
    imports = _import_spans(blanked)
    named = optimizers.names_a_class_at_run_time(blanked) and _names_a_class_by_getattr(blanked)
    imported = {name for start, end in imports for name in _OPTIMIZER_NAMED.findall(blanked, start, end)}
    subclassable = optimizers.TRAINER_PACKAGE in blanked  # (the package the trainer classes come from)
    hf_spans = [(start, end) for start, end in imports if subclassable and optimizers.TRAINER_PACKAGE in blanked[start:end]]
    hf_imported = {name for start, end in hf_spans for name in _OPTIMIZER_NAMED.findall(blanked, start, end)}
    hf_star = any("*" in blanked[start:end] for start, end in hf_spans)
    star = any("*" in blanked[start:end] for start, end in imports)
    for mention in _OPTIMIZER_NAMED.finditer(blanked):
        start = mention.start()
        if _inside(imports, start) or _DEFINED_BEFORE.search(blanked, max(0, start - 16), start):
            continue
        attribute = _ATTRIBUTE_BEFORE.search(blanked, max(0, start - 16), start) is not None
        if mention.group() in optimizers.SUBCLASSED_FACTORY_NAMES:
            # transformers' Trainer builds its optimizer when called or subclassed; a project's
            # own Trainer (imported from elsewhere, or defined here) builds none
            if subclassable and (attribute or hf_star or mention.group() in hf_imported):
                return True, True
            continue
        if star or mention.group() in imported or attribute:
            if _CALLED_AFTER.match(blanked, mention.end()):
                return True, True
            named = True
    subclassed = {match.group(1) for match in _SUBCLASSED_ALIAS.finditer(blanked) if subclassable and _inside(imports, match.start())}
    for alias in {match.group(1) for match in _OPTIMIZER_ALIAS.finditer(blanked) if _inside(imports, match.start())}:
        for start, _ in whole_words(blanked, (alias,), ascii_words=True):
            if not _inside(imports, start):
                if _CALLED_AFTER.match(blanked, start + len(alias)) or alias in subclassed:
                    return True, True
                named = True
    return False, named


_CALLED_AFTER = re.compile(_CALL_OPEN)
_SPACE = r"(?:\s|\\)*"  # blanks, line breaks and backslash continuations (comments are blanked)
# `getattr(torch.optim, ...`, `getattr((optim), ...`: the dotted name given first, its parentheses aside.
_GETATTR_OF = re.compile(
    rf"\b{ATTRIBUTE_BY_NAME}{_SPACE}\({_SPACE}(?:\({_SPACE})*((?:\w+{_SPACE}\.{_SPACE})*\w+){_SPACE}(?:\){_SPACE})*,"
)
_ALIAS_OF_OPTIM = re.compile(rf"\b{OPTIMIZER_MODULE}{_SPACE}as{_SPACE}(\w+)")


def _names_a_class_by_getattr(blanked: str) -> bool:
    """A call of getattr whose first argument may be the module torch.optim, as the flow cut asks
    (flowcut._may_be_the_optimizer_module): a dotted name ending in `optim`, or an alias an
    import binds to it."""
    aliases = {OPTIMIZER_MODULE} | set(_ALIAS_OF_OPTIM.findall(blanked))
    for match in _GETATTR_OF.finditer(blanked):
        last = re.split(r"[\s\\.]+", match.group(1))[-1]
        if last in aliases:
            return True
    return False


# An import statement at the start of a line, to its end or its closing bracket (blanked text:
# no comments or strings, continued lines joined). One after `;` is not found: its names count.
_IMPORT_STATEMENT = re.compile(r"^[ \t]*(?:from[ \t]+[\w.]+[ \t]+)?import\b(?:[^\n;(]*\([^)]*\)|[^\n;]*)", re.M | re.A)


def _import_spans(blanked: str) -> list[tuple[int, int]]:
    return [match.span() for match in _IMPORT_STATEMENT.finditer(blanked)]


def _inside(spans: list[tuple[int, int]], offset: int) -> bool:
    index = bisect_right(spans, (offset, 1 << 62)) - 1
    return index >= 0 and spans[index][0] <= offset < spans[index][1]


def _candidates(
    text: str, split: _Split, imports_term: bool, common_methods: frozenset[str]
) -> Optional[tuple[Components, list[bool]]]:
    """The units' components, and per unit whether its component (with the module's) has a
    parameter source and a term; None when none has. Losses are looked for after this, and only
    in those components: it is the costliest test, and in a model file they are a small part."""
    _unit_features(text, split, imports_term, _names_a_parameter_maker(text))
    units = split.units
    if reduce(or_, (unit.features for unit in units), 0) != PARAMS | TERMS:
        return None
    _mark_inert(text, split)
    _function_values(text, split)
    bases = _instance_facts(text, split)
    components = component_roots(units, common_methods, bases)
    candidates = complete_units(units, common_methods, PARAMS | TERMS, components, with_senders=False)
    if not any(candidates):
        return None
    return components, candidates


def _function_values(text: str, split: _Split) -> None:
    """A unit that uses a function of the file as a value (`reg_fn = l1_all`, `run(reg_fn=l1_all)`)
    may have it called wherever the value goes: it is joined with the function as a call would
    join it (components.py), and the value travels along the channels that join units."""
    functions = {unit.name for unit in split.units[1:] if unit.owner is None and unit.name is not None}
    if not functions:
        return
    for offset, name in value_mentions(text, functions):
        reader = split.reader_at(offset)
        if name not in reader.called_names:
            reader.called_names = reader.called_names | {name}


def _mark_inert(text: str, split: _Split) -> None:
    """Which units holding a parameter source are inert (inert.py), from the blanked text."""
    brackets, ends = split.brackets, split.ends
    candidates: list[inert.Candidate[TextUnit]] = []
    for unit in split.units[1:]:
        if not unit.features & PARAMS or len(unit.spans) != 1 or not inert.may_be_inert_name(unit.name):
            continue  # (two spans: a decorated function)
        start, end = split.starts[unit.spans[0]], ends[unit.spans[0]]
        colon = _header_colon(text, brackets, start, end)
        found = None if colon == -1 else inert.text_candidate(text, brackets, start, colon, end)
        if found is not None:
            candidates.append((unit, *found))
    inert.mark(candidates, lambda methods, builtins: inert.call_only(text, methods, builtins))


def _live(split: _Split, components: Components, candidates: list[bool], losses: _LossSearch) -> list[bool]:
    """Per unit: whether its component may hold a penalty (all three features), or sends values
    to an inert unit that may (components.complete_units)."""
    units = split.units
    roots = components.roots

    def has_loss(root: int) -> bool:
        return losses.any_of(split, [unit for unit, r in zip(units, roots) if r == root])

    if has_loss(roots[0]):
        live = list(candidates)  # the module's component completes every candidate
    else:
        live_roots = {
            root for root in {root for root, candidate in zip(roots, candidates) if candidate} - {roots[0]} if has_loss(root)
        }
        live = [root in live_roots for root in roots]
    sending = senders_of(components, [index for index in components.sinks if live[index]])
    return with_module_component([found or root in sending for found, root in zip(live, roots)], roots)


# ---------------------------------------------------------------------------- pruning
#
# The syntax cut's pruning (decision.py, "pruning") done from the text units, so that a file
# whose text units are read with confidence is never parsed by `ast`: every function unit that is
# not live and holds none of `import`, `global`, `nonlocal` or `add_argument` becomes
# `def name(): pass` on its header line, the rest of its lines up to the end of its block empty
# (and then carried in one string literal, see empty_pruned_body).
# Text units are the syntax units and their features and calls over-approximate the syntax
# cut's, so every function the syntax cut keeps is kept (tests/test_pruning.py checks it, line by
# line, against the syntax cut on every source). Blanking joins the lines of a multi-line string
# and of a backslash continuation, so the lines of the blanked text are mapped back to the file's.

# A merge left unresolved is the commonest syntax error in a committed file: such a file is
# parsed whole, so that RL000 reports it wherever the markers are.
_CONFLICT_MARKER = re.compile(r"^(?:<{7}|={7}|>{7})(?: |$)", re.M)
_PINNING_TEXT = re.compile(r"\b(?:import|global|nonlocal)\b|add_argument", re.A)


def _line_origins(text: str, joined: list[tuple[int, int]]) -> list[int]:
    """For each line of blank(text), the line of `text` it starts on (counting from 0), given
    the spans blank() noted in `joined`: a line break survives blanking unless it is inside one of
    those tokens or ends a backslash continuation in code."""
    normalized = text.replace("\r\n", "\n").replace("\r", "\n")
    origins = [0]
    line = 0
    position = 0
    size = len(normalized)
    for start, end in joined + [(size, size)]:
        breaks = normalized.count("\n", position, start)
        if breaks and normalized.count("\\\n", position, start) == 0:
            origins.extend(range(line + 1, line + 1 + breaks))
            line += breaks
        elif breaks:
            at = normalized.find("\n", position, start)
            while at != -1:
                line += 1
                if not (at > position and normalized[at - 1] == "\\"):
                    origins.append(line)  # kept; a backslash continuation joins the lines
                at = normalized.find("\n", at + 1, start)
        line += normalized.count("\n", start, end)  # blanked into one line
        position = end
    return origins


@dataclass
class _FileLines:
    """A file's lines (`lines`, `breaks`: split_lines) beside its blanked text, whose lines start
    (`starts`) on the file's lines `origins` says: blanking joins the lines of a multi-line string
    and of a backslash continuation."""

    lines: list[str]
    breaks: list[str]
    origins: list[int]
    starts: list[int]
    size: int  # of the blanked text

    @classmethod
    def of(cls, text: str, blanked: str, joined: list[tuple[int, int]]) -> Optional["_FileLines"]:
        """`joined`: what blank(text, joined) noted. None: not the lines this module expects."""
        origins = _line_origins(text, joined)
        starts = list(accumulate((len(line) + 1 for line in blanked.split("\n")[:-1]), initial=0))
        if len(origins) != len(starts):
            return None
        lines, breaks = split_lines(text)
        return cls(lines, breaks, origins, starts, len(blanked))

    def line(self, offset: int) -> int:
        """The file's line (from 0) on which the blanked line holding `offset` starts."""
        return self.origins[bisect_right(self.starts, offset) - 1]

    def last_line(self, end: int) -> int:
        """The file's last line of a span of the blanked text that ends at `end` (a line start)."""
        return len(self.lines) - 1 if end >= self.size else self.line(end) - 1

    def text(self) -> str:
        return join_lines(self.lines, self.breaks)


def _pruned(
    text: str, blanked: str, brackets: str, split: _Split, live: list[bool], joined: list[tuple[int, int]]
) -> Optional[str]:
    """`joined`: what blank(text, joined) noted."""
    file = _FileLines.of(text, blanked, joined)
    if file is None:
        return None  # do not prune
    lines = file.lines
    ends = split.ends
    pinning = _SpanFeatures(split.starts)
    pinning.mark_all(_PINNING_TEXT, blanked, 1)
    changed = False
    for unit, is_live in zip(split.units[1:], live[1:]):
        if is_live or unit.name in MODEL_BUILDERS or any(pinning.bits[i] for i in unit.spans):
            continue
        own = unit.spans[-1]  # the function's own span (a decorated one also has the span before)
        start, end = split.starts[own], ends[own]
        header_line, last_line = file.line(start), file.last_line(end)
        header = _bare_header(blanked, brackets, start, end, lines[header_line], unit.name)
        if header is None or last_line <= header_line:
            continue
        lines[header_line] = header
        empty_pruned_body(lines, header_line, last_line)
        changed = True
    return file.text() if changed else None


def empty_pruned_body(lines: list[str], header: int, last: int) -> None:
    """Empty lines header+1..last of a pruned function (or of a skeleton's body), whose
    `lines[header]` ends with its `pass`, and carry them in one string literal that opens in place
    of the `pass` and closes on the last line, so that libcst makes one node of them rather than
    an empty-line node each (a tenth of its time on pruned model files). Lines, and so positions,
    stay where they were."""
    for number in range(header + 1, last + 1):
        lines[number] = ""
    if last > header and lines[header].endswith("pass"):
        lines[header] = lines[header][: -len("pass")] + '"""'
        lines[last] = '"""'


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def split_lines(text: str) -> tuple[list[str], list[str]]:
    """The lines of `text` and the line breaks between them (join_lines puts them back)."""
    if "\r" not in text:
        lines = text.split("\n")
        return lines, ["\n"] * (len(lines) - 1)
    return _LINE_BREAK.split(text), _LINE_BREAK.findall(text)


def join_lines(lines: list[str], breaks: list[str]) -> str:
    if breaks.count("\n") == len(breaks):
        return "\n".join(lines)
    out: list[str] = []
    for index, line in enumerate(lines):
        out.append(line)
        if index < len(breaks):
            out.append(breaks[index])
    return "".join(out)


_HEADER_LINE = re.compile(r"([ ]*)(async[ ]+)?def[ ]+(\w+)", re.A)


def _bare_header(blanked: str, brackets: str, start: int, end: int, line: str, name: Optional[str]) -> Optional[str]:
    """`def name(): pass` for the function whose header starts at `start`, or None to leave it
    as it is (a body on the header's line, a signature holding `:=`, a header line not as expected)."""
    header = _HEADER_LINE.match(line)
    if header is None or header.group(3) != name:
        return None
    colon = _header_colon(blanked, brackets, start, end)
    if colon == -1 or ":=" in blanked[start:colon]:
        return None
    if _header_line_end(blanked, colon, end) == -1:
        return None  # the body starts on the header's line
    return f"{header.group(1)}{'async def' if header.group(2) else 'def'} {name}(): pass"


def _header_colon(blanked: str, brackets: str, start: int, end: int) -> int:
    """Where the colon that ends the def header at `start` is (-1: not before `end`)."""
    colon = blanked.find(":", start, end)
    while colon != -1 and _depth(brackets, start, colon) != 0:
        colon = blanked.find(":", colon + 1, end)
    return colon


def _header_line_end(blanked: str, colon: int, end: int) -> int:
    """The end of the line that holds the header's colon, or -1 when the body goes on on it."""
    line_end = blanked.find("\n", colon, end)
    if line_end == -1 or blanked[colon + 1 : line_end].strip():
        return -1
    return line_end


# ---------------------------------------------------------------------------- the flow cut's skeleton
#
# The flow cut (flowcut.py) reads a function only once something on its lines can have a kind; in
# a large model file most functions are never read, and CPython's parse of them was a third of the
# triage's time on transformers. So the flow cut reads a skeleton: the file with the body of each
# function that holds no def, class, import, global or nonlocal emptied (lines kept one for one: a
# string literal spans them), and parses a body, from the file's own lines, when it first reads
# it. What a body adds to the structure the flow cut builds before reading (flowcut._Flow._collect)
# is only functions, classes, imports and global or nonlocal names, so the skeleton's structure is
# the file's; flowcut checks each body it parses against that and gives up where it differs.

_NESTING_TEXT = re.compile(r"\b(?:def|class|import|global|nonlocal)\b", re.A)


@dataclass
class Skeleton:
    """A file's text with the bodies of some functions emptied, and where each body is."""

    text: str  # the skeleton: the file's lines, one for one
    lines: list[str]  # the file's own lines
    bodies: dict[int, int]  # the 1-based line of an emptied function's `def` -> its last line

    def function_source(self, def_line: int) -> Optional[str]:
        """Source that holds the function whose `def` is on `def_line` (an emptied one) on its own
        columns, as its first statement (under `if 1:` when it is indented). Its lines start at 1
        or 2: the flow cut reads no line number inside a body."""
        last = self.bodies.get(def_line)
        if last is None:
            return None
        segment = "\n".join(self.lines[def_line - 1 : last])
        return "if 1:\n" + segment if segment.startswith(" ") else segment


def skeleton_of(text: str) -> Optional[Skeleton]:
    """The flow cut's skeleton of `text`, where text_facts would make one (tests read it)."""
    if "\t" in text or "\f" in text or _CONFLICT_MARKER.search(text):
        return None
    joined: list[tuple[int, int]] = []
    try:
        blanked = blank(text, joined)
        brackets = round_brackets(blanked)
        if not blanked.isascii() or _depth(brackets, 0, len(brackets)) != 0:
            return None
        return _skeleton(text, blanked, brackets, split_units(blanked, brackets), joined)
    except (_Unsure, RecursionError):
        return None


def _skeleton(text: str, blanked: str, brackets: str, split: _Split, joined: list[tuple[int, int]]) -> Optional[Skeleton]:
    """`joined`: what blank(text, joined) noted."""
    file = _FileLines.of(text, blanked, joined)
    if file is None:
        return None
    lines = file.lines
    own_lines = list(lines)
    ends = split.ends
    bodies: dict[int, int] = {}
    for unit in split.units[1:]:
        own = unit.spans[-1]  # the function's own span (a decorated one also has the span before)
        start, end = split.starts[own], ends[own]
        colon = _header_colon(blanked, brackets, start, end)
        line_end = -1 if colon == -1 else _header_line_end(blanked, colon, end)
        if line_end == -1 or _NESTING_TEXT.search(blanked, line_end, end):
            continue
        first, last = file.line(line_end + 1), file.last_line(end)  # the header's next line on
        if last < first:
            continue
        def_line = file.line(start)
        indent = lines[def_line][: len(lines[def_line]) - len(lines[def_line].lstrip(" "))]
        lines[first] = indent + " pass"
        empty_pruned_body(lines, first, last)
        bodies[def_line + 1] = last + 1
    if not bodies:
        return None
    return Skeleton(file.text(), own_lines, bodies)
