"""Shared helpers for the audit tests: audit a fixture in-process, read `# audit-expect:` lines.

A fixture states what the audit must report on comment lines such as

    # audit-expect: RL101 fc1.bias, norm.weight
    # audit-expect: RL304 <penalty>

(`<penalty>` for a finding about the penalty as a whole, whose `param` is null). The tests compare
these (code, parameter) pairs with the audit's findings both ways.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures" / "audit"
EXPECT_LINE = re.compile(r"^#\s*audit-expect:\s*(RL\d{3})\s+(.*)$")
WHOLE = "<penalty>"


def expected_pairs(path: Path) -> set[tuple[str, str]]:
    pairs = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        match = EXPECT_LINE.match(line.strip())
        if match:
            for name in match.group(2).split(","):
                pairs.add((match.group(1), name.strip()))
    return pairs


def found_pairs(report: Any) -> set[tuple[str, str]]:
    return {(f.code, f.param or WHOLE) for f in report.findings}


def audit_file(path: Path, *, expect: Optional[str] = None, **options: Any) -> Any:
    """Import a fixture and audit it as `reglint audit` does (same discovery), in this process."""
    from reglint.audit.discovery import discover
    from reglint.audit.runner import run_audit
    from reglint.audit.target import load, parse_target

    module = load(parse_target(str(path)))
    setup = discover(module)
    options.setdefault("timeout", 30)
    return run_audit(setup.model, setup.penalty, setup.optimizer, expect=expect if expect is not None else setup.expect,
                     target=str(path), model_label=setup.model_label,
                     penalty_label=setup.penalty_label or "penalty(model)", notes=setup.notes, **options)


def finding(report: Any, code: str, param: Optional[str]) -> Any:
    matches = [f for f in report.findings if f.code == code and f.param == param]
    assert len(matches) == 1, f"expected one {code} on {param}, got {[(f.code, f.param) for f in report.findings]}"
    return matches[0]
