"""Linting a file through the triage: the file is decided first (reglint/analysis/triage), and
only a file where a finding is possible goes to libcst, as the triage's copy where it pruned one.

`--no-prefilter` turns the triage off; tests/test_prefilter.py and the benchmarks check that
findings are identical with and without it. The soundness argument lives with the triage, in
reglint/analysis/triage/decision.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple, Optional, Sequence

from reglint.analysis.triage.decision import Verdict, decide
from reglint.engine.source import decode
from reglint.model import Finding, Note

if TYPE_CHECKING:
    from reglint.engine.config import Settings
    from reglint.engine.runner import FileResult, Parser


def decode_plain(data: bytes) -> Optional[str]:
    """The text as the runner decodes it; None when decoding fails (the runner reports RL000)."""
    text, _error = decode(data, "")
    return text


class Linted(NamedTuple):
    findings: list[Finding]
    source_lines: Optional[list[str]]
    analyzed: bool  # False: the prefilter showed there was nothing to analyze
    internal_error: Optional[str] = None  # a bug in reglint met on this file (exit code 2)
    dependencies: Optional[dict[str, str]] = None  # project modules read: path -> content digest
    notes: Sequence[Note] = ()  # what the user should know about how the file was read


def lint_source(
    text: str, path: str, settings: "Settings", enabled: frozenset[str], parser: Optional["Parser"] = None
) -> Optional["FileResult"]:
    """The runner's result for decoded Python source, linted through the prefilter (libcst parses
    the pruned copy where there is one); None when the prefilter shows there is nothing to analyze.
    What `reglint check` does with a file, and the language server with an editor's buffer (with
    its incremental `parser`, see runner.lint_text)."""
    decision, _ = decide(text, path, enabled)
    if not decision.analyze:
        return None
    return _lint_decided(text, path, settings, enabled, decision, parser)


def _lint_decided(
    text: str, path: str, settings: "Settings", enabled: frozenset[str], decision: Verdict, parser: Optional["Parser"] = None
) -> "FileResult":
    from reglint.engine.runner import lint_text

    return lint_text(
        text, path, settings, enabled, parse_text=decision.parse_text, parse_tree=decision.tree, parser=parser
    )


def lint_data(
    data: bytes, path: str, settings: "Settings", enabled: frozenset[str], prefilter: bool = True
) -> Linted:
    """The runner's result, or a clean skip.

    Notebooks, undecodable files and anything the prefilter cannot clear go through the runner
    exactly as without the prefilter.
    """
    if prefilter and not path.endswith(".ipynb"):
        text = decode_plain(data)
        if text is not None:
            decision, consulted = decide(text, path, enabled)
            if not decision.analyze:
                return Linted([], None, False, dependencies=consulted)  # holds while they are unchanged
            result = _lint_decided(text, path, settings, enabled, decision)
            return Linted(
                list(result.findings), result.source_lines, True, result.internal_error,
                dependencies=result.dependencies, notes=result.notes,
            )
    from reglint.engine.runner import lint_bytes

    result = lint_bytes(data, path, settings, enabled)
    return Linted(
        list(result.findings), result.source_lines, True, result.internal_error,
        dependencies=result.dependencies, notes=getattr(result, "notes", ()),
    )
