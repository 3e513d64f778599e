"""The default run and `--no-prefilter` agree on training code written in the shapes that misled
the triage before: parenthesized and aliased callees, statements led by a string or joined by
semicolons, annotated targets after `;`, odd whitespace and line continuations around `def`,
penalties returned by the `forward` of a class named like a penalty, methods defined under an `if`
in a class body, weights kept on the object by one method and reduced by another, models trained
by a transformers Trainer (called or subclassed, under aliases, beside a Trainer of the file's
own), proximal terms over a parameter's distance from an anchor; in one file and split over a project's modules (as pre-commit passes them: one file at a
time, by its path).

Each example is a whole training setup whose pieces are drawn independently, so most examples
hold findings (test_the_shapes_do_produce_findings checks it) and the comparison means something.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from robust_support import ENABLED, examples

from reglint.engine import prefilter
from reglint.engine.config import Settings

SHAPES = settings(
    max_examples=examples(150),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
    derandomize=True,
)


def _findings(data: bytes, path: str, use_prefilter: bool) -> list[dict[str, object]]:
    linted = prefilter.lint_data(data, path, Settings(), ENABLED, use_prefilter)
    assert linted.internal_error is None, linted.internal_error
    return [finding.to_json() for finding in linted.findings]


# ---------------------------------------------------------------------------- pieces


def _callee(draw: st.DrawFn, callee: str) -> str:
    """`f`, `(f)` or `( f )`: a parenthesized callee is the same call."""
    return draw(st.sampled_from([callee, f"({callee})", f"( {callee} )"]))


def _def(draw: st.DrawFn, name: str) -> str:
    """`def name`, with the name far from the keyword or on a continued line."""
    return draw(st.sampled_from([f"def {name}", f"def      {name}", f"def \\\n        {name}"]))


@st.composite
def penalty_term(draw: st.DrawFn, params: str) -> str:
    """A sum of per-parameter terms, in the forms the analysis reads (some unsquared: RL102)."""
    term = draw(st.sampled_from([
        "p.pow(2).sum()", "(p ** 2).sum()", "torch.norm(p, 2)", "p.abs().sum()", "(p.norm)()",
        "torch.square(p).sum()", "p.norm(2)", "nn.L1Loss(reduction='sum')(p, torch.zeros_like(p))",
        "nn.functional.l1_loss(p, torch.zeros_like(p))", "(masks[0] * p).norm(2)",
        "(p * self_mask).abs().sum()", "torch.norm(p, 1) ** 2",
        "((p - 0.5) ** 2).sum()", "(p - p.detach()).norm(2)",  # a distance from an anchor
        # the arguments a term call may have (vocabulary.arguments_allow_a_term), and callees
        # that may name torch (an alias, a parenthesized name, a module imported by name)
        "p.pow(2).sum(dim=None)", "p.abs().mean(*())", "p.square().sum(dtype=torch.float32)",
        "p.norm(2, None)", "p.norm(p=2, dim=(None))", "torch.norm(p, 2, None)", "th.sum(p.abs())",
        "(torch).norm(p, 2)", "( th ).sum(p ** 2)", "linalg.norm(p, 2)", "torch.linalg.vector_norm(p, 1)",
        "p.pow(2).sum(-1).sum()", "p.norm(2, dim=0).sum()",  # over a dimension first: no term
        "p.norm(dim=1).pow(2).sum()", "(torch.norm(p, 2, 0) ** 2).mean()",  # squared row norms: L2
    ]))
    return f"sum({term} for p in {params})"


@st.composite
def parameter_set(draw: st.DrawFn, model: str) -> str:
    method = _callee(draw, f"{model}.parameters")
    return draw(st.sampled_from([
        f"{method}()", f"list({method}())", f"[p for p in {method}() if p.requires_grad]",
    ]))


@st.composite
def optimizer_call(draw: st.DrawFn, params: str, decay: bool) -> tuple[list[str], str]:
    """Imports (and module lines) it needs, and the call (torch.optim by path, a module alias, a
    class alias, or the class held as a value: a name, a registry)."""
    imports, callee = draw(st.sampled_from([
        ([], "torch.optim.Adam"),
        (["from torch import optim"], "optim.Adam"),
        (["from torch.optim import Adam as Opt"], "Opt"),
        (["import torch.optim as topt"], "topt.SGD"),
        (["from torch.optim import AdamW"], "AdamW"),
        (["OPTIMIZER_CLASS = torch.optim.Adam"], "OPTIMIZER_CLASS"),
        (["from torch.optim import SGD as Plain", "chosen = Plain"], "chosen"),
        (["REGISTRY = {'adam': torch.optim.Adam, 'sgd': torch.optim.SGD}"], "REGISTRY['adam']"),
        (["from functools import partial", "OPT = partial(torch.optim.Adam, betas=(0.9, 0.99))"], "OPT"),
    ]))
    callee = _callee(draw, callee)
    extra = ", weight_decay=1e-4" if decay else ""
    momentum = ", momentum=0.9" if "SGD" in callee else ""
    return imports, f"{callee}({params}, lr=1e-3{momentum}{extra})"


# A model with biases (so penalties over all parameters reach them: RL101) and one whose layers
# have none.
MODELS = [
    ["class Net(nn.Module):", "    def __init__(self):", "        super().__init__()",
     "        self.fc1 = nn.Linear(8, 8)", "        self.fc2 = nn.Linear(8, 2)",
     "    def forward(self, x):", "        return self.fc2(torch.relu(self.fc1(x)))"],
]


@st.composite
def rows_penalty(draw: st.DrawFn, owner: str, name: str) -> tuple[list[str], list[str], str, str]:
    """A penalty on the rows an embedding layer looks up (vocabulary.ROW_LAYERS), or a look-up
    that the analysis does not take for rows: handed to a helper named like a penalty or not,
    returned by a method or by an inner module's forward, in a list, parenthesized, squared."""
    layer = draw(st.sampled_from(["nn.Embedding", "Table", "(nn.Embedding)"]))
    definitions = ["from torch.nn import Embedding as Table"] if layer == "Table" else []
    inner = draw(st.booleans())
    if inner:
        definitions += ["class Rows(nn.Module):", "    def __init__(self):", "        super().__init__()",
                        f"        self.emb = {layer}(16, 8)", "    def forward(self, ids):", "        return self.emb(ids)"]
    init = ["        self.rows_of = Rows()" if inner else f"        self.emb = {layer}(16, 8)"]
    look = draw(st.sampled_from(["self.emb(ids)", "(self.emb)(ids)", "self.lookup(ids)[0]"]))
    if inner:
        look = draw(st.sampled_from(["self.rows_of(ids)", "self.rows_of.emb(ids)"]))
    helper = draw(st.sampled_from(["reg_loss", "scaled", "emb_loss"]))
    body = draw(st.sampled_from([
        f"return {look}.norm()",
        f"rows = {look}; return (rows ** 2).sum()",
        f"return self.{helper}({look})",
        f"return sum(r.norm(2) for r in [{look}, {look}])",
        f"rows = {look}.detach(); return torch.norm(rows)",
        f"rows = {look}; return (rows * rows).mean(dim=-1).sum()",
    ]))
    methods = [
        *init,
        "    def lookup(self, ids):",
        "        return (self.emb(ids),)" if not inner else "        return (self.rows_of(ids),)",
        f"    def {helper}(self, table_rows):",
        "        return table_rows.norm()",
        f"    {_def(draw, name)}(self, ids):",
        *(f"        {part}" for part in body.split("; ")),
    ]
    return definitions, methods, f"{_callee(draw, f'{owner}.{name}')}(x.long())", name


