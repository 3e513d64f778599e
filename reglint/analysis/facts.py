"""Plain facts about one file, produced once by the analysis and read by every rule.

Nodes are libcst nodes of the file's module; the engine turns them into positions.
"""

from __future__ import annotations

import io
import tokenize
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterator, Optional

import libcst as cst

if TYPE_CHECKING:
    from reglint.analysis.optimizers import OptimizerSpec

# Penalty kinds
L1 = "l1"
L2 = "l2"  # squared: sum of w**2
L2_UNSQUARED = "l2-unsquared"  # ||w||, sqrt of the sum of squares
LP = "lp"  # ||w||_p (or a power of it) for an order p other than 1 and 2, or one the analysis cannot tell


@dataclass(frozen=True)
class ParamSet:
    """An iteration over a module's parameters, with what (if anything) filters it."""

    owner: str  # source of the module expression: "model", "self", "self.encoder"
    origin: str  # "parameters", "named_parameters", "state_dict", "explicit", ...
    node: cst.CSTNode  # the call that produced it (model.parameters())
    unfiltered: bool  # True: every parameter (frozen ones maybe dropped), biases and norm gains included
    filter_text: Optional[str] = None  # the filter's source, when there is one
    gradless: Optional[str] = None  # why values from this set carry no gradient ("state_dict() values")
    parts: tuple["ParamSet", ...] = ()  # the sets joined into this one (itertools.chain, +)
    selects: Optional[str] = None  # what the filter keeps, when plain (analysis/filters.py)
    # Whether the modules it iterates hold 1-D parameters at all (False: the model is built only
    # from layers without biases or norm gains; None: not known).
    has_vectors: Optional[bool] = None
    # The file whose code took them (`m.parameters()`), where that is another module than the
    # linted one (None: the linted module's own code).
    taken_in: Optional[str] = field(default=None, compare=False)

    @property
    def describe(self) -> str:
        if self.origin in ("explicit", "joined"):
            return self.owner
        return f"{self.owner}.{self.origin}()"

    @property
    def owners(self) -> tuple[str, ...]:
        """The module expressions whose parameters this set holds."""
        if self.parts:
            return tuple(owner for part in self.parts for owner in part.owners)
        return (self.owner,)


@dataclass(frozen=True)
class PenaltyTerm:
    """One norm-like expression of a parameter: p.abs().sum(), torch.norm(p, 2), (p**2).sum()."""

    node: cst.CSTNode
    kind: str  # L1, L2, L2_UNSQUARED, LP
    param_set: Optional[ParamSet]  # None: a parameter named explicitly (self.fc.weight)
    sqrt_form: bool = False  # sqrt of a sum of squares: NaN gradient at w = 0
    gradless: Optional[str] = None  # ".item()", ".data", "torch.no_grad()" ...
    # The call that runs the term's code with gradients off, where that is what strips them
    # (`with torch.no_grad(): energy = self.weight_energy()`): where to change the code.
    gradless_at: Optional[cst.CSTNode] = field(default=None, compare=False)
    squarable: bool = False  # a plain norm call that the RL102 fix can square in place
    flat_copy: Optional[cst.CSTNode] = None  # the torch.cat(...) the parameters went through
    averaged: bool = False  # a mean over the tensor's elements, not a sum
    # A copy of a bound penalty's term made by `.item()`/`.detach()`/`float()` of the whole penalty:
    # it is a penalty only where a loss it reaches is trained (`objective = mse.item() + lam *
    # reg.item()` is logged)
    copied: bool = False
    # Where the term's code is written, when `node` places it elsewhere (another module's code,
    # placed at the linted module's call): two terms of that code are two terms.
    written: Optional[cst.CSTNode] = field(default=None, compare=False)
    # A parameter named explicitly (`self.fc.weight`, the rows `self.user_embedding(u)` looks up)
    # by the linted module's own code: where another module's code builds the term over it
    # (`self.reg_loss(user_e)`, EmbLoss in losses.py), its form is this file's finding.
    given_here: bool = field(default=False, compare=False)
    # A norm of a parameter's distance from an anchor (`p - p0`: FedProx's global weights, EWC's
    # means, L2-SP's pretrained weights): a proximal penalty, which pulls the parameter toward the
    # anchor, not toward 0. Its form and gradient matter (RL102, RL103, RL105, RL106, RL107); it is
    # no weight decay (RL101, RL203, RL204, RL206 leave it alone).
    anchored: bool = False
    # The iterable of the linted module's loop that takes the term's parameters one by one
    # (Param.walked_at).
    walked_at: Optional[cst.CSTNode] = field(default=None, compare=False)


