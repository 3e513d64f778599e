"""Helpers for rules that build fixes: node spans as `Edit`s, parentheses, parents.

Spans come from libcst's PositionProvider, which excludes a node's own parentheses: a replacement
for a node is written for its bare text (`bare_code`), and keeps any parentheses around it.
Positions and parents are computed once per module, and only when a rule asks for them.
"""

from __future__ import annotations

import threading
from typing import Any, Optional

import libcst as cst

from reglint.analysis import positions as node_positions
from reglint.model import Edit


class _Index:
    def __init__(self, module: cst.Module, positions: Any = None, text: Optional[str] = None) -> None:
        self.module = module
        self._text = text
        self._code: Optional[str] = None
        self._lines: Optional[list[str]] = None
        self._parents: dict[int, dict[cst.CSTNode, cst.CSTNode]] = {}  # top-level statement -> its parents
        if positions is not None:
            node_positions.remember(module, positions)

    @property
    def positions(self) -> Any:
        return node_positions.spans(self.module)

    def parent(self, node: cst.CSTNode) -> Optional[cst.CSTNode]:
        """The node's parent, from a walk of the one top-level statement that holds it (a walk of
        the whole module, as libcst's ParentNodeProvider does, costs more than the analysis)."""
        body = self.module.body
        if any(node is statement for statement in body):
            return self.module
        try:
            line = self.positions[node].start.line
        except KeyError:
            return None
        # The statement that holds it is the first to end at or after its line (its decorators
        # and leading comments come before the statement's own start line).
        for index, statement in enumerate(body):
            where = self.positions[statement]
            if where.end.line < line:
                continue
            found = self._parent_on_path(statement, node)
            if found is not None:
                return found
            parents = self._parents.get(index)
            if parents is None:
                parents = self._parents[index] = _parents_in(statement)
            if node in parents:
                return parents[node]
            if where.start.line > line:
                break
        return None

    def _parent_on_path(self, top: cst.CSTNode, node: cst.CSTNode) -> Optional[cst.CSTNode]:
        """The node's parent, found by descending from `top` through the children whose span
        holds the node's: a few nodes per level instead of a walk of the whole statement. None
        when that path does not lead to it (the caller then walks the statement)."""
        positions = self.positions
        try:
            target = positions[node]
        except KeyError:
            return None
        start, end = (target.start.line, target.start.column), (target.end.line, target.end.column)
        current = top
        while True:
            step: Optional[cst.CSTNode] = None
            for child in current.children:
                if child is node:
                    return current
                where = positions.get(child)
                if where is None or step is not None:
                    continue
                if (where.start.line, where.start.column) <= start and end <= (where.end.line, where.end.column):
                    step = child
            if step is None:
                return None
            current = step

    @property
    def code(self) -> str:
        """libcst's rendering of the module: what its positions count in."""
        if self._code is None:
            if self._text is not None:
                self._code = self._text
            else:
                self.positions  # noqa: B018  (resolving them renders the code too)
                self._code = node_positions.rendering(self.module) or self.module.code
        return self._code

    @property
    def lines(self) -> list[str]:
        if self._lines is None:
            from reglint.engine.source import physical_lines

            self._lines = physical_lines(self.code)
        return self._lines


class _ParentCollector(cst.CSTVisitor):
    def __init__(self) -> None:
        self.stack: list[cst.CSTNode] = []
        self.parents: dict[cst.CSTNode, cst.CSTNode] = {}

    def on_visit(self, node: cst.CSTNode) -> bool:
        if self.stack:
            self.parents[node] = self.stack[-1]
        self.stack.append(node)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self.stack.pop()


def _parents_in(statement: cst.CSTNode) -> dict[cst.CSTNode, cst.CSTNode]:
    collector = _ParentCollector()
    statement.visit(collector)
    return collector.parents


_local = threading.local()


def _index(module: cst.Module) -> _Index:
    # Rules run file by file: remembering the last module is enough (and keeps memory flat).
    cached: Optional[_Index] = getattr(_local, "index", None)
    if cached is None or cached.module is not module:
        cached = _Index(module)
        _local.index = cached
    return cached


def provide(module: cst.Module, text: Optional[str] = None, positions: Any = None) -> None:
    """What is already known of `module` (the text it was parsed from and that libcst renders;
    node positions computed elsewhere), so that neither is recomputed from the tree."""
    _local.index = _Index(module, positions, text)


def positions(module: cst.Module) -> Any:
    """libcst's PositionProvider for `module`, computed once however many rules and the runner ask."""
    return _index(module).positions


def code(module: cst.Module) -> str:
    """libcst's code for `module` (rendered once, with its positions)."""
    return _index(module).code