@st.composite
def held_parameter_penalty(draw: st.DrawFn, owner: str, name: str) -> tuple[list[str], list[str], str, str]:
    """A penalty on parameters the model holds under names of its own (vocabulary.PARAMETER_CLASSES):
    `self.P = nn.Parameter(...)`, an item of an `nn.ParameterDict` or `nn.ParameterList`, made
    under an import's alias, read in a method or by the step on the model, or fitted in a data
    loss (a residual: no penalty)."""
    maker = draw(st.sampled_from(["nn.Parameter", "Param", "(nn.Parameter)"]))
    definitions = ["from torch.nn import Parameter as Param"] if maker == "Param" else []
    container = draw(st.sampled_from(["attribute", "dict", "list"]))
    if container == "attribute":
        init = [f"        self.P = {maker}(torch.randn(16, 8))"]
        held = "self.P"
    elif container == "dict":
        init = [f"        self.tables = nn.ParameterDict({{'user': {maker}(torch.randn(16, 8))}})"]
        held = "self.tables['user']"
    else:
        init = [f"        self.factors = nn.ParameterList([{maker}(torch.randn(16, 8))])"]
        held = "self.factors[0]"
    body = draw(st.sampled_from([
        f"return {held}.norm()",
        f"return torch.norm({held}[ids])",
        f"w = {held}; return (w ** 2).sum()",
        f"return (ids.float().mean() - {held}).norm()",
        f"return self.emb_reg({held}, {held})",
    ]))
    methods = [
        *init,
        "    def emb_reg(self, *tensors):",
        "        return sum(t.norm(2) for t in tensors)",
        f"    {_def(draw, name)}(self, ids):",
        *(f"        {part}" for part in body.split("; ")),
    ]
    return definitions, methods, f"{_callee(draw, f'{owner}.{name}')}(x.long())", name