@dataclass(frozen=True)
class Accumulator:
    """`reg = torch.tensor(0.)` and friends: where a penalty sum starts."""

    name: str
    node: cst.CSTNode  # the initial value expression
    device_less: bool  # a tensor made without device=
    integer: bool  # an int tensor that `+=` of a float cannot cast into
    leaf_requires_grad: bool  # made with requires_grad=True
    text: str = ""
    zero_dim: bool = True  # torch.tensor(0.) is 0-dim; torch.zeros(1) and torch.Tensor([0]) are not
    in_place: bool = False  # updated with `+=` (not `acc = acc + term`)
    uninitialized: bool = False  # torch.Tensor(1), torch.empty(1): one element of whatever memory held


@dataclass(frozen=True)
class Penalty:
    """A regularization penalty: terms over parameters summed into one value."""

    node: cst.CSTNode  # where to report: the aggregate expression or the accumulating statement
    terms: tuple[PenaltyTerm, ...]
    reaches_loss: bool  # added to something that is backpropagated / returned as a loss
    named: Optional[str]  # a regularization-sounding name it was bound to or returned from
    accumulator: Optional[Accumulator] = None
    coefficient: Optional[float] = None  # the constant it is multiplied by, where known
    coefficient_node: Optional[cst.CSTNode] = None
    coefficient_defaults: tuple[str, ...] = ()  # its factors a plain run reads at their declared defaults
    added_to: Optional[str] = None  # the variable it was added to (loss)
    scope: str = "<module>"
    add_node: Optional[cst.CSTNode] = None  # the statement that adds it to the loss
    owner_class: Optional[str] = None  # the class whose method built it
    setup: tuple[int, ...] = ()  # keys (OptimizerCall.key) of the optimizers stepped on its loss
    setup_unknown: bool = False  # an optimizer the analysis cannot see is stepped on its loss
    # Built and named like a penalty by another project module's code: that module's own
    # findings speak of its form (RL101, RL102, ...); this file's, of how it is trained.
    reported_elsewhere: bool = False
    dead: bool = False  # RL107: computed in a training step, then never used
    added_late: bool = False  # added to its loss only after that loss's backward(): RL104's
    # Built in a training step that backpropagates, and reaching only a loss named like one that
    # is never backpropagated nor returned (a logged total): it trains nothing.
    left_untrained: bool = False
    joined_elsewhere: bool = False  # joined to its loss by a wiring module's own code, which reports that
    called_at: tuple[cst.CSTNode, ...] = ()  # the steps' calls of the helper that built it
    trained: bool = False  # reaches a loss that is backpropagated or returned as one
    home: bool = True  # built by the linted file's own code
    origin: Optional[tuple[cst.Module, cst.CSTNode, Optional[str]]] = None  # where, when built elsewhere
    # Built elsewhere over parameters taken by another module's code that was not running then
    # (state._taken_by_a_third_module): only a run that joins the two sees it.
    joined_here: bool = False

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(t.kind for t in self.terms)

    @property
    def is_penalty(self) -> bool:
        """Reaches a loss, or is named like a penalty and could act as one: a value computed with
        no gradient at all (under no_grad, from detached values) that reaches no loss is a
        measurement (`w_l1 = ...` for logging), not a penalty."""
        if self.reaches_loss:
            return True
        return self.named is not None and not all(term.gradless for term in self.terms)

    @property
    def param_sets(self) -> tuple[ParamSet, ...]:
        seen: dict[int, ParamSet] = {}
        for term in self.terms:
            if term.param_set is not None:
                seen.setdefault(id(term.param_set.node), term.param_set)
        return tuple(seen.values())


@dataclass(frozen=True)
class Number:
    """A numeric argument: its value where the analysis knows it, else the source it came from."""

    value: Optional[float]
    text: str
    node: Optional[cst.CSTNode] = None
    default_used: bool = False  # the optimizer's default, not written in the code
    hidden_in: Optional[str] = None  # `**kwargs` that may set it: `text` is then the default
    default: Optional[float] = None  # unknown, an argument whose declared default this is (`args.wd`)

    @property
    def known(self) -> bool:
        return self.value is not None

    @property
    def as_run(self) -> Optional[float]:
        """The value a plain run trains with: the number, or its argument's declared default."""
        return self.value if self.value is not None else self.default

    @property
    def may_be_positive(self) -> bool:
        """Known > 0, or unknown and not declared 0 (`add_argument("--wd", default=0.0)`: a plain
        run of the script trains with no decay, and whoever sets one is not seen)."""
        value = self.as_run
        return value is None or value > 0


