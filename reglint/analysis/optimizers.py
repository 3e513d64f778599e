"""What reglint knows about each torch.optim optimizer: its arguments and how it decays.

Signatures are those of torch 2.x (checked against torch 2.13). `coupling` says how
`weight_decay` acts: "coupled" adds λ·w to the gradient before the update rule (so adaptive
optimizers rescale it per weight), "decoupled" shrinks w by lr·λ outside the rule (AdamW),
"switchable" is coupled unless `decoupled_weight_decay=True`, None means no weight_decay argument.
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass
from typing import Optional

from reglint.analysis.triage.words import literal_alternation, whole_words
from reglint.analysis.vocabulary import ATTRIBUTE_BY_NAME, OPTIMIZER_MODULE


@dataclass(frozen=True)
class OptimizerSpec:
    name: str
    positional: tuple[str, ...]  # constructor arguments after `params`, in order
    keyword_only: tuple[str, ...]
    default_weight_decay: Optional[float]
    coupling: Optional[str]
    adaptive: bool
    # A "switchable" optimizer's flag: (argument, its default, the value that means decoupled).
    switch: Optional[tuple[str, object, object]] = None
    library: str = "torch"

    @property
    def display(self) -> str:
        """How messages name it: `Adam`, `bitsandbytes AdamW8bit`."""
        return self.name if self.library == "torch" else f"{self.library} {self.name}"

    def decoupled(self, flag: Optional[float]) -> Optional[bool]:
        """Is the decay decoupled, given the switch's value as written (None: not written)?
        None when it depends on a value the analysis cannot know."""
        if self.coupling == "decoupled":
            return True
        if self.coupling == "coupled":
            return False
        if self.coupling == "switchable" and self.switch is not None:
            _, default, decoupled_value = self.switch
            return (default == decoupled_value) if flag is None else (bool(flag) == bool(decoupled_value))
        return None

    @property
    def accepts(self) -> frozenset[str]:
        return frozenset(self.positional + self.keyword_only)

    @property
    def group_keys(self) -> frozenset[str]:
        # Keys a param group may carry: the per-group hyperparameters, plus what torch and
        # schedulers add themselves.
        return self.accepts | {"params", "param_names", "initial_lr", "name"}


_COMMON = ("foreach", "maximize", "capturable", "differentiable", "fused")
_DECOUPLED_FLAG = ("decoupled_weight_decay", False, True)

SPECS: dict[str, OptimizerSpec] = {
    spec.name: spec
    for spec in (
        OptimizerSpec("SGD", ("lr", "momentum", "dampening", "weight_decay", "nesterov"), _COMMON, 0.0, "coupled", False),
        OptimizerSpec("Adam", ("lr", "betas", "eps", "weight_decay", "amsgrad"), _COMMON + ("decoupled_weight_decay",), 0.0, "switchable", True, _DECOUPLED_FLAG),
        OptimizerSpec("AdamW", ("lr", "betas", "eps", "weight_decay", "amsgrad"), _COMMON, 1e-2, "decoupled", True),
        OptimizerSpec("NAdam", ("lr", "betas", "eps", "weight_decay", "momentum_decay", "decoupled_weight_decay"), _COMMON, 0.0, "switchable", True, _DECOUPLED_FLAG),
        OptimizerSpec("RAdam", ("lr", "betas", "eps", "weight_decay", "decoupled_weight_decay"), _COMMON, 0.0, "switchable", True, _DECOUPLED_FLAG),
        OptimizerSpec("Adamax", ("lr", "betas", "eps", "weight_decay", "foreach"), _COMMON, 0.0, "coupled", True),
        OptimizerSpec("Adagrad", ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps", "foreach"), _COMMON, 0.0, "coupled", True),
        OptimizerSpec("RMSprop", ("lr", "alpha", "eps", "weight_decay", "momentum", "centered", "capturable", "foreach", "maximize", "differentiable"), (), 0.0, "coupled", True),
        OptimizerSpec("Adadelta", ("lr", "rho", "eps", "weight_decay", "foreach"), _COMMON, 0.0, "coupled", True),
        OptimizerSpec("ASGD", ("lr", "lambd", "alpha", "t0", "weight_decay", "foreach", "maximize", "differentiable", "capturable"), (), 0.0, "coupled", False),
        OptimizerSpec("Adafactor", ("lr", "beta2_decay", "eps", "d", "weight_decay"), ("foreach", "maximize"), 0.0, "decoupled", True),
        OptimizerSpec("LBFGS", ("lr", "max_iter", "max_eval", "tolerance_grad", "tolerance_change", "history_size", "line_search_fn"), (), None, None, False),
        OptimizerSpec("SparseAdam", ("lr", "betas", "eps", "maximize"), (), None, None, True),
        OptimizerSpec("Rprop", ("lr", "etas", "step_sizes"), ("capturable", "foreach", "maximize", "differentiable"), None, None, True),
    )
}

# A class of torch.optim named at run time (`getattr(torch.optim, cfg.optimizer)`): any of them, so
# only what holds for every one is known. Its arguments are keywords, any of theirs; nothing is
# known of its default decay, its coupling or whether it is adaptive, so the rules that depend on
# the class stay silent, and those that do not (decay on biases and norms, decay beside an explicit
# L2, a misspelt group key) speak.
NAMED_AT_RUN_TIME = OptimizerSpec(
    "torch.optim class named at run time",
    (),
    tuple(sorted(set().union(*(spec.positional + spec.keyword_only for spec in SPECS.values())))),
    None,
    None,
    False,
)

# Optimizers whose weight_decay RL201 calls coupled L2 on an adaptive rule (the design's list).
COUPLED_ADAPTIVE = frozenset({"Adam", "NAdam", "RAdam", "Adamax", "Adagrad", "RMSprop"})


def coupled_on_adaptive(spec: OptimizerSpec, flag: Optional[float], flag_known: bool = True) -> bool:
    """RL201's question: is this optimizer's decay coupled L2 under an adaptive rule? torch's by
    the design's list; another library's by its rule (adaptive) and coupling."""
    if spec.library == "torch":
        if spec.name not in COUPLED_ADAPTIVE:
            return False
        return spec.decoupled(flag) is False if flag_known else False
    if not spec.adaptive or not flag_known:
        return False
    return spec.decoupled(flag) is False
# Adam family and other adaptive rules whose per-weight rescaling distorts an explicit L2 penalty.
ADAPTIVE = frozenset(name for name, spec in SPECS.items() if spec.adaptive)

QUALIFIED = frozenset(f"torch.optim.{name}" for name in SPECS) | frozenset(
    f"torch.optim.{name.lower()}.{name}" for name in SPECS
)


def spec_for(qualname: Optional[str]) -> Optional[OptimizerSpec]:
    """The spec of an optimizer class given its qualified name: torch.optim.Adam,
    torch.optim.adam.Adam, or a library's (transformers.AdamW, bitsandbytes.optim.AdamW8bit,
    torch_optimizer.AdamP, timm.optim.Lamb, ...: library_optimizers.py)."""
    if not qualname:
        return None
    if qualname.startswith("torch.optim."):
        parts = qualname.split(".")
        if len(parts) == 3 or (len(parts) == 4 and parts[2] == parts[3].lower()):
            return SPECS.get(parts[-1])
        if len(parts) == 4 and parts[2] == "_multi_tensor":
            return SPECS.get(parts[-1])
        return None
    head, _, name = qualname.rpartition(".")
    if not head or name not in LIBRARY_NAMES:
        return None
    for package, table in _library_tables().items():
        if (head == package or head.startswith(package + ".")) and name in table:
            return table[name]
    return None


_LIBRARY: Optional[dict[str, dict[str, OptimizerSpec]]] = None


def _library_tables() -> dict[str, dict[str, OptimizerSpec]]:
    global _LIBRARY
    if _LIBRARY is None:
        from reglint.analysis.library_optimizers import library_specs

        _LIBRARY = library_specs()
    return _LIBRARY


# Keys that a writer of a param group almost surely meant as `weight_decay`.
WEIGHT_DECAY_MISSPELLINGS = frozenset({"wd", "decay", "weightdecay", "weight-decay", "weight_decay_rate", "l2", "l2_reg"})


def _distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def intended_key(key: str, spec: OptimizerSpec) -> Optional[str]:
    """The optimizer's key that an unknown param-group key most likely meant, if unambiguous."""
    if key in spec.group_keys:
        return None
    stripped = key.strip()
    if stripped != key and stripped in spec.group_keys:
        return stripped
    lowered = stripped.lower().replace(" ", "_")
    if lowered in WEIGHT_DECAY_MISSPELLINGS and "weight_decay" in spec.accepts:
        return "weight_decay"
    close = [k for k in spec.group_keys if len(k) > 3 and _distance(lowered, k) <= (2 if len(k) > 6 else 1)]
    return close[0] if len(close) == 1 else None

