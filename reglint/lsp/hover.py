"""Hover: over a finding, the finding itself and its rule's page (the text `reglint rule CODE`
prints: what the rule catches, why it is wrong with the math, an example and the fix)."""

from __future__ import annotations

import functools
from typing import Optional

from reglint.lsp.documents import DocumentLint
from reglint.model import Finding


@functools.cache
def rule_page(code: str) -> Optional[str]:
    from reglint.rulepages import find_page

    page = find_page(code)
    return page.read_text(encoding="utf-8") if page is not None else None


def findings_at(lint: DocumentLint, line: int, column: int) -> list[Finding]:
    """The findings whose span holds the (1-based line, 1-based column) position; a finding that
    reports a point (no width) holds the rest of its line."""
    found = []
    for finding in lint.findings:
        start = (finding.line or 1, finding.column or 1)
        end = (finding.end_line or start[0], finding.end_column or start[1])
        if end <= start:
            end = (start[0], 1 << 30)
        if start <= (line, column) <= end:
            found.append(finding)
    return found


def hover_markdown(findings: list[Finding]) -> Optional[str]:
    if not findings:
        return None
    parts = []
    pages: list[str] = []
    for finding in findings:
        head = f"**{finding.code}** `{finding.name}` ({finding.severity}): {finding.message}"
        if finding.fix is not None:
            head += f"\n\nFix ({finding.fix.applicability.value}): {finding.fix.description}"
        parts.append(head)
        page = rule_page(finding.code)
        if page is not None and page not in pages:
            pages.append(page)
    return "\n\n".join(parts) + "".join(f"\n\n---\n\n{page}" for page in pages)
