"""Inert functions (reglint/analysis/triage/inert.py): the triage's sinks.

A method that only reads what others stored and sends nothing on (`reset_parameters` calling
`nn.init`) is no longer joined with the rest of its class, so a model file whose parameter, term
and loss sit in such unrelated methods is ruled out on its text. Each way a value can leave a
function must keep it from being inert, in both cuts; an inert function that may hold a penalty
must be kept together with the code that feeds it.
"""

from __future__ import annotations

import ast
import textwrap

import pytest
from test_prefilter import ALL, _findings

from reglint.analysis import vocabulary
from reglint.analysis.triage import components, textcut
from reglint.analysis.triage import decision as triage

# A class whose `keep` method hands a weight to `penalty_loss` through the object, the module or
# the file's code; {prelude} and {init} add what the channel needs.
ESCAPE_TEMPLATE = """
import contextlib
import torch
import torch.nn as nn
{prelude}

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)
        self.kept = None
        self.bag = []
        self.table = {{}}
{init}
    def keep(self):
{keep}

    def penalty_loss(self):
        return {use}


model = Net()
model.keep()
loss = model.penalty_loss()
loss.backward()
"""
KEPT = "self.kept.norm(2)"
BAG = "sum(w.norm(2) for w in self.bag)"
ESCAPES = {
    "assignment": ("", "", "self.kept = self.fc.weight", KEPT),
    "tuple-target": ("", "", "first, self.kept = 1, self.fc.weight", KEPT),
    "target-over-lines": ("", "", "(first,\n self.kept) = (1, self.fc.weight)", KEPT),
    "chained-assignment": ("", "", "w = self.kept = self.fc.weight", KEPT),
    "one-line-if": ("", "", "if True: self.kept = self.fc.weight", KEPT),
    "subscript": ("", "", "self.table['w'] = self.fc.weight", "self.table['w'].norm(2)"),
    "augmented": ("", "", "self.bag += [self.fc.weight]", BAG),
    "append": ("", "", "self.bag.append(self.fc.weight)", BAG),
    "extend": ("", "", "self.bag.extend([self.fc.weight])", BAG),
    "buffer": ("", "", "self.register_buffer('kept', self.fc.weight)", KEPT),
    "loop-target": ("", "", "for self.kept in [self.fc.weight]:\n    pass", KEPT),
    "loop-target-in-brackets": ("", "", "for(self.kept)in[self.fc.weight]:\n    pass", KEPT),
    "loop-target-in-a-list": ("", "", "for[self.kept]in[[self.fc.weight]]:\n    pass", KEPT),
    "loop-target-keyed-by-a-string": ("", "", "for self.table['s'] in [self.fc.weight]:\n    pass", "self.table['s'].norm(2)"),
    "with-target-in-brackets": ("", "", "with contextlib.nullcontext(self.fc.weight)as(self.kept):\n    pass", KEPT),
    "with-target": ("", "", "with contextlib.nullcontext(self.fc.weight) as self.kept:\n    pass", KEPT),
    "walrus": ("", "", "if (w := self.fc.weight) is not None:\n    print(w)", KEPT),
    "setattr": ("", "", "setattr(self, 'kept', self.fc.weight)", KEPT),
    "object-dict": ("", "", "self.__dict__['kept'] = self.fc.weight", KEPT),
    "own-method": ("", "", "self.store(self.fc.weight)", KEPT),
    "module-function": ("def store(obj, w):\n    obj.kept = w\n", "", "store(self, self.fc.weight)", KEPT),
    "global": ("KEPT = None\n", "", "global KEPT\nKEPT = self.fc.weight", "KEPT.norm(2)"),
    "returned": ("", "", "return self.fc.weight", "self.keep().norm(2)"),
    "yielded": ("", "", "yield self.fc.weight", "next(self.keep()).norm(2)"),
    "lambda": ("", "", "print(lambda: self.fc.weight)", KEPT),
    "nested-def": ("", "", "def inner():\n    return self.fc.weight\nprint(inner)", KEPT),
    "instance-call": (
        "class Keeper(nn.Module):\n    def forward(self, w):\n        self.kept = w\n        return w\n",
        "        self.keeper = Keeper()\n",
        "self.keeper(self.fc.weight)",
        "self.keeper.kept.norm(2)",
    ),
    "call-of-a-subscript": ("", "        self.keepers = [print]\n", "self.keepers[0](self.fc.weight)", KEPT),
    "call-of-a-call": ("", "", "getattr(self, 'store')(self.fc.weight)", KEPT),
    "file-defines-the-method": ("def normal_(w):\n    Net.kept = w\n", "", "nn.init.normal_(self.fc.weight)", "Net.kept.norm(2)"),
    "class-attribute-called": ("", "", "self.hook(self.fc.weight)", KEPT),
    "not-a-builtin": ("from helpers import keep_weight\n", "", "keep_weight(self, self.fc.weight)", KEPT),
    "decorated": ("", "", "nn.init.normal_(self.fc.weight)", KEPT),
    "call-in-a-default": ("", "", "nn.init.normal_(self.fc.weight)", KEPT),
}