# A dict key written as a plain one-line literal (its last opening quote, its text, its closing
# quotes), with what may stand between it and its colon (blanks, line breaks, continuations,
# comments): `"weight_decay": 0.0`, `'params' :`, `"""lr""":`. A comment runs to its line's end, so the
# pieces between key and colon can be read in one way only: no backtracking (triage_scaling.py).
_DICT_KEY = re.compile(r"""["']([^"'\\\r\n]*)["']{1,3}(?:\s|\\|#[^\r\n]*(?=[\r\n]))*:""")


def may_hold_a_misspelt_group_key(text: str) -> bool:
    """Could the text write a param-group dict (a plain "params" key) beside a key that no
    torch.optim optimizer knows and that means weight_decay (RL205's groups whose optimizer is
    not seen, FileFacts.stray_group_dicts, misspelt_decay_key)? Every key the analysis judges
    there is a plain literal, so it is among the keys found here."""
    if 'params"' not in text and "params'" not in text:
        return False  # (the key's text is followed by its closing quote)
    keys = set(_DICT_KEY.findall(text))
    return "params" in keys and any(misspelt_decay_key(key) for key in keys)


def misspelt_decay_key(key: str) -> bool:
    """A param-group key that every torch.optim optimizer ignores and that was meant as
    weight_decay (`"wd"`, `"weigth_decay"`, `"weight decay"`)."""
    return intended_key(key, NAMED_AT_RUN_TIME) == "weight_decay"


