"""Generated training scripts: composed from the statements real training code is made of
(aliased imports, model classes, parameter walks with and without filters, every penalty form of
the design, optimizer constructions with random arguments, backward calls, helpers, nested
functions and classes, Lightning-style methods). Each one is valid Python; reglint must lint it
without an exception or internal error, without RL000, with findings inside the file, and the same
way twice.
"""

from __future__ import annotations

import ast

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from robust_support import check_invariants, examples, lint

IDENT = st.sampled_from(["model", "net", "self.model", "encoder", "m", "backbone"])
PARAM = st.sampled_from(["p", "w", "param", "weight", "t"])
NAME = st.sampled_from(["name", "n", "key", "pname"])
COEF = st.one_of(
    st.sampled_from(["1e-4", "5e-4", "1e-2", "0.1", "1.0", "lam", "args.l2", "cfg.wd", "LAMBDA", "alpha * 0.5", "2"]),
    st.floats(min_value=0, max_value=10, allow_nan=False).map(repr),
    st.integers(0, 3).map(str),
)
WD = st.one_of(
    st.sampled_from(["1e-4"] * 4 + ["0", "0.0", "1e-4", "5e-2", "0.3", "1.0", "args.wd", "WD", "cfg['wd']", "float(os.environ['WD'])", "-1"]),
    st.floats(min_value=0, max_value=1, allow_nan=False).map(repr),
)
OPT_CLASS = st.sampled_from(
    ["SGD", "Adam", "AdamW"] * 4 + ["SGD", "Adam", "AdamW", "NAdam", "RAdam", "Adamax", "Adagrad", "RMSprop", "LBFGS", "SparseAdam", "Rprop",
     "Adadelta", "ASGD", "Lion", "MyOptimizer"]
)
OPT_PREFIX = st.sampled_from(["torch.optim."] * 6 + ["optim.", "th.optim.", "", "O.", "torch.optim.adamw."])
IMPORTS = st.lists(
    st.sampled_from(
        [
            "import torch",
            "import torch as th",
            "import torch.nn as nn",
            "import torch.nn.functional as F",
            "import torch.optim as optim",
            "from torch import optim",
            "from torch import nn, optim",
            "from torch.optim import Adam as O",
            "from torch.optim import *",
            "from torch.optim import AdamW, SGD",
            "from torch import sum as tsum, norm",
            "from torch.linalg import vector_norm",
            "import os",
            "import numpy as np",
            "import pytorch_lightning as pl",
            "from functools import partial",
        ]
    ),
    min_size=1,
    max_size=6,
    unique=True,
)


@st.composite
def param_source(draw: st.DrawFn) -> tuple[str, str, bool]:
    """(iterable expression, loop target, named?)"""
    owner = draw(IDENT)
    p = draw(PARAM)
    n = draw(NAME)
    return draw(
        st.sampled_from(
            [
                (f"{owner}.parameters()", p, False),
                (f"{owner}.named_parameters()", f"{n}, {p}", True),
                (f"{owner}.state_dict().items()", f"{n}, {p}", True),
                (f"{owner}.state_dict(keep_vars=True).items()", f"{n}, {p}", True),
                (f"filter(lambda q: q.requires_grad, {owner}.parameters())", p, False),
                (f"list({owner}.parameters())", p, False),
                (f"[{owner}.fc1.weight, {owner}.fc2.weight]", p, False),
                (f"{owner}.encoder.parameters()", p, False),
                (f"enumerate({owner}.parameters())", f"i, {p}", False),
                ("params", p, False),
                (f"{owner}[0].weight", p, False),
            ]
        )
    )


@st.composite
def param_filter(draw: st.DrawFn, p: str, named: bool) -> str:
    name = "name" if not named else None
    options = ["", f"{p}.ndim >= 2", f"{p}.dim() > 1", f"len({p}.shape) > 1", f"{p}.requires_grad", f"{p}.is_floating_point()",
               f"not {p}.ndim == 1", f"{p}.ndim >= 2 and {p}.requires_grad"]
    if named or name is None:
        options += ['"bias" not in n', 'not n.endswith(".bias")', '"weight" in n', '"norm" not in n and "bias" not in n']
    return draw(st.sampled_from(options))


