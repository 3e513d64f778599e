"""The flow cut (reglint/analysis/triage/flowcut.py) never rules out a module in which the analysis builds
a penalty, and it does rule out the model-file idioms it exists for.

Soundness is checked directly against the analysis (stronger than identical findings, which
test_prefilter.py checks for the prefilter as a whole): wherever the analysis records a penalty,
the flow cut must say a term can be built. benchmarks/flowcut_soundness.py runs the same check
over the benchmark corpora.
"""

from __future__ import annotations

import ast
import sys
import textwrap
from pathlib import Path

import pytest
from sources import corpus_sources

from reglint.analysis import analyze_module
from reglint.analysis.triage import decision as triage
from reglint.analysis.triage import readers
from reglint.analysis.triage.flowcut import (
    may_build_a_term,
    may_build_a_term_in,
    may_call_an_optimizer_class,
)
from reglint.analysis.triage.textcut import skeleton_of
from reglint.engine.config import Settings
from reglint.engine.runner import parse_module
from reglint.engine.session import _enabled

DEFAULT = _enabled(Settings())


def _cut(text: str) -> bool:
    """The flow cut's answer, read three ways: every unit in every round, only the units where
    something can have a kind (given the text), and that through the file's skeleton (the one the
    triage uses, where it answers). They must agree."""
    tree = ast.parse(text)
    everything = may_build_a_term(tree)
    assert may_build_a_term(tree, text=text) == everything, "reading only the units with kinds changed the answer"
    skeleton = skeleton_of(text)
    if skeleton is not None:
        assert may_build_a_term_in(skeleton, text) in (None, everything), "reading the skeleton changed the answer"
    return everything


def _analysis_builds_a_penalty(text: str) -> bool:
    return bool(analyze_module(parse_module(text), text).penalties)


def _parsed_sources() -> list[tuple[str, str, ast.Module]]:
    out = []
    for name, text in corpus_sources():
        try:
            tree = ast.parse(text)
            parse_module(text)
        except Exception:
            continue  # broken on purpose (RL000 sources): nothing to analyze
        out.append((name, text, tree))
    return out


SOURCES = _parsed_sources()


@pytest.mark.parametrize("name,text,tree", SOURCES, ids=[name for name, _, _ in SOURCES])
def test_never_rules_out_a_penalty(name: str, text: str, tree: ast.Module) -> None:
    if not _cut(text):
        assert not _analysis_builds_a_penalty(text), f"{name}: the analysis builds a penalty the flow cut ruled out"


def test_the_sources_exercise_both_answers() -> None:
    answers = [may_build_a_term(tree, text=text) for _, text, tree in SOURCES]
    penalties = sum(_analysis_builds_a_penalty(text) for _, text, _ in SOURCES)
    assert penalties > 100  # the soundness test above sees many penalties...
    assert answers.count(False) > 50  # ...and many modules ruled out
    skeletons = [(skeleton_of(text), text) for _, text, _ in SOURCES]
    through = [may_build_a_term_in(skeleton, text) for skeleton, text in skeletons if skeleton is not None]
    assert through.count(True) > 100 and through.count(False) > 50  # ...also read through skeletons