# Class names of every optimizer the analysis knows (torch's and other libraries'): the words a
# construction's text contains. Kept beside the tables; tests check it matches them.
LIBRARY_NAMES: frozenset[str] = frozenset({
    "AdamW", "Adafactor", "FusedAdam", "FusedLAMB", "FusedSGD", "FusedNovoGrad", "Adam", "Adam8bit",
    "Adam32bit", "PagedAdam", "PagedAdam8bit", "PagedAdam32bit", "AdamW8bit", "AdamW32bit",
    "PagedAdamW", "PagedAdamW8bit", "PagedAdamW32bit", "Lion", "PagedLion", "Lion8bit", "Lion32bit",
    "PagedLion8bit", "PagedLion32bit", "SGD", "SGD8bit", "SGD32bit", "RMSprop", "RMSprop8bit",
    "RMSprop32bit", "Adagrad", "Adagrad8bit", "Adagrad32bit", "LAMB", "LAMB8bit", "LAMB32bit",
    "LARS", "LARS8bit", "LARS32bit", "AccSGD", "AdaBelief", "AdaBound", "Adahessian", "AdaMod",
    "AdamP", "AggMo", "Apollo", "DiffGrad", "Lamb", "MADGRAD", "NovoGrad", "PID", "QHAdam", "RAdam",
    "Ranger", "RangerQH", "RangerVA", "SGDP", "SGDW", "Shampoo", "SWATS", "Yogi", "A2GradExp",
    "A2GradInc", "A2GradUni", "AdamWLegacy", "Adan", "NAdamW", "NAdamLegacy", "RAdamLegacy",
    "RMSpropTF", "Lars", "Adopt", "LaProp", "DAdaptAdam", "DAdaptSGD", "DAdaptAdaGrad",
    "DAdaptAdan", "DAdaptLion", "Prodigy", "AdamWScheduleFree", "RAdamScheduleFree",
    "SGDScheduleFree", "DeepSpeedCPUAdam", "FusedLamb", "HybridAdam", "CPUAdam",
})
# Functions that build an optimizer (timm's factory; its legacy `create_optimizer(args, model)`
# reads everything from an args object and is not followed), and classes whose objects build one
# (transformers' trainers: library_optimizers.TRAINERS), whether called or subclassed: a class
# derived from one builds the same optimizer, so naming one is as good as calling it.
SUBCLASSED_FACTORY_NAMES: frozenset[str] = frozenset({"Trainer", "Seq2SeqTrainer"})
TRAINER_PACKAGE = "transformers"
NET_NAMES: frozenset[str] = frozenset({  # (skorch's and braindecode's nets: library_optimizers.NETS)
    "NeuralNet", "NeuralNetClassifier", "NeuralNetBinaryClassifier", "NeuralNetRegressor", "EEGClassifier", "EEGRegressor",
})
FACTORY_NAMES: frozenset[str] = frozenset({"create_optimizer_v2"}) | SUBCLASSED_FACTORY_NAMES | NET_NAMES
TORCH_NAMES: frozenset[str] = frozenset(SPECS)
ALL_NAMES: frozenset[str] = frozenset(SPECS) | LIBRARY_NAMES | FACTORY_NAMES