@st.composite
def penalty_site(draw: st.DrawFn, owner: str = "model") -> tuple[list[str], list[str], str, str]:
    """Where the penalty is computed: (module-level definitions, lines added to the model class,
    the expression the training step uses on `owner`, the name of the function or method)."""
    kind = draw(st.sampled_from([
        "inline", "helper", "method", "conditional-method", "module-class", "lambda", "staticmethod",
        "walrus", "object", "attribute", "records", "given-parameters", "instance", "rows", "held",
    ]))
    name = draw(st.sampled_from(["l2_penalty", "regularizer", "compute_reg", "extra"]))
    if kind == "rows":
        return draw(rows_penalty(owner, name))
    if kind == "held":
        return draw(held_parameter_penalty(owner, name))
    if kind == "inline":
        return [], [], draw(penalty_term(draw(parameter_set(owner)))), ""
    if kind == "walrus":
        return [], [], f"(reg_value := {draw(penalty_term(draw(parameter_set(owner))))})", ""
    if kind == "lambda":
        body = draw(penalty_term(draw(parameter_set("net"))))
        return [f"{name} = lambda net: {body}"], [], f"{_callee(draw, name)}({owner})", name
    if kind == "staticmethod":
        body = draw(penalty_term(draw(parameter_set("net"))))
        method = ["    @staticmethod", f"    {_def(draw, name)}(net):", f"        return {body}"]
        return [], method, f"{_callee(draw, f'Net.{name}')}({owner})", name
    if kind == "helper":
        body = draw(penalty_term(draw(parameter_set("net"))))
        definition = [f"{_def(draw, name)}(net):", f"    return {body}"]
        alias = draw(st.booleans())
        lines = definition + ([f"{name}_fn = {name}"] if alias else [])
        return lines, [], f"{_callee(draw, f'{name}_fn' if alias else name)}({owner})", name
    if kind in ("method", "conditional-method"):
        body = draw(penalty_term(draw(parameter_set("self"))))
        method = [f"    {_def(draw, name)}(self):", f"        return {body}"]
        if kind == "conditional-method":
            method = ["    if True:"] + ["    " + line for line in method]
        return [], method, f"{_callee(draw, f'{owner}.{name}')}()", name
    if kind == "attribute":
        # A method stores weights on the object; another one, run after it, reduces them.
        # The storing method holds nothing else, as an initializer that would be inert
        # (triage/inert.py) but for how it stores.
        single = draw(st.booleans())
        kept = "self.fc1.weight" if single else "[self.fc1.weight, self.fc2.weight]"
        store = draw(st.sampled_from([
            ["self.kept = {kept}"], ["_, self.kept = 0, {kept}"], ["(first,", " self.kept) = (0, {kept})"],
            ["w = self.kept = {kept}"], ["if True: self.kept = {kept}"], ["for self.kept in [{kept}]:", "    pass"],
            ["self.kept = None", "nn.init.normal_(self.fc1.weight)", "self.kept = {kept}"],
        ]))
        use = "self.kept.norm(2)" if single else "sum(w.pow(2).sum() for w in self.kept)"
        method = ["    def keep(self):", *(f"        {line.format(kept=kept)}" for line in store)]
        method += [f"    {_def(draw, name)}(self):", f"        return {use}"]
        return [], method, f"{_callee(draw, f'{owner}.{name}')}()", name
    if kind == "records":
        # One method keeps (parameters, strength) records in a list on the object, directly or
        # through a registering method; another one loops over them.
        grow = draw(st.sampled_from(["self.records.append(({ps}, 1e-4))", "self.register({ps}, 1e-4)"]))
        method = [
            "    def keep(self):",
            "        self.records = []",
            "        " + grow.format(ps="self.fc1.parameters()"),
            "    def register(self, tensors, strength):",
            "        self.records.append((tensors, strength))",
            f"    {_def(draw, name)}(self):",
            "        return sum(s * torch.norm(w, p=2) for ws, s in self.records for w in ws)",
        ]
        return [], method, f"{_callee(draw, f'{owner}.{name}')}()", name
    if kind == "given-parameters":
        # Parameters given to a class's constructor, kept on the object (here or in a base's
        # __init__), and summed by a method of it.
        base = draw(st.sampled_from(["", "Holder"]))
        holder = ["class Holder:", "    def __init__(self, params):", "        self.params = list(params)"]
        own = [] if base else ["    def __init__(self, params):", "        self.params = list(params)"]
        definition = [
            *(holder if base else []),
            f"class Keeper({base}):",
            *own,
            f"    def {name}(self):",
            "        return sum(p.pow(2).sum() for p in self.params)",
        ]
        return definition, [], f"Keeper({draw(parameter_set(owner))}).{name}()", name
    if kind == "instance":
        # An instance of a class of the file (its own forward / __call__, or a base's): given the
        # parameters and building the term, or returning the parameters the term is built from.
        call = draw(st.sampled_from(["forward", "__call__"]))
        if draw(st.booleans()):
            body = draw(penalty_term("params"))
            method = [f"    def {call}(self, params):", f"        return {body}"]
            use = f"{_callee(draw, 'reg_obj')}({draw(parameter_set(owner))})"
        else:
            method = [f"    def {call}(self, net):", "        return [p for p in net.parameters() if p.requires_grad]"]
            use = draw(penalty_term(f"{_callee(draw, 'reg_obj')}({owner})"))
        classes = draw(st.sampled_from([
            ["class Reg:", *method],
            ["class Base:", *method, "class Reg(Base):", "    pass"],
            ["class Base:", *method, "BaseAlias = Base", "class Reg(BaseAlias):", "    pass"],
        ]))
        holder = draw(st.sampled_from([
            ["reg_obj = Reg()"],
            ["def make_reg():", "    return Reg()", "reg_obj = make_reg()"],
            ["reg_kind = Reg", "reg_obj = reg_kind()"],
            ["class Holder:", "    kept = Reg()", "reg_obj = Holder.kept"],
        ]))
        return [*classes, *holder], [], use, call
    if kind == "object":
        # A class of any name whose object's state decides the term, kept by a loss module.
        call = draw(st.sampled_from(["forward", "__call__"]))
        base = draw(st.sampled_from(["", "nn.Module"]))
        definition = [
            f"class Extra({base}):",
            "    def __init__(self, order):",
            *(["        super().__init__()"] if base else []),
            "        self.order = order",
            f"    def {call}(self, net):",
            "        total = 0",
            "        for p in net.parameters():",
            "            total = total + torch.norm(p, p=self.order)",
            "        return total",
            "class Objective(nn.Module):",
            "    def __init__(self):",
            "        super().__init__()",
            "        self.extra = Extra(2)",
            "    def forward(self, net):",
            f"        return {_callee(draw, 'self.extra')}(net)",
        ]
        return definition, [], f"{_callee(draw, 'reg_module')}({owner})", call
    cls = draw(st.sampled_from(["L2Regularizer", "WeightDecayLoss", "Penalty"]))
    call = draw(st.sampled_from(["forward", "__call__"]))
    body = draw(penalty_term(draw(parameter_set("net"))))
    definition = [f"class {cls}(nn.Module):", f"    def {call}(self, net):", f"        return {body}"]
    return definition, [], f"{_callee(draw, 'reg_module')}({owner})", call


