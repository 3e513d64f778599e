"""The incremental parser (reglint/engine/incremental.py) must give what a whole parse gives.

For every source the prefilter's tests use (fixtures, rule examples, test snippets, adversarial
cases), for a long generated training script and for seeded random edits of the fixtures
(comment lines at any indentation, blank and whitespace lines, `;` lines, decorated functions,
statements written twice, CRLF, no final newline, a parser reused across versions), the module
it assembles is `deep_equals` to libcst's parse of the whole text, every node has the position
the whole parse gives its twin, and linting with it finds the same findings (spans, messages and
fixes). Where it cannot tell, it must say so (None) rather than guess.
"""

from __future__ import annotations

import ast
import random
import sys

import libcst as cst
import pytest
from helpers import ROOT
from libcst.metadata import MetadataWrapper, PositionProvider
from test_prefilter import SOURCES

from reglint.engine.config import Settings
from reglint.engine.incremental import IncrementalParser
from reglint.engine.runner import lint_text, parse_module
from reglint.engine.session import _enabled

ALL = _enabled(Settings(select=("ALL",)))


def _whole(text: str) -> cst.Module | None:
    """libcst's module, where CPython's parser also reads the text (as the runner asks both)."""
    try:
        ast.parse(text)
        return parse_module(text)
    except Exception:
        return None


class _Nodes(cst.CSTVisitor):
    def __init__(self) -> None:
        self.nodes: list[cst.CSTNode] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.nodes.append(node)
        return True


def _nodes(module: cst.Module) -> list[cst.CSTNode]:
    visitor = _Nodes()
    module.visit(visitor)
    return visitor.nodes[1:]  # the module itself has no position


def assert_same_as_whole(parser: IncrementalParser, text: str) -> bool:
    """True when the parser handled the text (and then it equals the whole parse), False when it
    left it to the runner."""
    whole = _whole(text)
    parsed = parser.parse(text)
    if parsed is None:
        return False
    assert whole is not None, "parsed a text that libcst or CPython rejects"
    module, positions = parsed
    assert module.deep_equals(whole)
    expected = MetadataWrapper(whole, unsafe_skip_copy=True).resolve(PositionProvider)
    ours, theirs = _nodes(module), _nodes(whole)
    assert len(ours) == len(theirs)
    for node, twin in zip(ours, theirs):
        assert positions.get(node) == expected.get(twin), type(node).__name__
    assert len({id(node) for node in ours}) == len(ours), "a node shared between two places"
    return True


def _lint(text: str, parser: IncrementalParser | None) -> list[tuple[object, ...]]:
    result = lint_text(text, "snippet.py", Settings(), ALL, parser=parser.parse if parser is not None else None)
    assert result.internal_error is None, result.internal_error
    return [(f.code, f.line, f.column, f.end_line, f.end_column, f.message, f.fix) for f in result.findings]


@pytest.mark.parametrize(("name", "source"), SOURCES, ids=[name for name, _ in SOURCES])
def test_every_source_parses_as_a_whole(name: str, source: str) -> None:
    parser = IncrementalParser()
    handled = assert_same_as_whole(parser, source)
    if _whole(source) is not None and source.strip():
        assert handled or source.lstrip(" \t\f") != source or "\f" in source or "\t" in source
    assert _lint(source, IncrementalParser()) == _lint(source, None)


def test_long_training_file_and_its_findings() -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from training_file import EDITED_IN_TRAINING_STEP, training_file
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    text = training_file(2000)
    parser = IncrementalParser()
    assert assert_same_as_whole(parser, text)
    findings = _lint(text, parser)
    assert len(findings) == 7 and findings == _lint(text, None)
    changed = text.replace(EDITED_IN_TRAINING_STEP, EDITED_IN_TRAINING_STEP.replace("l2_reg", "l2_reg * 2.0"))
    assert _lint(changed, parser) == _lint(changed, None)


def test_unchanged_statements_are_reused() -> None:
    text = "import torch\n\n\ndef f(w):\n    return w.norm()\n\n\ndef g(w):\n    return w.sum()\n"
    parser = IncrementalParser()
    first = parser.parse(text)
    second = parser.parse(text.replace("w.sum()", "w.sum() * 2"))
    assert first is not None and second is not None
    before, after = first[0].body, second[0].body
    assert before[0] is after[0] and before[2] is not after[2]
    assert after[2].deep_equals(parse_module(text.replace("w.sum()", "w.sum() * 2")).body[2])


def test_a_statement_written_twice_gets_two_trees() -> None:
    text = "x = f()\nprint(x)\nx = f()\nprint(x)\n"
    parser = IncrementalParser()
    assert assert_same_as_whole(parser, text)
    module, positions = parser.parse(text)  # type: ignore[misc]
    assert module.body[0] is not module.body[2]
    assert positions[module.body[2]].start.line == 3


@pytest.mark.parametrize(
    "text",
    [
        "x = (\n",  # CPython rejects it: the runner reports the syntax error
        "    # an indented comment first\nx = 1\n",
        "",
        "# only a comment\n",
    ],
)
def test_texts_it_leaves_to_the_runner_or_parses_right(text: str) -> None:
    parser = IncrementalParser()
    if parser.parse(text) is not None:
        assert assert_same_as_whole(IncrementalParser(), text)


_INSERTS = [
    "# a comment", "", "  ", "\t", "    # indented comment", "\t# tab comment", "        # deeper",
    "a = 1; b = 2", "@decorator\ndef helper():\n    pass", "x = 1  # trailing", "if x: y = 1",
]


def _mutated(base: str, rng: random.Random) -> str:
    lines = base.split("\n")
    for _ in range(rng.randint(1, 6)):
        lines.insert(rng.randrange(len(lines) + 1), rng.choice(_INSERTS))
    text = "\n".join(lines)
    if rng.random() < 0.2:
        text = text.replace("\n", "\r\n")
    if rng.random() < 0.2:
        text = text.rstrip("\r\n")
    return text


def test_random_edits_of_the_fixtures() -> None:
    rng = random.Random(20261205)
    fixtures = sorted((ROOT / "fixtures").rglob("*.py"))
    handled = 0
    for path in fixtures:
        base = path.read_text(encoding="utf-8")
        parser = IncrementalParser()  # reused across the versions of one file, as the server does
        for _ in range(6):
            text = _mutated(base, rng)
            if _whole(text) is None:
                continue
            handled += assert_same_as_whole(parser, text)
    assert handled > 3 * len(fixtures)
