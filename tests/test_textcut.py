"""The text-units cut (reglint/analysis/triage/textcut.py) over-approximates the syntax cut.

Whenever CPython parses a source and the syntax cut (triage._syntax_features) says a penalty
or an optimizer construction is possible, the text cut must say so too (or say it is unsure).
Checked on every source of tests/test_prefilter.py and on cases written to mislead a reader of
text: strings, comments, brackets, decorators, odd targets, nested classes.
tests/robustness/test_textcut_fuzz.py does the same on generated and mutated programs.
"""

from __future__ import annotations

import ast
import re
import textwrap
import warnings
from typing import Optional

import pytest
from hypothesis import given, settings
from test_prefilter import ALL, NAMES, SOURCES, _findings

from reglint.analysis import vocabulary
from reglint.analysis.triage import decision as triage
from reglint.analysis.triage import textcut


def _text(source: str) -> Optional[textcut.TextFacts]:
    return textcut.text_facts(source, vocabulary.COMMON_METHODS)


def _syntax(source: str) -> Optional[triage._SyntaxFacts]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return triage._syntax_features(tree)


def assert_over_approximates(source: str) -> None:
    syntax = _syntax(source)
    if syntax is None:
        return  # the parser decides for files it rejects
    text = _text(source)
    if text is None:
        return  # unsure: the syntax cut decides
    assert text.penalty or not syntax.penalty, "a penalty the syntax cut finds possible was ruled out on text"
    assert text.optimizer or not syntax.optimizer, "an optimizer the syntax cut finds possible was ruled out on text"


@pytest.mark.parametrize("name,source", SOURCES, ids=[name for name, _ in SOURCES])
def test_over_approximates_the_syntax_cut_on_every_source(name: str, source: str) -> None:
    assert_over_approximates(source)