def timm_spec(opt: str) -> Optional[OptimizerSpec]:
    """The class timm's factory builds for an `opt` string (`lookahead_` aside)."""
    from reglint.analysis.library_optimizers import TIMM_OPTS

    found = TIMM_OPTS.get(opt.lower().removeprefix("lookahead_"))
    return _class_spec(*found) if found is not None else None


def trainer_spec(optim: str) -> Optional[OptimizerSpec]:
    """The class transformers' Trainer builds for an `args.optim` string."""
    from reglint.analysis.library_optimizers import TRAINER_OPTIMS

    found = TRAINER_OPTIMS.get(optim)
    return _class_spec(*found) if found is not None else None


def _class_spec(package: str, class_name: str) -> Optional[OptimizerSpec]:
    if package == "torch":
        return SPECS.get(class_name)
    return _library_tables().get(package, {}).get(class_name)

# Words that every optimizer construction's text contains (a class name that holds another is
# left out: `Adam` is in `AdamW`).
OPTIMIZER_WORDS: tuple[str, ...] = tuple(
    sorted(name for name in ALL_NAMES if not any(other != name and other in name for other in ALL_NAMES))
)


def _words(names: frozenset[str]) -> tuple[str, ...]:
    return tuple(sorted(name for name in names if not any(other != name and other in name for other in names)))


TORCH_WORDS = _words(frozenset(SPECS))
# The packages whose classes are in LIBRARY_NAMES: an import of one names its package, so a file
# can construct one of those optimizers only if its text holds the package's name.
LIBRARY_PACKAGES = (
    "transformers", "apex", "bitsandbytes", "torch_optimizer", "pytorch_ranger", "timm",
    "lion_pytorch", "dadaptation", "prodigyopt", "schedulefree", "deepspeed", "colossalai",
    "madgrad", "pl_bolts", "skorch", "braindecode",
)
_LIBRARY_ONLY_WORDS = tuple(w for w in OPTIMIZER_WORDS if not any(t in w for t in TORCH_WORDS))
# An import that names one of those packages (`import bitsandbytes as bnb`, `import os, timm`,
# `from timm.optim import Lamb`): the only way a qualified name can start with it. Read from each
# `import`/`from` word that starts a statement (a line start, `;`, a compound statement's `:`;
# not `>>> import timm` in a docstring); blanks may be backslash continuations.
_PACKAGES = "(?:" + "|".join(LIBRARY_PACKAGES) + r")\b"
_IMPORT_WORD = re.compile(r"\b(?:import|from)\b")
_BLANK = r"(?:[ \t]|\\\r?\n)"
_LIBRARY_STATEMENT = re.compile(
    rf"from{_BLANK}+{_PACKAGES}|import{_BLANK}(?:[^\n;\\]|\\\r?\n)*?(?<![\w.]){_PACKAGES}"
)


def _imports_a_library(text: str) -> bool:
    """An import statement of one of LIBRARY_PACKAGES. Linear in the text: each word is looked
    at once, and a statement is read only from its start to its end."""
    for match in _IMPORT_WORD.finditer(text):
        position = match.start() - 1
        while position >= 0 and text[position] in " \t":
            position -= 1
        if position >= 0 and text[position] not in "\r\n;:":
            if not (text[position] == "\\" and position + 1 < len(text) and text[position + 1] in "\r\n"):
                continue  # not the start of a statement (a continued line's start is)
        if _LIBRARY_STATEMENT.match(text, match.start()):
            return True
    return False