# Penalties reached through each channel the flow cut follows: the analysis builds each one
# (checked), so the cut must keep each.
PENALTIES = {
    "loop": """
        reg = 0.0
        for p in model.parameters():
            reg = reg + p.pow(2).sum()
        loss = crit(out, y) + 1e-4 * reg
        """,
    "helper-returns-parameters": """
        def decayed(m):
            return [p for p in m.parameters() if p.ndim > 1]
        loss = crit(out, y) + 1e-4 * sum(p.pow(2).sum() for p in decayed(model))
        """,
    "helper-takes-parameters": """
        def l2(ps):
            return sum((q ** 2).sum() for q in ps)
        loss = crit(out, y) + 1e-4 * l2(model.parameters())
        """,
    "helper-returns-elementwise": """
        def squared(x):
            return x * x
        loss = crit(out, y) + 1e-4 * squared(model.fc.weight).sum()
        """,
    "keyword-argument": """
        def l1(*, weights):
            return weights.abs().sum()
        loss = crit(out, y) + 1e-4 * l1(weights=model.fc.weight)
        """,
    "default-value": """
        import torch
        def l2(w=model.fc.weight):
            return torch.norm(w)
        loss = crit(out, y) + 1e-4 * l2()
        """,
    "method-through-self": """
        import torch
        class Lit:
            def penalty(self, w):
                return w.pow(2).sum()
            def training_step(self, batch, idx):
                loss = self.crit(batch) + 1e-4 * self.penalty(self.head.weight)
                return loss
        """,
    "enumerate-and-filter": """
        reg = 0.0
        for i, p in enumerate(filter(lambda q: q.requires_grad, model.parameters())):
            reg += p.abs().sum()
        loss = crit(out, y) + reg
        """,
    "flattened": """
        import torch
        flat = torch.cat([p.view(-1) for p in model.parameters()])
        loss = crit(out, y) + 1e-4 * flat.norm()
        """,
    "parameters-to-vector": """
        from torch.nn.utils import parameters_to_vector
        loss = crit(out, y) + 1e-4 * parameters_to_vector(model.parameters()).pow(2).sum()
        """,
    "aliases": """
        from torch.linalg import vector_norm as vn
        import torch.linalg as LA
        loss = crit(out, y) + sum(vn(p) for p in model.parameters()) + LA.norm(model.fc.weight)
        """,
    "dict-literal": """
        weights = {"fc": model.fc.weight}
        loss = crit(out, y) + 1e-4 * weights["fc"].pow(2).sum()
        """,
    "appended": """
        kept = []
        for m in model.modules():
            kept.append(m.weight)
        loss = crit(out, y) + 1e-4 * sum(w.pow(2).sum() for w in kept)
        """,
    "torch-functions": """
        import torch
        loss = crit(out, y) + 1e-4 * sum(torch.sum(torch.square(p)) for p in model.parameters())
        """,
    "data-attribute": """
        loss = crit(out, y) + 1e-4 * sum(p.data.abs().sum() for p in model.parameters())
        """,
    # Classes of the file and their instances (the analysis' construct and call_value).
    "instance-forward-takes-parameters": """
        class Squares:
            def forward(self, ps):
                return sum(p.pow(2).sum() for p in ps)
        reg = Squares()
        loss = crit(out, y) + 1e-4 * reg(model.parameters())
        """,
    "instance-call-returns-parameters": """
        class Collect:
            def __call__(self, m):
                return list(m.parameters())
        pick = Collect()
        loss = crit(out, y) + 1e-4 * sum(p.pow(2).sum() for p in pick(model))
        """,
    "instance-on-an-attribute": """
        class Squares:
            def forward(self, ps):
                return sum(p.pow(2).sum() for p in ps)
        class Objective:
            def __init__(self):
                self.reg = Squares()
            def forward(self, out, y, m):
                return crit(out, y) + 1e-4 * self.reg(m.parameters())
        loss = Objective().forward(out, y, model)
        """,
    "instances-in-a-list": """
        class Squares:
            def forward(self, ps):
                return sum(p.pow(2).sum() for p in ps)
        regs = [Squares()]
        loss = crit(out, y)
        for r in regs:
            loss = loss + 1e-4 * r(model.parameters())
        """,
    "instance-made-by-a-factory": """
        class Squares:
            def forward(self, ps):
                return sum(p.pow(2).sum() for p in ps)
        def make():
            return Squares()
        reg = make()
        loss = crit(out, y) + 1e-4 * reg(model.parameters())
        """,
    "instance-in-a-class-body": """
        class Squares:
            def forward(self, ps):
                return sum(p.pow(2).sum() for p in ps)
        class Config:
            reg = Squares()
        loss = crit(out, y) + 1e-4 * Config.reg(model.parameters())
        """,
    "class-held-as-a-value": """
        class Squares:
            def __init__(self, ps):
                self.ps = list(ps)
            def value(self):
                return sum(p.pow(2).sum() for p in self.ps)
        kind = Squares
        loss = crit(out, y) + 1e-4 * kind(model.parameters()).value()
        """,
    "self-called": """
        class Squares:
            def forward(self, ps):
                return sum(p.pow(2).sum() for p in ps)
            def penalty(self, m):
                return self(m.parameters())
        loss = crit(out, y) + 1e-4 * Squares().penalty(model)
        """,
    "self-given-to-a-function": """
        def apply(reg, m):
            return reg(m.parameters())
        class Squares:
            def forward(self, ps):
                return sum(p.pow(2).sum() for p in ps)
            def penalty(self, m):
                return apply(self, m)
        loss = crit(out, y) + 1e-4 * Squares().penalty(model)
        """,
}


