"""Every static rule's VALID and INVALID snippets, as the rule module declares them."""

from __future__ import annotations

import pytest
from helpers import expected, found, lint

from reglint.checks import STATIC_RULES

CASES = [
    pytest.param(code, kind, index, source, id=f"{code}-{kind}-{index}")
    for code, rule in sorted(STATIC_RULES.items())
    for kind, sources in (("valid", rule.valid), ("invalid", rule.invalid))
    for index, source in enumerate(sources)
]


def test_every_rule_has_examples() -> None:
    for code, rule in STATIC_RULES.items():
        assert rule.valid, f"{code} has no VALID examples"
        assert rule.invalid, f"{code} has no INVALID examples"


@pytest.mark.parametrize("code,kind,index,source", CASES)
def test_rule_example(code: str, kind: str, index: int, source: str) -> None:
    findings = [f for f in lint(source) if f.code == code]
    if kind == "valid":
        assert found(findings) == set(), f"{code} fired on a VALID example: {[f.message for f in findings]}"
    else:
        want = {(c, line) for c, line in expected(source) if c == code}
        assert want, "an INVALID example must mark its line with `# expect:`"
        assert found(findings) == want
