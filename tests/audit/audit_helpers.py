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


# A matcher for group labels, written from the grammar in reglint/audit/grouping.py's docstring
# (not with the module's own code), so that tests can read labels back independently.

def _split_outside_braces(text: str, sep: str) -> list[str]:
    """Split on `sep` where it is neither inside braces nor inside a quoted name."""
    parts, depth, quoted, current = [], 0, False, ""
    k = 0
    while k < len(text):
        if text.startswith(sep, k) and depth == 0 and not quoted:
            parts.append(current)
            current = ""
            k += len(sep)
            continue
        ch = text[k]
        quoted ^= ch == "'"
        if not quoted:
            depth += ch == "{"
            depth -= ch == "}"
        current += ch
        k += 1
    parts.append(current)
    return parts


def _segment_regex(segment: str) -> str:
    if segment.endswith("*"):
        return re.escape(segment[:-1]) + r"[^.]*"
    match = re.fullmatch(r"([^{]*)\{([^}]*)\}(.*)", segment)
    if not match:
        return re.escape(segment)
    prefix, items, suffix = match.groups()
    alternatives: list[str] = []
    for item in items.split(","):
        bounds = re.fullmatch(r"(\d+)\.\.(\d+)", item)
        if bounds:
            alternatives.extend(str(n) for n in range(int(bounds.group(1)), int(bounds.group(2)) + 1))
        else:
            alternatives.append(item)
    return re.escape(prefix) + "(?:" + "|".join(re.escape(a) for a in alternatives) + ")" + re.escape(suffix)


def label_matches(label: str, name: str) -> bool:
    """Does `label` stand for `name`? `every parameter` stands for every name of the model."""
    if label == "every parameter":
        return True
    for pattern in _split_outside_braces(label, ", "):
        if len(pattern) >= 2 and pattern[0] == pattern[-1] == "'":
            if pattern[1:-1] == name:
                return True
            continue
        regex = r"\.".join(_segment_regex(s) for s in _split_outside_braces(pattern, "."))
        if re.fullmatch(regex, name):
            return True
    return False