def _decoy(draw: st.DrawFn, name: str) -> list[str]:
    """Another def of the same method name that the analysis never registers (under an `if` of a
    class body, or in a class under `with`), so the file seems to define the name twice."""
    if draw(st.booleans()):
        return ["class Head(nn.Module):", "    if False:", f"        def {name}(self):", "            return 0"]
    return ["with torch.no_grad():", "    class Head(nn.Module):", f"        def {name}(self):", "            return 0"]


def _joined(draw: st.DrawFn, statements: list[str]) -> list[str]:
    """Module-level simple statements, some led by a string, some joined with `;`."""
    out: list[str] = []
    for statement in statements:
        if statement.startswith("class "):  # a compound statement stands alone
            out.append(statement)
            continue
        if draw(st.booleans()) and draw(st.booleans()):
            statement = f'"note"; {statement}'
        if out and not out[-1].startswith("class ") and draw(st.booleans()) and draw(st.booleans()):
            out[-1] = f"{out[-1]}; {statement}"
        else:
            out.append(statement)
    return out


@st.composite
def training_script(draw: st.DrawFn) -> str:
    in_function = draw(st.booleans())  # the step in `def train_epoch(net, ...)`: an unknown owner
    owner = "net" if in_function else "model"
    definitions, methods, penalty, name = draw(penalty_site(owner))
    decay = draw(st.booleans())
    imports, optimizer = draw(optimizer_call(draw(parameter_set("model")), decay))
    model = MODELS[0][:5] + methods + MODELS[0][5:]
    if name and draw(st.booleans()):
        model += _decoy(draw, name)
    classes = [line.split()[1].split("(")[0].rstrip(":") for line in definitions if line.startswith("class ")]
    setup_extra = [f"reg_module = {classes[-1]}()"] if "reg_module" in penalty and classes else []
    coefficient = draw(st.sampled_from(["1e-4", "lam", "cfg.l2", "1e-4 * 0.5"]))
    backward = _callee(draw, "loss.backward")
    loss_line = f"loss = criterion({owner}(x), y) + {coefficient} * {penalty}"
    if draw(st.booleans()):
        loss_line = f"out = {owner}(x); loss: torch.Tensor = criterion(out, y) + {coefficient} * {penalty}"
    # A log line whose f-string has nested format specs and strings in its fields: the text cut
    # reads it (textcut._fstring_parts) where it once left the file to the parser.
    log = draw(st.sampled_from([
        [],
        ['    print(f"{float(loss)!r:>{8}} {sum(p.numel() for p in model.parameters()):.{2}f}")'],
        ["    print(f\"{ {'loss}': float(loss)}['loss}']:{'<'}{9}} {f'{x!s}' if x else ''}\")"],
    ]))
    step = [
        "for x, y in loader:",
        "    optimizer.zero_grad()",
        f"    {loss_line}",
        *log,
        f"    {backward}()",
        "    optimizer.step()",
    ]
    if in_function:
        step = [f"{_def(draw, 'train_epoch')}(net, loader, optimizer):", *("    " + line for line in step)]
    # Without an optimizer in the file (it comes from elsewhere), the triage prunes.
    builds_optimizer = not in_function or draw(st.booleans())
    header = ["import torch", "import torch.nn as nn", "import torch as th; from torch import linalg", *imports]
    setup = _joined(draw, [
        "lam = 1e-4",
        "class cfg: l2 = 1e-4",
        "model = Net()",
        *setup_extra,
        "criterion = nn.CrossEntropyLoss()",
        "loader = []",
        *([f"optimizer = {optimizer}"] if builds_optimizer else []),
    ])
    tail = _joined(draw, ["train_epoch(model, loader, optimizer)"]) if in_function and builds_optimizer else []
    source = "\n".join(header + [""] + model + [""] + definitions + [""] + setup + step + tail) + "\n"
    return draw(st.sampled_from([_as_is, _with_tabs, _with_crlf, _with_non_ascii_name]))(source)