def _term_forms(p: str) -> list[str]:
    return [
        f"{p}.abs().sum()",
        f"torch.sum(torch.abs({p}))",
        f"{p}.pow(2).sum()",
        f"({p} ** 2).sum()",
        f"torch.square({p}).sum()",
        f"torch.norm({p}, 1)",
        f"torch.norm({p})",
        f"torch.norm({p}, 2)",
        f"torch.norm({p}, p=2)",
        f"{p}.norm()",
        f"{p}.norm(2)",
        f"{p}.norm(2) ** 2",
        f"torch.linalg.norm({p})",
        f"torch.linalg.vector_norm({p})",
        f"{p}.pow(2).sum().sqrt()",
        f"torch.sqrt(({p}**2).sum())",
        f"({p} * {p}).sum()",
        f"{p}.pow(2).mean()",
        f"{p}.data.pow(2).sum()",
        f"{p}.detach().abs().sum()",
        f"{p}.pow(2).sum().item()",
        f"float({p}.pow(2).sum())",
        f"{p}.abs().sum() + {p}.pow(2).sum()",
        f"th.sum({p} ** 2)",
        f"tsum({p} ** 2)",
        f"vector_norm({p}, 2)",
        f"compute_l1_loss({p})",
        f"self.l2({p})",
        f"0.5 * {p}.pow(2).sum()",
        f"{p}.sum()",
    ]


@st.composite
def penalty_block(draw: st.DrawFn) -> list[str]:
    source, target, named = draw(param_source())
    p = target.split(", ")[-1]
    cond = draw(param_filter(p, named))
    term = draw(st.sampled_from(_term_forms(p)))
    acc = draw(st.sampled_from(["reg", "l2", "l1_penalty", "penalty", "reg_loss", "norm", "aux", "total"]))
    style = draw(st.integers(0, 7))
    if cond:
        cond_gen = f" if {cond}"
    else:
        cond_gen = ""
    if style == 0:
        return [f"{acc} = sum({term} for {target} in {source}{cond_gen})"]
    if style == 1:
        start = draw(st.sampled_from(["0", "0.", "0.0", "torch.tensor(0.)", "torch.tensor(0)", "torch.zeros(1)",
                                      "torch.Tensor([0])", "torch.tensor(0., device=x.device)",
                                      "torch.tensor(0.0, requires_grad=True)", "x.new_zeros(())"]))
        body = [f"{acc} += {term}"] if draw(st.booleans()) else [f"{acc} = {acc} + {term}"]
        if cond:
            body = [f"if {cond}:"] + ["    " + b for b in body]
        return [f"{acc} = {start}", f"for {target} in {source}:"] + ["    " + b for b in body]
    if style == 2:
        return [f"{acc} = torch.cat([{p}.view(-1) for {target} in {source}{cond_gen}]).abs().sum()"]
    if style == 3:
        return [f"{acc} = torch.stack([{term} for {target} in {source}{cond_gen}]).sum()"]
    if style == 4:
        return ["with torch.no_grad():", f"    {acc} = sum({term} for {target} in {source}{cond_gen})"]
    if style == 5:
        return [f"{acc} = torch.nn.utils.parameters_to_vector({source}).norm(2)"]
    if style == 6:
        return [f"terms = [{term} for {target} in {source}{cond_gen}]", f"{acc} = sum(terms)"]
    return [f"{acc} = {term}"]


@st.composite
def optimizer_line(draw: st.DrawFn) -> str:
    cls = draw(OPT_PREFIX) + draw(OPT_CLASS)
    owner = draw(IDENT)
    params = draw(
        st.sampled_from(
            [
                f"{owner}.parameters()",
                f"list({owner}.parameters())",
                "params",
                f"filter(lambda p: p.requires_grad, {owner}.parameters())",
                "[{'params': decay, 'weight_decay': WD}, {'params': no_decay, 'weight_decay': 0.0}]",
                "[{'params': decay}, {'params': no_decay, 'wd': 0}]",
                "[{'params': decay, 'weight_decay ': 1e-4}]",
                f"{owner}.named_parameters()",
                "param_groups",
            ]
        )
    )
    args = [params]
    for key in draw(st.lists(st.sampled_from(["weight_decay"] * 4 + ["lr", "weight_decay", "momentum", "betas", "eps", "decoupled_weight_decay",
                                              "nesterov", "amsgrad", "foreach", "wd"]), unique=True, max_size=4)):
        value = {
            "lr": draw(st.sampled_from(["1e-3", "0.1", "args.lr", "LR"])),
            "weight_decay": draw(WD),
            "momentum": "0.9",
            "betas": "(0.9, 0.999)",
            "eps": "1e-8",
            "decoupled_weight_decay": draw(st.sampled_from(["True", "False", "flag"])),
            "nesterov": "True",
            "amsgrad": "False",
            "foreach": "None",
            "wd": "1e-4",
        }[key]
        args.append(f"{key}={value}")
    if draw(st.booleans()) and len(args) == 1:
        args += [draw(st.sampled_from(["1e-3", "0.1"])), draw(st.sampled_from(["(0.9, 0.99)", "0.9"])), draw(WD)][: draw(st.integers(1, 3))]
    lhs = draw(st.sampled_from(["optimizer", "opt", "self.optimizer", "optim_", "return"]))
    call = f"{cls}({', '.join(args)})"
    if lhs == "return":
        return f"opt = {call}"
    if draw(st.integers(0, 5)) == 0:
        call = f"partial({cls}, {', '.join(args[1:]) or 'lr=1e-3'})({args[0]})"
    return f"{lhs} = {call}"


