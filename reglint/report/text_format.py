"""`--format text`: `path:line:col: CODE message`, a short code frame, and a summary line."""

from __future__ import annotations

from typing import Any, Optional, Sequence, TextIO

from reglint.model import Applicability, Finding, Severity


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


def _fixable(findings: Sequence[Finding], unsafe_fixes: bool) -> str:
    """How many findings `--fix` would fix, and how many more `--unsafe-fixes` would add."""
    safe = sum(1 for f in findings if f.fix is not None and f.fix.applicability is Applicability.SAFE)
    unsafe = sum(1 for f in findings if f.fix is not None and f.fix.applicability is Applicability.UNSAFE)
    if unsafe_fixes:
        return f" {safe + unsafe} fixable with --fix --unsafe-fixes." if safe + unsafe else ""
    if safe and unsafe:
        return f" {safe} fixable with --fix ({unsafe} more with --fix --unsafe-fixes)."
    if safe:
        return f" {safe} fixable with --fix."
    if unsafe:
        return f" {unsafe} fixable with --fix --unsafe-fixes."
    return ""


def render(
    findings: Sequence[Finding],
    summary: Any,
    out: TextIO,
    *,
    sources: Optional[dict[str, list[str]]] = None,
    show_frames: bool = True,
    unsafe_fixes: bool = False,
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
        line = f"Found {len(findings)} finding{'s' if len(findings) != 1 else ''} ({', '.join(parts)})"
        line += f" in {summary.files_checked} file{'s' if summary.files_checked != 1 else ''} checked."
        line += _fixable(findings, unsafe_fixes)
        out.write(line + "\n")
    else:
        out.write(f"All checks passed ({summary.files_checked} file{'s' if summary.files_checked != 1 else ''} checked).\n")
    if summary.fixed:
        out.write(f"Fixed {summary.fixed} finding{'s' if summary.fixed != 1 else ''}.\n")
