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
    found = _resolve(module)
    cache.insert(0, (module, found))
    _local.spans = cache[:_KEEP]
    return found


def _resolve(module: cst.Module) -> Any:
    """The provider run on the module directly. (Through a MetadataWrapper, libcst also walks
    the whole tree for the batchable providers it was asked for, even when there are none: as
    long as the code generation itself.)"""
    provider_class = _provider()
    provider = provider_class()
    generate = getattr(provider, "_gen_impl", None)
    if provider_class.METADATA_DEPENDENCIES or generate is None or not isinstance(getattr(provider, "_computed", None), dict):
        from libcst.metadata import MetadataWrapper

        return MetadataWrapper(module, unsafe_skip_copy=True).resolve(provider_class)
    generate(module)
    return provider._computed


def rendering(module: cst.Module) -> Optional[str]:
    """libcst's code for `module`, when its positions were resolved here (the same code generation
    produces both); None otherwise."""
    found: Optional[tuple[cst.Module, str]] = getattr(_local, "rendered", None)
    return found[1] if found is not None and found[0] is module else None


_PROVIDER: Any = None


def _provider() -> Any:
    """libcst's PositionProvider, extended to keep the code its code generation writes, which
    `module.code` would generate a second time; libcst's own provider where its internals are
    not the ones this was written against."""
    global _PROVIDER
    if _PROVIDER is not None:
        return _PROVIDER
    from libcst.metadata import PositionProvider

    try:
        from libcst.metadata.position_provider import PositionProvidingCodegenState
    except ImportError:
        _PROVIDER = PositionProvider
        return _PROVIDER

    class RenderingPositionProvider(PositionProvider):  # type: ignore[misc,valid-type]
        def _gen_impl(self, module: cst.Module) -> None:
            state = PositionProvidingCodegenState(
                default_indent=module.default_indent, default_newline=module.default_newline, provider=self
            )
            module._codegen(state)
            _local.rendered = (module, "".join(state.tokens))

    _PROVIDER = RenderingPositionProvider
    return _PROVIDER


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