# Text the text cut does not read with confidence, or reads differently: the same program.
def _as_is(source: str) -> str:
    return source


def _with_tabs(source: str) -> str:
    """Indentation with tabs (continuation lines keep their spaces)."""
    lines = []
    for line in source.split("\n"):
        stripped = line.lstrip(" ")
        indent = len(line) - len(stripped)
        lines.append("\t" * (indent // 4) + " " * (indent % 4) + stripped)
    return "\n".join(lines)


def _with_crlf(source: str) -> str:
    return source.replace("\n", "\r\n")


def _with_non_ascii_name(source: str) -> str:
    return source.replace("lam = 1e-4", "λ = 1e-4; lam = λ")


@SHAPES
@given(training_script())
def test_one_file_lints_the_same_with_and_without_the_prefilter(source: str) -> None:
    compile(source, "train.py", "exec")  # the generator writes valid Python
    data = source.encode("utf-8")
    assert _findings(data, "train.py", True) == _findings(data, "train.py", False), source


# ---------------------------------------------------------------------------- transformers' Trainer

# How a file names transformers' Trainer (or a Trainer of its own, which builds no optimizer).
_TRAINER_IMPORTS = [
    (["from transformers import Trainer, TrainingArguments"], "Trainer", "TrainingArguments"),
    (["from transformers import Trainer as HFTrainer, TrainingArguments as Args"], "HFTrainer", "Args"),
    (["import transformers"], "transformers.Trainer", "transformers.TrainingArguments"),
    (["import transformers as tf"], "tf.Trainer", "tf.TrainingArguments"),
    (["from transformers import *"], "Trainer", "TrainingArguments"),
    (["from transformers import AutoModel", "class Trainer:", "    def __init__(self, model=None, args=None, **kw):",
      "        self.model = model", "    def train(self):", "        return None",
      "def TrainingArguments(**kw):", "    return kw"], "Trainer", "TrainingArguments"),
]


@st.composite
def trainer_script(draw: st.DrawFn) -> str:
    """A model trained by a transformers Trainer: the penalty in a subclass's compute_loss or in
    the model's forward; the trainer made here or not, handed an optimizer or not, its
    TrainingArguments with or without a decay and an optim."""
    imports, trainer, arguments = draw(st.sampled_from(_TRAINER_IMPORTS))
    params = draw(st.sampled_from(["model.parameters()", "[p for n, p in model.named_parameters() if 'bias' not in n]"]))
    penalty = draw(penalty_term(params).filter(lambda term: " - " not in term))  # (a decay, not a proximal term)
    in_forward = draw(st.booleans())
    model = MODELS[0][:5]
    if in_forward:
        model += [
            "    def forward(self, x, labels=None):",
            "        out = self.fc2(torch.relu(self.fc1(x)))",
            "        model = self",
            f"        loss = nn.functional.cross_entropy(out, labels) + 1e-4 * {penalty}",
            "        return {'loss': loss, 'logits': out}",
        ]
        subclass: list[str] = []
        made = trainer
    else:
        model += MODELS[0][5:]
        base = draw(st.sampled_from([trainer, "Base"]))
        subclass = [f"class Base({trainer}):", "    pass"] if base == "Base" else []
        subclass += [
            f"class RegTrainer({base}):",
            *(["    def create_optimizer(self):", "        return None"] if draw(st.booleans()) else []),
            "    def compute_loss(self, model, inputs, return_outputs=False, **kwargs):",
            "        outputs = model(**inputs)",
            f"        loss = outputs.loss + 1e-4 * {penalty}",
            "        return (loss, outputs) if return_outputs else loss",
        ]
        made = "RegTrainer"
    settings_call = draw(st.sampled_from([
        f"{arguments}(output_dir='out')",
        f"{arguments}(output_dir='out', weight_decay=0.01)",
        f"{arguments}(output_dir='out', optim='sgd')",
        f"{arguments}(**{{'output_dir': 'out', 'weight_decay': 0.05}})",
        "parse_args()",
    ]))
    handed = draw(st.sampled_from(["", ", optimizers=(torch.optim.SGD(model.parameters(), lr=0.1), None)"]))
    construction = [
        "def parse_args():",
        "    return None",
        "model = Net()",
        f"args = {settings_call}",
        f"trainer = {_callee(draw, made)}(model=model, args=args{handed})",
        "trainer.train()",
    ] if draw(st.integers(0, 3)) else []
    header = ["import torch", "import torch.nn as nn", "import torch as th; from torch import linalg", *imports]
    return "\n".join(header + [""] + model + [""] + subclass + [""] + construction) + "\n"


@SHAPES
@given(trainer_script(), st.sampled_from([ENABLED, frozenset({"RL206"}), frozenset({"RL203", "RL206"})]))
def test_a_trainer_script_lints_the_same_with_and_without_the_prefilter(source: str, enabled: frozenset[str]) -> None:
    compile(source, "train.py", "exec")
    data = source.encode("utf-8")
    with_prefilter = prefilter.lint_data(data, "train.py", Settings(), enabled, True)
    without = prefilter.lint_data(data, "train.py", Settings(), enabled, False)
    assert with_prefilter.internal_error is None and without.internal_error is None
    assert [f.to_json() for f in with_prefilter.findings] == [f.to_json() for f in without.findings], source


# ---------------------------------------------------------------------------- projects


@st.composite
def project(draw: st.DrawFn) -> dict[str, str]:
    """model.py (the model, maybe a penalty method), losses.py (maybe a penalty helper or
    module), config.py (coefficients), train.py (the setup), imported in the usual ways."""
    definitions, methods, penalty, _name = draw(penalty_site())
    decay = draw(st.booleans())
    imports, optimizer = draw(optimizer_call(draw(parameter_set("model")), decay))
    model_py = "\n".join(["import torch", "import torch.nn as nn", "", *MODELS[0][:5], *methods, *MODELS[0][5:]]) + "\n"
    losses_py = "\n".join(["import torch", "import torch.nn as nn", "import torch as th; from torch import linalg", "", *definitions]) + "\n"
    config_py = "\n".join(["class TrainConfig:", "    weight_decay = 0.05", "    l2 = 1e-4", "", "LAM = 1e-4"]) + "\n"
    defined = _top_level_names(losses_py)
    helper_imports = [draw(st.sampled_from([f"from losses import {name}", f"from losses import {name} as {name}"])) for name in defined]
    if defined and draw(st.booleans()):
        helper_imports = ["import losses"]  # then `losses.name(...)`
        penalty = _qualified(penalty, defined)
    setup_extra = [f"reg_module = {_prefix(helper_imports)}{name}()" for name in defined if name[0].isupper()]
    coefficient = draw(st.sampled_from(["LAM", "C.l2", "1e-4"]))
    if draw(st.booleans()):
        optimizer = optimizer.replace("lr=1e-3", "lr=1e-3, weight_decay=C.weight_decay").replace(", weight_decay=1e-4", "")
    train_py = "\n".join([
        "import torch", "import torch.nn as nn", *imports,
        draw(st.sampled_from(["from model import Net", "import model as model_module"])),
        "from config import LAM, TrainConfig as C", *helper_imports, "",
        *_joined(draw, [
            "model = Net()", *setup_extra, "criterion = nn.MSELoss()", "loader = []",
            f"optimizer = {optimizer}",
        ]),
        "for x, y in loader:",
        f"    loss = criterion(model(x), y) + {coefficient} * {penalty}",
        f"    {_callee(draw, 'loss.backward')}()",
        "    optimizer.step()",
    ]) + "\n"
    if "import model as model_module" in train_py:
        train_py = train_py.replace("model = Net()", "model = model_module.Net()")
    return {"model.py": model_py, "losses.py": losses_py, "config.py": config_py, "train.py": train_py}


@SHAPES
@given(project())
def test_each_file_of_a_project_lints_the_same_with_and_without_the_prefilter(files: dict[str, str]) -> None:
    for name, text in files.items():
        compile(text, name, "exec")  # the generator writes valid Python
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
        for name, text in files.items():
            (root / name).write_text(text)
        for name in files:
            path = root / name
            data = path.read_bytes()
            assert _findings(data, str(path), True) == _findings(data, str(path), False), (name, files)


def _top_level_names(text: str) -> list[str]:
    import ast

    names: list[str] = []
    for statement in ast.parse(text).body:
        if isinstance(statement, (ast.FunctionDef, ast.ClassDef)):
            names.append(statement.name)
        elif isinstance(statement, ast.Assign):
            names.extend(target.id for target in statement.targets if isinstance(target, ast.Name))
    return names


def _prefix(helper_imports: list[str]) -> str:
    return "losses." if helper_imports == ["import losses"] else ""


def _qualified(penalty: str, names: list[str]) -> str:
    """The penalty expression with the helper called through its module (`losses.l2_penalty`)."""
    for name in names:
        if name[0].islower():
            penalty = penalty.replace(f"({name})", f"(losses.{name})").replace(f"( {name} )", f"( losses.{name} )")
            if penalty.startswith(f"{name}("):
                penalty = "losses." + penalty
    return penalty


def test_the_shapes_do_produce_findings() -> None:
    """The generators' examples hold findings without the prefilter (else agreeing means little)."""
    found: list[bool] = []

    @settings(max_examples=40, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow])
    @given(training_script())
    def one_file(source: str) -> None:
        found.append(bool(_findings(source.encode("utf-8"), "train.py", False)))

    one_file()
    assert sum(found) >= 0.6 * len(found), found

    trained: list[bool] = []

    @settings(max_examples=40, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow])
    @given(trainer_script())
    def trainer_file(source: str) -> None:
        trained.append(any(f["code"] in ("RL203", "RL206") for f in _findings(source.encode("utf-8"), "train.py", False)))

    trainer_file()
    assert sum(trained) >= 0.1 * len(trained), (sum(trained), len(trained))