# Each case is one the syntax cut finds possible (checked below); the text must not rule it out.
POSSIBLE = {
    "method-decorator-over-lines": """
        class Net(torch.nn.Module):
            @log_as(
                "loss",
            )
            def compute(self):
                return sum(p.pow(2).sum() for p in self.parameters())
        """,
    "low-closing-bracket": """
        class Net(torch.nn.Module):
            def step(self, x):
                total = crit(self(x),
            y) + sum(p.abs().sum() for p in self.parameters())
                loss = total
                return loss
        """,
    "tuple-target": """
        def train(model):
            (out, reg) = model(x), sum(p.pow(2).sum() for p in model.parameters())
        """,
    "list-target": """
        def train(model):
            [a, reg] = 1, sum(p.pow(2).sum() for p in model.parameters())
        """,
    "starred-target": """
        def train(model):
            first, *reg_terms = [p.pow(2).sum() for p in model.parameters()]
        """,
    "for-target": """
        def train(model):
            for reg in [sum(p.abs().sum() for p in model.parameters())]:
                pass
        """,
    "comprehension-target": """
        def train(model):
            return [l2 for l2 in (p.pow(2).sum() for p in model.parameters())]
        """,
    "with-target": """
        def train(model):
            with ctx() as reg:
                value = sum(p.pow(2).sum() for p in model.parameters())
        """,
    "walrus": """
        def train(model):
            print((reg := sum(p.pow(2).sum() for p in model.parameters())))
        """,
    "annotated": """
        def train(model):
            reg: float
            value = sum(p.pow(2).sum() for p in model.parameters())
        """,
    "attribute-target": """
        class T:
            def run(self, model):
                self.l2 = sum(p.pow(2).sum() for p in model.parameters())
        """,
    "augmented-target": """
        def train(model, decay):
            decay **= sum(p.pow(2).sum() for p in model.parameters())
        """,
    "term-import-after-a-word-holding-import": """
        from my_import import mean

        def train(model):
            loss = mean(model.weight)
        """,
    "loss-only-in-the-module-component": """
        class Net(torch.nn.Module):
            def no_weight_decay(self):
                return {"pos_embed"}

            def forward(self, x):
                return self.norm(x)

        def groups(model):
            return [p for p in model.parameters()]

        kept = groups(model)
        skip = model.no_weight_decay()
        """,
    "as-target-in-brackets-over-lines": """
        def train(model):
            with ctx() as (a,
                           reg):
                value = sum(p.pow(2).sum() for p in model.parameters())
        """,
    "bracketed-target-over-lines": """
        def train(model):
            (reg,
             a) = sum(p.pow(2).sum() for p in model.parameters()), 1
        """,
    "optimizer-class-held-as-a-value": """
        import torch
        opt_cls = torch.optim.Adam
        opt = opt_cls(model.parameters(), lr=1e-3, weight_decay=0.1)
        """,
    "optimizer-alias-held-as-a-value": """
        from torch.optim import SGD as Plain
        chosen = Plain
        opt = chosen(model.parameters(), lr=0.1)
        """,
    "optimizer-class-given-to-a-constructor": """
        from functools import partial
        import torch
        class Learner:
            def __init__(self, opt_func):
                self.opt_func = opt_func
            def fit(self, model):
                return self.opt_func(model.parameters())
        Learner(partial(torch.optim.Adam, weight_decay=1e-4)).fit(model)
        """,

    "optimizer-class-as-a-default": """
        from torch.optim import *
        def fit(model, optimizer_fn=Adam):
            return optimizer_fn(model.parameters(), weight_decay=1e-4)
        """,
    "loss-key-split": """
        def train(model):
            out = {"lo" "ss": sum(p.pow(2).sum() for p in model.parameters())}
            return out
        """,
    "loss-key-escaped": """
        def train(model):
            return {"lo\\x73s": sum(p.pow(2).sum() for p in model.parameters())}
        """,
    "loss-key-named-escape": """
        def train(model):
            return {"\\N{LATIN SMALL LETTER L}oss": sum(p.pow(2).sum() for p in model.parameters())}
        """,
    "loss-key-fstring": """
        def train(model):
            return {f"loss": sum(p.pow(2).sum() for p in model.parameters())}
        """,
    "loss-key-raw-prefix-after-keyword": """
        def train(model, k):
            if"loss" == k:
                return {k: sum(p.pow(2).sum() for p in model.parameters())}
            return {"loss": 0}
        """,
    "loss-key-inside-an-fstring-field": """
        def train(model, d):
            d = {}
            print(f"{d['loss']}", sum(p.pow(2).sum() for p in model.parameters()))
        """,
    "term-in-fstring-field-with-quotes": """
        def train(model):
            loss = 0
            print(f"{model.layers['fc'].weight.sum()}")
        """,
    "term-in-a-nested-format-spec": """
        def train(model, d):
            loss = 1
            print(f"{d:{model.weight.sum()}}")
        """,
    "term-in-a-field-after-a-conversion": """
        def train(model, d):
            loss = 1
            print(f"{d!r:>{sum(p.pow(2).sum() for p in model.parameters())}}")
        """,
    "term-in-a-nested-fstring": """
        def train(model, d):
            loss = 1
            print(f"{f'{model.weight.abs().sum()}' if d else ''}")
        """,
    "term-in-a-field-with-braces-and-quotes": """
        def train(model):
            loss = 1
            print(f"{len({'a}': model.weight.pow(2).sum()})}")
        """,
    "term-in-a-triple-quoted-fstring-with-quotes": '''
        def train(model):
            loss = 1
            print(f"""{"=" * 8}
            {model.weight.norm()!s:{"<"}}""")
        ''',
    "term-in-fstring-field": """
        def train(model):
            loss = 0
            print(f"{sum(p.pow(2).sum() for p in model.parameters())}")
        """,
    "backslash-continuation": """
        def train(model):
            loss = crit(out, y) + \\
                sum(p.pow(2).sum() for p in model.parameters())
        """,
    "comment-between-dot-and-name": """
        def train(model):
            loss = crit(out, y) + sum(p.pow(2).sum() for p in model.  # comment
                parameters())
        """,
    "string-with-hash": """
        def train(model):
            tag = "# not a comment"
            loss = crit(out, y) + sum(p.pow(2).sum() for p in model.parameters())
        """,
    "comment-with-quote": """
        def train(model):  # don't stop reading here
            loss = crit(out, y) + sum(p.pow(2).sum() for p in model.parameters())
        """,
    "triple-quoted-with-def": '''
        def train(model):
            """
        def not_a_function():
        class NotAClass:
            """
            loss = crit(out, y) + sum(p.pow(2).sum() for p in model.parameters())
        ''',
    "def-inside-module-if": """
        if True:
            def compute(model):
                return sum(p.pow(2).sum() for p in model.parameters())
        loss = crit(out, y) + compute(model)
        """,
    "method-inside-if-in-class": """
        class Net(torch.nn.Module):
            if True:
                def regularizer(self):
                    return sum(p.pow(2).sum() for p in self.parameters())
        """,
    "module-code-after-function": """
        def helper():
            return 1
        loss = crit(out, y) + sum(p.pow(2).sum() for p in model.parameters())
        """,
    "joined-by-call": """
        def weights(model):
            return [m.weight for m in model.modules()]
        def norm_of(ws):
            return sum(w.norm() for w in ws)
        def objective(model):
            loss = norm_of(weights(model))
            return loss
        """,
    "joined-by-unique-method": """
        class A:
            def params_of(self, model):
                return model.parameters()
        class B:
            def run(self, helper, model):
                loss = sum(p.abs().sum() for p in helper.params_of(model))
        """,
    "optimizer-alias": """
        from torch.optim import SGD as Opt
        opt = Opt(model.parameters(), lr=0.1, weight_decay=1e-4)
        """,
    "optimizer-attribute-over-lines": """
        opt = torch.optim.\\
            AdamW(model.parameters())
        """,
    "async-def": """
        async def train(model):
            loss = crit(out, y) + sum(p.pow(2).sum() for p in model.parameters())
        """,
    "one-line-def": """
        def penalty(m): return sum(p.pow(2).sum() for p in m.parameters())
        """,
    "class-header-over-lines": """
        class Net(
            torch.nn.Module,
        ):
            def training_step(self, batch):
                return sum(p.pow(2).sum() for p in self.parameters())
        """,
    "imported-sum": """
        from torch import sum as tsum
        def train(model):
            loss = tsum(model.fc.weight ** 2)
        """,
    # Another library's optimizer, imported in a statement that names the package late, after a
    # compound statement's header, or across a continuation.
    "library-import-late-in-the-statement": """
        import os, timm
        opt = timm.optim.Lamb(model.parameters(), weight_decay=0.1)
        reg = sum(p.pow(2).sum() for p in model.parameters())
        loss = crit(model(x), y) + 1e-4 * reg
        """,
    "library-import-after-a-header": """
        if True: import timm
        opt = timm.optim.Lamb(model.parameters(), weight_decay=0.1)
        """,
    "library-import-continued": """
        from timm.optim \\
            import Lamb
        opt = Lamb(model.parameters(), weight_decay=0.1)
        """,
    # Term calls whose arguments and callees may build a term (vocabulary.arguments_allow_a_term).
    "sum-over-no-dimension": "def f(model):\n    loss = sum(p.pow(2).sum(dim=(None)) for p in model.parameters())\n",
    "sum-with-starred-dimensions": "def f(model, dims):\n    loss = sum(p.abs().sum(*dims) for p in model.parameters())\n",
    "norm-order-then-none": "def f(model):\n    loss = sum(p.norm(2, None) for p in model.parameters())\n",
    "torch-by-an-alias": "import torch as T\ndef f(model):\n    loss = sum(T.sum(p.abs()) for p in model.parameters())\n",
    "torch-parenthesized-after-return": "def f(model):\n    loss = 0\n    return (torch).norm(model.weight, 2)\n",
    "linalg-imported-by-name": "from torch import linalg\ndef f(model):\n    loss = linalg.vector_norm(model.weight, 1)\n",
    "torch-sum-of-a-generator": "def f(model):\n    loss = torch.sum(p.abs().sum() for p, q in pairs(model.parameters()))\n",
    "norm-of-a-lambda-argument": "def f(model):\n    loss = torch.norm(model.weight, key=lambda a, b: a)\n",
}

