"""The rule pages in rules/ and the rule registry agree, and `reglint rule` prints them.

Every registered code has a page rules/<CODE>.md and every page documents a registered code.
Each page starts with `# CODE: name` and `Severity: <severity> · Fix: <none|safe|unsafe>`, matching
the registry, and has the four sections of a rule page in order. The same text is printed by
`reglint rule`, used as SARIF help text and linked from the README, so it is checked here.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import all_static_codes, lint

from reglint.cli import main
from reglint.registry import all_rules

RULES_DIR = Path(__file__).resolve().parent.parent / "rules"
HEADINGS = ("## What it does", "## Why is this bad?", "## Example", "## Use instead")
TITLE = re.compile(r"^# (RL\d{3}): ([a-z0-9]+(?:-[a-z0-9]+)*)$")
SEVERITY = re.compile(r"^Severity: (error|warning|info) · Fix: (none|safe|unsafe)(?: \(.+\))?$")
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```$", re.MULTILINE | re.DOTALL)

REGISTERED = all_rules()
PAGES = sorted(path.stem for path in RULES_DIR.glob("*.md"))


def _page(code: str) -> str:
    return (RULES_DIR / f"{code}.md").read_text(encoding="utf-8")


def test_rules_directory_exists() -> None:
    assert RULES_DIR.is_dir(), f"{RULES_DIR} is missing"
    assert PAGES, "rules/ holds no pages"


def test_every_registered_rule_has_a_page() -> None:
    missing = sorted(code for code in REGISTERED if code not in PAGES)
    assert not missing, f"registered rules without a page in rules/: {missing}"


def test_every_page_documents_a_registered_rule() -> None:
    unknown = sorted(code for code in PAGES if code not in REGISTERED)
    assert not unknown, f"pages in rules/ for codes that are not registered: {unknown}"


@pytest.mark.parametrize("code", PAGES)
def test_page_header_matches_registry(code: str) -> None:
    lines = _page(code).splitlines()
    assert len(lines) >= 3, f"{code}.md is too short"
    title = TITLE.match(lines[0])
    assert title, f"{code}.md: first line must be '# {code}: name', got {lines[0]!r}"
    assert title.group(1) == code, f"{code}.md: title names {title.group(1)}"
    assert lines[1] == "", f"{code}.md: a blank line must follow the title"
    severity = SEVERITY.match(lines[2])
    assert severity, (
        f"{code}.md: third line must be 'Severity: <level> · Fix: <none|safe|unsafe>', got {lines[2]!r}"
    )
    info = REGISTERED.get(code)
    assert info is not None, (
        f"{code} is not registered (see test_every_page_documents_a_registered_rule)"
    )
    assert title.group(2) == info.name, (
        f"{code}.md: title name {title.group(2)!r}, registry {info.name!r}"
    )
    assert severity.group(1) == str(info.severity), (
        f"{code}.md: severity {severity.group(1)!r}, registry {str(info.severity)!r}"
    )
    registered_fix = info.fix.value if info.fix is not None else "none"
    assert severity.group(2) == registered_fix, (
        f"{code}.md: fix {severity.group(2)!r}, registry {registered_fix!r}"
    )


@pytest.mark.parametrize("code", PAGES)
def test_page_has_the_four_sections_in_order(code: str) -> None:
    lines = _page(code).splitlines()
    positions = []
    for heading in HEADINGS:
        count = lines.count(heading)
        assert count == 1, f"{code}.md: heading {heading!r} appears {count} times, expected once"
        positions.append(lines.index(heading))
    assert positions == sorted(positions), f"{code}.md: sections must come in the order {HEADINGS}"
    for heading, start in zip(HEADINGS, positions):
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines)
        )
        body = [line for line in lines[start + 1 : end] if line.strip()]
        assert body, f"{code}.md: section {heading!r} is empty"


@pytest.mark.parametrize("code", PAGES)
def test_page_python_blocks_parse(code: str) -> None:
    # Examples are meant to be copied: every ```python block must at least be valid Python.
    # (A deliberately broken example, as in RL000, is fenced as ```text.)
    for block in PYTHON_BLOCK.findall(_page(code)):
        try:
            ast.parse(block)
        except SyntaxError as exc:  # pragma: no cover - the message is the point
            pytest.fail(
                f"{code}.md: python block does not parse ({exc.msg}, line {exc.lineno}):\n{block}"
            )


@pytest.mark.parametrize("code", PAGES)
def test_page_is_plain_text(code: str) -> None:
    # Printed in a terminal and used as SARIF help text: no tabs, no HTML, ends with a newline.
    text = _page(code)
    assert text.endswith("\n") and not text.endswith("\n\n"), (
        f"{code}.md must end with exactly one newline"
    )
    assert "\t" not in text, f"{code}.md contains a tab"
    assert not re.search(
        r"</?[a-zA-Z][^>]*>", text.replace("<<<<<<<", "").replace(">>>>>>>", "")
    ), f"{code}.md contains HTML"


def _section(text: str, heading: str) -> str:
    start = text.index(heading + "\n") + len(heading) + 1
    end = text.find("\n## ", start)
    return text[start:] if end < 0 else text[start:end]


STATIC_PAGES = [code for code in PAGES if code in all_static_codes()]


@pytest.mark.parametrize("code", STATIC_PAGES)
def test_page_examples_agree_with_the_rule(code: str) -> None:
    # The bad example must trigger the page's own rule (others may fire too); the fixed one must
    # be clean of every rule, since readers copy it.
    text = _page(code)
    for block in PYTHON_BLOCK.findall(_section(text, "## Example")):
        codes = {f.code for f in lint(block)}
        assert code in codes, (
            f"{code}.md: the Example does not trigger {code} (found {sorted(codes)}):\n{block}"
        )
    for block in PYTHON_BLOCK.findall(_section(text, "## Use instead")):
        findings = [f"{f.code} line {f.line}: {f.message}" for f in lint(block)]
        assert not findings, f"{code}.md: the 'Use instead' code has findings: {findings}\n{block}"


def test_rule_command_prints_the_page() -> None:
    result = CliRunner().invoke(main, ["rule", "RL102"])
    assert result.exit_code == 0, result.output
    assert result.stdout == _page("RL102")


def test_rule_command_accepts_lower_case_and_names() -> None:
    page = _page("RL102")
    by_code = CliRunner().invoke(main, ["rule", "rl102"])
    assert by_code.exit_code == 0, by_code.output
    assert by_code.stdout == page
    by_name = CliRunner().invoke(main, ["rule", "unsquared-l2-norm"])
    assert by_name.exit_code == 0, by_name.output
    assert by_name.stdout == page


def test_rule_command_rejects_unknown_code() -> None:
    result = CliRunner().invoke(main, ["rule", "RL999"])
    assert result.exit_code == 2
    assert "RL999" in result.output
