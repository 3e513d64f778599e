"""The sources the soundness tests read: every file under fixtures/, every VALID/INVALID snippet
of every rule, and every Python snippet embedded in the test modules."""

from __future__ import annotations

import ast
import re
import textwrap

from helpers import FIXTURES, ROOT

from reglint.checks import STATIC_RULES


def _fixture_sources() -> list[tuple[str, str]]:
    out = []
    for path in sorted(FIXTURES.rglob("*.py")):
        out.append((str(path.relative_to(ROOT)), path.read_text(encoding="utf-8", errors="replace")))
    return out


def _rule_snippets() -> list[tuple[str, str]]:
    out = []
    for code, rule in sorted(STATIC_RULES.items()):
        for kind, snippets in (("valid", rule.valid), ("invalid", rule.invalid)):
            for index, snippet in enumerate(snippets):
                out.append((f"{code}-{kind}-{index}", textwrap.dedent(snippet)))
    return out


def _test_snippets() -> list[tuple[str, str]]:
    """String constants in the test modules that are Python mentioning torch or a suppression."""
    out = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and "\n" in node.value:
                text = textwrap.dedent(node.value)
                if not re.search(r"torch|optim|noqa|reglint:", text):
                    continue
                try:
                    compile(text, "<snippet>", "exec", ast.PyCF_ONLY_AST)
                except (SyntaxError, ValueError):
                    pass  # broken snippets are sources too (RL000)
                out.append((f"{path.name}:{node.lineno}", text))
    return out


def corpus_sources() -> list[tuple[str, str]]:
    """(name, text) of every source above."""
    return _fixture_sources() + _rule_snippets() + _test_snippets()