# A class name of another library's optimizer, called without that library imported, a class the
# file defines, an import no code uses: not an optimizer for the analysis (`torch.optim.Lion` is
# no torch class), so for neither cut.
NOT_OPTIMIZERS = {
    "library-name-on-torch": "import torch\nopt = torch.optim.Lion(model.parameters())\n",
    "library-name-imported-elsewhere": "from mylib import Lamb as L\nopt = L(model.parameters())\n",
    "library-import-in-a-docstring": '"""\n>>> import timm\n"""\nopt = Lamb(model.parameters())\n',
    # A bare name no import binds is the file's own class (or nothing): no qualified name.
    "optimizer-defined-then-called": (
        "import torch\nclass Adafactor(torch.optim.Optimizer):\n    pass\n\n"
        "opt = Adafactor(model.parameters(), lr=1e-3, weight_decay=0.1)\n"
    ),
    "own-class-named-in-super": (
        "import torch\nclass AdamW(torch.optim.Optimizer):\n"
        "    def __init__(self, params):\n        super(AdamW, self).__init__(params, {})\n"
    ),
    "optimizer-only-imported": "from torch.optim import Adam, SGD as Plain\nimport torch\n",
    # Named as a value, never called: a handler that returns a class for another module's code
    # (which holds no class as a value), a type test.
    "optimizer-class-returned-never-called": (
        "import torch\ndef handler(args):\n    return torch.optim.SGD, {'lr': args.lr}\n"
        "cls, kwargs = handler(args)\nprint(cls.__name__)\n"
    ),
    "optimizer-class-in-a-type-test": "import torch\nif isinstance(opt, torch.optim.Adam):\n    opt.step()\n",
}


