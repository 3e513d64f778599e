"""Where a module's nodes are, resolved once per module and only when something asks.

libcst computes positions by regenerating the module's whole code, which costs about as much as
parsing it: a file without findings never pays it, and the rules' messages, their fixes and the
engine all read the same resolution.
"""

from __future__ import annotations

import threading
from typing import Any, Optional

import libcst as cst

_local = threading.local()
_KEEP = 8  # the linted module and the project modules its messages point into


def spans(module: cst.Module) -> Any:
    """The PositionProvider mapping of `module` (node -> CodeRange)."""
    cache: list[tuple[cst.Module, Any]] = getattr(_local, "spans", None) or []
    for known, found in cache:
        if known is module:
            return found
    from libcst.metadata import MetadataWrapper, PositionProvider

    found = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    cache.insert(0, (module, found))
    _local.spans = cache[:_KEEP]
    return found


def remember(module: cst.Module, found: Any) -> None:
    """Positions computed elsewhere (an incremental parse), for the module they belong to."""
    cache: list[tuple[cst.Module, Any]] = getattr(_local, "spans", None) or []
    cache.insert(0, (module, found))
    _local.spans = cache[:_KEEP]


def line_of(module: cst.Module, node: cst.CSTNode) -> Optional[int]:
    try:
        span = spans(module)[node]
    except KeyError:
        return None
    return span.start.line
