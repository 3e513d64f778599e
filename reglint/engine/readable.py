"""What libcst is given to read: the text itself, or a copy with the same lines and columns in
which the parts libcst cannot read as CPython does are replaced.

libcst (the concrete syntax tree the analysis walks) and CPython's own parser disagree at the
edges, and where they do CPython is right: it is what runs the file. So CPython reads a text
first (`ast.parse`, linear and many times cheaper than libcst), and:

- a text CPython rejects for nesting (too many nested brackets, too many levels of indentation,
  its parser's recursion or memory limit) is an RL000 with CPython's message and never reaches
  libcst, whose native parser crashes the whole process on such input (a segfault at about
  1,200 nested calls or 2,000 brackets);
- an expression nested deeper than `MAX_DEPTH` levels as libcst builds it is replaced in the
  copy by a name padded to the same length (`UNREAD_NAME`), which the analysis reads as an
  unknown value. libcst nests one level per operand of a chain (`a + b + ...`, `a and b and
  ...`, `a.b.c...`, implicitly concatenated strings), and on such chains its parser takes time
  proportional to depth x length (5,000 terms: over a minute), its code generation and the
  analysis recurse once per level, and its native parser crashes near 7,000 `and` operands;
- lines holding only a backslash are blanked: libcst drops such a line, which shifts every
  later position one line up and can even move the next statement into the block above. The
  blanked copy is used only when CPython reads it as the very same tree, positions included;
- a statement libcst rejects although CPython accepts it (`(x): int = 1`) is replaced by `pass`
  and blank lines, and libcst parses again (`without_statement`).

Each replacement is a `Region`: the caller tells the user which lines were not linted and why,
and no fix may touch them (fixes check the text they replace; see fixes.py).
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
import warnings
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Iterator, Optional, Union

from reglint.engine.source import NEWLINE

# Deeper expressions than this (in libcst's nesting) are not given to libcst; CPython itself
# accepts at most about 3,000. Over the 20,417 files of the standard library and of the packages
# a torch install brings, three expressions are deeper: pydoc_data/topics.py (2,216 implicitly
# concatenated strings) and two polynomial tables sympy generated (566 levels: libcst reads that
# file in 7.3 s, and in 1.1 s with them replaced); the next deepest is 256.
MAX_DEPTH = 300
UNREAD_NAME = "__reglint_unread__"
# A subexpression spanning at most this many characters is not walked: its depth is at most that
# (the analysis of what encloses it stays exact up to MAX_DEPTH - SHALLOW levels).
SHALLOW = 100

NESTING_LIMITS = (
    "too many nested parentheses",
    "too many levels of indentation",
    "too many statically nested blocks",
    "too complex",
)

_BACKSLASH_ONLY = re.compile(r"(?m)^[ \t\f]*\\(?=\r\n|\r|\n|$)")
_ERROR_AT = re.compile(r"error at (\d+):(\d+)")


@dataclass(frozen=True)
class Region:
    """Lines of the copy that differ from the text (1-based, inclusive), and why."""

    line: int
    end_line: int
    column: int
    message: str


@dataclass
class Readable:
    """The text libcst reads (`text`), the regions replaced in it, and CPython's verdict."""

    text: str
    tree: Optional[ast.Module] = None  # CPython's tree of the original text (None: not parsed)
    python_error: Optional[tuple[str, int, int]] = None  # a nesting limit: message, line, column
    regions: list[Region] = field(default_factory=list)

    @property
    def python_accepts(self) -> bool:
        return self.tree is not None


# ------------------------------------------------------------------------------- CPython's view


def python_tree(text: str) -> Union[ast.Module, Exception]:
    """CPython's tree of `text`, or the error its parser raised."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError) as exc:
        return exc


def _limit_message(error: Exception) -> Optional[tuple[str, int, int]]:
    """CPython's message when it rejected the text for its nesting, not its grammar."""
    if isinstance(error, RecursionError):
        return "expressions nested too deeply for Python's parser (RecursionError)", 1, 1
    if isinstance(error, MemoryError):
        return "expressions nested too deeply for Python's parser (MemoryError)", 1, 1
    if isinstance(error, SyntaxError) and any(limit in str(error.msg) for limit in NESTING_LIMITS):
        return f"syntax error: {error.msg}", error.lineno or 1, error.offset or 1
    return None