@pytest.mark.parametrize("name", sorted(NOT_OPTIMIZERS))
def test_another_librarys_names_need_its_import_in_both_cuts(name: str) -> None:
    source = NOT_OPTIMIZERS[name]
    syntax, text = _syntax(source), _text(source)
    assert syntax is not None and text is not None
    assert not syntax.optimizer and not text.optimizer


@pytest.mark.parametrize("name", sorted(POSSIBLE))
def test_cases_the_syntax_cut_keeps_are_kept(name: str) -> None:
    source = textwrap.dedent(POSSIBLE[name])
    syntax = _syntax(source)
    assert syntax is not None and (syntax.penalty or syntax.optimizer), "the case tests nothing"
    text = _text(source)
    assert text is not None, "the case should be read, not left to the parser"
    assert_over_approximates(source)


@pytest.mark.parametrize("name", sorted(POSSIBLE))
def test_cases_lint_the_same_with_and_without_the_prefilter(name: str) -> None:
    source = textwrap.dedent(POSSIBLE[name])
    assert _findings(source, ALL, True) == _findings(source, ALL, False)


UNSURE = {
    "tab-indentation": "def f(model):\n\tloss = sum(p.sum() for p in model.parameters()) + x.weight\n",
    "unicode-identifier": "def f(model):\n    ｌｏｓｓ = sum(p.sum() for p in model.parameters()) + x.weight\n",
    "unterminated-string": "def f(model):\n    loss = 'abc\n    x = model.weight.sum()\n",
    "string-ending-in-an-escaped-quote": "def f(model):\n    loss = 'abc\\'\n    x = model.weight.sum()\n",
    "unbalanced-brackets": "def f(model):\n    loss = (model.weight.sum()\n",
    "fstring-spec-with-a-backslash-string": "def f(d):\n    loss = 1\n    print(f\"{d:{'\\\\t'}}\", w.weight.sum())\n",
    "fstring-with-an-unterminated-field": "def f(d):\n    loss = 1\n    print(f\"{d:{w\", w.weight.sum())\n",
}


@pytest.mark.parametrize("name", sorted(UNSURE))
def test_text_it_does_not_read_is_left_to_the_parser(name: str) -> None:
    assert _text(UNSURE[name]) is None


def test_nested_class_methods_are_skipped_like_the_syntax_cut_skips_them() -> None:
    source = textwrap.dedent(
        """
        class Outer:
            class Inner:
                def training_step(self, batch):
                    loss = sum(p.pow(2).sum() for p in self.parameters())
                    return loss
        """
    )
    syntax = _syntax(source)
    assert syntax is not None and not syntax.penalty
    text = _text(source)
    assert text is not None and not text.penalty