def spells_torch(tree: ast.Module) -> bool:
    """The syntax tree's form of mentions_an_optimizer's `torch` test: an import of torch or one
    of its modules, or the name `torch` used (the analysis reads it as torch unimported)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if node.id == "torch":
                return True
        elif isinstance(node, ast.Import):
            if any(alias.name.partition(".")[0] == "torch" for alias in node.names):
                return True
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            if node.module.partition(".")[0] == "torch":
                return True
    return False


def spells_optim(tree: ast.Module) -> bool:
    """The syntax tree's form of names_a_class_at_run_time's `optim` test: the identifier `optim`
    as a name, an attribute, or a part of an imported module's name or of its alias."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if node.id == OPTIMIZER_MODULE:
                return True
        elif isinstance(node, ast.Attribute):
            if node.attr == OPTIMIZER_MODULE:
                return True
        elif isinstance(node, ast.alias):
            if OPTIMIZER_MODULE in node.name.split(".") or node.asname == OPTIMIZER_MODULE:
                return True
        elif isinstance(node, ast.ImportFrom) and node.module and OPTIMIZER_MODULE in node.module.split("."):
            return True
    return False


def imports_a_library(tree: ast.Module) -> bool:
    """The syntax tree's form of the same question: an import, anywhere, of one of LIBRARY_PACKAGES."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            if any(alias.name.partition(".")[0] in LIBRARY_PACKAGES for alias in node.names):
                return True
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            if node.module.partition(".")[0] in LIBRARY_PACKAGES:
                return True
    return False


def names_an_optimizer_class(text: str) -> bool:
    """Does the text name an optimizer class the analysis knows, or one named at run time? (A
    method's text, whose imports are elsewhere: mentions_an_optimizer asks more of a module's.)"""
    return _ANY_OPTIMIZER_WORD.search(text) is not None or names_a_class_at_run_time(text)


@functools.lru_cache(maxsize=8)  # the triage asks of the same text more than once (a str caches its hash)
def mentions_an_optimizer(text: str) -> bool:
    """Could the text construct an optimizer the analysis knows? It must hold the name of one of
    the classes (one scan for every word first: most files name none), and the qualified name
    (spec_for) must start with its package: `torch.optim.` is reached only through an import or
    a use that spells `torch` (a module of MXNet, TensorFlow or JAX names `SGD` and `Adam` too),
    another library's package only through an import of it. A class of torch.optim named at run
    time (`getattr(torch.optim, cfg.optimizer)`) needs the call and the module: `getattr`, `torch`
    and the word `optim`."""
    if _ANY_OPTIMIZER_WORD.search(text) is None:
        return names_a_class_at_run_time(text)
    if "torch" in text and any(word in text for word in TORCH_WORDS):
        return True
    # The word found is another library's, or torch is absent, or it is part of a longer word
    # (`Lamb` in `LambdaLR`): a class named at run time is still possible.
    return _imports_a_library(text) or names_a_class_at_run_time(text)


# After an optimizer class's name: a call whose parameters are a name it was handed,
# `AdamW(params, lr=cfg.lr)`, `SGD(param_groups, ...)`, `Adam(params=ps)`.
_HANDED_PARAMETERS = re.compile(r"[ \t]*\(\s*(?:params\s*=\s*)?[A-Za-z_][\w.]*\s*[,)]")


def constructs_from_a_name(text: str) -> bool:
    """Could the text construct an optimizer of parameters held by a name (an optimizer factory
    handed them: `def build_optimizer(params, cfg): return AdamW(params, lr=cfg.lr)`)? Each
    class word is looked at once, with the whole identifier it is part of (`FusedAdam`, not the
    `Trainer` of `MultiTrainer`), and only the text right after it."""
    for match in _ANY_OPTIMIZER_WORD.finditer(text):
        start, end = match.start(), match.end()
        while start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_"):
            start -= 1
        while end < len(text) and (text[end].isalnum() or text[end] == "_"):
            end += 1
        if text[start:end] in ALL_NAMES and _HANDED_PARAMETERS.match(text, end):
            return True
    return False


def names_a_class_at_run_time(text: str) -> bool:
    """Could the text name a class of torch.optim by a string (values.OptimizerClass.named_by)?"""
    return (
        ATTRIBUTE_BY_NAME in text
        and "torch" in text
        and next(whole_words(text, (OPTIMIZER_MODULE,), ascii_words=True), None) is not None
    )
_ANY_OPTIMIZER_WORD = re.compile(literal_alternation(set(TORCH_WORDS) | set(_LIBRARY_ONLY_WORDS)))
