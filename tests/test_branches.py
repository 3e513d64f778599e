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


RECORDS = """
def total(records):
    for weights, l1, l2 in records:
        if {test}:
            pass
"""


def _decide_in_pass(test: str, fixed: dict[str, float]) -> Optional[bool]:
    function = cst.parse_module(textwrap.dedent(RECORDS.format(test=test))).body[0]
    assert isinstance(function, cst.FunctionDef)
    loop = function.body.body[0]
    assert isinstance(loop, cst.For)
    condition = loop.body.body[0]
    assert isinstance(condition, cst.If)
    frame = Frame("total", {name: Num(value, str(value)) for name, value in fixed.items()}, None, code=function)
    frame.fixed = dict(fixed)
    return branch_taken(condition.test, frame)


@pytest.mark.parametrize(
    ("test", "l1", "expected"),
    [
        ("l1 > 0", 0.0, False),
        ("l1 > 0", 1e-5, True),
        ("0 < l1", 0.0, False),
        ("l1 >= 0", 0.0, True),
        ("l1 <= 0.5", 1.0, False),
        ("l1 > threshold", 1.0, None),  # not a literal
        ("l2 > 0", 1.0, None),  # not fixed by the pass
    ],
)
def test_a_pass_over_records_fixes_its_numbers(test: str, l1: float, expected: Optional[bool]) -> None:
    assert _decide_in_pass(test, {"l1": l1}) is expected


def test_a_number_the_loop_body_reassigns_is_not_fixed() -> None:
    from reglint.analysis.branches import fixed_by_record

    module = cst.parse_module("for weights, l1, l2 in records:\n    l1 = l1 * 2\n    total = l2\n")
    loop = module.body[0]
    assert isinstance(loop, cst.For)
    frame = Frame("<module>", {"l1": Num(0.0, "0.0"), "l2": Num(1e-5, "1e-5"), "weights": UNKNOWN}, None)
    assert fixed_by_record(loop.target, frame, loop.body) == {"l2": 1e-5}