@dataclass(frozen=True)
class ParamGroup:
    node: cst.CSTNode  # the dict, or the params argument when there are no groups
    params: Optional[ParamSet]  # None when the analysis cannot tell what the group holds
    weight_decay: Optional[Number]  # the group's own value, None when it sets none
    keys: tuple[tuple[str, cst.CSTNode], ...] = ()  # every key the dict sets, with its node


@dataclass(frozen=True)
class OptimizerCall:
    """`torch.optim.X(params, ...)` with what it is given."""

    node: cst.Call
    qualname: str  # torch.optim.Adam
    class_name: str  # Adam
    groups: tuple[ParamGroup, ...]
    groups_known: bool  # False when params is something the analysis cannot see into
    weight_decay: Number  # the constructor's value (or its default)
    weight_decay_node: Optional[cst.CSTNode]  # the argument node, when written
    keywords: tuple[tuple[str, cst.CSTNode], ...]  # constructor keywords with their value nodes
    decoupled_flag: Optional[Number] = None  # the switch to decoupled decay (decoupled_weight_decay=...)
    spec: Optional["OptimizerSpec"] = None  # what the analysis knows of the class
    scope: str = "<module>"
    # The callee expression that names the class (optim.Adam); None where the class came as a
    # value (`opt_cls(...)`): no edit of the callee can change it.
    func_node: Optional[cst.CSTNode] = None
    owner_class: Optional[str] = None  # the class whose method constructs it
    home: bool = True  # constructed by the linted file's code (False: by another project module's)
    module: Optional[cst.Module] = None  # the module whose code constructs it
    path: Optional[str] = None  # how messages name that module's file (None: the linted file)

    @property
    def key(self) -> int:
        return id(self.node)

    @property
    def steps_its_class(self) -> bool:
        """Built by a trainer object (library_optimizers.TRAINERS), which steps it after the
        backward of the loss its class's compute_loss returns, wherever the object is made."""
        from reglint.analysis.library_optimizers import TRAINERS

        return self.qualname in TRAINERS and self.owner_class is not None

    @property
    def is_decoupled(self) -> Optional[bool]:
        """Is its decay decoupled (AdamW-like)? None: it depends on a value the analysis cannot see."""
        if self.spec is None:
            return None
        flag = self.decoupled_flag
        if flag is not None and flag.value is None:
            return None
        return self.spec.decoupled(flag.value if flag is not None else None)

    def group_decay(self, group: ParamGroup) -> Number:
        return group.weight_decay if group.weight_decay is not None else self.weight_decay


@dataclass(frozen=True)
class BackwardCall:
    node: cst.CSTNode
    scope: str
    penalties: tuple[int, ...]  # ids (positions in FileFacts.penalties) of penalties in the loss


@dataclass(frozen=True)
class LateAddition:
    """A penalty added to a loss after backward() was already called on that loss (RL104)."""

    penalty_index: int
    add_node: cst.CSTNode
    backward_node: cst.CSTNode
    loss_name: str


def one_line(code: str) -> str:
    """An expression's code on one line: its comments dropped, its line breaks (and the
    indentation after them) read as one space, none inside brackets."""
    if "\n" not in code:
        return code
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, SyntaxError):
        return " ".join(line.strip() for line in code.splitlines() if line.strip())
    out: list[str] = []
    previous: Optional[tokenize.TokenInfo] = None
    for token in tokens:
        if token.type in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER):
            continue
        if previous is not None:
            if previous.end[0] != token.start[0]:
                if previous.string not in "([{" and token.string not in ")]}":
                    out.append(" ")
            else:
                out.append(" " * (token.start[1] - previous.end[1]))
        out.append(token.string)
        previous = token
    return "".join(out)


