"""`--format json`: `{"version": 1, "findings": [...], "summary": {...}}`."""

from __future__ import annotations

import json
from typing import Any, Sequence, TextIO

from reglint.model import Finding


def document(findings: Sequence[Finding], summary: Any) -> dict[str, Any]:
    return {
        "version": 1,
        "findings": [f.to_json() for f in findings],
        "summary": summary.to_json(findings),
    }


def render(findings: Sequence[Finding], summary: Any, out: TextIO, **_: object) -> None:
    json.dump(document(findings, summary), out, indent=2)
    out.write("\n")
