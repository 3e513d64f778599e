"""Shared static analysis: one pass over a module produces the facts every rule reads."""

from __future__ import annotations

import libcst as cst

from reglint.analysis.facts import FileFacts


def analyze_module(module: cst.Module) -> FileFacts:
    from reglint.analysis.interpreter import FileAnalyzer

    return FileAnalyzer(module).run()
