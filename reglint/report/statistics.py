"""`--statistics`: how many findings each rule produced, instead of the findings themselves.

As ruff (and flake8) print it: one line per code, most frequent first, `count<TAB>code<TAB>name`,
with `[*]` before the name when `--fix` would fix that rule's findings (`[ ]` when it would not,
shown only if some rule is fixable). `--format json` gives the same as a list of objects.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Sequence, TextIO

from reglint.model import Finding
from reglint.report.style import PLAIN, Palette
from reglint.report.text_format import fix_applies, summary_lines

FORMATS = ("text", "json")


@dataclass(frozen=True)
class Statistic:
    code: str
    name: str
    count: int
    fixable: bool

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "count": self.count, "fixable": self.fixable}


def statistics(findings: Sequence[Finding], unsafe_fixes: bool = False) -> list[Statistic]:
    """Counts per code, most frequent first (ties by code); fixable when any finding of it is."""
    counts: dict[str, list[Finding]] = {}
    for finding in findings:
        counts.setdefault(finding.code, []).append(finding)
    out = [
        Statistic(code, group[0].name, len(group), any(fix_applies(f.fix, unsafe_fixes) for f in group))
        for code, group in counts.items()
    ]
    out.sort(key=lambda s: (-s.count, s.code))
    return out


def render(
    fmt: str,
    findings: Sequence[Finding],
    summary: Any,
    out: TextIO,
    *,
    unsafe_fixes: bool = False,
    palette: Palette = PLAIN,
    quiet: bool = False,
) -> None:
    rows = statistics(findings, unsafe_fixes)
    if fmt == "json":
        json.dump([row.to_json() for row in rows], out, indent=2)
        out.write("\n")
        return
    count_width = max((len(str(row.count)) for row in rows), default=0)
    code_width = max((len(row.code) for row in rows), default=0)
    any_fixable = any(row.fixable for row in rows)
    for row in rows:
        marker = (f"{palette.fixable()} " if row.fixable else "[ ] ") if any_fixable else ""
        count = palette.bold(str(row.count).rjust(count_width))
        out.write(f"{count}\t{palette.code(row.code.ljust(code_width))}\t{marker}{row.name}\n")
    if not quiet:
        for line in summary_lines(findings, summary, unsafe_fixes, palette):
            out.write(line + "\n")
