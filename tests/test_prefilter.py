"""The prefilter is sound: findings are the same with and without it, on every source we have.

Sources: every file under fixtures/, every VALID/INVALID snippet of every rule, every Python
snippet embedded in the test modules, and the adversarial cases below, which each try one way
for a finding to hide from the prefilter. Each is linted with several rule selections.
"""

from __future__ import annotations

import ast
import json
import re
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import FIXTURES, ROOT
from hypothesis import given, settings
from hypothesis import strategies as st
from sources import corpus_sources

from reglint.analysis import vocabulary
from reglint.analysis.triage import decision as triage
from reglint.analysis.triage import textcut
from reglint.cli import main
from reglint.engine import prefilter
from reglint.engine.config import Settings
from reglint.engine.session import _enabled
from reglint.registry import all_rules

ALL = _enabled(Settings(select=("ALL",)))
SELECTIONS = {
    "all": ALL,
    "default": _enabled(Settings()),
    "penalties": frozenset(c for c in ALL if c.startswith("RL1")),
    "optimizers": frozenset(c for c in ALL if c.startswith("RL2")),
    "RL203": frozenset({"RL203"}),
    "RL900+RL000": frozenset({"RL900", "RL000"}),
}


ADVERSARIAL = {
    # Parameters given to a class's constructor, kept on the object and summed by a method; and
    # given to an instance's forward (the flow cut follows both: its construct and call_value).
    "parameters-given-to-a-constructor": """
        import torch.nn as nn

        class L2Reg:
            def __init__(self, params, lam):
                self.params = list(params)
                self.lam = lam

            def value(self):
                return self.lam * sum(p.pow(2).sum() for p in self.params)

        model = nn.Linear(4, 2)
        reg = L2Reg(model.parameters(), 1e-4)
        for x, y in []:
            loss = nn.functional.mse_loss(model(x), y) + reg.value()
            loss.backward()
        """,
    "optimizer-class-given-to-an-instance-in-a-partial": """
        from functools import partial

        import torch
        import torch.nn as nn

        class Learner:
            def __init__(self, model, opt_func):
                self.model, self.opt_func = model, opt_func

            def fit(self):
                return self.opt_func(self.model.parameters(), lr=1e-3)

        Learner(nn.Linear(4, 2), partial(torch.optim.Adam, weight_decay=1e-4)).fit()
        """,
    # Penalty records that a helper called from __init__ appends to a list on the object, and a
    # method loops over: no optimizer, so the flow cut decides.
    "penalty-records-registered-by-a-helper": """
        import torch
        import torch.nn as nn
        class Base(nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = nn.Linear(4, 1)
                self.records = []
                self.register(self.lin.parameters(), 1e-4)
            def register(self, tensors, strength):
                self.records.append((tensors, strength))
            def penalty(self):
                total = 0.0
                for tensors, strength in self.records:
                    for w in tensors:
                        total = total + strength * torch.norm(w, p=2)
                return total
            def training_step(self, x, y):
                loss = ((self.lin(x) - y) ** 2).mean() + self.penalty()
                loss.backward()
        """,
    # A syntax error in a body the flow cut never reads: ruled out through the skeleton, unparsed
    # (RL000 only without the prefilter); one in a body it reads (below): parsed, reported.
    "syntax-error-in-a-body-never-read": """
        import torch
        from torch import nn
        class RMSNorm(nn.Module):
            def __init__(self, d):
                super().__init__()
                self.weight = nn.Parameter(torch.ones(d))
            def forward(self, x):
                loss_scale = x.pow(2).mean(-1, keepdim=True)
                return self.weight * x * torch.rsqrt(loss_scale)
            def extra_repr(self):
                return 1 1
        """,
    # A class of torch.optim named at run time, in a file whose only other optimizer-like word is
    # part of a longer one (`Lamb` in `LambdaLR`).
    "optimizer-named-at-run-time-beside-a-scheduler": """
        import torch
        def build_optimizer(cfg, model):
            optim_cls = getattr(torch.optim, cfg.SOLVER.OPTIMIZER)
            return optim_cls(model.parameters(), lr=cfg.SOLVER.BASE_LR, weight_decay=cfg.SOLVER.WEIGHT_DECAY)
        def build_scheduler(optimizer):
            return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda it: 1.0)
        """,
    # A walked parameter times a pruning mask held under another name, its norm taken later.
    "masked-parameter": """
        import torch
        def step(model, pruner, x):
            total = 0.0
            for name, w in model.named_parameters():
                kept = pruner.layer_masks[name] * w
                total = total + kept.norm()
            loss = model(x).mean() + 1e-4 * total
            loss.backward()
        """,
    # The penalty's pieces live in three functions joined only by calls.
    "helpers": """
        import torch
        def params(m):
            return m.parameters()
        def l1(w):
            return w.abs().sum()
        def train(model, x):
            reg = 0.0
            for p in params(model):
                reg += l1(p)
            loss = model(x).mean() + 1e-4 * reg
            loss.backward()
        """,
    # A module-level parameter list read inside a function.
    "module-variable": """
        import torch
        PARAMS = list(model.parameters())
        def step(x):
            penalty = sum(torch.norm(p) for p in PARAMS)
            return penalty
        """,
    # torch.sum under another name.
    "aliased-sum": """
        from torch import sum as total, abs as magnitude
        def regularizer(model):
            return sum(total(magnitude(p)) for p in model.parameters())
        """,
    "imported-norm": """
        from torch.linalg import vector_norm
        import torch.linalg as LA
        def reg_term(model):
            return sum(vector_norm(p) for p in model.parameters()) + LA.norm(model.head.weight)
        """,
    # The loss key spelled with an escape.
    "escaped-loss-key": """
        import torch
        def step_(model):
            value = sum(torch.norm(p) for p in model.parameters())
            return {"\\x6coss": value}
        """,
    # The long s matches "s" under IGNORECASE: `lo\u017fs` is a loss name to the analysis.
    "long-s": "import torch\nlo\u017fs = 0\nfor p in model.parameters():\n    lo\u017fs = lo\u017fs + torch.norm(p)\n",
    # A method reached through a name defined once, from another class.
    "unique-method": """
        import torch
        class Helper:
            def compute(self, model):
                return sum(p.pow(2).sum() for p in model.parameters())
        class Trainer:
            def step(self, model, helper, x):
                loss = model(x) + 0.01 * helper.compute(model)
                loss.backward()
        """,
    # A method name defined twice, reached through self within one class.
    "self-method": """
        import torch
        class Other:
            def extra(self):
                return 0
        class LitModel:
            def extra(self):
                return sum(torch.norm(p, 2) for p in self.parameters())
            def training_step(self, batch, idx):
                loss = self.criterion(batch) + 1e-3 * self.extra()
                return loss
        """,
    # Dead code still counts for the analysis.
    "dead-code": """
        import torch
        def f(model, loss):
            if False:
                reg = sum(p.abs().sum() for p in model.parameters())
                loss = loss + reg
            return loss
            loss = loss + sum(torch.norm(p) for p in model.parameters())
        """,
    # Optimizers by alias and by star import.
    "optimizer-alias": """
        from torch.optim import Adam as Opt
        opt = Opt(model.parameters(), lr=1e-3, weight_decay=1e-2)
        """,
    "optimizer-star": """
        from torch.optim import *
        opt = RMSprop(model.parameters(), weight_decay=0.1)
        """,
    # Definitions under `if` / `try` at module level, and a call from the module's statements.
    "guarded-definitions": """
        import torch
        try:
            def penalty_of(m):
                return sum((p ** 2).sum() for p in m.parameters())
        except ImportError:
            pass
        if True:
            class Loop:
                def run(self, m, x):
                    objective = m(x) + penalty_of(m)
                    objective.backward()
        total_loss = penalty_of(model)
        """,
    # A late addition after backward (RL104) and an accumulator off device (RL105).
    "late-and-accumulator": """
        import torch
        for x, y in data:
            loss = crit(model(x), y)
            loss.backward()
            l2 = torch.tensor(0.)
            for name, param in model.named_parameters():
                l2 += param.pow(2).sum()
            loss = loss + 1e-4 * l2
            opt.step()
        """,
    # Attribute names split from their dot by a comment, a line break or a continuation.
    "split-attributes": (
        "import torch\n"
        "loss = 0.0\n"
        "for p in (model.  # every parameter\n"
        "          parameters()):\n"
        "    loss = loss + p.abs().\\\n"
        "        sum()\n"
    ),
    # A term function imported inside a function, under another name.
    "nested-import": """
        def regularization(model):
            from torch.linalg import vector_norm as vn
            return sum(vn(p) for p in model.parameters())
        """,
    # Suppressions alone (RL900) and syntax errors (RL000).
    "suppression-only": "x = 1  # noqa: RL101\ny = 2  # reglint: ignore[RL201]\n",
    "syntax-error": "def broken(:\n    pass\n",
    "tab-error": "if True:\n\tx = 1\n        y = 2\n",
    "return-outside-function": "return 1\n",
    "match-statement": """
        import torch
        match cmd:
            case "train":
                reg = sum(p.abs().sum() for p in model.parameters())
                loss = base + reg
        """,
    # A module whose class is named like a penalty: what its forward() returns is one, with no
    # loss-like name stored anywhere in the file.
    "penalty-module": """
        import torch
        from torch import nn
        class L2Regularizer(nn.Module):
            def forward(self, model):
                return sum(p.pow(2).sum() for p in model.parameters())
        """,
    "penalty-module-call": """
        class SparsityPenalty:
            def __call__(self, net):
                return sum(p.abs().sum() for p in net.parameters())
        """,
    # Annotated targets that do not start their line.
    "annotated-after-semicolon": "x = 1; reg: float = sum(p.pow(2).sum() for p in model.parameters())\n",
    "annotated-after-header": "if True: l1: float = sum(p.abs().sum() for p in model.parameters())\n",
    "annotated-attribute-after-semicolon": """
        class Trainer:
            def regularize(self, model):
                n = 0; self.l2: float = sum(p.pow(2).sum() for p in model.parameters())
        """,
    # Parenthesized callees are calls of the name inside the brackets.
    "parenthesized-optimizer-and-parameters": """
        import torch
        model = Net()
        optimizer = (torch.optim.Adam)((model.parameters)(), lr=1e-3)
        loss = criterion(model(x), y) + 1e-4 * sum(p.pow(2).sum() for p in (model.parameters)())
        loss.backward()
        """,
    "parenthesized-alias": """
        from torch.optim import SGD as Opt
        opt = ( Opt )(net.parameters(), lr=0.1, weight_decay=1e-4)
        """,
    "parenthesized-term-and-backward": """
        def train(model, loss):
            for p in model.parameters():
                loss = loss + (p.norm)()
            (loss.backward)()
        """,
    "parenthesized-helper": """
        def l2(net):
            return sum(p.pow(2).sum() for p in net.parameters())
        def step(model, out):
            loss = out + 1e-4 * (l2)(model)
            loss.backward()
        """,
    "parenthesized-method": """
        class Net:
            def penalty_terms(self, net):
                return sum(p.pow(2).sum() for p in net.parameters())
            def step(self, model, out):
                loss = out + 1e-4 * ( self.penalty_terms )(model)
                loss.backward()
        """,
    # A second def of a method name the analysis never registers (under an `if` of a class body,
    # in a class under `with`): the one it registers is the only one, and it is inlined.
    "method-decoy-under-if": """
        class Net:
            def extra(self):
                return sum(p.pow(2).sum() for p in self.parameters())
        class Head:
            if False:
                def extra(self):
                    return 0
        def train_epoch(net, out):
            loss = out + 1e-4 * net.extra()
            loss.backward()
        """,
    "method-decoy-in-with-class": """
        import contextlib
        with contextlib.suppress(Exception):
            class Head:
                def extra(self):
                    return 0
        class Net:
            def extra(self):
                return sum(p.pow(2).sum() for p in self.parameters())
        def train_epoch(net, out):
            loss = out + 1e-4 * net.extra()
            loss.backward()
        """,
    # Calling an object runs its class's forward or __call__, whatever the class's name: the
    # penalty is built there, the loss is the caller's, and the object's state decides the term.
    "object-call-from-a-loss-module": """
        import torch
        from torch import nn
        class Extra:
            def __init__(self, order):
                self.order = order
            def __call__(self, model):
                total = 0
                for w in model.parameters():
                    total = total + torch.norm(w, p=self.order)
                return total
        class Objective(nn.Module):
            def __init__(self):
                super().__init__()
                self.extra = Extra(2)
            def forward(self, out, model):
                loss = out.mean() + 1e-4 * self.extra(model)
                return loss
        """,
    "object-state-decides-the-term": """
        import torch
        from torch import nn
        class Regularization(object):
            def __init__(self, order, weight_decay):
                self.order = order
                self.weight_decay = weight_decay
            def __call__(self, model):
                reg_loss = 0
                for name, w in model.named_parameters():
                    reg_loss = reg_loss + torch.norm(w, p=self.order)
                return self.weight_decay * reg_loss
        class NegativeLogLikelihood(nn.Module):
            def __init__(self, l2):
                super().__init__()
                self.reg = Regularization(order=2, weight_decay=l2)
            def forward(self, risk, model):
                neg_log_loss = -torch.sum(risk)
                l2_loss = self.reg(model)
                return neg_log_loss + l2_loss
        """,
    "object-of-a-subclass": """
        import torch
        class Base:
            def __call__(self, model):
                return sum(p.pow(2).sum() for p in model.parameters())
        class Child(Base):
            pass
        def step(model, out):
            fn = Child()
            loss = out + 1e-4 * fn(model)
            loss.backward()
        """,
    "object-as-a-class-attribute": """
        import torch
        class Extra:
            def __call__(self, model):
                return sum(p.abs().sum() for p in model.parameters())
        class Trainer:
            extra = Extra()
            def step(self, model, out):
                loss = out + 1e-4 * self.extra(model)
                loss.backward()
        """,
    # Objects reached in other ways: in a list, through getattr, returned by a function, stored on
    # another object, a module global, `.forward(...)` by name; and a partial of a helper.
    "list-of-objects": """
        import torch
        class Extra:
            def __call__(self, net):
                return sum(torch.norm(p, 2) for p in net.parameters())
        class Objective:
            def __init__(self):
                self.regs = [Extra()]
            def compute(self, out, net):
                loss = out + self.regs[0](net)
                loss.backward()
        """,
    "getattr-object": """
        import torch
        class Extra:
            def __call__(self, net):
                return sum(torch.norm(p, 2) for p in net.parameters())
        class Objective:
            def __init__(self):
                self.reg = Extra()
            def compute(self, out, net):
                loss = out + getattr(self, "reg")(net)
                loss.backward()
        """,
    "object-returned-by-function": """
        import torch
        class Extra:
            def __call__(self, net):
                return sum(torch.norm(p, 2) for p in net.parameters())
        def make():
            return Extra()
        def step(out, net):
            fn = make()
            loss = out + fn(net)
            loss.backward()
        """,
    "object-stored-on-other": """
        import torch
        class Extra:
            def __call__(self, net):
                return sum(torch.norm(p, 2) for p in net.parameters())
        class Trainer:
            def step(self, out, net):
                loss = out + self.reg(net)
                loss.backward()
        class Builder:
            def build(self, trainer):
                trainer.reg = Extra()
        def main(out, net):
            t = Trainer()
            Builder().build(t)
            t.step(out, net)
        """,
    "object-module-global": """
        import torch
        class Extra:
            def __call__(self, net):
                return sum(torch.norm(p, 2) for p in net.parameters())
        reg = Extra()
        def step(out, net):
            loss = out + reg(net)
            loss.backward()
        """,
    "forward-via-method-name": """
        import torch
        class Extra:
            def forward(self, net):
                return sum(torch.norm(p, 2) for p in net.parameters())
        class Objective:
            def __init__(self):
                self.reg = Extra()
            def compute(self, out, net):
                loss = out + self.reg.forward(net)
                loss.backward()
        """,
    "partial-helper": """
        import torch
        from functools import partial
        def extra(net, scale):
            return scale * sum(torch.norm(p, 2) for p in net.parameters())
        def step(out, net):
            fn = partial(extra, scale=1e-4)
            loss = out + fn(net)
            loss.backward()
        """,
    # An object kept on self by one class of a hierarchy and called by another.
    "object-made-by-a-base-class": """
        import torch
        class Extra:
            def __call__(self, net):
                return sum(torch.norm(p, 2) for p in net.parameters())
        class BaseObjective:
            def __init__(self):
                self.reg = Extra()
        class Objective(BaseObjective):
            def compute(self, out, net):
                loss = out + self.reg(net)
                loss.backward()
        """,
    "object-called-by-a-base-class": """
        import torch
        class Extra:
            def __call__(self, net):
                return sum(torch.norm(p, 2) for p in net.parameters())
        class BaseObjective:
            def compute(self, out, net):
                loss = out + self.reg(net)
                loss.backward()
        class Objective(BaseObjective):
            def __init__(self):
                self.reg = Extra()
        """,
    # An object's attributes carry a parameter from the method that stores it to the others.
    "attribute-stored-in-init": """
        import torch.nn as nn
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 4)
                self.w = self.fc.weight
            def training_step(self, batch, idx):
                loss = self.crit(batch) + self.w.norm(2)
                return loss
        """,
    "attribute-stored-in-another-method": """
        import torch.nn as nn
        class Net(nn.Module):
            def setup(self):
                self.w = self.fc.weight
            def training_step(self, batch, idx):
                loss = self.crit(batch) + self.w.norm(2)
                return loss
        """,
    "attribute-read-where-the-object-is-made": """
        import torch
        class Net:
            def __init__(self):
                self.fc = torch.nn.Linear(3, 3)
                self.w = self.fc.weight
        def train(x):
            model = Net()
            loss = x.mean() + model.w.norm()
            return loss
        """,
    "attribute-read-by-a-subclass": """
        import torch
        class Base:
            def __init__(self):
                self.w = self.fc.weight
        class Child(Base):
            def compute_loss(self, x):
                return x.mean() + self.w.norm()
        """,
    "penalty-stored-on-the-object": """
        import torch
        class Trainer:
            def prepare(self, model):
                self.reg = sum(p.norm(2) for p in model.parameters())
            def step(self, out, y):
                loss = (out - y).abs().mean() + 1e-4 * self.reg
                loss.backward()
        """,
    # An L1 loss of a parameter against zeros is an L1 term, wherever the criterion is made.
    "l1-criterion-made-in-init": """
        import torch
        import torch.nn as nn
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 4)
                self.l1 = nn.L1Loss(reduction="sum").cuda()
            def training_step(self, batch, idx):
                loss = self.crit(batch)
                for p in self.parameters():
                    loss = loss + 1e-5 * self.l1(p, torch.zeros_like(p))
                return loss
        """,
    "l1-criterion-passed-in": """
        import torch
        from torch.nn import L1Loss as Crit
        def l1_of(model, crit):
            total = 0
            for p in model.parameters():
                total += crit(torch.zeros_like(p), p)
            return total
        def step(model, out, y):
            loss = (out - y).abs().mean() + 1e-5 * l1_of(model, Crit(size_average=False))
            loss.backward()
        """,
    "l1-criterion-from-a-factory": """
        import torch
        import torch.nn as nn
        def make_criterion():
            return nn.L1Loss(size_average=False)
        def regularized(model, out, y):
            crit = make_criterion()
            loss = (out - y).abs().mean()
            for p in model.parameters():
                loss = loss + 1e-5 * crit(p, torch.zeros_like(p))
            return loss
        """,
    "functional-l1-loss": """
        import torch
        import torch.nn.functional as F
        def regularized(model, out, y):
            penalty = sum(F.l1_loss(w, torch.zeros_like(w), reduction="sum") for w in model.parameters())
            return F.mse_loss(out, y) + 1e-5 * penalty
        """,
    "nothing": "import os\nprint(os.getcwd())\n",
}
ADVERSARIAL["syntax-error-in-a-body-read"] = ADVERSARIAL["syntax-error-in-a-body-never-read"].replace(
    "torch.rsqrt(loss_scale)", "torch.rsqrt(loss_scale) 1"
)