@st.composite
def loss_lines(draw: st.DrawFn, acc: str) -> list[str]:
    coef = draw(COEF)
    combine = draw(
        st.sampled_from(
            [
                [f"loss = criterion(out, y) + {coef} * {acc}", "loss.backward()"],
                ["loss = criterion(out, y)", f"loss += {coef} * {acc}", "loss.backward()"],
                ["loss = criterion(out, y)", "loss.backward()", f"loss = loss + {coef} * {acc}"],
                [f"total = F.cross_entropy(out, y) + {acc} * {coef}", "total.backward()"],
                ["loss = criterion(out, y)", f"loss = loss + {coef} * {acc}", "scaler.scale(loss).backward()"],
                ["loss = criterion(out, y)", "loss.backward()", f"({coef} * {acc}).backward()"],
                [f"losses = {{'loss': criterion(out, y) + {coef} * {acc}}}", "losses['loss'].backward()"],
                ["loss = criterion(out, y)", f"print('reg', {acc}.item())", "loss.backward()"],
                [f"loss = criterion(out, y) + {coef} * {acc}", "self.manual_backward(loss)"],
                [f"return criterion(out, y) + {coef} * {acc}"],
            ]
        )
    )
    return combine


@st.composite
def training_step(draw: st.DrawFn) -> list[str]:
    lines = ["out = model(x)"]
    pen = draw(penalty_block())
    acc = pen[-1].split(" = ")[0].strip() if " = " in pen[-1] else "reg"
    acc = acc.lstrip()
    if not acc.isidentifier():
        acc = "reg"
    lines += pen
    lines += draw(loss_lines(acc))
    if lines[-1].startswith("return"):
        return lines
    if draw(st.booleans()):
        lines += ["optimizer.step()", "optimizer.zero_grad()"]
    return lines


def indent(lines: list[str], by: int = 1) -> list[str]:
    return [("    " * by + line) if line else line for line in lines]


@st.composite
def program(draw: st.DrawFn) -> str:
    out: list[str] = list(draw(IMPORTS))
    if not any(line.startswith("import torch") and " as " not in line for line in out) or draw(st.booleans()):
        out.insert(0, "import torch")
    out += ["", f"WD = {draw(WD)}", f"LAMBDA = {draw(COEF)}", ""]
    if draw(st.booleans()):
        out += [
            "class Net(nn.Module):",
            "    def __init__(self):",
            "        super().__init__()",
            "        self.fc1 = nn.Linear(10, 10)",
            "        self.norm = nn.LayerNorm(10)",
            "        self.fc2 = nn.Linear(10, 2)",
            "",
            "    def forward(self, x):",
            "        return self.fc2(self.norm(self.fc1(x)))",
            "",
            "    def l2(self, w):",
            "        return w.pow(2).sum()",
            "",
            "model = Net()",
        ]
    if draw(st.booleans()):
        out += ["def compute_l1_loss(w):", "    return torch.abs(w).sum()", ""]
    if draw(st.booleans()):
        out += [
            "decay = [p for n, p in model.named_parameters() if p.ndim >= 2]",
            "no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]",
        ]
    shape = draw(st.integers(0, 5))
    opt = draw(optimizer_line())
    step = draw(training_step())
    if shape == 0:  # a plain loop at module level
        out += [opt, "for epoch in range(10):", "    for x, y in loader:"] + indent(step, 2)
    elif shape == 1:  # a train function with a nested helper
        out += ["def train(model, loader, args):", "    " + opt, "    def penalty_of(m):"]
        out += indent(draw(penalty_block()), 2) + ["        return 0", "    for x, y in loader:"] + indent(step, 2)
    elif shape == 2:  # Lightning
        out += [
            "class Lit(pl.LightningModule):",
            "    def training_step(self, batch, batch_idx):",
            "        x, y = batch",
            "        model = self",
        ]
        out += indent(step, 2)
        out += ["", "    def configure_optimizers(self):", "        opt = " + opt.split(" = ", 1)[1], "        return opt"]
    elif shape == 3:  # a helper returning the optimizer
        out += ["def build_optimizer(model, args):", "    " + opt, "    return " + opt.split(" = ")[0].strip(), "",
                "optimizer = build_optimizer(model, args)", "while True:", "    x, y = next(it)"] + indent(step, 1)
        out += ["    if done:", "        break"]
    elif shape == 4:  # nested classes and functions, deep blocks
        out += ["class Outer:", "    class Trainer:", "        def run(self):", "            " + opt,
                "            try:", "                with autocast():", "                    for x, y in loader:"]
        out += indent(step, 6)
        out += ["            except RuntimeError:", "                raise", "            finally:", "                pass"]
    else:  # async, comprehension-heavy, conditionals
        out += ["async def main(model, loader):", "    " + opt, "    async for x, y in loader:",
                "        if model.training:"] + indent(step, 3) + ["        else:", "            pass"]
    if draw(st.booleans()):
        extra = draw(st.lists(penalty_block(), max_size=2))
        for block in extra:
            out += block
    return "\n".join(out) + "\n"


