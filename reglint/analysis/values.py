"""Abstract values the interpreter computes for expressions.

Each value says just enough about a runtime object for the rules: which parameters an iterable
yields and how they were filtered, whether an expression is a norm-like penalty term, whether a
loss contains a penalty, what a number is. Anything else is UNKNOWN.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Callable, Optional

import libcst as cst

from reglint.analysis.facts import Accumulator, ParamSet, PenaltyTerm
from reglint.analysis.vocabulary import ROW_LAYERS

if TYPE_CHECKING:
    from reglint.analysis.classes import ClassInfo
    from reglint.analysis.modules import ModuleContext
    from reglint.analysis.state import Frame


class Value:
    """Base of all abstract values."""


@dataclass(frozen=True)
class Unknown(Value):
    pass


UNKNOWN = Unknown()


@dataclass(frozen=True)
class KeywordArgs(Unknown):
    """A function's `**kwargs`: unknown as any caller's dict is, except that `kwargs.pop(key,
    default)` and `kwargs.get(key, default)` read the keyword the call gave, and otherwise the
    default (RecBole's `params = kwargs.pop("params", self.model.parameters())`)."""

    given: tuple[tuple[str, Value], ...]
    complete: bool  # the call showed every keyword: none unpacked, not a function run on its own

    def value_of(self, key: str) -> Optional[Value]:
        """The value the call gave for keyword `key` (`kwargs["params"]`), if it gave one."""
        for name, value in self.given:
            if name == key:
                return value
        return None


@dataclass(frozen=True)
class Submodules(Unknown):
    """`owner.modules()`, `.children()`, `.named_modules()`, `.named_children()`: unknown as any
    value is, except that a loop over it yields Submodule values (after a name with `named`)."""

    owner: str
    named: bool = False


@dataclass(frozen=True)
class Submodule(Unknown):
    """One module of a Submodules loop: unknown as any value is, except to the parameters taken
    from it. `selected`: the type test that chose it (`isinstance(m, nn.Embedding)`), and
    `vectors` whether the types it accepts hold 1-D parameters (None: not known)."""

    owner: str
    selected: Optional[str] = None
    vectors: Optional[bool] = None


@dataclass(frozen=True)
class L1Criterion(Unknown):
    """`nn.L1Loss(...)`: called on a parameter and zeros, a sum of |w| (`reduction="sum"`,
    `size_average=False`) or their mean; unknown as any value is otherwise."""

    summed: bool = False


@dataclass(frozen=True)
class Passing(Unknown):
    """An object whose methods hand back what they are given (vocabulary.PASSING_OBJECTS: an
    accelerate Accelerator); unknown as any value is otherwise."""


@dataclass(frozen=True)
class LightningTrainer(Unknown):
    """A Lightning Trainer (vocabulary.LIGHTNING_TRAINERS): its `fit` runs the module's hooks."""


@dataclass(frozen=True)
class Zeros(Unknown):
    """`torch.zeros_like(p)`, `torch.zeros(shape)`: zeros, the target of an L1 loss that is a
    penalty; unknown as any value is otherwise."""


@dataclass(frozen=True)
class Num(Value):
    value: Optional[float]  # None: a number the analysis cannot know (args.wd)
    text: str
    node: Optional[cst.CSTNode] = None
    default: Optional[float] = None  # an argument's declared default (`add_argument("--wd", default=0.03)`)
    # A function's parameter run with no call (`lam=0.2`): `node` is its default, in the signature,
    # so a factor it makes is placed where it is applied.
    parameter: bool = False

    @property
    def as_run(self) -> Optional[float]:
        """The value a plain run computes: the number, or the default declared for the argument
        it reads (`args.l2`)."""
        return self.value if self.value is not None else self.default


@dataclass(frozen=True)
class Str(Value):
    value: str


@dataclass(frozen=True)
class Module(Value):
    """A torch.nn layer or container: whether its parameters include 1-D ones (biases, norm
    gains; None: not known). Its text is the code that builds it, rendered only when read (a
    model file builds hundreds of layers, and few are ever named)."""

    source: "str | tuple[cst.Module, cst.CSTNode]"
    vectors: Optional[bool] = None
    layer: Optional[str] = None  # the torch.nn class of a single layer (`Embedding`), else None

    @property
    def text(self) -> str:
        if isinstance(self.source, str):
            return self.source
        module, node = self.source
        text = module.code_for_node(node)
        object.__setattr__(self, "source", text)
        return text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Module) and (self.text, self.vectors) == (other.text, other.vectors)

    def __hash__(self) -> int:
        return hash((self.text, self.vectors))


@dataclass(frozen=True)
class Instance(Value):
    """An object of a class the analysis reads (`model = Net()`): `env` keys its attributes in
    FileAnalyzer.instances."""

    info: "ClassInfo"
    env: int