SOURCES = corpus_sources() + [
    (f"adversarial:{name}", textwrap.dedent(text)) for name, text in ADVERSARIAL.items()
]


def _findings(source: str, enabled: frozenset[str], use_prefilter: bool) -> list[dict[str, object]]:
    findings = prefilter.lint_data(source.encode("utf-8"), "snippet.py", Settings(), enabled, use_prefilter)
    assert findings.internal_error is None, findings.internal_error
    return [f.to_json() for f in findings.findings]


def _expected_with_prefilter(source: str, enabled: frozenset[str]) -> list[dict[str, object]]:
    """The findings without the prefilter, less RL000 where the text alone rules the file out.
    Where the only syntax error is in a function pruned away, the findings of the rest of the file
    (see "RL000" in reglint/analysis/triage/decision.py): those of the pruned copy without the prefilter."""
    findings = _findings(source, enabled, False)
    decision = triage.verdict(source, "snippet.py", enabled)
    if decision.ruled_out_unparsed:
        findings = [f for f in findings if f["code"] != "RL000"]
    elif decision.parse_text is not None and not _libcst_parses(source) and _libcst_parses(decision.parse_text):
        return _findings(decision.parse_text, enabled, False)
    return findings


def _libcst_parses(text: str) -> bool:
    from reglint.engine.runner import parse_module

    try:
        parse_module(text)
    except Exception:
        return False
    return True


