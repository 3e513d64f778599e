"""Deeply nested and very long expressions: reglint must answer (findings, or one RL000 with a
location) within a bounded time, never with an internal error (which the CLI turns into exit 2).

Where CPython itself rejects the input (100 nested blocks: "too many levels of indentation"; 200+
nested brackets: "too many nested parentheses") the answer must be RL000. Where CPython parses it
the file must lint; where CPython gives up with a RecursionError either answer is accepted.

The time limits are generous (a linear analysis takes well under a second on every case); they
exist to turn an exponential or quadratic blow-up into a failure instead of a hung CI job.
"""

from __future__ import annotations

import time

import pytest
from robust_support import check_invariants, lint, python_parse_verdict

PRE = b"import torch\nimport torch.nn as nn\nmodel = nn.Linear(2, 2)\n"


def nested_ifs(n: int) -> bytes:
    return b"".join(b"    " * i + b"if x:\n" for i in range(n)) + b"    " * n + b"reg = p.pow(2).sum()\n"


CASES: dict[str, tuple[bytes, float]] = {
    # name: (source, seconds allowed)
    "200-nested-parens": (PRE + b"x = " + b"(" * 199 + b"1" + b")" * 199 + b"\n", 10),
    "200-nested-parens-penalty": (PRE + b"reg = " + b"(" * 190 + b"p.pow(2).sum()" + b")" * 190 + b"\nloss = loss + reg\n", 10),
    "99-nested-ifs": (PRE + nested_ifs(98), 10),
    "100-nested-ifs (CPython: too many levels of indentation)": (PRE + nested_ifs(100), 10),
    "1000-chained-plus-names": (PRE + b"x = " + b" + ".join([b"a"] * 1000) + b"\n", 10),
    "1000-chained-plus-penalty-terms": (
        PRE + b"loss = crit(model(x), y) + " + b" + ".join(b"model.l%d.weight.pow(2).sum()" % i for i in range(1000)) + b"\nloss.backward()\n",
        10,
    ),
    "1000-chained-times": (PRE + b"x = " + b" * ".join([b"a"] * 1000) + b"\n", 10),
    "300-chained-plus-penalty-terms": (
        PRE + b"loss = l + " + b" + ".join([b"p.pow(2).sum()"] * 300) + b"\nloss.backward()\n",
        10,
    ),
    "30-nested-calls-of-an-unknown-function": (PRE + b"x = " + b"f(" * 30 + b"1" + b")" * 30 + b"\n", 5),
    "30-nested-float-calls": (PRE + b"x = " + b"float(" * 30 + b"p" + b")" * 30 + b"\n", 5),
    "25-nested-lambda-calls": (PRE + b"f = lambda v: v\nx = " + b"f(" * 25 + b"1" + b")" * 25 + b"\n", 5),
    "optimizer-params-through-25-wrappers": (
        PRE + b"opt = torch.optim.Adam(" + b"f(" * 25 + b"model.parameters()" + b")" * 25 + b", weight_decay=1e-4)\n",
        5,
    ),
    "199-nested-calls": (PRE + b"x = " + b"f(" * 199 + b"1" + b")" * 199 + b"\n", 5),
    "150-nested-torch-abs": (PRE + b"reg = " + b"torch.abs(" * 150 + b"p" + b")" * 150 + b".sum()\nloss = loss + reg\n", 10),
    "150-nested-lists": (PRE + b"x = " + b"[" * 150 + b"]" * 150 + b"\n", 10),
    "300-nested-lists (CPython: too many nested parentheses)": (PRE + b"x = " + b"[" * 300 + b"]" * 300 + b"\n", 10),
    "500-nested-not": (PRE + b"x = " + b"not " * 500 + b"1\n", 10),
    "1000-nested-unary-minus": (PRE + b"x = " + b"-" * 1000 + b"1\n", 10),
    "3000-and-chain": (PRE + b"x = " + b" and ".join([b"a"] * 3000) + b"\n", 10),
    "3000-comparison-chain": (PRE + b"x = " + b" < ".join([b"a"] * 3000) + b"\n", 10),
    "2000-attribute-chain": (PRE + b"x = a" + b".b" * 2000 + b"\n", 10),
    # libcst's parser is quadratic in a subscript chain (2,000 take it 5-10 s on a shared 2-core
    # machine, too close to a limit); 1,000 take it about 2 s.
    "1000-subscript-chain": (PRE + b"x = a" + b"[0]" * 1000 + b"\n", 10),
    "200-chained-method-calls": (PRE + b"x = p" + b".abs()" * 200 + b".sum()\n", 10),
    "200-nested-lambdas": (PRE + b"x = " + b"lambda: " * 200 + b"1\n", 10),
    "60-nested-classes": (PRE + b"".join(b" " * i + b"class C:\n" for i in range(60)) + b" " * 60 + b"pass\n", 10),
    "90-nested-defs-with-penalty": (
        PRE + b"".join(b" " * i + b"def f(model):\n" for i in range(90)) + b" " * 90
        + b"return sum(p.pow(2).sum() for p in model.parameters())\n",
        10,
    ),
    "5000-implicitly-concatenated-strings": (PRE + b"x = (" + b'"a" ' * 5000 + b")\n", 10),
    "5000-element-f-string": (PRE + b'x = f"' + b"{a}" * 5000 + b'"\n', 10),
}


LIBCST_LIMITS = {
    # libcst's parser gives up (ParserSyntaxError at 1:1) on ~4,000 implicitly concatenated
    # strings, which CPython parses: a false RL000 reglint can only avoid by not using libcst.
    "5000-implicitly-concatenated-strings",
}


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(reason="libcst parser limit", strict=False)) if n in LIBCST_LIMITS else n
        for n in CASES
    ],
)
def test_deep_nesting_answers_in_bounded_time(name: str) -> None:
    data, seconds = CASES[name]
    start = time.perf_counter()
    result = lint(data, "deep.py", seconds=seconds)
    elapsed = time.perf_counter() - start
    print(f"{name}: {elapsed:.2f}s, {[f.code for f in result.findings]}")
    check_invariants(data, result, "deep.py")
    verdict = python_parse_verdict(data)
    codes = [f.code for f in result.findings]
    if verdict is False:
        assert codes == ["RL000"], f"CPython rejects it; reglint reported {codes}"
    elif verdict is True:
        assert "RL000" not in codes, f"CPython parses it; reglint says {result.findings[0].message}"
