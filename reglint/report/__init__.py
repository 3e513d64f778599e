"""Output formats. Each format module has `render(findings, summary, out)`."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Sequence, TextIO

from reglint.model import Finding, Severity

FORMATS = ("text", "json", "sarif", "github")


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