@pytest.mark.parametrize("name,source", SOURCES, ids=[name for name, _ in SOURCES])
def test_same_findings_with_and_without_prefilter(name: str, source: str) -> None:
    for label, enabled in SELECTIONS.items():
        assert _findings(source, enabled, True) == _expected_with_prefilter(source, enabled), label


BROKEN_TRAINING_CODE = """\
import torch
opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4
for x, y in loader:
    loss = crit(model(x), y) + 1e-4 * sum(p.pow(2).sum() for p in model.parameters())
"""
BROKEN_OTHER_CODE = "def tokenize(text:\n    return text.split()\n"


@pytest.mark.parametrize("selection", ["all", "default", "penalties", "optimizers", "RL203"])
def test_a_broken_file_that_may_hold_a_finding_gets_rl000(selection: str) -> None:
    enabled = SELECTIONS[selection] | {"RL000"}
    codes = [f["code"] for f in _findings(BROKEN_TRAINING_CODE, enabled, True)]
    assert codes == ["RL000"]


def test_the_rl000_page_example_is_reported_with_the_prefilter() -> None:
    page = (ROOT / "rules" / "RL000.md").read_text(encoding="utf-8")
    example = re.search(r"```text\n# train.py\n(.*?)```", page, re.S)
    assert example is not None
    for enabled in (ALL, SELECTIONS["default"]):
        assert [f["code"] for f in _findings(example.group(1), enabled, True)] == ["RL000"]