GENERATED = settings(
    max_examples=examples(400),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    database=None,
)


@GENERATED
@given(program())
def test_generated_training_scripts_lint(source: str) -> None:
    try:
        ast.parse(source)
    except SyntaxError as exc:  # a bug of the generator, not of reglint
        raise AssertionError(f"generator made invalid Python: {exc}\n{source}") from None
    data = source.encode("utf-8")
    result = lint(data, "gen.py", seconds=30)
    try:
        check_invariants(data, result, "gen.py")
        assert "RL000" not in {f.code for f in result.findings}, result.findings
        again = lint(data, "gen.py", seconds=30)
        assert [(f.code, f.line, f.column, f.message) for f in again.findings] == [
            (f.code, f.line, f.column, f.message) for f in result.findings
        ], "not deterministic"
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- source ---\n{source}") from None


@settings(max_examples=examples(80), deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(program(), st.sampled_from(["\r\n", "\r"]), st.booleans())
def test_generated_scripts_same_findings_with_other_line_endings_and_bom(source: str, newline: str, bom: bool) -> None:
    """CRLF / CR line endings and a BOM change no finding's code or line."""
    plain = lint(source.encode("utf-8"), "gen.py", seconds=30)
    other = source.replace("\n", newline).encode("utf-8")
    if bom:
        other = b"\xef\xbb\xbf" + other
    result = lint(other, "gen.py", seconds=30)
    check_invariants(other, result, "gen.py")
    assert [(f.code, f.line, f.column) for f in result.findings] == [(f.code, f.line, f.column) for f in plain.findings], source


@settings(max_examples=examples(80), deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(program())
def test_generated_scripts_same_codes_with_tab_indentation(source: str) -> None:
    """Indenting with tabs instead of 4 spaces changes no finding's code or line."""
    tabbed = "\n".join(
        "\t" * ((len(line) - len(line.lstrip(" "))) // 4) + line.lstrip(" ") if line.startswith(" ") else line
        for line in source.split("\n")
    )
    try:
        ast.parse(tabbed)
    except SyntaxError:
        return  # continuation lines indented by a non-multiple of 4
    plain = lint(source.encode("utf-8"), "gen.py", seconds=30)
    result = lint(tabbed.encode("utf-8"), "gen.py", seconds=30)
    check_invariants(tabbed.encode("utf-8"), result, "gen.py")
    assert [(f.code, f.line) for f in result.findings] == [(f.code, f.line) for f in plain.findings], source


def test_generator_covers_every_static_rule() -> None:
    """The generator is only worth its cases if it reaches the rules: sample it and require most
    codes to appear (a sanity check of the strategy, not of reglint)."""
    seen: set[str] = set()

    @settings(max_examples=examples(300), deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(program())
    def sample(source: str) -> None:
        seen.update(f.code for f in lint(source.encode("utf-8"), "gen.py").findings)

    sample()
    assert len(seen & {"RL101", "RL102", "RL103", "RL104", "RL105", "RL106", "RL201", "RL202", "RL203", "RL204",
                       "RL205", "RL206"}) >= 11, sorted(seen)



def test_ci_budget_is_derandomized() -> None:
    """CI draws the same cases on every run (a red CI is a regression, not bad luck); the long run does not."""
    from robust_support import long_factor

    assert settings().derandomize is (long_factor() == 1)
