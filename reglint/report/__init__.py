"""Output formats. Each format module has `render(findings, summary, out)`."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence, TextIO

from reglint.model import Finding, Severity

FORMATS = ("text", "json", "sarif", "github")
STATISTICS_FORMATS = ("text", "json")


@dataclass
class Summary:
    files_checked: int = 0
    files_with_errors: int = 0
    fixed: int = 0
    extra: dict[str, object] = field(default_factory=dict)

    def to_json(self, findings: Sequence[Finding]) -> dict[str, object]:
        by_code: dict[str, int] = {}
        by_severity = {str(s): 0 for s in Severity}
        for finding in findings:
            by_code[finding.code] = by_code.get(finding.code, 0) + 1
            by_severity[str(finding.severity)] += 1
        out: dict[str, object] = {
            "findings": len(findings),
            "files_checked": self.files_checked,
            "parse_errors": by_code.get("RL000", 0),
            "fixed": self.fixed,
            "by_severity": by_severity,
            "by_code": dict(sorted(by_code.items())),
        }
        out.update(self.extra)
        return out


def render(fmt: str, findings: Sequence[Finding], summary: Summary, out: TextIO, **options: object) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    module = importlib.import_module(f"reglint.report.{fmt}_format")
    module.render(findings, summary, out, **options)


class Report:
    """One report of a `check` run in one format, written to a stream or to a file.

    Colour (text only) follows `color` and the stream (see style.py); a file never gets colour.
    `statistics` replaces the findings with counts per rule (statistics.py); `quiet` leaves out
    the summary lines.
    """

    def __init__(self, fmt: str, *, statistics: bool = False, quiet: bool = False, color: str = "auto", **options: Any) -> None:
        self.fmt = fmt
        self.statistics = statistics
        self.quiet = quiet
        self.color = color
        self.options = options

    def write(self, findings: Sequence[Finding], summary: Summary, out: TextIO, *, colored: bool = True) -> None:
        from reglint.report.style import Palette, use_color

        palette = Palette(colored and self.fmt == "text" and use_color(out, self.color))
        if self.statistics:
            from reglint.report import statistics

            unsafe = bool(self.options.get("unsafe_fixes", False))
            statistics.render(self.fmt, findings, summary, out, unsafe_fixes=unsafe, palette=palette, quiet=self.quiet)
            return
        render(self.fmt, findings, summary, out, palette=palette, quiet=self.quiet, **self.options)

    def write_file(self, findings: Sequence[Finding], summary: Summary, path: Path) -> None:
        """Write the report to `path` (its directory made if needed), UTF-8, without colour."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            self.write(findings, summary, handle, colored=False)