def test_a_broken_file_without_regularization_code_is_not_parsed() -> None:
    # Documented: its text rules out every rule, so it is never parsed (ruff, flake8 or CPython
    # report its syntax error); without the prefilter it is parsed and RL000 is reported.
    assert triage.verdict(BROKEN_OTHER_CODE, "t.py", ALL).reason == "not in the text"
    assert _findings(BROKEN_OTHER_CODE, ALL, True) == []
    assert [f["code"] for f in _findings(BROKEN_OTHER_CODE, ALL, False)] == ["RL000"]


BROKEN_HELPER = """\
import torch

def report(rows):
    total = 0
    for row in rows
        total += len(row)
    return total

def reg(model):
    return sum(p.abs().sum() for p in model.parameters())

def train(model):
    loss = crit(model(x), y) + reg(model)
    loss.backward()
"""


def test_a_syntax_error_in_a_function_that_cannot_take_part_is_left_to_other_tools() -> None:
    # Documented: such a function is parsed by its name only (pruned), like a file ruled out on
    # its text; --no-prefilter and RL000 alone parse it.
    decision = triage.verdict(BROKEN_HELPER, "t.py", ALL)
    assert decision.analyze and decision.parse_text is not None
    assert "for row in rows" not in decision.parse_text
    assert [f["code"] for f in _findings(BROKEN_HELPER, ALL, True)] == ["RL101"]
    assert [f["code"] for f in _findings(BROKEN_HELPER, ALL, False)] == ["RL000"]
    assert [f["code"] for f in _findings(BROKEN_HELPER, frozenset({"RL000"}), True)] == ["RL000"]


def test_merge_conflict_markers_anywhere_in_a_training_file_get_rl000() -> None:
    conflicted = BROKEN_HELPER.replace(
        "    for row in rows\n        total += len(row)\n",
        "<<<<<<< HEAD\n    total += 1\n=======\n    total += 2\n>>>>>>> tune\n",
    )
    assert triage.verdict(conflicted, "t.py", ALL).parse_text is None
    assert [f["code"] for f in _findings(conflicted, ALL, True)] == ["RL000"]


@pytest.mark.parametrize("name,source", SOURCES, ids=[name for name, _ in SOURCES])
def test_rl000_alone_checks_the_syntax_of_every_file(name: str, source: str) -> None:
    enabled = frozenset({"RL000"})
    assert _findings(source, enabled, True) == _findings(source, enabled, False)


def test_rl000_alone_reports_a_file_without_regularization_code() -> None:
    assert [f["code"] for f in _findings(BROKEN_OTHER_CODE, frozenset({"RL000"}), True)] == ["RL000"]


# Shapes the analysis does not follow yet: kept so that when it learns one, the triage is checked
# on it at once (the test below then says to move it out of this list).
NOT_FOLLOWED_YET = (
    "getattr-object", "object-stored-on-other",
    "object-made-by-a-base-class", "object-called-by-a-base-class",
    "attribute-read-by-a-subclass",  # the analysis does not run an inherited __init__
)


def test_the_adversarial_cases_do_find_something() -> None:
    # Otherwise they would test nothing: each one has findings without the prefilter.
    silent = [
        name for name, text in ADVERSARIAL.items()
        if name not in ("nothing", "return-outside-function")
        and not _findings(textwrap.dedent(text), ALL, False)
    ]
    assert sorted(silent) == sorted(NOT_FOLLOWED_YET)


JOINED = ("helpers", "module-variable", "unique-method", "self-method", "aliased-sum")


@pytest.mark.parametrize("name", JOINED)
def test_the_join_cases_need_more_than_one_unit(name: str) -> None:
    # No unit holds parameter, term and loss alone (or, for aliased-sum, without the import), so
    # these cases only pass because units are joined (or the import counts everywhere).
    tree = ast.parse(textwrap.dedent(ADVERSARIAL[name]))
    units = triage._syntax_units(tree)
    for index, unit in enumerate(units):
        triage._scan(unit, index == 0)
    assert all(unit.features != 7 for unit in units)


def test_text_patterns_do_not_backtrack_exponentially() -> None:
    import time

    nasty = "x = model.  #" + " #" * 40 + "\n" + ". ## # # ## " * 2000 + "\nloss = 1\n"
    nasty += "(a.\r\n" + "  # # # # # #\r\n" * 40 + "  b)\n"
    start = time.perf_counter()
    triage.verdict(nasty + "y = p.weight.sum()\n", "n.py", ALL)
    for pattern in (triage._PARAM_ATTRIBUTE_TEXT, triage._TERM_ATTRIBUTE_TEXT):
        pattern.search(nasty)
    # The param-group key and getattr patterns, on keys followed by comments full of `#` and on
    # getattr calls never closed by a comma.
    from reglint.analysis import optimizers
    from reglint.analysis.triage import textcut

    keys = '"params" # ' + "# " * 40 + "\n"
    optimizers.may_hold_a_misspelt_group_key(keys * 200 + '"wd": 1\n')
    textcut._names_a_class_by_getattr("getattr( ( torch . \\\n optim ) " * 2000)
    # About 1.5 s on a slow 2-core machine (the comment-aware patterns are quadratic on this one
    # long line); exponential backtracking on 40 comments would not finish at all.
    assert time.perf_counter() - start < 6.0


def test_prefilter_skips_files_that_cannot_fire() -> None:
    model_code = textwrap.dedent(
        """
        import torch
        class RMSNorm(torch.nn.Module):
            def forward(self, x):
                variance = x.pow(2).mean(-1, keepdim=True)
                return self.weight * x * torch.rsqrt(variance)
        class Head(torch.nn.Module):
            def forward(self, x, labels=None):
                logits = self.proj(x)
                loss = None if labels is None else self.loss_fn(logits, labels)  # weight, sum in a comment
                return loss, logits
        """
    )
    for text in (model_code, ADVERSARIAL["nothing"]):
        verdict = triage.verdict(text, "m.py", ALL)
        assert not verdict.analyze, verdict.reason
        assert _findings(text, ALL, True) == []


def test_a_rule_unknown_to_the_prefilter_sends_every_file_to_libcst() -> None:
    verdict = triage.verdict("x = 1\n", "m.py", frozenset({"RL999"}))
    assert verdict.analyze


def test_every_static_rule_is_in_the_table() -> None:
    static = {code for code, info in all_rules().items() if info.origin == "static"}
    assert static <= set(triage.RULE_FACTS), sorted(static - set(triage.RULE_FACTS))