@dataclass
class FileFacts:
    module: cst.Module
    penalties: list[Penalty] = field(default_factory=list)
    optimizers: list[OptimizerCall] = field(default_factory=list)
    backward_calls: list[BackwardCall] = field(default_factory=list)
    late_additions: list[LateAddition] = field(default_factory=list)
    # Dicts the file's code writes with a "params" entry holding parameters or a list
    # (`{"params": [], "weight_decay": wd}` filled in a loop): param groups, whichever optimizer
    # they end up in.
    group_dicts: list[ParamGroup] = field(default_factory=list)
    constants: dict[str, float] = field(default_factory=dict)
    # Optimizers handed to a trainer object of a class of this file (`MyTrainer(...,
    # optimizers=(opt, sched))`): the trainer steps them after the backward of the loss its
    # class's compute_loss returns. Class name -> OptimizerCall.key.
    handed_to_trainers: dict[str, frozenset[int]] = field(default_factory=dict)
    dependencies: dict[str, str] = field(default_factory=dict)  # project modules read: path -> digest
    line_label: Optional[Callable[[int], str]] = None  # how messages name a line of this text

    def where(self, node: cst.CSTNode, module: Optional[cst.Module] = None, path: Optional[str] = None) -> str:
        """`line 12` (in this file) or `model.py:12`, for a message that points at another place."""
        from reglint.analysis.positions import line_of

        line = line_of(module if module is not None else self.module, node)
        if path is not None:
            return f"{path}:{line}" if line is not None else path
        if line is not None and self.line_label is not None:
            return self.line_label(line)
        return f"line {line}" if line is not None else "elsewhere"

    def written_elsewhere(self, penalty: Penalty, term: PenaltyTerm) -> Optional[tuple[cst.Module, cst.CSTNode, str]]:
        """Where another module's code writes `term`, computed over what this file hands it and
        reported at the call that hands it (its module, the term's node there, and `model.py:27`);
        None where this file's code writes it."""
        if term.written is None or term.written is term.node or penalty.origin is None:
            return None
        module, _, path = penalty.origin
        return module, term.written, self.where(term.written, module, path or "another module")

    def holds(self, node: cst.CSTNode) -> bool:
        """Is `node` in this file's own code?"""
        from reglint.analysis.positions import holds

        return holds(self.module, node)

    def built_at(self, penalty: Penalty) -> str:
        """` (losses.py:12)` for a penalty another module's code builds, else nothing."""
        if penalty.origin is None:
            return ""
        module, node, path = penalty.origin
        return f" ({self.where(node, module, path or 'another module')})"

    def optimizer_site(self, optimizer: OptimizerCall) -> str:
        return self.where(optimizer.node, optimizer.module, optimizer.path)

    @property
    def home_optimizers(self) -> list[OptimizerCall]:
        """The optimizers this file's own code constructs (where their findings are reported)."""
        return [optimizer for optimizer in self.optimizers if optimizer.home]

    def code(self, node: cst.CSTNode, module: Optional[cst.Module] = None) -> str:
        """`node`'s code as a message quotes it: on one line, without comments."""
        return one_line((module or self.module).code_for_node(node))

    @property
    def stray_group_dicts(self) -> list[ParamGroup]:
        """The param-group dicts that no optimizer of this file is seen to be given (built by a
        helper whose result the analysis loses, or handed to code it does not read)."""
        placed = {id(group.node) for optimizer in self.home_optimizers for group in optimizer.groups}
        return [group for group in self.group_dicts if id(group.node) not in placed]

    def penalty_terms(self, *, trained_only: bool = False) -> Iterator[tuple[Penalty, PenaltyTerm]]:
        """Every term of every penalty (named like one or reaching a loss; with `trained_only`,
        only those reaching a loss that is trained on)."""
        for penalty in self.penalties:
            if penalty.reported_elsewhere or penalty.dead:
                continue  # its form is the other module's finding; a dead one is RL107's
            if penalty.reaches_loss if trained_only else penalty.is_penalty:
                for term in penalty.terms:
                    if term.copied and not penalty.trained:
                        continue  # a logged copy (`objective = mse.item() + lam * reg.item()`)
                    yield penalty, term

    def setup_optimizers(self, penalty: Penalty) -> list[OptimizerCall]:
        """The optimizers that train `penalty`'s loss: those stepped after its backward(), where
        the code shows them; else those its class constructs (a LightningModule's
        configure_optimizers), or a trainer object of its class builds or is handed, in this file
        or a script that wires it; else every optimizer the file constructs."""
        stepped = set(penalty.setup)
        if not stepped and penalty.owner_class is not None:
            stepped = set(self.handed_to_trainers.get(penalty.owner_class, ()))
        linked = [optimizer for optimizer in self.optimizers if optimizer.key in stepped]  # in code order
        if linked:
            return linked
        if penalty.owner_class is not None:
            own = [
                o for o in self.optimizers
                if o.owner_class == penalty.owner_class and (o.home or o.steps_its_class)
            ]
            if own:
                return own
        return self.home_optimizers  # another module's optimizer counts only where it is stepped

    def trained_l2_penalties(self) -> Iterator[Penalty]:
        """Penalties with an L2 term that reach a trained loss and carry a gradient at all (not one
        added after the backward() of its loss, RL104's, nor one a step that backpropagates leaves
        in a total it only logs: they train nothing)."""
        for penalty in self.penalties:
            if penalty.dead or penalty.added_late or penalty.left_untrained or penalty.joined_elsewhere:
                continue
            if all(term.anchored for term in penalty.terms):
                continue  # a proximal penalty (`(p - p0) ** 2`) is no decay toward 0
            if penalty.reaches_loss and penalty.kinds & {L2, L2_UNSQUARED}:
                if not all(t.gradless for t in penalty.terms):
                    yield penalty
