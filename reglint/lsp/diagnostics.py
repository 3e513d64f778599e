"""Findings as LSP diagnostics.

Each diagnostic carries the rule code, a severity (error, warning, information), the finding's
range in the document's position encoding, `source: "reglint"`, and `codeDescription.href`: the
rule's page shipped with reglint (a `file:` URI, so it opens offline and matches the installed
version). RL900 (a suppression that matches nothing) is tagged unnecessary, which editors draw
faded. `data` holds the finding's index in the lint it came from, so that code actions and hover
find the finding itself again, not a look-alike.
"""

from __future__ import annotations

import functools
from typing import Optional

from lsprotocol import types

from reglint.lsp.text import DocumentText
from reglint.model import Finding, Severity
from reglint.registry import UNUSED_SUPPRESSION

SOURCE = "reglint"

SEVERITIES = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
    Severity.INFO: types.DiagnosticSeverity.Information,
}


@functools.cache
def rule_page_uri(code: str) -> Optional[str]:
    from reglint.rulepages import find_page

    page = find_page(code)
    return page.as_uri() if page is not None else None


def lsp_range(text: DocumentText, line: int, column: int, end_line: int, end_column: int) -> types.Range:
    start = text.to_lsp(line, column)
    end = max(text.to_lsp(end_line, end_column), start)
    return types.Range(types.Position(*start), types.Position(*end))


def finding_range(text: DocumentText, finding: Finding) -> types.Range:
    line = finding.line or 1
    column = finding.column or 1
    end_line = finding.end_line if finding.end_line is not None else line
    end_column = finding.end_column if finding.end_column is not None else column
    return lsp_range(text, line, column, end_line, end_column)


def to_diagnostic(text: DocumentText, finding: Finding, index: int) -> types.Diagnostic:
    href = rule_page_uri(finding.code)
    return types.Diagnostic(
        range=finding_range(text, finding),
        message=finding.message,
        severity=SEVERITIES.get(finding.severity, types.DiagnosticSeverity.Warning),
        code=finding.code,
        code_description=types.CodeDescription(href=href) if href is not None else None,
        source=SOURCE,
        tags=[types.DiagnosticTag.Unnecessary] if finding.code == UNUSED_SUPPRESSION.code else None,
        data={"index": index},
    )


def problem_diagnostic(message: str) -> types.Diagnostic:
    """Why a document's findings are missing or incomplete (a configuration error, an internal
    error), shown on its first line rather than leaving the user to wonder at the silence."""
    return types.Diagnostic(
        range=types.Range(types.Position(0, 0), types.Position(0, 0)),
        message=f"reglint: {message}",
        severity=types.DiagnosticSeverity.Error,
        source=SOURCE,
    )