def test_the_optimizer_word_check_finds_every_optimizer_class() -> None:
    # Torch's classes alone, another library's beside an import of that library (the only way its
    # qualified name can start with the library).
    from reglint.analysis.optimizers import (
        ALL_NAMES,
        LIBRARY_NAMES,
        LIBRARY_PACKAGES,
        SPECS,
        mentions_an_optimizer,
    )

    for import_line in ("import torch", "from torch.optim import *", "import torch.optim as optim"):
        assert all(mentions_an_optimizer(f"{import_line}\nopt = {name}(p)") for name in SPECS)
    assert all(mentions_an_optimizer(f"opt = torch.optim.{name}(p)") for name in SPECS)  # no import
    for package in LIBRARY_PACKAGES:
        assert all(mentions_an_optimizer(f"x = 1; import {package}\nopt = {name}(p)") for name in LIBRARY_NAMES)
    assert set(ALL_NAMES) >= LIBRARY_NAMES


def test_a_module_of_another_framework_constructs_no_optimizer() -> None:
    # d2l's MXNet, TensorFlow and JAX modules: `SGD` and `Adam` are their own classes or another
    # framework's, never torch.optim's (whose qualified name needs `torch` in the text).
    from reglint.analysis.optimizers import mentions_an_optimizer

    mxnet = "from mxnet import gluon\nclass SGD:\n    pass\n\ndef configure_optimizers(self):\n    return SGD(self.params)\n"
    tensorflow = "import tensorflow as tf\nopt = tf.keras.optimizers.Adam(learning_rate=0.01)\n"
    assert not mentions_an_optimizer(mxnet)
    assert not mentions_an_optimizer(tensorflow)
    assert mentions_an_optimizer(tensorflow + "import torch\n")


# Identifiers built from the vocabulary's words and others, in any case, glued with underscores.
_NAME_PIECES = st.sampled_from(
    [*vocabulary.PENALTY_STEMS, *vocabulary.LOSS_STEMS, *vocabulary.LOSS_FUNCTION_WORDS,
     "weightnorm", "weight_norm", "losses", "x", "step", "model", "la", "re", "o", "cos", "st", "_"]
).map(lambda piece: piece.replace("_?", "_"))
NAMES = st.lists(st.tuples(_NAME_PIECES, st.booleans()), min_size=1, max_size=4).map(
    lambda pieces: "".join(piece.upper() if upper else piece for piece, upper in pieces)
)


@given(NAMES)
@settings(max_examples=400, deadline=None)
def test_every_penalty_or_loss_name_holds_a_word_the_text_check_looks_for(name: str) -> None:
    """The first cut's lower-cased words over-approximate the analysis' own name patterns."""
    if any(pattern.search(name) for pattern in (vocabulary.PENALTY_NAME, vocabulary.LOSS_NAME, vocabulary.LOSS_FUNCTION)):
        assert any(word in name.lower() for word in triage.LOSS_WORDS), name


def test_undecodable_and_notebook_inputs_take_the_runner_path() -> None:
    for data, path in ((b"\xff\xfe bad", "bad.py"), (b"x = '\x00'\n", "nul.py"), (b"{}", "empty.ipynb")):
        with_filter = prefilter.lint_data(data, path, Settings(), ALL, True)
        without = prefilter.lint_data(data, path, Settings(), ALL, False)
        assert [f.to_json() for f in with_filter[0]] == [f.to_json() for f in without[0]]
        assert with_filter[2] is True


def test_cli_no_prefilter_flag(tmp_path: Path) -> None:
    outputs = []
    for flags in ([], ["--no-prefilter"]):
        result = CliRunner().invoke(
            main, ["check", "--isolated", "--no-cache", "-j", "1", "--format", "json", "--select", "ALL", *flags, str(FIXTURES)]
        )
        assert result.exit_code == 1, result.output
        outputs.append(json.loads(result.output)["findings"])
    assert outputs[0] == outputs[1]


@pytest.mark.parametrize(
    "data",
    [
        b"x = 1\n",
        b"\xef\xbb\xbfx = 'bom'\n",
        "# -*- coding: latin-1 -*-\nname = 'caf\xe9'\n".encode("latin-1"),
        "s = 'cafe\u0301 \u017f'\n".encode("utf-8"),
        b"x = 1\r\ny = 2\r\n",
    ],
)
def test_decoding_matches_the_runner(data: bytes) -> None:
    # The prefilter decodes on its own (importing the runner would import libcst); it must see
    # exactly the text the runner lints.
    from reglint.engine.runner import decode

    text, error = decode(data, "x.py")
    assert error is None
    assert prefilter.decode_plain(data) == text


PROJECT_FILES = sorted((FIXTURES / "projects").rglob("*.py"))


@pytest.mark.parametrize(
    "path", PROJECT_FILES, ids=[str(p.relative_to(FIXTURES / "projects")) for p in PROJECT_FILES]
)
def test_each_file_of_a_multi_file_project_lints_the_same_with_and_without_the_prefilter(path: Path) -> None:
    # A file whose penalty helper, model or optimizer factory lives in another module of its
    # project is not ruled out on its own text (as pre-commit passes it: one file, by its path).
    data = path.read_bytes()

    def findings(use_prefilter: bool) -> list[dict[str, object]]:
        linted = prefilter.lint_data(data, str(path), Settings(), ALL, use_prefilter)
        assert linted.internal_error is None, linted.internal_error
        return [f.to_json() for f in linted.findings]

    assert findings(True) == findings(False)


def test_the_project_files_do_find_something() -> None:
    # (the comparison above would hold for a triage and an analysis that both find nothing)
    projects = FIXTURES / "projects"
    marked = {path.relative_to(projects).parts[0] for path in PROJECT_FILES if "# expect:" in path.read_text(encoding="utf-8")}
    finding = {
        path.relative_to(projects).parts[0] for path in PROJECT_FILES
        if prefilter.lint_data(path.read_bytes(), str(path), Settings(), ALL, False).findings
    }
    assert marked and not marked - finding


@pytest.mark.parametrize("name", ["object-made-by-a-base-class", "object-called-by-a-base-class"])
def test_an_object_kept_on_self_joins_the_whole_class_hierarchy(name: str) -> None:
    # The analysis does not follow these yet; the cuts already join the object's __call__ with
    # the methods of every class related by inheritance to the one that keeps it, in both cuts.
    text = textwrap.dedent(ADVERSARIAL[name])
    syntax = triage._syntax_features(ast.parse(text))
    live = {unit.name for unit, alive in zip(syntax.units, syntax.live) if alive}
    assert {"__call__", "compute"} <= live
    units = textcut.text_facts(text, vocabulary.COMMON_METHODS, prune=True)
    assert units is not None and units.penalty and units.pruned is None