@pytest.mark.parametrize("name", sorted(PENALTIES))
def test_keeps_every_channel(name: str) -> None:
    text = textwrap.dedent(PENALTIES[name])
    assert _analysis_builds_a_penalty(text), "the case must exercise the analysis"
    assert _cut(text)


def _adversarial_cases() -> dict[str, str]:
    """tests/data/flowcut_cases.txt: modules written to slip a penalty past the cut, one channel
    each (aliases shadowing method names, starred arguments shifting positions, ...)."""
    text = (Path(__file__).parent / "data" / "flowcut_cases.txt").read_text(encoding="utf-8")
    cases = {}
    for section in text.split("\n### ")[1:]:
        name, _, body = section.partition("\n")
        cases[name.strip()] = body
    return cases


ADVERSARIAL = _adversarial_cases()


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_keeps_adversarial_cases(name: str) -> None:
    text = ADVERSARIAL[name]
    assert _analysis_builds_a_penalty(text), "the case must exercise the analysis"
    assert _cut(text)


# Units that hold no parameter source themselves and get their kinds from elsewhere: reading only
# the units where something can have a kind must still read each of them (_cut checks it gives
# the same answer as reading everything, and both must keep the file).
READERS = {
    "module-name": """
        params = list(model.parameters())
        def reg():
            return sum(p.pow(2).sum() for p in params)
        loss = crit(out, y) + 1e-4 * reg()
        """,
    "dotted-module-name": """
        holder = Holder()
        holder.ps = list(model.parameters())
        def reg():
            return sum(p.pow(2).sum() for p in holder.ps)
        loss = crit(out, y) + 1e-4 * reg()
        """,
    "return-value-under-an-alias": """
        from helpers import collect as gather
        def collect(m):
            return list(m.parameters())
        def reg(m):
            return sum(p.pow(2).sum() for p in gather(m))
        loss = crit(out, y) + 1e-4 * reg(model)
        """,
    "global-written-by-a-function": """
        def setup(m):
            global ps
            ps = list(m.parameters())
        def reg():
            return sum(p.pow(2).sum() for p in ps)
        setup(model)
        loss = crit(out, y) + 1e-4 * reg()
        """,
    "nested-function": """
        def outer(m):
            def inner():
                return sum(p.pow(2).sum() for p in m.parameters())
            return inner()
        loss = crit(out, y) + 1e-4 * outer(model)
        """,
    "lambda": """
        square = lambda w: w.pow(2).sum()
        loss = crit(out, y) + 1e-4 * square(model.fc.weight)
        """,
    "fullwidth-attribute": """
        def reg(m):
            return m.fc.\uff57\uff45\uff49\uff47\uff48\uff54.pow(2).sum()
        loss = crit(out, y) + 1e-4 * reg(model)
        """,
    "attribute-name-after-a-dot-on-the-line-before": """
        def reg(m):
            return (m.fc.
                    weight).pow(2).sum()
        loss = crit(out, y) + 1e-4 * reg(model)
        """,
    "attribute-name-after-a-comment": """
        def reg(m):
            w = (m.fc.  # the layer's
                 # own
                 weight)
            return w.pow(2).sum()
        loss = crit(out, y) + 1e-4 * reg(model)
        """,
    "attribute-name-after-a-backslash": """
        def reg(m):
            ps = m.\\
                parameters()
            return sum(p.pow(2).sum() for p in ps)
        loss = crit(out, y) + 1e-4 * reg(model)
        """,
    "attribute-suffix-after-blank-lines": """
        def reg(m):
            w = (m.


                 pos_weight)
            return w.pow(2).sum()
        loss = crit(out, y) + 1e-4 * reg(model)
        """,
    "fullwidth-module-name": """
        \uff50\uff53 = list(model.parameters())
        def reg():
            return sum(p.pow(2).sum() for p in ps)
        loss = crit(out, y) + 1e-4 * reg()
        """,
}


