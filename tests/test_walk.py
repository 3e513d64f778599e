"""reglint/analysis/walk.py reads a subtree by its fields: it must reach every node libcst's own
visitor reaches, and answer the name questions as a visitor does, on every source of the tests."""

from __future__ import annotations

import libcst as cst
import pytest
from sources import corpus_sources

from reglint.analysis.names import dotted
from reglint.analysis.walk import reads_dotted, reads_name, subnodes
from reglint.engine.runner import parse_module


def _parsed() -> list[tuple[str, cst.Module]]:
    out = []
    for name, text in corpus_sources():
        try:
            out.append((name, parse_module(text)))
        except Exception:
            continue  # broken on purpose (RL000 sources)
    return out


MODULES = _parsed()


class _Every(cst.CSTVisitor):
    def __init__(self) -> None:
        self.seen: list[cst.CSTNode] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.seen.append(node)
        return True


class _Names(cst.CSTVisitor):
    """The reference for reads_dotted: libcst's visitor, a dotted chain matched whole."""

    def __init__(self, names: set[str]) -> None:
        self.names = names
        self.found = False

    def visit_Name(self, node: cst.Name) -> None:
        self.found |= node.value in self.names

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        text = dotted(node)
        if text is not None and text in self.names:
            self.found = True
            return False
        return True


@pytest.mark.parametrize("name,module", MODULES, ids=[name for name, _ in MODULES])
def test_reaches_what_the_visitor_reaches(name: str, module: cst.Module) -> None:
    every = _Every()
    module.visit(every)
    assert sorted(map(id, subnodes(module))) == sorted(map(id, every.seen))


def test_answers_the_name_questions_as_the_visitor() -> None:
    asked = 0
    for _, module in MODULES[:200]:
        for statement in module.body:
            words = {node.value for node in subnodes(statement) if type(node) is cst.Name}  # type: ignore[attr-defined]
            chains = {text for node in subnodes(statement) if type(node) is cst.Attribute and (text := dotted(node))}  # type: ignore[arg-type]
            for probe in sorted(words)[:3] + sorted(chains)[:3] + ["not_a_name_here"]:
                reference = _Names({probe})
                statement.visit(reference)
                assert reads_dotted(statement, {probe}) == reference.found
                assert reads_name(statement, {probe}) == (probe in words)
                asked += 1
    assert asked > 1000