# Instances of the file's classes: the analysis runs a call of one as its class's forward /
# __call__ (call_value), with the arguments given and returning what it returns; the flow cut
# follows classes and instances as kinds of their own (flowcut._call_held). Each source holds a
# penalty only that way.
INSTANCE_CALLS = {
    "an-object-picked-by-a-condition": """
        import torch.nn as nn

        class Size(nn.Module):
            def forward(self, ps):
                return sum(p.norm(2) for p in ps)

        class Mass(nn.Module):
            def forward(self, ps):
                return sum(p.abs().sum() for p in ps)

        def run(model, loader, sparse):
            extra = Mass() if sparse else Size()
            for x, y in loader:
                loss = nn.functional.mse_loss(model(x), y) + 1e-4 * extra(model.parameters())
                loss.backward()
        """,
    "a-class-picked-by-a-key": """
        import torch.nn as nn

        class Size:
            def __init__(self, ps):
                self.ps = list(ps)

            def value(self):
                return sum(p.norm(2) for p in self.ps)

        class Mass:
            def __init__(self, ps):
                self.ps = list(ps)

            def value(self):
                return sum(p.abs().sum() for p in self.ps)

        KINDS = {"size": Size, "mass": Mass}

        def run(model, loader, kind):
            extra = KINDS[kind](model.parameters())
            for x, y in loader:
                loss = nn.functional.mse_loss(model(x), y) + 1e-4 * extra.value()
                loss.backward()
        """,
    # An object kept by one module class and called by an unrelated one it is handed to: the
    # classes share no family in the file (only in-file bases relate classes); the code that
    # names both joins them.
    "penalty-object-called-by-an-unrelated-trainer": """
        import torch.nn as nn

        class NormPenalty(nn.Module):
            def forward(self, params):
                return sum(p.norm(2) for p in params)

        class Encoder(nn.Module):
            def __init__(self):
                super().__init__()
                self.proj = nn.Linear(4, 2)
                self.penalty = NormPenalty()

            def forward(self, x):
                return self.proj(x)

        class Trainer(nn.Module):
            def __init__(self, encoder):
                super().__init__()
                self.encoder = encoder

            def training_step(self, x, y):
                fit = nn.functional.mse_loss(self.encoder(x), y)
                return fit + 0.01 * self.encoder.penalty(self.encoder.parameters())

        trainer = Trainer(Encoder())
        for x, y in []:
            trainer.training_step(x, y)
        """,
    "penalty-object-backpropagated-by-a-hook-two-calls-away": """
        import torch.nn as nn

        class Extra(nn.Module):
            def forward(self, params):
                return sum(p.norm(2) for p in params)

        class Model(nn.Module):
            def __init__(self):
                super().__init__()
                self.head = nn.Linear(4, 2)
                self.extra = Extra()

        class Hook:
            def add_penalty(self, model):
                penalty = model.extra(model.parameters())
                penalty.backward()

        class Loop:
            def __init__(self):
                self.hook = Hook()

            def fit(self, model):
                self.hook.add_penalty(model)

        def run():
            Loop().fit(Model())
        """,
    "parameters-given-to-an-inherited-forward": """
        import torch.nn as nn

        class Base(nn.Module):
            def forward(self, params):
                return sum(p.pow(2).sum() for p in params)

        class L2(Base):
            pass

        model = nn.Linear(4, 2)
        reg = L2().to("cpu")
        for x, y in []:
            loss = nn.functional.mse_loss(model(x), y) + 1e-4 * reg(model.parameters())
            loss.backward()
        """,
    "what-a-forward-returns": """
        import torch.nn as nn

        class Collect(nn.Module):
            def forward(self, m):
                return [p for p in m.parameters()]

        col = Collect()
        model = nn.Linear(4, 2)
        for x, y in []:
            loss = nn.functional.mse_loss(model(x), y) + 1e-4 * sum(p.pow(2).sum() for p in col(model))
            loss.backward()
        """,
    "an-instance-kept-by-a-trainer": """
        import torch
        import torch.nn as nn

        class Norm2:
            def __call__(self, tensors):
                return sum(torch.norm(t) for t in tensors)

        class Trainer:
            def __init__(self, model):
                self.model = model
                self.penalty = Norm2()

            def step(self, x, y):
                out = self.model(x)
                loss = nn.functional.cross_entropy(out, y) + 1e-3 * self.penalty(list(self.model.parameters()))
                loss.backward()
        """,
    "a-class-held-as-a-value": """
        import torch.nn as nn

        class Squares(nn.Module):
            def forward(self, params):
                return sum((p ** 2).sum() for p in params)

        make = Squares
        model = nn.Linear(4, 2)
        reg = make()
        for x, y in []:
            loss = nn.functional.mse_loss(model(x), y) + 1e-4 * reg(model.parameters())
            loss.backward()
        """,
    "an-instance-given-to-a-function": """
        import torch.nn as nn

        class Squares(nn.Module):
            def forward(self, params):
                return sum(p.pow(2).sum() for p in params)

        def train(model, reg, loader):
            for x, y in loader:
                loss = nn.functional.mse_loss(model(x), y) + 1e-4 * reg(model.parameters())
                loss.backward()

        train(nn.Linear(4, 2), Squares(), [])
        """,
}


# Lambdas are run where they are called (no optimizer in these files, so the flow cut decides):
# a call of one has what its body returns, and its parameters may hold anything, objects of the
# file's classes included.
LAMBDAS = {
    "lambda-returns-a-weight": """
        import torch.nn as nn

        model = nn.Sequential(nn.Linear(10, 10), nn.ReLU(), nn.Linear(10, 1))
        first_weight = lambda m: m[0].weight
        for x, y in []:
            loss = nn.functional.mse_loss(model(x), y) + 1e-4 * first_weight(model).norm(2)
            loss.backward()
        """,
    "lambda-calls-the-object-it-is-given": """
        import torch.nn as nn

        class Size(nn.Module):
            def forward(self, ps):
                return sum(p.norm(2) for p in ps)

        apply_to = lambda r, net: r(net.parameters())
        model = nn.Linear(10, 1)
        for x, y in []:
            loss = nn.functional.mse_loss(model(x), y) + 1e-4 * apply_to(Size(), model)
            loss.backward()
        """,
    "lambda-kept-on-self": """
        import torch.nn as nn

        class Wrapped(nn.Module):
            def __init__(self):
                super().__init__()
                self.body = nn.Linear(4, 4)
                self.pick = lambda m: m.weight

            def objective(self, x, y):
                loss = nn.functional.mse_loss(self.body(x), y)
                return loss + 1e-4 * self.pick(self.body).norm(2)
        """,
    "lambda-in-a-class-body": """
        import torch.nn.functional as F

        class SparseTrainer:
            extra = lambda self, m: sum(p.norm(2) for p in m.parameters())

            def __init__(self, model, lam=1e-5):
                self.model, self.lam = model, lam

            def fit_batch(self, x, y):
                loss = F.cross_entropy(self.model(x), y) + self.lam * self.extra(self.model)
                loss.backward()
        """,
    "lambdas-in-a-class-dict": """
        import torch.nn.functional as F

        class Fitter:
            TERMS = {
                "size": lambda net: sum(p.norm(2) for p in net.parameters()),
                "sq": lambda net: sum(p.pow(2).sum() for p in net.parameters()),
            }

            def __init__(self, model):
                self.model = model

            def fit_batch(self, x, y):
                loss = F.cross_entropy(self.model(x), y)
                for fn in self.TERMS.values():
                    loss = loss + 1e-5 * fn(self.model)
                loss.backward()
        """,
    "lambda-in-a-list-given-to-a-helper": """
        import torch.nn as nn

        def combine(fns, m):
            return sum(f(m) for f in fns)

        class Wrapped(nn.Module):
            def __init__(self):
                super().__init__()
                self.body = nn.Linear(4, 4)

            def objective(self, x, y):
                loss = nn.functional.mse_loss(self.body(x), y)
                return loss + 1e-4 * combine([lambda m: m.weight.norm(2)], self.body)
        """,
}


