"""Shared static analysis: one pass over a module produces the facts every rule reads."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:  # (importing libcst takes 0.25 s: the prefilter reads this package without it)
    import libcst as cst

    from reglint.analysis.facts import FileFacts


def analyze_module(module: cst.Module, source: Optional[str] = None, file: Optional[Path] = None) -> FileFacts:
    """`source`, the module's text when the caller has it, lets the analysis skip searches for
    things the text cannot contain; `file`, where the module is on disk, lets it read the project
    modules it imports."""
    from reglint.analysis.interpreter import FileAnalyzer
    from reglint.analysis.project import project_for

    project = project_for(file) if file is not None else None
    return FileAnalyzer(module, source, project=project, file=file.resolve() if file is not None else None).run()