def _escape(name: str) -> str:
    prelude, init, keep, use = ESCAPES[name]
    source = ESCAPE_TEMPLATE.format(prelude=prelude, init=init, keep=textwrap.indent(keep, " " * 8), use=use)
    if name == "own-method":
        source = source.replace("    def penalty_loss(self):", "    def store(self, w):\n        self.kept = w\n\n    def penalty_loss(self):")
    if name == "class-attribute-called":
        source = source.replace("class Net(nn.Module):\n", "class Net(nn.Module):\n    hook = print\n")
    if name == "decorated":
        source = source.replace("    def keep(self):", "    @torch.no_grad()\n    def keep(self):")
    if name == "call-in-a-default":
        source = source.replace("    def keep(self):", "    def keep(self, scale=float(1)):")
    return source


def _inert_units(source: str) -> tuple[set[str], set[str]]:
    """The names of the inert units, as the text cut and as the syntax cut see them."""
    blanked = textcut.blank(source, [])
    brackets = textcut.round_brackets(blanked)
    split = textcut.split_units(blanked, brackets)
    textcut._candidates(blanked, split, textcut._imports_a_term(blanked), vocabulary.COMMON_METHODS)
    syntax = triage._syntax_features(ast.parse(source))
    return (
        {unit.name for unit in split.units if unit.inert and unit.name},
        {unit.name for unit in syntax.units if unit.inert and unit.name},
    )


def _sinks(source: str) -> tuple[set[str], set[str]]:
    """The names of the units that are sinks in the components, in the text and syntax cuts."""
    blanked = textcut.blank(source, [])
    brackets = textcut.round_brackets(blanked)
    split = textcut.split_units(blanked, brackets)
    found = textcut._candidates(blanked, split, textcut._imports_a_term(blanked), vocabulary.COMMON_METHODS)
    in_text = set()
    if found is not None:
        in_text = {split.units[index].name or "" for index in found[0].sinks}
    syntax = triage._syntax_features(ast.parse(source))
    joined = components.component_roots(syntax.units, vocabulary.COMMON_METHODS, syntax.units[0].class_bases)
    return in_text, {syntax.units[index].name or "" for index in joined.sinks}


@pytest.mark.parametrize("name", sorted(ESCAPES))
def test_a_function_that_sends_values_on_is_not_inert(name: str) -> None:
    source = _escape(name)
    in_text, in_syntax = _inert_units(source)
    assert "keep" not in in_text and "keep" not in in_syntax
    assert _findings(source, ALL, True) == _findings(source, ALL, False)


def test_the_escapes_are_read_by_the_analysis() -> None:
    # Without the prefilter, the analysis follows the weight `keep` sends on to the unsquared
    # norm along these channels: there the identity above tests the triage's reading of them.
    found = {name for name in ESCAPES if any(f["code"] == "RL102" for f in _findings(_escape(name), ALL, False))}
    assert found >= {
        "assignment", "tuple-target", "target-over-lines", "chained-assignment", "one-line-if", "subscript",
        "append", "extend", "loop-target", "returned", "instance-call", "own-method", "loop-target-in-brackets",
        "loop-target-in-a-list", "loop-target-keyed-by-a-string",
    }