def rendering(module: cst.Module) -> tuple[str, list[str]]:
    """libcst's code for `module` and its lines: the text its positions point into."""
    index = _index(module)
    return index.code, index.lines


def span(module: cst.Module, node: cst.CSTNode) -> tuple[int, int, int, int]:
    """1-based line, 1-based column, end line, end column (exclusive) of `node`."""
    where = _index(module).positions[node]
    return where.start.line, where.start.column + 1, where.end.line, where.end.column + 1


def replace(module: cst.Module, node: cst.CSTNode, replacement: str) -> Edit:
    line, column, end_line, end_column = span(module, node)
    return Edit(line, column, end_line, end_column, replacement)


def insert_after(module: cst.Module, node: cst.CSTNode, text: str) -> Edit:
    """An insertion right after `node`, after its own closing parentheses too."""
    closing = getattr(node, "rpar", None)
    _, _, end_line, end_column = span(module, closing[-1] if closing else node)
    return Edit(end_line, end_column, end_line, end_column, text)


def delete_lines(module: cst.Module, statement: cst.SimpleStatementLine) -> Edit:
    """Remove the physical lines of a statement line, its indentation and newline included."""
    line, _, end_line, _ = span(module, statement)
    return Edit(line, 1, end_line + 1, 1, "")


def insert_line_after(module: cst.Module, statement: cst.SimpleStatementLine, text: str) -> Edit:
    """A new line `text`, indented like `statement`, right after it."""
    index = _index(module)
    line, column, end_line, _ = span(module, statement)
    indent = index.lines[line - 1][: column - 1] if line - 1 < len(index.lines) else ""
    newline = module.default_newline
    if end_line >= len(index.lines):
        # The statement is the last line and the file has no final newline.
        end = len(index.lines[end_line - 1]) + 1
        return Edit(end_line, end, end_line, end, f"{newline}{indent}{text}")
    return Edit(end_line + 1, 1, end_line + 1, 1, f"{indent}{text}{newline}")


def parent(module: cst.Module, node: cst.CSTNode) -> Optional[cst.CSTNode]:
    return _index(module).parent(node)


def bare_code(module: cst.Module, node: cst.CSTNode) -> str:
    """The source of `node` without its own parentheses: the text its span covers."""
    if getattr(node, "lpar", None):
        node = node.with_changes(lpar=[], rpar=[])  # type: ignore[attr-defined]
    return module.code_for_node(node)


_ATOMS = (
    cst.Name,
    cst.Attribute,
    cst.Call,
    cst.Subscript,
    cst.Integer,
    cst.Float,
    cst.Imaginary,
    cst.SimpleString,
    cst.ConcatenatedString,
    cst.FormattedString,
    cst.List,
    cst.Tuple,
    cst.Dict,
    cst.Set,
    cst.ListComp,
    cst.SetComp,
    cst.DictComp,
    cst.GeneratorExp,
)


def is_atomic(node: cst.CSTNode) -> bool:
    """An expression that can stand anywhere another expression can (a primary, or parenthesized)."""
    if getattr(node, "lpar", None):
        return True
    return isinstance(node, _ATOMS)


def is_power_operand(module: cst.Module, node: cst.CSTNode) -> bool:
    """True where `node ** 2` written in place of `node` would bind wrongly: `x.attr`, `x[i]`,
    `x(...)`, `x ** k` all bind tighter than (or associate against) the new `**`."""
    if getattr(node, "lpar", None):
        return False  # its own parentheses stay around the replacement
    above = parent(module, node)
    if isinstance(above, cst.Attribute):
        return above.value is node
    if isinstance(above, cst.Subscript):
        return above.value is node
    if isinstance(above, cst.Call):
        return above.func is node
    if isinstance(above, cst.BinaryOperation) and isinstance(above.operator, cst.Power):
        return above.left is node
    if isinstance(above, cst.Await):
        return True
    return False


_TRANSPARENT = (
    cst.Arg,
    cst.Assign,
    cst.AnnAssign,
    cst.AugAssign,
    cst.Return,
    cst.Expr,
    cst.Element,
    cst.DictElement,
    cst.Index,
)


def in_open_context(module: cst.Module, node: cst.CSTNode) -> bool:
    """True where any expression may replace `node` without parentheses (an argument, the value of
    an assignment, a return value, a list element)."""
    if getattr(node, "lpar", None):
        return True
    above = parent(module, node)
    if isinstance(above, (cst.ListComp, cst.SetComp, cst.GeneratorExp)):
        return above.elt is node
    return isinstance(above, _TRANSPARENT)


__all__ = [
    "bare_code",
    "positions",
    "provide",
    "delete_lines",
    "in_open_context",
    "insert_after",
    "insert_line_after",
    "is_atomic",
    "is_power_operand",
    "parent",
    "positions",
    "rendering",
    "replace",
    "span",
]