@dataclass(frozen=True)
class ParamIter(Value):
    """An iterable over parameters. `kind`: params, pairs (name, param), names, dict (name -> param)."""

    pset: ParamSet
    kind: str = "params"

    def filtered(self, text: str, selects: Optional[str] = None) -> "ParamIter":
        return ParamIter(
            replace(self.pset, unfiltered=False, filter_text=text, selects=selects), self.kind
        )


@dataclass(frozen=True)
class Param(Value):
    """One parameter tensor: an element of a ParamSet, or named explicitly (pset None)."""

    pset: Optional[ParamSet]
    text: str = "p"
    gradless: Optional[str] = None
    taken_here: bool = field(default=False, compare=False)  # named explicitly by the linted module's code
    rows: bool = False  # the rows an embedding layer's call looked up (calls.looked_up_rows)
    anchored: bool = False  # its distance from an anchor, `p - p0` (expressions.anchored)
    # The iterable of the linted module's `for` loop that takes the parameters one by one
    # (`model.parameters()` of `for p in model.parameters():`): where a penalty's choice of
    # parameters is written.
    walked_at: Optional[cst.CSTNode] = field(default=None, compare=False)


@dataclass(frozen=True)
class ParamName(Value):
    """The name string that named_parameters() pairs with a parameter."""

    pset: ParamSet


@dataclass(frozen=True)
class Flat(Value):
    """torch.cat of flattened parameters: one long copy of the parameter set."""

    pset: ParamSet
    node: cst.CSTNode
    gradless: Optional[str] = None
    anchored: bool = False  # its distance from an anchor (expressions.anchored)


@dataclass(frozen=True)
class Elementwise(Value):
    """|w| or w² of a parameter, before it is summed; also after a sum or mean over some of its
    dimensions (`w.pow(2).sum(dim=1)`: per row, still |w| or w² summed piecewise), which a full
    reduction then sums up (`.mean()` of a batch's squared row norms, DHG's EmbeddingRegularization)."""

    base: Value  # Param or Flat
    op: str  # "abs" or "sq"
    averaged: bool = False  # a mean over some dimensions was taken: the total is a multiple of a mean


@dataclass(frozen=True)
class RowNorms(Value):
    """The L2 norms of a parameter's rows (or along any dimension), `w.norm(dim=1)`: squared and
    summed they are the sum of w², an L2 penalty (`w.norm(dim=1).pow(2).sum()` of recommenders'
    embedding penalties); summed unsquared they are a group lasso, no term."""

    base: Value  # Param or Flat


@dataclass(frozen=True)
class Terms(Value):
    """A penalty expression not yet bound to a penalty: one or more norm-like terms."""

    terms: tuple[PenaltyTerm, ...]
    per_element: bool = False  # a generator/list yielding one term per parameter
    coefficient: Optional["Num"] = None  # `lam * term`: the constant the terms are scaled by


@dataclass(frozen=True)
class PenaltyRef(Value):
    """A bound penalty (see Interpreter.records), possibly scaled by constants on the way."""

    pid: int
    scale: Optional["Num"] = None  # product of the constant factors applied to it since binding


@dataclass(frozen=True)
class Mixed(Value):
    """A value (usually a loss) that contains the penalties `pids` plus other things.

    `pure`: a sum of penalties only (elastic net), whose constant factors are still being applied;
    `scales` then holds each penalty's factor so far.
    """

    pids: frozenset[int]
    scales: tuple[tuple[int, Optional["Num"]], ...] = ()
    pure: bool = False


@dataclass(frozen=True)
class ListVal(Value):
    items: tuple[Value, ...]


@dataclass(frozen=True)
class DictVal(Value):
    node: cst.CSTNode
    entries: tuple[tuple[Optional[str], Value, Optional[cst.CSTNode], cst.CSTNode], ...]

    def get(self, key: str) -> Optional[tuple[Value, cst.CSTNode]]:
        for k, value, _, value_node in self.entries:
            if k == key:
                return value, value_node
        return None

    def without(self, *keys: Optional[str]) -> "DictVal":
        """The dict less `keys` (what `pop` leaves, what a copy's keywords replace)."""
        return DictVal(self.node, tuple(entry for entry in self.entries if entry[0] not in keys))

    def setting(self, key: str, value: Value, node: cst.CSTNode) -> "DictVal":
        """The dict with `key` set to `value`, written at `node` (`cfg["wd"] = 5e-4`)."""
        return DictVal(self.node, self.without(key).entries + ((key, value, node, node),))


@dataclass(frozen=True)
class TupleVal(Value):
    items: tuple[Value, ...]


@dataclass(frozen=True)
class AccumulatorStart(Value):
    accumulator: Accumulator


@dataclass(frozen=True)
class OptimizerRef(Value):
    key: int


