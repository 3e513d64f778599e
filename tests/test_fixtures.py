"""Whole training scripts under fixtures/: findings must equal the `# expect:` markers, both ways."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import FIXTURES, all_static_codes, expected, found

from reglint.engine.config import Settings
from reglint.engine.runner import lint_file

SCRIPTS = sorted(p for p in FIXTURES.rglob("*.py") if "audit" not in p.relative_to(FIXTURES).parts)


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fixture(path: Path) -> None:
    result = lint_file(path, Settings(), all_static_codes())
    assert result.internal_error is None, result.internal_error  # a crash finds nothing, silently
    want = expected(path.read_text(encoding="utf-8"))
    got = found(result.findings)
    missing = sorted(want - got)
    unexpected = sorted((c, line, next(f.message for f in result.findings if (f.code, f.line) == (c, line))) for c, line in got - want)
    assert not missing and not unexpected, f"missing: {missing}\nunexpected: {unexpected}"


def test_good_fixtures_have_no_expectations() -> None:
    for path in SCRIPTS:
        if "good" in path.relative_to(FIXTURES).parts:
            assert not expected(path.read_text(encoding="utf-8")), f"{path} is a good fixture with expect markers"
