"""`--format github` and `--format sarif` for an audit: one result per group of findings.

A group is the parameters that got the same finding with the same measurement (text_report.py's
`finding_groups`). Its result reads `LABEL (N parameters): message`, LABEL being the group's honest
name pattern; a SARIF result also lists every member as a logical location and under
`properties.params`, so nothing is lost against the per-parameter JSON. A group of one parameter,
and a finding about the penalty as a whole, stay as they are. The formats' own renderers write
the results (reglint/report/ is not changed for the audit).
"""

from __future__ import annotations

import json
from typing import Any, Optional, TextIO

from reglint.audit.text_report import finding_groups
from reglint.audit.verdicts import Verdict
from reglint.model import Finding


def grouped_findings(verdicts: list[Verdict], names: list[str]) -> list[tuple[Finding, list[str]]]:
    """One finding per group, with the names of its parameters."""
    out: list[tuple[Finding, list[str]]] = []
    for g in finding_groups(verdicts, names):
        first = g.items[0].finding
        if g.count == 1 or g.label is None:
            out.extend((v.finding, [v.finding.param] if v.finding.param else []) for v in g.items)
            continue
        data = {"count": g.count, "params": g.names, **dict(first.data)}
        merged = Finding(code=first.code, name=first.name, severity=first.severity,
                         message=f"{g.label} ({g.count} parameters): {first.message}", data=data)
        out.append((merged, g.names))
    return out


def render_github(verdicts: list[Verdict], names: list[str], summary: Any, out: TextIO) -> None:
    from reglint.report.github_format import render

    render([f for f, _ in grouped_findings(verdicts, names)], summary, out)


def render_sarif(verdicts: list[Verdict], names: list[str], out: TextIO, artifact: Optional[str]) -> None:
    from reglint.report.sarif_format import sarif_log

    groups = grouped_findings(verdicts, names)
    log = sarif_log([f for f, _ in groups], artifact=artifact)
    for result, (finding, members) in zip(log["runs"][0]["results"], groups):
        if finding.param is not None or not members:
            continue
        locations = result.setdefault("locations", [{}])
        locations[0]["logicalLocations"] = [{"name": n, "fullyQualifiedName": n, "kind": "member"} for n in members]
        result.setdefault("properties", {})["params"] = members
    json.dump(log, out, indent=2, ensure_ascii=False)
    out.write("\n")
