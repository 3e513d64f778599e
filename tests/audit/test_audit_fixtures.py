"""Every fixture in fixtures/audit/ gets exactly the findings its `# audit-expect:` lines state.

Bad fixtures name the (code, parameter) pairs they must trigger; good fixtures have no such line
and must come out clean. A missing finding and an unexpected one both fail. The catalog test
checks that every code the audit reports has a fixture that triggers it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from audit_helpers import FIXTURES, audit_file, expected_pairs, found_pairs

torch = pytest.importorskip("torch")

FILES = sorted(FIXTURES.glob("*.py"))
AUDIT_CODES = ("RL101", "RL102", "RL103", "RL201", "RL202", "RL203", "RL301", "RL302", "RL303", "RL304", "RL305")


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_fixture_findings_match_expectations(path: Path) -> None:
    report = audit_file(path)
    expected = expected_pairs(path)
    found = found_pairs(report)
    assert found == expected, (
        f"{path.name}: missing {sorted(expected - found)}, unexpected {sorted(found - expected)}\n"
        + "\n".join(f"  {f.code} {f.param}: {f.message}" for f in report.findings)
    )


def test_fixture_names_say_good_or_bad() -> None:
    for path in FILES:
        pairs = expected_pairs(path)
        if path.name.startswith("good_"):
            assert not pairs, f"{path.name} is a good fixture but expects findings"
        else:
            code = path.name[:5].upper()
            assert code in {c for c, _ in pairs}, f"{path.name} does not expect its own code {code}"


@pytest.mark.parametrize("code", AUDIT_CODES)
def test_every_audit_code_has_a_triggering_fixture(code: str) -> None:
    assert any(code in {c for c, _ in expected_pairs(p)} for p in FILES), f"no fixture triggers {code}"


def test_good_fixtures_cover_penalty_and_optimizer() -> None:
    good = [p for p in FILES if p.name.startswith("good_")]
    reports = [audit_file(p) for p in good]
    assert any(r.penalty is not None for r in reports)
    assert any(r.optimizer is not None and r.optimizer.class_name == "AdamW" for r in reports)
    assert all(not r.findings for r in reports)