# Every function reads the module's names, so what the module's code computes with the functions
# it calls feeds every component: they are kept (not pruned) wherever a penalty is possible.
MODULE_COMPONENT = {
    "module-code-calls-a-helper": """
        import torch.nn as nn

        def mags(m):
            out = []
            for p in m.parameters():
                out.append(p.norm())
            return out

        net = nn.Linear(4, 4)
        extra = sum(mags(net))

        def run(loader, stepper):
            for x, y in loader:
                total = nn.functional.cross_entropy(net(x), y) + 1e-4 * extra
                stepper.zero_grad()
                total.backward()
                stepper.step()
        """,
    "module-lambda-calls-a-helper": """
        import torch.nn as nn

        def mags(m):
            return [p.norm() for p in m.parameters()]

        shrink = lambda m: sum(mags(m))

        def run(model, loader, stepper):
            for x, y in loader:
                total = nn.functional.cross_entropy(model(x), y) + 1e-4 * shrink(model)
                stepper.zero_grad()
                total.backward()
                stepper.step()
        """,
    "module-factory-returns-a-lambda": """
        import torch.nn as nn

        def make_term(c):
            return lambda net: c * sum(p.norm(2) for p in net.parameters() if p.ndim > 1)

        shrink = make_term(1e-4)

        def run(net, loader, stepper):
            for x, y in loader:
                total = nn.functional.cross_entropy(net(x), y) + shrink(net)
                stepper.zero_grad()
                total.backward()
                stepper.step()
        """,
}


# The file's functions used as values (no optimizer in these files, so the flow cut decides): the
# unit that names one is joined with it, and a call through a value may call any of them.
FUNCTION_VALUES = {
    "function-passed-to-a-loop": """
        import torch.nn as nn

        def size_of(ps):
            return sum(p.norm(2) for p in ps)

        def run(model, loader, fn):
            for x, y in loader:
                loss = nn.functional.mse_loss(model(x), y) + 1e-4 * fn(model.parameters())
                loss.backward()

        def main(loader):
            run(nn.Linear(4, 4), loader, size_of)
        """,
    "function-bound-to-a-name": """
        import torch.nn as nn

        def size_of(ps):
            return sum(p.norm(2) for p in ps)

        def run(model, loader):
            fn = size_of
            for x, y in loader:
                loss = nn.functional.mse_loss(model(x), y) + 1e-4 * fn(model.parameters())
                loss.backward()
        """,
    "functions-in-a-dict": """
        import torch.nn as nn

        def size_of(ps):
            return sum(p.norm(2) for p in ps)

        def abs_of(ps):
            return sum(p.abs().sum() for p in ps)

        TERMS = {"l2": size_of, "l1": abs_of}

        class Wrapped(nn.Module):
            def __init__(self):
                super().__init__()
                self.body = nn.Linear(4, 4)

            def objective(self, x, y):
                loss = nn.functional.mse_loss(self.body(x), y)
                for fn in TERMS.values():
                    loss = loss + 1e-4 * fn(self.body.parameters())
                return loss
        """,
    # A value of a function's kind returns what the function returns, called with nothing of a kind.
    "called-without-arguments": """
        import torch.nn as nn

        NET = nn.Linear(4, 4)

        def matrices():
            return [m.weight for m in NET.modules() if isinstance(m, nn.Linear)]

        def run(loader):
            source = matrices
            for x, y in loader:
                loss = nn.functional.mse_loss(NET(x), y) + 1e-4 * sum(w.norm(2) for w in source())
                loss.backward()
        """,
    "returned-by-a-lambda": """
        import torch.nn as nn

        def size_of(ps):
            return sum(p.norm(2) for p in ps)

        pick = lambda: size_of

        def run(model, loader):
            for x, y in loader:
                loss = nn.functional.mse_loss(model(x), y) + 1e-4 * pick()(model.parameters())
                loss.backward()
        """,
    "handed-to-a-lambda": """
        import torch.nn as nn

        def size_of(ps):
            return sum(p.norm(2) for p in ps)

        apply = lambda f, ps: f(ps)

        def run(model, loader):
            for x, y in loader:
                loss = nn.functional.mse_loss(model(x), y) + 1e-4 * apply(size_of, model.parameters())
                loss.backward()
        """,
    "chosen-by-a-function": """
        import torch.nn as nn

        def size_of(ps):
            return sum(p.norm(2) for p in ps)

        def abs_of(ps):
            return sum(p.abs().sum() for p in ps)

        def choose(name):
            if name == "l1":
                return abs_of
            return size_of

        def run(model, loader, name):
            fn = choose(name)
            for x, y in loader:
                loss = nn.functional.mse_loss(model(x), y) + 1e-4 * fn(model.parameters())
                loss.backward()
        """,
    "picked-by-a-condition": """
        import torch.nn as nn

        def size_of(ps):
            return sum(p.norm(2) for p in ps)

        def abs_of(ps):
            return sum(p.abs().sum() for p in ps)

        def run(model, loader, use_l1):
            fn = abs_of if use_l1 else size_of
            for x, y in loader:
                loss = nn.functional.mse_loss(model(x), y) + 1e-4 * fn(model.parameters())
                loss.backward()
        """,
    "picked-from-a-dict-by-a-flag": """
        import torch.nn as nn

        def size_of(ps):
            return sum(p.norm(2) for p in ps)

        def abs_of(ps):
            return sum(p.abs().sum() for p in ps)

        PENALTIES = {"l1": abs_of, "l2": size_of}

        def run(model, loader, name):
            fn = PENALTIES[name]
            for x, y in loader:
                loss = nn.functional.mse_loss(model(x), y) + 1e-4 * fn(model.parameters())
                loss.backward()
        """,
    "an-elif-chain": """
        import torch.nn as nn

        def size_of(ps):
            return sum(p.norm(2) for p in ps)

        def abs_of(ps):
            return sum(p.abs().sum() for p in ps)

        def run(model, loader, name):
            fn = None
            if name == "l1":
                fn = abs_of
            elif name == "l2":
                fn = size_of
            for x, y in loader:
                loss = nn.functional.mse_loss(model(x), y)
                if fn is not None:
                    loss = loss + 1e-4 * fn(model.parameters())
                loss.backward()
        """,
    "a-default-replaced-under-a-flag": """
        import torch.nn as nn

        def size_of(ps):
            return sum(p.norm(2) for p in ps)

        def abs_of(ps):
            return sum(p.abs().sum() for p in ps)

        def run(model, loader, sparse):
            fn = size_of
            if sparse:
                fn = abs_of
            for x, y in loader:
                loss = nn.functional.mse_loss(model(x), y) + 1e-4 * fn(model.parameters())
                loss.backward()
        """,
    "partial-with-the-parameters-bound": """
        import torch.nn as nn
        from functools import partial

        def size_of(ps):
            return sum(p.norm(2) for p in ps)

        def run(model, loader):
            penalty = partial(size_of, model.parameters())
            for x, y in loader:
                loss = nn.functional.mse_loss(model(x), y) + 1e-4 * penalty()
                loss.backward()
        """,
    "partial-with-a-coefficient-bound": """
        import functools
        import torch.nn as nn

        def size_of(ps, lam):
            return lam * sum(p.norm(2) for p in ps)

        def run(model, loader):
            penalty = functools.partial(size_of, lam=1e-4)
            for x, y in loader:
                loss = nn.functional.mse_loss(model(x), y) + penalty(model.parameters())
                loss.backward()
        """,
    "partial-shifting-the-positions": """
        import torch.nn as nn
        from functools import partial

        def scaled(lam, order, ps):
            return lam * sum(p.norm(order) for p in ps)

        def run(model, loader):
            penalty = partial(scaled, 1e-4, 2)
            for x, y in loader:
                loss = nn.functional.mse_loss(model(x), y) + penalty(model.parameters())
                loss.backward()
        """,
    "a-nested-def-reading-its-enclosing-names": """
        import torch.nn as nn

        def run(model, loader):
            ps = [p for p in model.parameters()]

            def size():
                return sum(q.norm(2) for q in ps)

            for x, y in loader:
                loss = nn.functional.mse_loss(model(x), y) + 1e-4 * size()
                loss.backward()
        """,
    "a-nested-def-returned-by-a-factory": """
        import torch.nn as nn

        def make(lam):
            def size(ps):
                return lam * sum(p.norm(2) for p in ps)

            return size

        def run(model, loader):
            penalty = make(1e-4)
            for x, y in loader:
                loss = nn.functional.mse_loss(model(x), y) + penalty(model.parameters())
                loss.backward()
        """,
    "a-nested-def-closing-over-the-parameters": """
        import torch.nn as nn

        def make(ps):
            def size():
                return sum(p.norm(2) for p in ps)

            return size

        def run(model, loader):
            penalty = make(list(model.parameters()))
            for x, y in loader:
                loss = nn.functional.mse_loss(model(x), y) + 1e-4 * penalty()
                loss.backward()
        """,
    "a-bound-method-picked-by-a-flag": """
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.body = nn.Linear(4, 4)

            def size_of(self, ps):
                return sum(p.norm(2) for p in ps)

            def mass_of(self, ps):
                return sum(p.abs().sum() for p in ps)

        def run(loader, sparse):
            model = Net()
            measure = model.mass_of if sparse else model.size_of
            for x, y in loader:
                loss = nn.functional.mse_loss(model.body(x), y) + 1e-4 * measure(model.parameters())
                loss.backward()
        """,
    "a-bound-method-handed-to-a-loop": """
        import torch.nn as nn

        class Penalties:
            def size_of(self, ps):
                return sum(p.norm(2) for p in ps)

        def loop(model, loader, penalty):
            for x, y in loader:
                loss = nn.functional.mse_loss(model(x), y) + 1e-4 * penalty(model.parameters())
                loss.backward()

        def run(model, loader):
            loop(model, loader, Penalties().size_of)
        """,
    "kept-on-an-object": """
        import torch.nn as nn

        def size_of(ps):
            return sum(p.norm(2) for p in ps)

        class Step:
            def __init__(self, model, penalty=size_of):
                self.model = model
                self.penalty = penalty

            def step(self, x, y):
                loss = nn.functional.mse_loss(self.model(x), y)
                (loss + 1e-4 * self.penalty(self.model.parameters())).backward()
        """,
}

