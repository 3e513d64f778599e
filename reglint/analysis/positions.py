"""Where a module's nodes are, resolved once per module and only when something asks.

Positions come from regenerating the module's code: a file without findings never pays it, and
the rules' messages, their fixes and the engine all read the same resolution. The generation
records token counts only; lines and columns are worked out for the nodes asked for, exactly as
libcst's PositionProvider gives them (tests/test_positions.py), at a third of its cost.
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_right
from collections.abc import Iterator, Mapping
from itertools import accumulate
from typing import Any, Optional

import libcst as cst
from libcst.metadata import CodePosition, CodeRange

_local = threading.local()
_KEEP = 8  # the linted module and the project modules its messages point into


def spans(module: cst.Module) -> Any:
    """The PositionProvider mapping of `module` (node -> CodeRange)."""
    cache: list[tuple[cst.Module, Any]] = getattr(_local, "spans", None) or []
    for known, found in cache:
        if known is module:
            return found
    found = compute(module)
    cache.insert(0, (module, found))
    _local.spans = cache[:_KEEP]
    return found


def compute(module: cst.Module) -> Any:
    """The positions of `module`'s nodes, from one code generation that records where each node
    starts and ends as token counts; lines and columns are worked out only for the nodes asked
    for. (libcst's PositionProvider computes both for every node, about five times the cost of
    the code generation itself, and most nodes are never asked for.) libcst's own provider where
    its internals are not the ones this was written against."""
    if not _RECORDING:
        return _libcst_positions(module)
    state = _Recorder(module.default_indent, module.default_newline)
    module._codegen(state)
    _local.rendered = (module, "".join(state.tokens))
    return Spans(state.ranges, state.tokens + state.popped)


def _libcst_positions(module: cst.Module) -> Any:
    from libcst.metadata import MetadataWrapper, PositionProvider

    return MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)


def rendering(module: cst.Module) -> Optional[str]:
    """libcst's code for `module`, when its positions were resolved here (the same code generation
    produces both); None otherwise."""
    found: Optional[tuple[cst.Module, str]] = getattr(_local, "rendered", None)
    return found[1] if found is not None and found[0] is module else None


_NEWLINE = re.compile(r"\r\n?|\n")


class Spans(Mapping[cst.CSTNode, CodeRange]):
    """node -> CodeRange, as libcst's PositionProvider gives them: syntactic positions where the
    node records one, else the span of everything its code generation wrote. A node of another
    tree is a KeyError."""

    def __init__(self, ranges: dict[cst.CSTNode, tuple[int, int]], tokens: list[str]) -> None:
        self._ranges = ranges
        self._offsets = list(accumulate(map(len, tokens), initial=0))
        # Line breaks counted token by token, as libcst counts them ("\r" then "\n" are two).
        starts = [0]
        for offset, token in zip(self._offsets, tokens):
            if "\n" in token or "\r" in token:
                starts.extend(offset + found.end() for found in _NEWLINE.finditer(token))
        self._line_starts = starts
        self._known: dict[cst.CSTNode, CodeRange] = {}

    def __getitem__(self, node: cst.CSTNode) -> CodeRange:
        known = self._known.get(node)
        if known is None:
            start, end = self._ranges[node]
            known = self._known[node] = CodeRange(self._position(start), self._position(end))
        return known

    def __contains__(self, node: object) -> bool:
        return node in self._ranges

    def __iter__(self) -> Iterator[cst.CSTNode]:
        return iter(self._ranges)

    def __len__(self) -> int:
        return len(self._ranges)

    def _position(self, token_count: int) -> CodePosition:
        offset = self._offsets[token_count]
        line = bisect_right(self._line_starts, offset) - 1
        return CodePosition(line + 1, offset - self._line_starts[line])


class _Closer:
    """Ends the innermost position a `_Recorder` opened: one object for every `with`, cheaper
    than a generator-based context manager per node."""

    __slots__ = ("_recorder",)

    def __init__(self, recorder: "_Recorder") -> None:
        self._recorder = recorder

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        recorder = self._recorder
        node, start_node, end_node, start = recorder.open.pop()
        ranges = recorder.ranges
        end = len(recorder.tokens) + len(recorder.popped)
        if start_node is not None:
            start = ranges[start_node][0]
        if end_node is not None:
            end = ranges[end_node][1]
        ranges[node] = (start, end)


try:
    from libcst._nodes.internal import CodegenState

    _RECORDING = all(
        callable(getattr(CodegenState, name, None))
        for name in ("record_syntactic_position", "before_codegen", "after_codegen", "pop_trailing_newline", "add_token")
    )
except ImportError:  # pragma: no cover - a libcst without this internal module
    CodegenState = object  # type: ignore[misc,assignment]
    _RECORDING = False


class _Recorder(CodegenState):  # type: ignore[misc,valid-type]
    """A code generation that notes, for each node, how many tokens were written when its
    position starts and ends (a node's syntactic position where it records one, with the
    start and end nodes it names; else everything it wrote, as libcst's provider falls back)."""

    def __init__(self, indent: str, newline: str) -> None:
        super().__init__(default_indent=indent, default_newline=newline)
        self.ranges: dict[cst.CSTNode, tuple[int, int]] = {}
        self.open: list[tuple[cst.CSTNode, Optional[cst.CSTNode], Optional[cst.CSTNode], int]] = []
        self.popped: list[str] = []
        self._starts: list[int] = []
        self._closer = _Closer(self)

    def before_codegen(self, node: cst.CSTNode) -> None:
        self._starts.append(len(self.tokens))

    def after_codegen(self, node: cst.CSTNode) -> None:
        start = self._starts.pop()
        if node not in self.ranges:
            self.ranges[node] = (start, len(self.tokens) + len(self.popped))

    def pop_trailing_newline(self) -> None:
        # The rendering loses the file's last newline; positions still count it, as libcst's do.
        if self.tokens:
            self.popped.append(self.tokens.pop())

    def record_syntactic_position(  # type: ignore[override]
        self,
        node: cst.CSTNode,
        *,
        start_node: Optional[cst.CSTNode] = None,
        end_node: Optional[cst.CSTNode] = None,
    ) -> _Closer:
        self.open.append((node, start_node, end_node, len(self.tokens)))
        return self._closer


def remember(module: cst.Module, found: Any) -> None:
    """Positions computed elsewhere (an incremental parse), for the module they belong to."""
    cache: list[tuple[cst.Module, Any]] = getattr(_local, "spans", None) or []
    cache.insert(0, (module, found))
    _local.spans = cache[:_KEEP]


def holds(module: cst.Module, node: cst.CSTNode) -> bool:
    """Is `node` one of `module`'s own nodes?"""
    return line_of(module, node) is not None


def line_of(module: cst.Module, node: cst.CSTNode) -> Optional[int]:
    try:
        span = spans(module)[node]
    except KeyError:
        return None
    return span.start.line
