"""`--format text`: `path:line:col: CODE message`, a short code frame, and a summary line."""

from __future__ import annotations

from typing import Any, Optional, Sequence, TextIO

from reglint.model import Finding, Severity


def _frame(lines: Optional[list[str]], finding: Finding) -> list[str]:
    if not lines or finding.line is None or not (1 <= finding.line <= len(lines)):
        return []
    text = lines[finding.line - 1].rstrip("\r\n").expandtabs(4)
    if len(text) > 160:
        return []
    number = str(finding.line)
    start = max((finding.column or 1) - 1, 0)
    if finding.end_line == finding.line and finding.end_column:
        width = max(finding.end_column - (finding.column or 1), 1)
    else:
        width = max(len(text) - start, 1)
    gutter = " " * len(number)
    return [f"  {number} | {text}", f"  {gutter} | {' ' * start}{'^' * width}"]


def render(
    findings: Sequence[Finding],
    summary: Any,
    out: TextIO,
    *,
    sources: Optional[dict[str, list[str]]] = None,
    show_frames: bool = True,
    **_: object,
) -> None:
    for finding in findings:
        where = finding.path or "<audit>"
        if finding.cell is not None:
            where += f":cell {finding.cell}"
        if finding.line is not None:
            where += f":{finding.line}:{finding.column or 1}"
        if finding.param:
            where += f": {finding.param}"
        out.write(f"{where}: {finding.code} [{finding.severity}] {finding.message}\n")
        if show_frames and sources is not None and finding.path is not None:
            for line in _frame(sources.get(finding.path), finding):
                out.write(line + "\n")
    counts = {s: sum(1 for f in findings if f.severity == s) for s in Severity}
    if findings:
        parts = [f"{counts[s]} {s}{'s' if counts[s] != 1 else ''}" for s in reversed(Severity) if counts[s]]
        fixable = sum(1 for f in findings if f.fix is not None)
        line = f"Found {len(findings)} finding{'s' if len(findings) != 1 else ''} ({', '.join(parts)})"
        line += f" in {summary.files_checked} file{'s' if summary.files_checked != 1 else ''} checked."
        if fixable:
            line += f" {fixable} fixable with --fix or --unsafe-fixes."
        out.write(line + "\n")
    else:
        out.write(f"All checks passed ({summary.files_checked} file{'s' if summary.files_checked != 1 else ''} checked).\n")
    if summary.fixed:
        out.write(f"Fixed {summary.fixed} finding{'s' if summary.fixed != 1 else ''}.\n")