# A class of torch.optim named by a string (optimizers.NAMED_AT_RUN_TIME): no class name need be
# in the code at all, so each cut must take the call of getattr for one.
CLASSES_NAMED_AT_RUN_TIME = {
    "getattr-on-torch-optim": """
        import torch
        import torch.nn as nn

        def run(cfg, loader):
            model = nn.Sequential(nn.Linear(4, 8), nn.LayerNorm(8), nn.Linear(8, 1))
            optimizer = getattr(torch.optim, cfg.optimizer)(model.parameters(), lr=0.1, weight_decay=cfg.wd)
            for x, y in loader:
                nn.functional.mse_loss(model(x), y).backward()
                optimizer.step()
        """,
    "getattr-on-an-alias": """
        import torch.nn as nn
        from torch import optim as O

        model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 1))
        chosen = getattr(O, "SGD")
        optimizer = chosen(model.parameters(), lr=0.1, weight_decay=5e-4)
        """,
    "getattr-kept-on-self": """
        import torch
        import torch.nn as nn

        class Trainer:
            def __init__(self, name):
                self.model = nn.Sequential(nn.Linear(4, 8), nn.LayerNorm(8), nn.Linear(8, 1))
                self.optimizer_class = getattr(torch.optim, name)

            def configure(self, wd):
                return self.optimizer_class(self.model.parameters(), lr=0.1, weight_decay=wd)

        Trainer("AdamW").configure(0.05)
        """,
    "getattr-beside-a-class-called": """
        import torch
        import torch.nn as nn

        head = nn.Linear(8, 1, bias=False)
        head_optimizer = torch.optim.SGD(head.parameters(), lr=0.1)
        model = nn.Sequential(nn.Linear(4, 8), nn.LayerNorm(8), nn.Linear(8, 1))
        optimizer = getattr(torch.optim, "RMSprop")(model.parameters(), lr=0.1, weight_decay=1e-5)
        """,
}

# A param group whose optimizer the analysis does not see, with a key meant as weight_decay
# (FileFacts.stray_group_dicts): the text must find both keys, however they are written, and no
# function holding such a dict may be pruned.
GROUP_KEYS = {
    "in-a-helper": """
        def groups(model, wd):
            out = {}
            for name, p in model.named_parameters():
                out.setdefault(p.ndim, {"params": [], "weigth_decay": wd if p.ndim > 1 else 0.0})
            return list(out.values())
        """,
    "comment-before-the-colon": """
        def groups(model):
            return [{'params'  # all of them
                     : list(model.parameters()), 'wd' : 1e-4}]
        """,
    "triple-quoted-and-spaced": """
        def groups(model):
            return [{\"\"\"params\"\"\": [p for p in model.parameters()], "weight decay": 0.01}]
        """,
    "continued-line": """
        def groups(model):
            return [{"params": list(model.parameters()), "weight_decay_rate" \\
                     : 0.01}]
        """,
}


@pytest.mark.parametrize("name", sorted(GROUP_KEYS))
def test_judges_param_groups_whose_optimizer_is_not_seen(name: str) -> None:
    _finds_in_both_modes(GROUP_KEYS[name], "RL205")


@pytest.mark.parametrize("name", sorted(CLASSES_NAMED_AT_RUN_TIME))
def test_follows_optimizer_classes_named_at_run_time(name: str) -> None:
    _finds_in_both_modes(CLASSES_NAMED_AT_RUN_TIME[name], "RL202")


def _finds_in_both_modes(case: str, code: str) -> None:
    """The case holds a `code` finding without the prefilter, and the default run agrees, with the
    case as written (the text cut) and tab-indented (the syntax cut)."""
    source = textwrap.dedent(case)
    assert code in [f["code"] for f in _findings(source, ALL, False)], f"the case must hold an {code}"
    for text in (source, source.replace("    ", "\t")):
        assert _findings(text, ALL, True) == _findings(text, ALL, False)


def _finds_an_unsquared_norm_in_both_modes(case: str) -> None:
    _finds_in_both_modes(case, "RL102")


@pytest.mark.parametrize("name", sorted(FUNCTION_VALUES))
def test_follows_the_files_functions_used_as_values(name: str) -> None:
    _finds_an_unsquared_norm_in_both_modes(FUNCTION_VALUES[name])


@pytest.mark.parametrize("name", sorted(MODULE_COMPONENT))
def test_keeps_what_the_modules_code_calls(name: str) -> None:
    _finds_an_unsquared_norm_in_both_modes(MODULE_COMPONENT[name])


@pytest.mark.parametrize("name", sorted(LAMBDAS))
def test_follows_lambdas(name: str) -> None:
    _finds_an_unsquared_norm_in_both_modes(LAMBDAS[name])


@pytest.mark.parametrize("name", sorted(INSTANCE_CALLS))
def test_follows_calls_of_instances_of_the_files_classes(name: str) -> None:
    source = textwrap.dedent(INSTANCE_CALLS[name])
    codes = [f["code"] for f in _findings(source, ALL, False)]
    assert "RL101" in codes or "RL102" in codes, "the case must hold a penalty finding"
    assert _findings(source, ALL, True) == _findings(source, ALL, False)