def prepare(text: str, tree: Optional[ast.Module] = None) -> Readable:
    """What libcst should read instead of `text` (see the module's docstring); `tree`: CPython's
    tree of `text` if the caller has it (it is only read)."""
    parsed = python_tree(text) if tree is None else tree
    if not isinstance(parsed, ast.Module):
        # Any syntax error but nesting: libcst reads it as before (it may know newer syntax than
        # this Python) and CPython's message is used if libcst rejects it too.
        return Readable(text, python_error=_limit_message(parsed))
    tree = parsed
    readable = Readable(text, tree=tree)
    lines = _Lines(text)
    _blank_backslash_lines(readable, lines)
    _cut_deep_expressions(readable, lines)
    return readable


# ------------------------------------------------------------------------------- lines and offsets


class _Lines:
    """A text's physical lines (Python's newlines), editable line by line."""

    def __init__(self, text: str) -> None:
        self.content: list[str] = NEWLINE.split(text)
        self.ends: list[str] = NEWLINE.findall(text) + [""]
        self.lengths = list(accumulate(map(len, self.content), initial=0))  # before each line

    def text(self) -> str:
        return "".join(line + end for line, end in zip(self.content, self.ends))

    def column(self, line: int, byte_offset: int) -> int:
        """0-based character column of CPython's UTF-8 byte offset on a 1-based line."""
        content = self.content[line - 1] if 0 < line <= len(self.content) else ""
        if content.isascii():
            return byte_offset
        return len(content.encode("utf-8")[:byte_offset].decode("utf-8", errors="ignore"))

    def chars_between(self, line: int, end_line: int) -> int:
        """An upper bound of the characters from `line` to `end_line` (whole lines, newlines included)."""
        first, last = max(line - 1, 0), min(end_line, len(self.content))
        return self.lengths[last] - self.lengths[first] + (last - first)

    def span_bound(self, node: ast.AST) -> int:
        """An upper bound of the characters `node` spans (its UTF-8 bytes on one line)."""
        line, end_line = node.lineno, node.end_lineno or node.lineno  # type: ignore[attr-defined]
        if line == end_line:
            return (node.end_col_offset or 0) - node.col_offset  # type: ignore[attr-defined]
        return self.chars_between(line, end_line)

    def segment(self, node: ast.AST) -> str:
        line, end_line = node.lineno, node.end_lineno or node.lineno  # type: ignore[attr-defined]
        start = self.column(line, node.col_offset)  # type: ignore[attr-defined]
        end = self.column(end_line, node.end_col_offset or 0)  # type: ignore[attr-defined]
        if line == end_line:
            return self.content[line - 1][start:end]
        parts = [self.content[line - 1][start:]]
        parts.extend(self.content[line : end_line - 1])
        parts.append(self.content[end_line - 1][:end])
        return "\n".join(parts)


# ------------------------------------------------------------------------------- backslash lines


def _blank_backslash_lines(readable: Readable, lines: _Lines) -> None:
    """Blank the lines that hold only a backslash, if CPython reads the result as the same tree."""
    if not _BACKSLASH_ONLY.search(readable.text):
        return
    numbers = [n for n, line in enumerate(lines.content, start=1) if _BACKSLASH_ONLY.fullmatch(line)]
    if not numbers:
        return
    original = list(lines.content)
    for number in numbers:
        lines.content[number - 1] = ""
    copy = lines.text()
    repaired = python_tree(copy)
    assert readable.tree is not None
    if not isinstance(repaired, ast.Module) or _dump(repaired) != _dump(readable.tree):
        lines.content = original  # not the same program: leave the lines to libcst
        return
    readable.text = copy


def _dump(tree: ast.AST) -> str:
    return ast.dump(tree, include_attributes=True)


# ------------------------------------------------------------------------------- deep expressions


def _weight(node: ast.AST, lines: _Lines) -> int:
    """How many levels `node` itself adds in libcst's tree (which nests what CPython flattens)."""
    if isinstance(node, ast.BoolOp):
        return max(1, len(node.values) - 1)
    if isinstance(node, (ast.Constant, ast.JoinedStr)) and isinstance(getattr(node, "value", ""), (str, bytes)):
        end_line = node.end_lineno or node.lineno
        if end_line > node.lineno or (node.end_col_offset or 0) - node.col_offset > MAX_DEPTH:
            return max(1, _string_pieces(lines.segment(node)))
    return 1


def _string_pieces(segment: str) -> int:
    """How many string literals are implicitly concatenated in `segment` (libcst nests each)."""
    count = 0
    try:
        for token in tokenize.generate_tokens(io.StringIO("(" + segment + ")").readline):
            if token.type == tokenize.STRING or token.type == getattr(tokenize, "FSTRING_START", -1):
                count += 1
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return 1
    return count


