"""`--format text`: `path:line:col: CODE message`, a short code frame, and a summary line."""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence, TextIO, Union

from reglint.model import Applicability, Finding, Fix, Severity
from reglint.report.style import PLAIN, Palette


def fix_applies(fix: Optional[Fix], unsafe_fixes: bool) -> bool:
    """Whether `--fix` (with `--unsafe-fixes` when given) would apply `fix`: the `[*]` marker."""
    return fix is not None and (fix.applicability is Applicability.SAFE or unsafe_fixes)


def _frame(source: Union[list[str], Mapping[int, list[str]], None], finding: Finding, palette: Palette = PLAIN) -> list[str]:
    """The code frame under a finding: its line, and carets under its span. `source` is the file's
    lines, or for a notebook each cell's lines by cell index (the finding's line is in its cell)."""
    lines = source.get(finding.cell) if isinstance(source, Mapping) and finding.cell is not None else source
    if not isinstance(lines, list) or finding.line is None or not (1 <= finding.line <= len(lines)):
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
    return [
        f"  {palette.gutter(number + ' |')} {text}",
        f"  {palette.gutter(gutter + ' |')} {' ' * start}{palette.marker('^' * width)}",
    ]


def _fixable(findings: Sequence[Finding], unsafe_fixes: bool) -> str:
    """How many findings `--fix` would fix, and how many more `--unsafe-fixes` would add."""
    safe = sum(1 for f in findings if f.fix is not None and f.fix.applicability is Applicability.SAFE)
    unsafe = sum(1 for f in findings if f.fix is not None and f.fix.applicability is Applicability.UNSAFE)
    if unsafe_fixes:
        return f"{safe + unsafe} fixable with --fix --unsafe-fixes." if safe + unsafe else ""
    if safe and unsafe:
        return f"{safe} fixable with --fix ({unsafe} more with --fix --unsafe-fixes)."
    if safe:
        return f"{safe} fixable with --fix."
    if unsafe:
        return f"{unsafe} fixable with --fix --unsafe-fixes."
    return ""


def location(finding: Finding, palette: Palette = PLAIN) -> str:
    """`path[:cell N]:line:col` (or `<audit>: param`), as the text format starts each finding."""
    colon = palette.separator(":")
    where = palette.path(finding.path or "<audit>")
    if finding.cell is not None:
        where += f"{colon}cell {finding.cell}"
    if finding.line is not None:
        where += f"{colon}{finding.line}{colon}{finding.column or 1}"
    if finding.param:
        where += f"{colon} {finding.param}"
    return where


def finding_line(finding: Finding, palette: Palette = PLAIN, unsafe_fixes: bool = False) -> str:
    """`path:line:col: CODE [*] [severity] message`; `[*]` marks a finding `--fix` would fix."""
    marker = f" {palette.fixable()}" if fix_applies(finding.fix, unsafe_fixes) else ""
    severity = palette.severity(finding.severity, f"[{finding.severity}]")
    return f"{location(finding, palette)}{palette.separator(':')} {palette.code(finding.code)}{marker} {severity} {finding.message}"


def summary_lines(findings: Sequence[Finding], summary: Any, unsafe_fixes: bool = False, palette: Palette = PLAIN) -> list[str]:
    """The closing lines, each short enough for a narrow terminal: what was found in how many
    files, how many `--fix` would fix (`[*]`), which command explains a rule, what was fixed."""
    out = []
    counts = {s: sum(1 for f in findings if f.severity == s) for s in Severity}
    files = f"{summary.files_checked} file{'s' if summary.files_checked != 1 else ''}"
    if findings:
        parts = [f"{counts[s]} {s}{'s' if counts[s] != 1 else ''}" for s in reversed(Severity) if counts[s]]
        line = f"Found {len(findings)} finding{'s' if len(findings) != 1 else ''} ({', '.join(parts)})"
        out.append(f"{line} in {files} checked.")
        fixable = _fixable(findings, unsafe_fixes)
        if fixable:
            out.append(f"{palette.fixable()} {fixable}")
        out.append(f"Why a rule matters, with the math, and how to fix it: `reglint rule {findings[0].code}`.")
    else:
        out.append(f"All checks passed ({files} checked).")
    if summary.fixed:
        out.append(f"Fixed {summary.fixed} finding{'s' if summary.fixed != 1 else ''}.")
    return out


def render(
    findings: Sequence[Finding],
    summary: Any,
    out: TextIO,
    *,
    sources: Optional[Mapping[str, Union[list[str], Mapping[int, list[str]]]]] = None,
    show_frames: bool = True,
    unsafe_fixes: bool = False,
    palette: Palette = PLAIN,
    quiet: bool = False,
    **_: object,
) -> None:
    """Each finding with its code frame, then (unless `quiet`) the summary lines."""
    for finding in findings:
        out.write(finding_line(finding, palette, unsafe_fixes) + "\n")
        if show_frames and sources is not None and finding.path is not None:
            for line in _frame(sources.get(finding.path), finding, palette):
                out.write(line + "\n")
    if not quiet:
        for line in summary_lines(findings, summary, unsafe_fixes, palette):
            out.write(line + "\n")
