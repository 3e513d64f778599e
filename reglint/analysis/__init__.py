"""Shared static analysis: one pass over a module produces the facts every rule reads."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:  # (importing libcst takes 0.25 s: the prefilter reads this package without it)
    import libcst as cst

    from reglint.analysis.facts import FileFacts


def analyze_module(module: cst.Module, source: Optional[str] = None) -> FileFacts:
    """`source`, the module's text when the caller has it, lets the analysis skip searches for
    things the text cannot contain."""
    from reglint.analysis.interpreter import FileAnalyzer

    return FileAnalyzer(module, source).run()