@pytest.mark.parametrize("line_break", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
@pytest.mark.parametrize("name", sorted(READERS))
def test_reads_every_unit_that_gets_a_kind(name: str, line_break: str) -> None:
    text = textwrap.dedent(READERS[name]).replace("\n", line_break)
    assert _cut(text)


@pytest.mark.parametrize(
    ("text", "may_be_an_attribute"),
    [
        ("x = m.weight", True),
        ("x = m .  weight", True),
        ("x = m.pos_weight", True),
        ("x = (m.\n   weight)", True),
        ("x = (m  # c\n\n   .weight)", True),
        ("x = (m.  # c\n   weight)", True),
        ("x = m.\\\n   weight", True),
        ("weight", True),
        ("nn.Linear(4, 4, bias=False)", False),
        ("def f(weight, pos_weight):", False),
        ("x = (f(a),\n     bias)", False),
        ("# the weight of it", False),
    ],
)
def test_a_parameter_source_is_read_where_it_may_be_an_attribute(text: str, may_be_an_attribute: bool) -> None:
    # Units are first read where a parameter source's name may follow a dot (readers.Readers):
    # a keyword, a parameter or a word of prose names no attribute.
    offsets = [text.rindex(word) for word in ("pos_weight", "weight", "bias") if word in text]
    assert readers.may_follow_a_dot(text, max(offsets)) is may_be_an_attribute


def test_the_readers_cases_are_penalties_for_the_analysis() -> None:
    # The others are wider than the analysis today (an import's alias for a local function, a
    # global written by a function, a lambda; libcst keeps fullwidth names as written, CPython
    # reads them as ASCII): the cut keeps them so that the analysis may learn them.
    for name in ("module-name", "dotted-module-name", "nested-function"):
        assert _analysis_builds_a_penalty(textwrap.dedent(READERS[name])), name


# Channels the analysis does not follow today (a generator's yield, `**kwargs`, a dict built by
# `dict(...)`, a walrus in an `if` test): the cut follows them anyway, so that teaching the
# analysis one of them cannot make the prefilter unsound.
WIDER = {
    "generator": """
        def weights(m):
            for name, p in m.named_parameters():
                if "bias" not in name:
                    yield p
        loss = crit(out, y) + 1e-4 * sum(p.pow(2).sum() for p in weights(model))
        """,
    "kwargs": """
        def l1(**options):
            return options["w"].abs().sum()
        loss = crit(out, y) + 1e-4 * l1(w=model.fc.weight)
        """,
    "named-parameters-dict": """
        named = dict(model.named_parameters())
        loss = crit(out, y) + 1e-4 * named["fc.weight"].pow(2).sum()
        """,
    "walrus": """
        if (w := model.fc.weight) is not None:
            loss = crit(out, y) + 1e-4 * w.pow(2).sum()
        """,
}


@pytest.mark.parametrize("name", sorted(WIDER))
def test_keeps_channels_the_analysis_may_learn(name: str) -> None:
    assert _cut(textwrap.dedent(WIDER[name]))


# Model-file code that mentions parameters, reductions and losses without any penalty; the
# text cuts keep files like these, the flow cut must not.
MODEL_CODE = {
    "rms-norm": """
        import torch
        from torch import nn
        class RMSNorm(nn.Module):
            def forward(self, hidden_states):
                dtype = hidden_states.dtype
                variance = hidden_states.to(torch.float32).pow(2).mean(-1, keepdim=True)
                hidden_states = hidden_states * torch.rsqrt(variance + self.eps)
                return self.weight * hidden_states.to(dtype)
        def compute_loss(logits, labels):
            loss = nn.functional.cross_entropy(logits, labels)
            return loss
        """,
    "layer-norm-by-hand": """
        import torch
        class LayerNorm(torch.nn.Module):
            def forward(self, x):
                u = x.mean(-1, keepdim=True)
                s = (x - u).pow(2).mean(-1, keepdim=True)
                x = (x - u) / torch.sqrt(s + self.eps)
                return self.weight * x + self.bias
        def loss_fn(pred, target):
            return ((pred - target) ** 2).mean()
        """,
    "codebook-distances": """
        import torch
        class Quantizer(torch.nn.Module):
            def forward(self, z):
                d = torch.sum(z ** 2, dim=1, keepdim=True) + torch.sum(self.embedding.weight ** 2, dim=1)
                d = d - 2 * torch.matmul(z, self.embedding.weight.t())
                quantized = self.embedding(d.argmin(1))
                loss = torch.mean((quantized.detach() - z) ** 2)
                return quantized, loss
        """,
    "dice-loss": """
        def dice_loss(inputs, labels, num_masks):
            probs = inputs.sigmoid().flatten(1)
            numerator = 2 * (probs * labels).sum(-1)
            denominator = probs.sum(-1) + labels.sum(-1)
            loss = 1 - (numerator + 1) / (denominator + 1)
            return loss.sum() / num_masks
        class Head:
            def forward(self, x):
                return x @ self.proj.weight
        """,
    "init-and-clip": """
        import torch
        def init_weights(module):
            module.weight.data.normal_(mean=0.0, std=0.02)
            if module.bias is not None:
                module.bias.data.zero_()
        def train_step(model, batch):
            loss = model(**batch).loss
            loss.backward()
            grads = [p.grad.norm(2) for p in model.parameters() if p.grad is not None]
            total_norm = torch.norm(torch.stack(grads))
            return total_norm
        """,
    "submodule-named-norm": """
        class Block:
            def forward(self, x, gate):
                y = self.norm(x, gate)
                z = self.out_proj.weight.norm(dim=0)
                return y * z
        def criterion(a, b):
            return (a - b).abs().mean(0)
        """,
    # A parameter passed to a method goes to the parameter after `self`, never to `self`: the
    # norm layer called on `self` afterwards is no term.
    "parameter-passed-to-a-method": """
        import torch.nn.functional as F
        from torch import nn
        class Block(nn.Module):
            def mix(self, table, hidden):
                return self.norm(hidden + table)
            def forward(self, x, labels):
                h = self.mix(self.pos.weight, x)
                loss = F.cross_entropy(h, labels)
                return loss
        """,
    # Registering a buffer from a weight does not make the module a collection of parameters.
    "buffer-registered-from-a-weight": """
        import torch.nn.functional as F
        from torch import nn
        class Head(nn.Module):
            def forward(self, x, labels):
                self.register_buffer("table", self.embed.weight)
                loss = F.cross_entropy(self.norm(x), labels)
                return loss
        """,
}


@pytest.mark.parametrize("name", sorted(MODEL_CODE))
def test_rules_out_model_code(name: str) -> None:
    text = textwrap.dedent(MODEL_CODE[name])
    assert not _analysis_builds_a_penalty(text)
    assert not _cut(text)


@pytest.mark.parametrize("name", sorted(MODEL_CODE))
def test_verdict_says_why(name: str) -> None:
    text = textwrap.dedent(MODEL_CODE[name])
    decision = triage.verdict(text, "model.py", DEFAULT)
    assert not decision.analyze
    assert decision.reason in ("no term in the flow", triage.FLOW_IN_PART, "not in the text", "not in the text units")


def test_verdict_uses_the_flow_cut_on_the_syntax_path_too() -> None:
    # A tab makes the text cut unsure: the syntax cut reads the file, then the flow cut.
    text = textwrap.dedent(MODEL_CODE["codebook-distances"]) + "def helper():\n\treturn 1\n"
    assert triage.verdict(textwrap.dedent(MODEL_CODE["codebook-distances"]), "m.py", DEFAULT).reason == (
        triage.FLOW_IN_PART
    )
    decision = triage.verdict(text, "model.py", DEFAULT)
    assert (decision.analyze, decision.reason) == (False, "no term in the flow")


def test_an_optimizer_keeps_the_file_whatever_the_flow() -> None:
    text = textwrap.dedent(MODEL_CODE["rms-norm"]) + "opt = torch.optim.Adam(model.parameters(), weight_decay=0.1)\n"
    assert triage.verdict(text, "train.py", DEFAULT).analyze


def test_code_too_deep_to_read_is_kept() -> None:
    tree = ast.parse("x = model.weight\n" + "y = " + "-" * 120 + "x\n")
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(100)
    try:
        assert may_build_a_term(tree)  # unsure: keep it
    finally:
        sys.setrecursionlimit(limit)


def test_a_body_never_read_is_never_parsed() -> None:
    # extra_repr holds nothing a kind reaches: the skeleton rules the file out without parsing it
    # (its syntax error is left to the Python linter, rules/RL000.md); a body the flow reads is
    # parsed, and where that fails the file goes to the parser whole (and RL000 is reported).
    model = textwrap.dedent(MODEL_CODE["codebook-distances"])
    never_read = model + "    def extra_repr(self):\n        return 1 1\n"
    decision = triage.verdict(never_read, "m.py", DEFAULT)
    assert (decision.analyze, decision.reason) == (False, triage.FLOW_IN_PART)
    read = model.replace("return quantized, loss", "return quantized, loss 1")
    assert read != model
    decision = triage.verdict(read, "m.py", DEFAULT)
    assert decision.analyze and decision.reason == "in the text units"


def test_the_skeleton_keeps_lines_and_what_builds_the_structure() -> None:
    text = textwrap.dedent(
        """\
        import torch
        class Net(torch.nn.Module):
            @property
            def scale(self) -> float:
                # a comment first
                return 2.0

            def forward(self, x, y=None):
                def inner(z):
                    return z
                return inner(x)
            def lazy(self):
                import math
                return math.pi
            def one(self): return self.weight
        def free(a,
                 b):
            global counter
            return a
        def plain(a):
            s = \"\"\"
            text
            \"\"\"
            return a.sum()
        """
    )
    skeleton = skeleton_of(text)
    assert skeleton is not None
    assert skeleton.text.count("\n") == text.count("\n")
    lines = text.splitlines()
    # Emptied: `scale` and `plain` (their `def` lines, 1-based, to the last lines of their blocks:
    # the empty line after `scale`; for `plain`, the empty one after the file's last line break).
    scale, plain = lines.index("    def scale(self) -> float:") + 1, lines.index("def plain(a):") + 1
    assert skeleton.bodies == {scale: scale + 3, plain: text.count("\n") + 1}
    tree = ast.parse(skeleton.text)
    header = tree.body[1].body[0]
    assert isinstance(header, ast.FunctionDef) and header.returns is not None and header.decorator_list
    for kept in ("def inner(z):", "import math", "global counter", "def one(self): return self.weight"):
        assert kept in skeleton.text
    assert "return a.sum()" not in skeleton.text and "return 2.0" not in skeleton.text
    assert may_build_a_term_in(skeleton, text) == may_build_a_term(ast.parse(text), text=text)


# The second question: can a call call an optimizer class held as a value? (True: it may.)
OPTIMIZER_CLASS_CASES = {
    "held-by-a-name": ("import torch\ncls = torch.optim.Adam\nopt = cls(ps)\n", True),
    "a-default-kept-on-self": (
        "from torch.optim import SGD\nclass T:\n    def __init__(self, fn=SGD):\n        self.fn = fn\n"
        "    def fit(self, m):\n        return self.fn(m.parameters())\n",
        True,
    ),
    "a-registry": ("from torch import optim\nREG = {'a': optim.Adam}\nopt = REG['a'](ps)\n", True),
    "a-partial-given-to-a-class": (
        "from functools import partial\nimport torch\nclass L:\n    def __init__(self, f):\n        self.f = f\n"
        "    def fit(self, m):\n        return self.f(m.parameters())\nL(partial(torch.optim.Adam, lr=1)).fit(m)\n",
        True,
    ),
    "given-to-code-elsewhere": ("import torch\nfrom learner import Learner\nLearner(m, opt_func=torch.optim.Adam).fit()\n", True),
    "returned-never-called": ("import torch\ndef handler():\n    return torch.optim.SGD, {}\ncls, kw = handler()\n", False),
    "in-a-type-test": ("import torch\nif isinstance(opt, torch.optim.Adam):\n    print(type(opt))\n", False),
    "own-class-in-super": (
        "import torch\nclass AdamW(torch.optim.Optimizer):\n    def __init__(self, ps):\n"
        "        super(AdamW, self).__init__(ps, {})\n",
        False,
    ),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZER_CLASS_CASES))
def test_follows_an_optimizer_class_to_a_call(name: str) -> None:
    text, expected = OPTIMIZER_CLASS_CASES[name]
    assert may_call_an_optimizer_class(ast.parse(text), text) is expected