# Functions that are inert: nn.init and in-place tensor methods, isinstance tests, loops with
# plain targets, local names, a bare return, `with torch.no_grad()`.
INERT = """
import math
import torch
import torch.nn as nn


class Block(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.proj = nn.Linear(width, width)
        self.norm = nn.LayerNorm(width)

    def reset_parameters(self):
        nn.init.xavier_uniform_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def init_weights(self, module, std=0.02):
        if not isinstance(module, (nn.Linear, Block)):
            return
        bound = 1 / math.sqrt(module.weight.size(1))
        with torch.no_grad():
            module.weight.data.uniform_(-bound, bound)
        for name, p in module.named_parameters():
            if name.endswith("bias") and p is not None:
                p.data.zero_()
        del bound

    def forward(self, x):
        h = self.proj(self.norm(x))
        return x + h / (h.sum(dim=-1, keepdim=True).abs() + 1e-6)

    def aux(self, x):
        aux_loss = self.forward(x).mean()
        return aux_loss
"""


def test_initializers_are_inert_in_both_cuts() -> None:
    in_text, in_syntax = _inert_units(INERT)
    assert in_text == {"reset_parameters", "init_weights"}
    assert in_syntax == in_text


def test_a_model_whose_parameter_sources_sit_in_initializers_is_ruled_out_on_its_text() -> None:
    # Parameter sources only in the initializers, reductions in forward, a loss name in aux:
    # joined through the object before, they were one component and the file went to the flow
    # cut. The initializers send nothing on, so nothing can build a penalty.
    assert triage.verdict(INERT, "m.py", ALL).reason == "not in the text units"
    assert not triage._syntax_features(ast.parse(INERT)).penalty
    assert _findings(INERT, ALL, True) == _findings(INERT, ALL, False) == []


def test_a_file_that_writes_a_called_method_otherwise_has_no_inert_function() -> None:
    # `zeros_` assigned somewhere: `nn.init.zeros_` may hold what the file stored there.
    source = INERT + "\nnn.init.zeros_ = print\n"
    in_text, in_syntax = _inert_units(source)
    assert "reset_parameters" not in in_text and "reset_parameters" not in in_syntax
    # ... and `setattr` anywhere stores attributes no text shows.
    source = INERT + "\nsetattr(Block, 'extra', print)\n"
    assert _inert_units(source) == (set(), set())


# An inert method that may hold a penalty, built from what another method stored on the object:
# kept, and so is that method (its sender), or the pruned copy would lose the weights.
LIVE_SINK = """
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def collect(self):
        self.params = [self.fc.weight, self.fc.bias]

    def forward(self, x):
        return self.fc(x)

    def regularize(self):
        reg_loss = self.params[0].norm(2) + self.params[1].norm(2) + 0 * self.fc.weight.mean()
        reg_loss.backward()

    def describe(self, x):
        print(x.shape)
"""


def test_an_inert_function_that_may_hold_a_penalty_keeps_what_feeds_it() -> None:
    assert _sinks(LIVE_SINK) == ({"regularize"}, {"regularize"})
    facts = textcut.text_facts(LIVE_SINK, vocabulary.COMMON_METHODS, optimizer=False, prune=True)
    assert facts is not None and facts.penalty
    pruned = facts.pruned or LIVE_SINK
    assert "self.params = [self.fc.weight" in pruned and "reg_loss.backward()" in pruned
    syntax = triage._syntax_features(ast.parse(LIVE_SINK))
    live = {unit.name for unit, alive in zip(syntax.units, syntax.live) if alive}
    assert {"regularize", "collect"} <= live
    found = _findings(LIVE_SINK, ALL, False)
    assert [f["code"] for f in found].count("RL102") == 2
    assert _findings(LIVE_SINK, ALL, True) == found


