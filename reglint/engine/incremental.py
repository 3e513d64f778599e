"""Parse successive versions of one text, reparsing only the top-level statements that changed.

An editor sends a new version of a document on every keystroke, and most of it is what it was: a
change touches one function. libcst has no incremental parser, and parsing a long file and
computing its node positions costs several times the analysis, so the language server parses a
document in chunks, one per top-level statement, keeps each chunk's trees and positions keyed by
the chunk's text, and assembles the module from them.

How a chunk is parsed so that its trees are those a parse of the whole file gives:

- A chunk runs from the first line of its statement (decorators included) to the line before
  the next statement; blank and comment lines after a statement stay in its chunk.
- It is parsed after a prefix `if 1:` + a line indented by the file's default indentation, so
  that libcst detects the same default indentation and newline for the chunk as for the file
  (a block whose indentation is the default records none of its own).
- A chunk other than the last is followed by a sentinel statement `pass` at column 0, so that
  its trailing comments are attached as they are in the whole file: indented ones to the
  preceding block's footer, the others to the next statement, whose `leading_lines` they become.
- The first chunk's leading lines become the module's header; the last chunk's trailing lines
  its footer.

Each chunk's positions (reglint.analysis.positions, which are libcst's PositionProvider's) are
computed once, in the chunk's own lines, and shifted to the document's lines when looked up.
tests/test_incremental.py checks that the assembled module is `deep_equals` to libcst's parse of
the whole text and has the same positions, on the fixtures, the rules' examples, generated files
and mutated texts.

A text that CPython does not parse, or whose chunks libcst does not parse, is left to the
runner's own parser (None): it reports syntax errors as `reglint check` does.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any, Optional, Sequence, Union

import libcst as cst
from libcst._position import CodePosition, CodeRange

from reglint.analysis import positions as node_positions
from reglint.analysis.syntax import python_tree

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_LEADING_SPACE = re.compile(r"[ \t\f]*")
_PREFIX_LINES = 2
_SENTINEL = "pass"


@dataclass(frozen=True)
class _Chunk:
    statements: tuple[Statement, ...]
    leading: tuple[cst.EmptyLine, ...]  # the first statement's leading lines (the header, in chunk 0)
    trailing: tuple[cst.EmptyLine, ...]  # lines after the last statement: the next one's leading lines
    footer: tuple[cst.EmptyLine, ...]  # the last chunk's module footer
    has_trailing_newline: bool
    positions: Any  # node -> CodeRange in the chunk's own lines (prefix included)


Statement = Union[cst.SimpleStatementLine, cst.BaseCompoundStatement]
_Key = tuple[str, int, bool, bool, str, str]  # text, occurrence, first, last, indent, newline


class Positions:
    """Node positions of an assembled module: each chunk's positions, shifted to the document's
    lines. A top-level statement rebuilt with other leading lines has the range of its original
    (ranges leave leading lines out)."""

    def __init__(self) -> None:
        self._parts: list[tuple[Any, int]] = []  # (chunk positions, lines to add)
        self._aliases: dict[cst.CSTNode, cst.CSTNode] = {}

    def add(self, positions: Any, shift: int) -> None:
        self._parts.append((positions, shift))

    def alias(self, node: cst.CSTNode, original: cst.CSTNode) -> None:
        self._aliases[node] = original

    def __getitem__(self, node: cst.CSTNode) -> CodeRange:
        node = self._aliases.get(node, node)
        for positions, shift in self._parts:
            found = positions.get(node)
            if found is not None:
                if shift == 0:
                    return found  # type: ignore[no-any-return]
                start, end = found.start, found.end
                return CodeRange(CodePosition(start.line + shift, start.column), CodePosition(end.line + shift, end.column))
        raise KeyError(node)

    def get(self, node: cst.CSTNode, default: Optional[CodeRange] = None) -> Optional[CodeRange]:
        try:
            return self[node]
        except KeyError:
            return default


class IncrementalParser:
    """Parses versions of one document, keeping the chunks of the last version for the next."""

    def __init__(self) -> None:
        self._chunks: dict[_Key, _Chunk] = {}

    def parse(self, text: str) -> Optional[tuple[cst.Module, Positions]]:
        """The module of `text` and its node positions; None when the runner should parse it."""
        try:
            return self._parse(text)
        except RecursionError:
            return None

    def _parse(self, text: str) -> Optional[tuple[cst.Module, Positions]]:
        tree = python_tree(text)
        if tree is None:
            return None
        lines = _LINE_BREAK.split(text)
        starts = _statement_starts(tree, lines)
        if not starts:
            return None
        indent = _default_indent(tree, lines)
        match = _LINE_BREAK.search(text)
        newline = match.group(0) if match else "\n"
        offsets = _line_offsets(text)
        bounds = [0] + [offsets[line - 1] for line in starts[1:]] + [len(text)]
        kept: dict[_Key, _Chunk] = {}
        chunks: list[tuple[_Chunk, int]] = []  # (chunk, its first line in the document)
        seen: dict[str, int] = {}
        for index in range(len(bounds) - 1):
            piece = text[bounds[index] : bounds[index + 1]]
            # A statement written twice gets trees of its own each time: nodes are told apart by
            # identity (positions, the analysis), as in a parse of the whole file.
            occurrence = seen[piece] = seen.get(piece, -1) + 1
            key = (piece, occurrence, index == 0, index == len(bounds) - 2, indent, newline)
            chunk = self._chunks.get(key)
            if chunk is None:
                chunk = _parse_chunk(piece, key[2], key[3], indent, newline)
                if chunk is None:
                    return None
            kept[key] = chunk
            chunks.append((chunk, 1 if index == 0 else starts[index]))
        self._chunks = kept
        return _assemble(chunks, indent, newline)


def _statement_starts(tree: ast.Module, lines: Sequence[str]) -> list[int]:
    """The first line (decorators included) of each top-level statement, in order, one per line;
    empty when a statement does not start its line."""
    starts: list[int] = []
    for statement in tree.body:
        first = min([statement.lineno] + [d.lineno for d in getattr(statement, "decorator_list", ())])
        if starts and first <= starts[-1]:
            continue  # `a; b`: one line, one chunk
        if not 1 <= first <= len(lines) or lines[first - 1][:1] in (" ", "\t", "\f"):
            return []
        starts.append(first)
    return starts


def _default_indent(tree: ast.Module, lines: Sequence[str]) -> str:
    """The indentation libcst takes as the file's default: that of the first indented line of
    code (the first INDENT token); four spaces when nothing is indented."""
    for statement in tree.body:
        found: list[Any] = [getattr(statement, name, None) for name in ("body", "orelse", "handlers", "finalbody", "cases")]
        blocks = [block for block in found if block]
        if not blocks:
            continue  # a simple statement: its continuation lines are no INDENT
        first = blocks[0][0]
        line = _first_line(first)
        if line > statement.lineno:
            match = _LEADING_SPACE.match(lines[line - 1])
            return match.group(0) if match and match.group(0) else "    "
        return _first_indent_anywhere(tree, lines)  # `if x: y` with a block after it: rare
    return "    "


def _first_line(node: ast.AST) -> int:
    """Where a block's first statement (or a `match`'s first `case`) begins."""
    if isinstance(node, ast.match_case):
        return node.pattern.lineno
    return min([getattr(node, "lineno", 0)] + [d.lineno for d in getattr(node, "decorator_list", ())])


def _first_indent_anywhere(tree: ast.Module, lines: Sequence[str]) -> str:
    first: Optional[int] = None
    for node in ast.walk(tree):
        if isinstance(node, ast.match_case):
            node, column = node.pattern, None  # `case` starts the line, before the pattern
        elif isinstance(node, ast.stmt):
            column = node.col_offset
        else:
            continue
        if first is not None and node.lineno >= first:
            continue
        space = _LEADING_SPACE.match(lines[node.lineno - 1])
        width = len(space.group(0).encode("utf-8")) if space is not None else 0
        if width > 0 and (width == column or column is None and lines[node.lineno - 1][width:].startswith("case")):
            first = node.lineno
    if first is None:
        return "    "
    match = _LEADING_SPACE.match(lines[first - 1])
    return match.group(0) if match else "    "


def _line_offsets(text: str) -> list[int]:
    return [0] + [match.end() for match in _LINE_BREAK.finditer(text)]


def _parse_chunk(piece: str, first: bool, last: bool, indent: str, newline: str) -> Optional[_Chunk]:
    prefix = f"if 1:{newline}{indent}pass{newline}"
    source = prefix + piece
    if not last:
        if not piece.endswith(("\n", "\r")):
            return None
        source += _SENTINEL + newline
    try:
        from reglint.engine.runner import parse_module

        module = parse_module(source)
    except Exception:
        return None
    body = list(module.body[1:])
    if module.default_indent != indent or module.default_newline != newline:
        return None
    opener = module.body[0]
    if not isinstance(opener, cst.If) or not isinstance(opener.body, cst.IndentedBlock) or opener.body.footer:
        return None  # the chunk began with indented comments: they would go to the prefix
    trailing: tuple[cst.EmptyLine, ...] = ()
    if not last:
        sentinel = body.pop() if body else None
        if not isinstance(sentinel, cst.SimpleStatementLine) or module.footer:
            return None
        trailing = tuple(sentinel.leading_lines)
    if not body:
        return None
    leading = tuple(body[0].leading_lines)
    if leading and not first:
        return None  # the chunk starts at its statement's first line: nothing can lead it
    positions = node_positions.compute(module)
    return _Chunk(tuple(body), leading, trailing, tuple(module.footer) if last else (), module.has_trailing_newline, positions)


def _assemble(chunks: list[tuple[_Chunk, int]], indent: str, newline: str) -> tuple[cst.Module, Positions]:
    positions = Positions()
    body: list[Statement] = []
    carried: tuple[cst.EmptyLine, ...] = ()
    header: tuple[cst.EmptyLine, ...] = ()
    for number, (chunk, first_line) in enumerate(chunks):
        statements = list(chunk.statements)
        if number == 0 and chunk.leading:
            header = chunk.leading
            statements[0] = _with_leading(statements[0], (), positions)
        elif carried:
            statements[0] = _with_leading(statements[0], carried, positions)
        carried = chunk.trailing
        body.extend(statements)
        positions.add(chunk.positions, first_line - 1 - _PREFIX_LINES)
    last = chunks[-1][0]
    module = cst.Module(
        body=body,
        header=header,
        footer=last.footer,
        encoding="utf-8",
        default_indent=indent,
        default_newline=newline,
        has_trailing_newline=last.has_trailing_newline,
    )
    return module, positions


def _with_leading(statement: Statement, leading: Sequence[cst.EmptyLine], positions: Positions) -> Statement:
    rebuilt: Statement = statement.with_changes(leading_lines=tuple(leading))
    positions.alias(rebuilt, statement)
    return rebuilt