def _statement_expressions(tree: ast.Module) -> Iterator[tuple[ast.stmt, ast.AST]]:
    """Each statement with each of its expression-level children (not its nested statements)."""
    stack: list[ast.stmt] = list(reversed(tree.body))
    while stack:
        statement = stack.pop()
        if statement.end_lineno == statement.lineno and (statement.end_col_offset or 0) - statement.col_offset <= MAX_DEPTH:
            continue  # one short line: nothing in it nests that deep (each level takes a character)
        for child in ast.iter_child_nodes(statement):
            if isinstance(child, ast.stmt):
                stack.append(child)
            elif isinstance(child, ast.excepthandler) or type(child).__name__ == "match_case":
                for inner in ast.iter_child_nodes(child):
                    if isinstance(inner, ast.stmt):
                        stack.append(inner)
                    else:
                        yield statement, inner
            else:
                yield statement, child


def _cut_deep_expressions(readable: Readable, lines: _Lines) -> None:
    """Replace the expressions libcst would nest deeper than MAX_DEPTH by a padded name."""
    assert readable.tree is not None
    cuts: list[ast.expr] = []
    statements: dict[int, ast.stmt] = {}
    for statement, root in _statement_expressions(readable.tree):
        if hasattr(root, "lineno") and lines.span_bound(root) <= MAX_DEPTH:
            continue  # every level of nesting takes at least one character
        found = _deep_cuts(root, lines)
        if found:
            cuts.extend(found)
            statements[id(statement)] = statement
    if not cuts:
        return
    spans = _outermost([_span(node, lines) for node in cuts])
    before = lines.text()
    for span in reversed(spans):
        _replace_span(lines, span)
    copy = lines.text()
    if not isinstance(python_tree(copy), ast.Module):
        # A replacement CPython does not accept (positions inside an f-string, say): replace
        # the whole statements instead.
        fallback = _Lines(before)
        ranges = _outermost_lines([(s.lineno, s.end_lineno or s.lineno) for s in statements.values()])
        for line, end_line in ranges:
            _blank_statement_lines(fallback, line, end_line)
        spans = [(line, 0, end_line, 0) for line, end_line in ranges]
        copy = fallback.text()
    readable.text = copy
    for line, column, end_line, _ in spans:
        readable.regions.append(
            Region(
                line,
                end_line,
                column + 1,
                f"an expression nested more than {MAX_DEPTH} levels deep (a chain of that many "
                "operands) is read as an unknown value: libcst reads such chains in time quadratic "
                "in their length and can crash on them",
            )
        )


def _cuttable(node: ast.AST) -> bool:
    return isinstance(node, ast.expr) and not isinstance(node, ast.FormattedValue)


_OPERATORS = (ast.expr_context, ast.boolop, ast.operator, ast.unaryop, ast.cmpop)