# A penalty is a record the analysis shares between the functions it reaches: a function that
# only adds to it in place, names it or backpropagates it changes it for its caller. So a function
# that is inert by its text is a sink only where nothing that reaches it can build a term.
RECEIVERS = {
    "adds-to-an-argument": """
        import torch.nn as nn

        class Mlp(nn.Module):
            def __init__(self):
                super().__init__()
                self.body = nn.Linear(8, 8)
                self.head = nn.Linear(8, 2)

            def forward(self, x):
                return self.head(self.body(x))

            def _add_head(self, total):
                total += self.head.weight.norm(2)

            def regularization(self):
                penalty = self.body.weight.pow(2).sum()
                self._add_head(penalty)
                return penalty
        """,
    "adds-to-what-the-object-holds": """
        import torch.nn as nn

        class Gated(nn.Module):
            def __init__(self):
                super().__init__()
                self.gate = nn.Linear(8, 8)
                self.value = nn.Linear(8, 8)
                self.running = None

            def _add_value(self):
                total = self.running
                total += self.value.weight.norm(2)

            def regularization(self):
                self.running = self.gate.weight.pow(2).sum()
                self._add_value()
                return self.running
        """,
    "adds-by-keyword-from-a-module-function": """
        import torch.nn as nn
        import torch.nn.functional as F

        def add_abs(model, total=None):
            for p in model.parameters():
                total += p.abs().mean()

        class AutoEncoder(nn.Module):
            def __init__(self):
                super().__init__()
                self.enc = nn.Linear(16, 4)
                self.dec = nn.Linear(4, 16)

            def forward(self, x):
                return self.dec(self.enc(x))

            def training_step(self, x):
                sparsity = self.enc.weight.abs().mean()
                add_abs(self, total=sparsity)
                return F.mse_loss(self(x), x) + 1e-5 * sparsity
        """,
    "scales-an-argument": """
        import torch.nn as nn
        import torch.nn.functional as F

        class Classifier(nn.Module):
            def __init__(self):
                super().__init__()
                self.head = nn.Linear(8, 2)

            def forward(self, x):
                return self.head(x)

            def _widen(self, total):
                if len(self.head.weight) > 1:
                    total *= 100.0

            def training_step(self, x, y):
                penalty = 1e-3 * sum(p.pow(2).sum() for p in self.parameters())
                self._widen(penalty)
                return F.cross_entropy(self(x), y) + penalty
        """,
}


@pytest.mark.parametrize("name", sorted(RECEIVERS))
def test_a_function_a_penalty_can_reach_is_no_sink(name: str) -> None:
    source = textwrap.dedent(RECEIVERS[name])
    in_text, in_syntax = _inert_units(source)
    assert in_text and in_syntax, "the case tests nothing: no function is inert by its text"
    assert _sinks(source) == (set(), set())
    found = _findings(source, ALL, False)
    assert found, "the analysis finds nothing here"
    assert _findings(source, ALL, True) == found


def test_a_chain_of_sinks_each_reached_by_a_term_in_turn_is_joined_in_a_few_rounds(monkeypatch: pytest.MonkeyPatch) -> None:
    # caller_i calls init_{i-1} and init_i; only caller_0 can build a term. Joining init_0 brings
    # the term to caller_1 and so to init_1, and so on: one more round per link, unless bounded.
    links = 40
    lines = ["import torch.nn as nn", ""]
    for index in range(links):
        lines += [f"def init_{index}(m):", "    nn.init.zeros_(m.weight)", ""]
    lines += ["def caller_0(m):", "    init_0(m)", "    return m.weight.pow(2).sum()", ""]
    for index in range(1, links):
        lines += [f"def caller_{index}(m):", f"    init_{index - 1}(m)", f"    init_{index}(m)", ""]
    source = "\n".join(lines)
    assert _sinks(source) == (set(), set())
    units = triage._syntax_features(ast.parse(source)).units
    rounds: list[int] = []
    joined = components._joined
    monkeypatch.setattr(components, "_joined", lambda *args: rounds.append(1) or joined(*args))
    components.component_roots(units, vocabulary.COMMON_METHODS)
    assert len(rounds) == components._ROUNDS + 1  # the last one joins every unit
    rounds.clear()
    monkeypatch.setattr(components, "_ROUNDS", 1000)
    assert not components.component_roots(units, vocabulary.COMMON_METHODS).sinks
    assert len(rounds) > links // 2  # (unbounded, the chain takes a round per link or so)