@dataclass(frozen=True)
class OptimizerClass(Value):
    """An optimizer class the analysis knows, named as a value by the linted file's own code
    (`opt_cls = torch.optim.Adam`, a default `optimizer_fn=optim.SGD`, `{"adam": Adam}`):
    calling it constructs that optimizer."""

    qualified: str  # torch.optim.Adam
    # `functools.partial(optim.Adam, weight_decay=1e-4)`: the call whose keywords every call of
    # the value also passes (its own keywords win).
    bound: Optional[cst.Call] = None
    bound_frame: Optional["Frame"] = field(default=None, compare=False, hash=False, repr=False)
    # `getattr(torch.optim, cfg.optimizer)`: the code that names a class only at run time
    # (qualified is then the module, torch.optim; its spec optimizers.NAMED_AT_RUN_TIME).
    named_by: Optional[str] = None


def penalty_ids(value: Value) -> frozenset[int]:
    if isinstance(value, PenaltyRef):
        return frozenset({value.pid})
    if isinstance(value, Mixed):
        return value.pids
    return frozenset()


@dataclass(frozen=True)
class FunctionRef(Value):
    """A function named as a value: one of another project module, imported by name (`from
    losses import l2_reg`), or one of the linted file's own (`reg_fn = l1_all`)."""

    context: "ModuleContext"
    function: cst.FunctionDef


@dataclass(frozen=True, eq=False)
class LambdaFunction(Value):
    """A lambda of the code being run (`fn = lambda m: sum(p.norm() for p in m.parameters())`):
    a call runs its body with the call's arguments, in the frame and module it was made in."""

    node: cst.Lambda
    frame: "Frame"
    context: "ModuleContext"


@dataclass(frozen=True, eq=False)
class Closure(Value):
    """A function defined inside another (`def make_penalty(lam): def penalty(model): ...; return
    penalty`), named as a value: a call runs it in the frame it was defined in, whose names it
    reads (`lam`) as they were when that frame finished."""

    function: cst.FunctionDef
    frame: "Frame"
    context: "ModuleContext"


@dataclass(frozen=True, eq=False)
class BoundMethod(Value):
    """A method of an object of the code's classes named as a value (`penalty = model.l1_penalty
    if cfg.l1 else model.l2_penalty`): a call runs it on that object."""

    instance: Instance
    function: cst.FunctionDef
    class_name: str  # the class defining it (the object's, or a base)
    context: "ModuleContext"


@dataclass(frozen=True, eq=False)
class Partial(Value):
    """`functools.partial(l1_penalty, lam=1e-4)` of a function or lambda of the code: a call runs
    it with the bound arguments first, then the call's."""

    function: Value  # a FunctionRef, a LambdaFunction or a Closure
    positional: tuple[Value, ...]
    keywords: tuple[tuple[str, Value], ...]


@dataclass(frozen=True)
class OneOf(Unknown):
    """One of a few pieces of code (valueops.CHOSEN: functions, lambdas, closures, bound methods,
    partials, objects, classes), chosen by something the analysis cannot tell (`reg = l1_all if
    cfg.l1 else l2_all`, a factory with a return per choice, an if/elif chain,
    `REGULARIZERS[args.reg]`): a call runs each in turn, as a loop over them would. Anything else
    reads it as an unknown value."""

    options: tuple[Value, ...]


@dataclass(frozen=True)
class ClassRef(Value):
    """A class the analysis reads the definition of, named as a value (`Net`, `cfg.TrainConfig`)."""

    info: "ClassInfo"


@dataclass(frozen=True)
class ModuleRef(Value):
    """A project module imported as a whole (`import utils`, `from . import losses`)."""

    context: "ModuleContext"


def without_rows(value: Value) -> Value:
    """`value` as a call hands it to code that is not a penalty's or a loss's
    (vocabulary.hands_rows_to): looked-up rows, in it or in what it holds, are unknown there, and
    an embedding layer is a layer whose call looks nothing up."""
    if isinstance(value, Param):
        return UNKNOWN if value.rows else value
    if isinstance(value, Module):
        return replace(value, layer=None) if value.layer in ROW_LAYERS else value
    if isinstance(value, (TupleVal, ListVal)):
        return _each_item(value, without_rows)
    if isinstance(value, DictVal):
        entries = tuple((key, without_rows(held), key_node, node) for key, held, key_node, node in value.entries)
        return value if all(a[1] is b[1] for a, b in zip(entries, value.entries)) else replace(value, entries=entries)
    return value


def handed_here(value: Value) -> Value:
    """`value` as the linted module's own code hands it to a call: the parameters it names
    explicitly are given by this module (Param.taken_here), wherever it got them (`embs` that a
    model's method returned, handed back to its `regularization(embs)`)."""
    if isinstance(value, Param):
        return value if value.pset is not None or value.taken_here else replace(value, taken_here=True)
    if isinstance(value, (TupleVal, ListVal)):
        return _each_item(value, handed_here)
    return value


def _each_item(value: "TupleVal | ListVal", change: Callable[[Value], Value]) -> Value:
    """`value` with `change` applied to each item (itself where no item changes)."""
    items = tuple(change(item) for item in value.items)
    return value if all(a is b for a, b in zip(items, value.items)) else replace(value, items=items)
