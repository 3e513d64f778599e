"""reglint/analysis/branches.py decides an `if` only where the call fixes the answer."""

from __future__ import annotations

import textwrap
from typing import Optional

import libcst as cst
import pytest

from reglint.analysis.branches import branch_taken
from reglint.analysis.state import Frame
from reglint.analysis.values import UNKNOWN, Num, Str, Value


def _decide(body: str, env: dict[str, Value], given: Optional[frozenset[str]] = None) -> Optional[bool]:
    function = cst.parse_module(textwrap.dedent(body)).body[0]
    assert isinstance(function, cst.FunctionDef)
    test = next(s for s in function.body.body if isinstance(s, cst.If)).test
    frame = Frame("make", dict(env), None, given=frozenset(env) if given is None else given, code=function)
    return branch_taken(test, frame)


FACTORY = """
def make(params, kind="adam"):
    if {test}:
        return 1
    return 2
"""


@pytest.mark.parametrize(
    ("test", "kind", "expected"),
    [
        ('kind == "adam"', "adam", True),
        ('kind == "adam"', "sgd", False),
        ('"sgd" == kind', "sgd", True),
        ('kind != "adam"', "sgd", True),
        ('kind.lower() == "adam"', "Adam", True),
        ('kind.upper() in ("SGD", "ASGD")', "sgd", True),
        ('kind not in ["adam", "adamw"]', "adamw", False),
        ("kind == other", "adam", None),  # not a literal
        ('kind.startswith("a")', "adam", None),  # not a comparison
        ('kind == "adam" and fast', "adam", None),
    ],
)
def test_a_given_parameter_against_literals(test: str, kind: str, expected: Optional[bool]) -> None:
    assert _decide(FACTORY.format(test=test), {"kind": Str(kind)}) is expected


def test_numbers_compare_as_numbers() -> None:
    assert _decide(FACTORY.format(test="kind == 2"), {"kind": Num(2.0, "2")}) is True
    assert _decide(FACTORY.format(test="kind in (1, 3)"), {"kind": Num(2.0, "2")}) is False
    assert _decide(FACTORY.format(test="kind == 2"), {"kind": Num(None, "args.kind")}) is None


def test_nothing_is_decided_when_the_function_runs_on_its_own() -> None:
    assert _decide(FACTORY.format(test='kind == "adam"'), {"kind": Str("adam")}, given=frozenset()) is None


def test_an_unknown_argument_decides_nothing() -> None:
    assert _decide(FACTORY.format(test='kind == "adam"'), {"kind": UNKNOWN}) is None


@pytest.mark.parametrize(
    "store",
    [
        'kind = kind or "adam"',
        "kind += suffix",
        "for kind in kinds: pass",
        "with open(p) as kind: pass",
        "if (kind := normalize(kind)): pass",
        "self.kind = kind.lower()",
    ],
)
def test_a_parameter_the_body_reassigns_decides_nothing(store: str) -> None:
    body = f"""
    def make(params, kind="adam"):
        {store}
        if kind == "adam":
            return 1
        return 2
    """
    assert _decide(body, {"kind": Str("adam")}) is None
