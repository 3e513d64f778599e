"""`--format github`: GitHub Actions workflow commands that become annotations on the diff.

One line per finding:

    ::warning file=train.py,line=18,col=23,endLine=18,endColumn=43,title=RL102 unsquared-l2-norm::message

`error` findings become `::error`, `warning` ones `::warning`, `info` ones `::notice`. Columns are
given only when the finding starts and ends on the same line (GitHub ignores them otherwise).
Property values escape `%`, CR, LF, `:` and `,`; the message escapes `%`, CR and LF, as the
Actions runner expects. Paths are made relative to `$GITHUB_WORKSPACE` (or the working directory)
with forward slashes. A notebook finding points at the `.ipynb` file line that holds the source
line, and its title names the cell. Audit findings (no file) name the parameter in the message.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional, TextIO

from reglint.model import Finding, Severity

COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(text: str) -> str:
    """Escape a workflow command's message."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow command's property value."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render(findings: Sequence[Finding], summary: Any, out: TextIO, *, root: Optional[Path] = None, **_: object) -> None:
    """Write one annotation command per finding."""
    base = root or _workspace()
    for finding in findings:
        out.write(annotation(finding, base) + "\n")


def error_command(message: str) -> str:
    """The workflow command for an error that stopped reglint (usage, configuration): an `::error`
    annotation titled `reglint` that carries reglint's own message."""
    return f"::error title=reglint::{escape_data(message)}"


def _workspace() -> Path:
    workspace = os.environ.get("GITHUB_WORKSPACE")
    try:
        return Path(workspace).resolve() if workspace else Path.cwd().resolve()
    except OSError:
        return Path.cwd()


def annotation(finding: Finding, root: Path) -> str:
    """The workflow command for one finding."""
    properties: list[tuple[str, object]] = []
    title = f"{finding.code} {finding.name}"
    message = finding.message
    if finding.path and finding.path != "-":
        properties.append(("file", workspace_path(finding.path, root)))
        properties.extend(_lines(finding))
    if finding.cell is not None:
        title += f" (cell {finding.cell})"
        message = f"cell {finding.cell}, line {finding.line}, column {finding.column}: {message}"
    if finding.param is not None:
        message = f"{finding.param}: {message}"
    properties.append(("title", title))
    rendered = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties)
    return f"::{COMMANDS[finding.severity]} {rendered}::{escape_data(message)}"


def _lines(finding: Finding) -> list[tuple[str, object]]:
    if finding.cell is not None:
        start, end = finding.data.get("file_line"), finding.data.get("file_end_line")
        if not isinstance(start, int):
            return []
        return [("line", start), ("endLine", end if isinstance(end, int) and end >= start else start)]
    if finding.line is None:
        return []
    end_line = finding.end_line if finding.end_line and finding.end_line >= finding.line else finding.line
    if end_line != finding.line or finding.column is None:
        return [("line", finding.line), ("endLine", end_line)]
    out: list[tuple[str, object]] = [("line", finding.line), ("col", finding.column), ("endLine", end_line)]
    if finding.end_column is not None and finding.end_column >= finding.column:
        out.append(("endColumn", finding.end_column))
    return out


def workspace_path(path: str, root: Path) -> str:
    """`path` relative to `root` with forward slashes, as GitHub matches it against the repo."""
    candidate = Path(path)
    if not candidate.is_absolute():
        candidate = Path.cwd() / candidate
    try:
        return candidate.resolve().relative_to(root).as_posix()
    except (ValueError, OSError):
        return path.replace("\\", "/")