def test_model_code_with_features_in_unrelated_methods_is_ruled_out() -> None:
    # The case the cut exists for: parameter, reduction and loss are each in another method and
    # no call joins them; docstrings and comments mention all three.
    source = textwrap.dedent(
        '''
        import torch


        class RMSNorm(torch.nn.Module):
            """Scales by self.weight; the loss (a .sum() of parameters()) is elsewhere."""

            def forward(self, hidden):
                variance = hidden.pow(2).mean(-1, keepdim=True)
                return self.weight * hidden * torch.rsqrt(variance)


        class Head(torch.nn.Module):
            def forward(self, x, labels=None):
                logits = self.proj(x)
                loss = None
                if labels is not None:
                    loss = self.loss_function(
                        logits=logits,
                        labels=labels,
                    )
                return Output(loss=loss, logits=logits)
        '''
    )
    text = _text(source)
    assert text is not None and not text.penalty and not text.optimizer
    assert triage.verdict(source, "m.py", ALL).reason == "not in the text units"


# Calls over a dimension, or with more than a tensor given to torch's function: no term in
# either cut, so a model file whose only reductions are these is ruled out on its text.
NO_TERM_CALLS = [
    "x.pow(2).mean(-1, keepdim=True)", "x.sum(dim=1)", "x.sum(axis=0)", "torch.sum(x, 1)",
    "torch.sum(dim=1)", "x.norm(dim=-1)", "x.norm(2, 1)", "torch.norm(x, 2, -1)", "x.norm(*dims)",
    "x.norm(**options)", "x[0].sum(-1)", "f(x).sum(-1)", "mask.sum(-1)", "(x.sum)(dim=1)",
    "x.mean(-1).sum(1)", "(x).norm(p=2, dim=(-1))",
]


@pytest.mark.parametrize("call", NO_TERM_CALLS)
def test_calls_over_a_dimension_build_no_term_in_either_cut(call: str) -> None:
    source = f"import torch\ndef step(model, x, dims, options):\n    w = model.weight\n    loss = {call}\n"
    syntax = _syntax(source)
    assert syntax is not None and not syntax.penalty
    text = _text(source)
    assert text is not None and not text.penalty
    # the same line with a term call that may build a term is kept by both
    kept = source.replace(call, "w.pow(2).sum()")
    assert _syntax(kept).penalty and _text(kept).penalty  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "written,head",
    [
        ("torch.sum", "torch"), ("torch . linalg .norm", "torch"), ("x.pow(2).sum", ""), ("x[0].sum", ""),
        ("(torch).sum", None), ("return (torch).sum", None), ("f(x).y.sum", ""), ("1.0.sum", None),
        ("a = (b + c).sum", None),
    ],
)
def test_dotted_head_reads_the_callee_back_from_its_last_dot(written: str, head: Optional[str]) -> None:
    assert textcut._dotted_head(written, written.rindex(".")) == head


@pytest.mark.parametrize(
    "arguments,read",
    [
        (")", []), ("-1, keepdim=True)", [(None, 0, False), ("keepdim", 0, False)]),
        ("dim = None)", [("dim", 0, True)]), ("*dims, **kw)", [(None, 1, False), (None, 2, False)]),
        ("f(a, b), [c, d], {e: g})", [(None, 0, False)] * 3), ("x == y)", [(None, 0, False)]),
        ("(None),)", [(None, 0, True)]), ("lambda a, b: a)", None), ("p for p, q in z)", None),
        ("x, y", None), ("x]", None),
    ],
)
def test_call_arguments_are_read_from_blanked_text(arguments: str, read: Optional[list[tuple[object, ...]]]) -> None:
    text = "f(" + arguments
    found = textcut._call_arguments(text, 2)
    assert (None if found is None else [tuple(argument) for argument in found]) == read


