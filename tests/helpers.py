"""Shared test helpers: lint a snippet, read `# expect: CODE` markers."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from reglint.engine.config import Settings
from reglint.engine.runner import lint_text
from reglint.engine.session import _enabled
from reglint.model import Finding

EXPECT = re.compile(r"#\s*expect:\s*((?:RL\d{3}[\s,]*)+)")
ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


def all_static_codes() -> frozenset[str]:
    return _enabled(Settings(select=("ALL",)))


def lint(source: str, path: str = "snippet.py", codes: frozenset[str] | None = None) -> list[Finding]:
    enabled = codes if codes is not None else all_static_codes()
    return lint_text(textwrap.dedent(source), path, Settings(), enabled).findings


def expected(source: str) -> set[tuple[str, int]]:
    out = set()
    for number, line in enumerate(textwrap.dedent(source).splitlines(), start=1):
        match = EXPECT.search(line)
        if match:
            for code in re.findall(r"RL\d{3}", match.group(1)):
                out.add((code, number))
    return out


def found(findings: list[Finding]) -> set[tuple[str, int]]:
    return {(f.code, f.line or 0) for f in findings}