def _deep_cuts(root: ast.AST, lines: _Lines) -> list[ast.expr]:
    """The subexpressions to replace so that nothing under `root` nests deeper than MAX_DEPTH,
    chosen bottom-up (the lowest cuts, so that as much as possible is still analysed)."""
    cuts: list[ast.expr] = []
    depth: dict[int, int] = {}
    stack: list[tuple[ast.AST, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        children = [c for c in ast.iter_child_nodes(node) if not isinstance(c, _OPERATORS)]
        if not done:
            stack.append((node, True))
            for child in children:
                if hasattr(child, "end_col_offset") and lines.span_bound(child) <= SHALLOW:
                    depth[id(child)] = lines.span_bound(child)  # a bound is enough: far from the limit
                else:
                    stack.append((child, False))
            continue
        weight = _weight(node, lines)
        deepest = 0
        for child in children:
            child_depth = depth.pop(id(child), 1)
            if weight == 1 and 1 + child_depth > MAX_DEPTH and _cuttable(child):
                cuts.append(child)  # type: ignore[arg-type]  # too deep under this node: one name
                child_depth = 1
            deepest = max(deepest, child_depth)
        total = weight + deepest
        if total > MAX_DEPTH and _cuttable(node):
            cuts.append(node)  # type: ignore[arg-type]  # deep by itself: a long boolean chain or string concatenation
            total = 1
        depth[id(node)] = total
    return cuts


Span = tuple[int, int, int, int]  # line, column (0-based characters), end line, end column


def _span(node: ast.AST, lines: _Lines) -> Span:
    line, end_line = node.lineno, node.end_lineno or node.lineno  # type: ignore[attr-defined]
    return (
        line,
        lines.column(line, node.col_offset),  # type: ignore[attr-defined]
        end_line,
        lines.column(end_line, node.end_col_offset or 0),  # type: ignore[attr-defined]
    )


def _outermost_lines(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    kept: list[tuple[int, int]] = []
    for first, last in sorted(ranges, key=lambda r: (r[0], -r[1])):
        if kept and kept[-1][1] >= last:
            continue
        kept.append((first, last))
    return kept


def _outermost(spans: list[Span]) -> list[Span]:
    """The spans not inside another one, in source order."""
    kept: list[Span] = []
    for span in sorted(spans, key=lambda s: (s[0], s[1], -s[2], -s[3])):
        if kept and (kept[-1][2], kept[-1][3]) >= (span[2], span[3]) and (kept[-1][0], kept[-1][1]) <= (span[0], span[1]):
            continue
        kept.append(span)
    return kept


def _replace_span(lines: _Lines, span: Span) -> None:
    """The span becomes UNREAD_NAME padded with spaces; its inner lines become empty (keeping a
    line-continuation backslash); every other character keeps its line and column."""
    line, column, end_line, end_column = span
    first = lines.content[line - 1]
    if line == end_line:
        width = end_column - column
        lines.content[line - 1] = first[:column] + UNREAD_NAME.ljust(width) + first[end_column:]
        return
    lines.content[line - 1] = first[:column] + UNREAD_NAME + _continuation(first)
    for number in range(line + 1, end_line):
        lines.content[number - 1] = _continuation(lines.content[number - 1])
    last = lines.content[end_line - 1]
    lines.content[end_line - 1] = " " * end_column + last[end_column:]


def _continuation(line: str) -> str:
    return "\\" if line.rstrip(" \t\f").endswith("\\") else ""


def _blank_statement_lines(lines: _Lines, line: int, end_line: int) -> None:
    first = lines.content[line - 1]
    indent = first[: len(first) - len(first.lstrip(" \t\f"))]
    lines.content[line - 1] = indent + "pass"
    for number in range(line + 1, end_line + 1):
        lines.content[number - 1] = ""


# ------------------------------------------------------------------------------- statements libcst rejects


def error_line(message: str, fallback: int) -> int:
    """The line of a libcst parser error (its message names it more reliably than its fields)."""
    found = _ERROR_AT.search(message)
    return int(found.group(1)) if found else fallback


def without_statement(readable: Readable, line: int, reason: str) -> bool:
    """Replace, in the copy, the innermost statement CPython sees at `line` (widening to the
    enclosing one where that one is already replaced) by `pass` and blank lines. False when
    there is nothing left to replace."""
    if readable.tree is None:
        return False
    chain = _statements_at(readable.tree, line)
    done = [(r.line, r.end_line) for r in readable.regions]
    for statement in reversed(chain):
        first, last = statement.lineno, statement.end_lineno or statement.lineno
        if any(a <= first and last <= b for a, b in done):
            continue  # already replaced: widen
        lines = _Lines(readable.text)
        _blank_statement_lines(lines, first, last)
        readable.text = lines.text()
        count = "this line" if first == last else f"these {last - first + 1} lines"
        readable.regions.append(
            Region(
                first,
                last,
                _Lines(readable.text).column(first, statement.col_offset) + 1,
                f"libcst (the parser reglint's analysis is built on) cannot read this statement, which "
                f"Python accepts ({reason}); {count} not linted",
            )
        )
        return True
    return False


def _statements_at(tree: ast.Module, line: int) -> list[ast.stmt]:
    """The statements whose lines include `line`, outermost first; else the first statement
    that starts after it (libcst reports some errors at the next token)."""
    chain: list[ast.stmt] = []
    body: list[ast.stmt] = list(tree.body)
    while True:
        inside = [s for s in body if s.lineno <= line <= (s.end_lineno or s.lineno)]
        if not inside:
            break
        statement = inside[-1]
        chain.append(statement)
        body = [c for c in _child_statements(statement)]
    if not chain:
        after = [s for s in ast.walk(tree) if isinstance(s, ast.stmt) and s.lineno >= line]
        if after:
            chain.append(min(after, key=lambda s: (s.lineno, s.col_offset)))
    return chain


def _child_statements(statement: ast.stmt) -> Iterator[ast.stmt]:
    for child in ast.iter_child_nodes(statement):
        if isinstance(child, ast.stmt):
            yield child
        elif isinstance(child, ast.excepthandler) or type(child).__name__ == "match_case":
            yield from (c for c in ast.iter_child_nodes(child) if isinstance(c, ast.stmt))


__all__ = ["MAX_DEPTH", "Readable", "Region", "UNREAD_NAME", "error_line", "prepare", "python_tree", "without_statement"]