@pytest.mark.parametrize(
    "body,pieces,fields",
    [
        ("{v:.{n}f}", ["", ".", "f", ""], ["v", "n"]),
        ("a{{b}}{x!r:>{w}} c", ["a  b  ", ">", "", " c"], ["x", "w"]),
        ("{a!=b}{c}", ["", "", ""], ["a!=b", "c"]),
        ("{d['}']}", ["", ""], ["d['}']"]),
        ("{ {1: x} }", ["", ""], [" {1: x} "]),
    ],
)
def test_fstring_parts_reads_nested_fields_and_specs(body: str, pieces: list[str], fields: list[str]) -> None:
    assert textcut._fstring_parts(body) == (pieces, fields)


@pytest.mark.parametrize("body", ["{x", "}", "{x:{y}", "{x!z}", "{x!r=}", "{x['a}", "{(x}", "{'\\n'}", "{x#}"])
def test_fstring_parts_is_unsure_of_what_cpython_would_not_read_so(body: str) -> None:
    with pytest.raises(textcut._Unsure):
        textcut._fstring_parts(body)


def test_blank_keeps_code_and_drops_strings_and_comments() -> None:
    blanked = textcut.blank('x = "a # b"  # c "d"\ny = f"{z.weight}" + b"loss"\n')
    assert "#" not in blanked and '"' not in blanked
    assert "z.weight" in blanked and "y =" in blanked
    assert textcut._LOSS_MARK not in blanked  # b"loss" is bytes, never the str key "loss"
    assert textcut._LOSS_MARK in textcut.blank('k = "loss"\n')


@given(NAMES)
@settings(max_examples=400, deadline=None)
def test_the_stems_find_every_name_the_syntax_cut_takes_for_a_loss(name: str) -> None:
    """A name the analysis takes for a penalty or a loss holds a stem the text cut looks for; a
    def named like a loss function does too, or the def pattern finds it."""
    if vocabulary.PENALTY_NAME.search(name) or vocabulary.LOSS_NAME.search(name):
        assert textcut._LOSSY_STEM.search(name.lower()), name
    if vocabulary.LOSS_FUNCTION.search(name):
        assert textcut._LOSSY_STEM.search(name.lower()) or textcut._LOSS_FUNCTION_DEF.search(f"def {name.lower()}"), name


# The regular expressions the store contexts answer for, read one name at a time.
_DIRECT = re.compile(r"[ ]*(?:,[\w ,.*]*)?" + textcut._AUGMENTED, re.A)
_BRACKETED = re.compile(r"[\w\s,.*()\[\]]*?[)\]][ ]*" + textcut._AUGMENTED, re.A)
STORE_SNIPPETS = [
    "loss = 1", "loss += 1", "loss **= 2", "loss //= 2", "loss == 1", "loss <= 1", "loss, x = f()",
    "loss, x == y", "loss, *rest = f()", "loss.attr = 1", "loss[0] = 1", "(a, loss) = f()",
    "[loss, b] = f()", "f(loss=1)", "f(loss) == 2", "d[g(loss)] = 1", "print(loss)\ny = 2",
    "print(loss)\ny[0] = 2", "x = loss, reg\nz = 1", "(loss,\n b) = f()", "loss , = f()",
    "f(a, loss=1) * 2", "loss >>= 1", "loss @= m", "loss -=1", "loss\n= 1", "a, loss\nb = 1",
    "(a,\n loss) = f()", "(a, loss)\n= f()",
]


@pytest.mark.parametrize("snippet", STORE_SNIPPETS)
def test_store_contexts_answer_what_the_regular_expressions_do(snippet: str) -> None:
    stores = textcut._StoreContexts(snippet)
    for match in re.finditer(r"\w+", snippet):
        end = match.end()
        assert stores.direct(end) == bool(_DIRECT.match(snippet, end)), (match.group(), "direct")
        assert stores.bracketed_target(end) == bool(_BRACKETED.match(snippet, end)), (match.group(), "bracketed")


def test_a_long_list_of_loss_like_names_is_read_once() -> None:
    # Each name used to rescan the rest of the list (quadratic: 8,000 names took 8 s).
    import time

    names = ", ".join(f"loss{i}" for i in range(20_000))
    source = f"x = [{names}]\ny = {names}\nz = model.weight.sum()\n"
    start = time.perf_counter()
    _text(source)
    assert time.perf_counter() - start < 5.0
