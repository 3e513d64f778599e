"""The interpreter's mutable state: penalty records being built, and function frames."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, Iterator, NamedTuple, Optional, Union

import libcst as cst

from reglint.analysis.facts import (
    LP,
    Accumulator,
    ParamSet,
    Penalty,
    PenaltyTerm,
)
from reglint.analysis.values import (
    Num,
    Value,
)

if TYPE_CHECKING:
    # The evaluator mixins run as parts of FileAnalyzer and use its attributes and each other's
    # methods; to the type checker they are open classes.
    from typing import Any as AnalyzerMixin
else:
    AnalyzerMixin = object

from reglint.analysis.vocabulary import (  # noqa: E402  (re-exported for the mixins)
    BACKWARD_FUNCTIONS,
    LOSS_FUNCTION,
    LOSS_NAME,
    MAX_INLINE_DEPTH,
    NO_GRAD_CONTEXTS,
    PENALTY_NAME,
)

__all__ = [
    "BACKWARD_FUNCTIONS", "LOSS_FUNCTION", "LOSS_NAME", "MAX_INLINE_DEPTH", "NO_GRAD_CONTEXTS",
    "PENALTY_NAME", "AnalyzerMixin", "Frame", "PenaltyRecord", "FunctionNode",
]

FunctionNode = Union[cst.FunctionDef, cst.Lambda]


class Site(NamedTuple):
    """Whose code joined a penalty to a loss: the module whose code started the calls (None: the
    linted module's), and the module whose code it is (None: the linted module's); see wiring.py."""

    outermost: Optional[str]
    module: Optional[str]


@dataclass
class PenaltyRecord:
    node: cst.CSTNode
    scope: str
    terms: list[PenaltyTerm] = field(default_factory=list)
    reaches_loss: bool = False
    named: Optional[str] = None
    accumulator: Optional[Accumulator] = None
    inner: Optional[Num] = None  # constant factor applied to the terms before binding (`c * term`)
    outers: list[Num] = field(
        default_factory=list
    )  # factors applied where it meets a loss (`loss + c * reg`)
    added_to: Optional[str] = None
    add_node: Optional[cst.CSTNode] = None
    added_alone: bool = False  # add_node holds the penalty alone (`l2_loss = lam * reg`), not joined to a loss
    owner_class: Optional[str] = None  # the class whose method built it
    # Its training setup: the optimizers (keys of FileAnalyzer.optimizers) stepped after a
    # backward() of a loss that holds it, and whether an optimizer the analysis cannot see was.
    setup: set[int] = field(default_factory=set)
    setup_unknown: bool = False
    kept: bool = True  # False: built while a project module's top-level code ran on import
    # Where it was built, for RL107: the function (or module) and statement, the plain names it
    # was bound to (each with the code of the function or module that binds it: a helper's, or
    # that of the step calling it), and whether it was built in a training step (calls
    # backward()), by the step's own code or a helper it calls.
    scope_code: Optional[cst.CSTNode] = None
    statement: Optional[cst.CSTNode] = None
    bound: set[tuple[Optional[cst.CSTNode], str, cst.CSTNode]] = field(default_factory=set)  # (code, name, statement)
    in_training_step: bool = False
    # The calls in training steps of the helper that built it, where RL107 is reported.
    called_at: list[cst.CSTNode] = field(default_factory=list)
    dropped_at: set[int] = field(default_factory=set)  # those calls whose result a statement drops
    trained: bool = False  # reaches a loss that is backpropagated or returned as one
    # Trained only because helpers named like a loss returned it to the code that called them
    # (`return mse + cfg.l1 * l1_penalty(model)` of `forecast_loss`): what the calling step does
    # with their result decides (RL107). The helpers' functions:
    returned_by: set[int] = field(default_factory=set)
    trained_directly: bool = False  # backpropagated, or returned by a step run on its own
    added_late: bool = False  # added to a loss after its backward(): RL104's, not RL107's
    built_elsewhere: bool = False  # built by another module's code (placed at the call)
    named_elsewhere: bool = False  # named like a penalty in that code
    loss_elsewhere: bool = False  # reaching a loss in that code
    # Built by code that other code was handed as a value by the linted module (`reg_fn(model)` in
    # another module's loop, with `reg_fn` given by this one): that code alone never builds it.
    handed_in: bool = False
    returned_named: bool = False  # returned by a helper of that code named like a penalty
    origin: Optional[tuple[cst.Module, cst.CSTNode, Optional[str]]] = None  # where that code is
    callers: frozenset[Optional[str]] = frozenset()  # the modules whose code was running then
    joined_by: Optional[Site] = None  # whose code joined it to a loss, where some code did
    # Held under a loss's name by the linted module, joined to the data loss by a wiring module's
    # own code (`loss = loss_disp + regu()` in train.py): that module reports the join (RL203,
    # RL206), this one the penalty's form.
    joined_by_a_wiring_module: bool = False

    def add_terms(self, terms: Iterable[PenaltyTerm]) -> None:
        """One term per node and parameter set: the same code evaluated again adds nothing, and
        where the order of its norm is known this time (`Regularization(order=2)` calling the
        method read alone before), the known kind replaces LP. (One node sums several sets where a
        loop runs its body once per record, `for weights, l1, l2 in self.records`, or where
        another module's code is placed at the linted module's call.)"""

        def key(term: PenaltyTerm) -> tuple[int, Optional[tuple[str, str, Optional[str]]]]:
            pset = term.param_set
            return id(term.written or term.node), (pset.owner, pset.origin, pset.filter_text) if pset is not None else None

        where = {key(t): index for index, t in enumerate(self.terms)}
        for term in terms:
            index = where.get(key(term))
            if index is None:
                where[key(term)] = len(self.terms)
                self.terms.append(term)
            elif self.terms[index].kind == LP and term.kind != LP:
                self.terms[index] = term

    def _coefficient(self) -> tuple[Optional[float], Optional[cst.CSTNode], tuple[str, ...]]:
        """The largest effective coefficient over the uses, as a plain run computes it (a factor
        read from a command-line argument at its declared default), with the node where it is
        reported and the texts of the factors read at their defaults. None where the code that
        joins it to a loss, and whatever factor it applies there, is not seen."""
        inner = self.inner.as_run if self.inner is not None else 1.0
        if inner is None:
            return None, None, ()
        inner_node = self.inner.node if self.inner is not None else None
        inner_defaults = _read_at_default(self.inner)
        if not self.outers:
            if not self.reaches_loss or inner_node is None:
                return None, None, ()
            return inner, self._site(inner_node, None), inner_defaults
        best: tuple[Optional[float], Optional[cst.CSTNode], tuple[str, ...]] = (None, None, ())
        for outer in self.outers:
            factor = outer.as_run
            if factor is None:
                continue
            value = inner * factor
            if best[0] is None or abs(value) > abs(best[0]):
                best = (value, self._site(inner_node, outer.node), inner_defaults + _read_at_default(outer))
        return best

    def _site(self, inner: Optional[cst.CSTNode], outer: Optional[cst.CSTNode]) -> Optional[cst.CSTNode]:
        """Where the coefficient is reported: where its inner factor is written; where the penalty
        was built by another module's code, the factor this code applies (`4.0 * head_reg()`),
        else the place it joins the loss; a number written by a wiring module's code (placed at
        that module's tree: wiring.py), where this penalty joins the loss."""
        node = inner or outer
        if self.built_elsewhere and outer is not None and not isinstance(outer, cst.Module):
            node = outer
        elif self.built_elsewhere:
            node = self.node  # (the call of this code that led to it)
        if isinstance(node, cst.Module):
            return self.add_node or self.node
        return node

    def freeze(self) -> Penalty:
        joined_here = self.joined_here
        coefficient, coefficient_node, coefficient_defaults = self._coefficient()
        return Penalty(
            node=self.node,
            terms=tuple(self.terms),
            reaches_loss=self.reaches_loss,
            named=self.named,
            accumulator=self.accumulator,
            coefficient=coefficient,
            coefficient_node=coefficient_node,
            coefficient_defaults=coefficient_defaults,
            added_to=self.added_to,
            scope=self.scope,
            add_node=self.add_node,
            owner_class=self.owner_class,
            setup=tuple(sorted(self.setup)),
            setup_unknown=self.setup_unknown,
            reported_elsewhere=self.built_elsewhere
            and self._its_file_reports_it()
            and not self._given_its_parameters()
            and not joined_here,
            dead=self.is_dead(),
            added_late=self.added_late,
            left_untrained=self.in_training_step and self.reaches_loss and not self.trained,
            joined_elsewhere=self.joined_by_a_wiring_module,
            called_at=tuple(self.called_at),
            trained=self.trained,
            home=not self.built_elsewhere,
            origin=self.origin,
            joined_here=joined_here,
        )

    def _its_file_reports_it(self) -> bool:
        """Does the module whose code built it see it as a penalty (Penalty.is_penalty there)?
        Reaching a loss in that code, or named like a penalty and carrying a gradient: a named
        sum of detached values reaching no loss there is a measurement to that file, so the file
        that adds it to its loss reports it."""
        if self.loss_elsewhere and not self.handed_in:
            return True
        # (handed in, that code alone sees it only where a helper named like a penalty returns it)
        named = self.returned_named if self.handed_in else self.named_elsewhere
        return named and not all(term.gradless for term in self.terms)

    def _given_its_parameters(self) -> bool:
        """Did the linted file give the code that built it the parameters it sums
        (`l2_regularization(list(encoder.parameters()) + list(decoder.parameters()))`)? That
        code's own file sees no parameters there, so the form of the penalty (RL101, RL102, ...)
        is this file's finding. A module's parameters (`m.parameters()`, one part of a joined set)
        taken in the other module's code are placed at the call of this file that led there;
        taken by this file, they keep their node, the `m.parameters()` call itself; a parameter it
        names (`model.fc.weight`, the rows `self.user_embedding(u)` looks up) marks its terms
        (PenaltyTerm.given_here)."""
        for part in self._parameter_parts():
            call = part.node
            if isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and call.func.attr.value == part.origin:
                return True
        return any(term.given_here for term in self.terms)

    @property
    def joined_here(self) -> bool:
        """Built by another module's code over parameters only this file's run joins to it."""
        return self.built_elsewhere and self._taken_by_a_third_module()

    def _taken_by_a_third_module(self) -> bool:
        """Were the parameters it sums taken by another module's code than the one that built it,
        code that was not running when it was built (DeepCTR's records: a model of
        models/neumf.py registers `self.dnn.parameters()` with `add_regularization_weight` in its
        __init__, and models/base.py's get_regularization_loss, called by trainer.py, sums them)?
        Neither file alone sees both, so the file whose run joins them reports the form of the
        penalty. (Taken by a module whose code called the builder, `flat_norm(self.parameters())`
        in lit_module.py, they are that module's finding: _given_its_parameters there.)"""
        if self.origin is None:
            return False
        return any(part.taken_in is not None and part.taken_in not in self.callers for part in self._parameter_parts())

    def _parameter_parts(self) -> Iterator[ParamSet]:
        """Each parameter set its terms sum (each part of a joined one)."""
        for term in self.terms:
            if term.param_set is not None:
                yield from term.param_set.parts or (term.param_set,)

    def _bound_scaled(self, code: Union[cst.FunctionDef, cst.Module], name: str) -> bool:
        """Is `name` like a penalty's, and bound to it times its coefficient (`l2_reg = cfg.l2 *
        sum(...)`): scaled for a loss, so a measurement of it alone is the addition forgotten?"""
        return bool(PENALTY_NAME.search(name)) and any(
            isinstance(statement, cst.Assign)
            and isinstance(statement.value, cst.BinaryOperation)
            and isinstance(statement.value.operator, cst.Multiply)
            for statement in self._bindings(code, name)
        )

    def _bindings_replaced(self, code: Union[cst.FunctionDef, cst.Module], name: str) -> bool:
        """Is every binding of it to `name` in `code` replaced before the name is read (`loss =
        ce + mu * prox`, then `loss = criterion(...)`, then `loss.backward()`)?"""
        from reglint.analysis.usage import replaced_before_read

        return all(replaced_before_read(code, statement, name) for statement in self._bindings(code, name))

    def _bindings(self, code: Union[cst.FunctionDef, cst.Module], name: str) -> list[cst.CSTNode]:
        """The statements of `code` that bind it to `name`."""
        return [statement for bound_code, bound_name, statement in self.bound if bound_code is code and bound_name == name]

    def is_dead(self) -> bool:
        """RL107: built in a training step, over parameters, with a gradient, and it never
        reaches the loss nor goes anywhere else (see usage.py)."""
        from reglint.analysis.usage import is_dead

        if self.trained_directly or self.added_late or not self.in_training_step:
            return False
        if self.trained and not self.called_at:
            return False  # (returned by a loss helper: only a step's call of it has names to read)
        if self.built_elsewhere and not self.called_at:
            return False  # (another module's code built it, and no step of this file called it)
        if not self.terms or all(t.gradless for t in self.terms):
            return False
        if all(t.param_set is None for t in self.terms) and not (self.named or self.returned_named or self.named_elsewhere):
            return False  # one weight's norm, named like nothing: a measurement as often as a penalty
        scope = self.scope_code
        if not isinstance(scope, (cst.FunctionDef, cst.Module)):
            return False
        # A helper that built it and handed it to a step (`total = total + ...; return total`) is no
        # use: the step's names decide.
        bound = [
            (code, name)
            for code, name, _ in self.bound
            if not (self.called_at and (code is scope or id(code) in self.returned_by))
        ]
        if bound:
            return all(
                isinstance(code, (cst.FunctionDef, cst.Module))
                and (is_dead(code, name, measured_only=self._bound_scaled(code, name)) or self._bindings_replaced(code, name))
                for code, name in bound
            )
        if self.bound:
            return False
        statement = self.statement
        if self.called_at and isinstance(statement, cst.Return) and all(id(call) in self.dropped_at for call in self.called_at):
            return True  # `model.l2_regularization()` as a statement: what the helper returns is dropped
        return isinstance(statement, cst.Expr) and isinstance(statement.value, cst.BinaryOperation)


@dataclass
class Frame:
    """The environment of one function (or the module) being interpreted."""

    name: str
    env: dict[str, Value]
    parent: Optional["Frame"]
    class_name: Optional[str] = None
    functions: dict[str, cst.FunctionDef] = field(default_factory=dict)
    returns: list[tuple[Value, cst.CSTNode]] = field(default_factory=list)
    yielded: Optional[Value] = None  # a generator's items so far (what a call of it gives)
    no_grad: int = 0
    no_grad_what: str = "torch.no_grad()"  # the context that turned gradients off, for messages
    # The linted module's call made with gradients off that led into this code (where a penalty a
    # helper computes there loses its gradient: RL103 is reported at it)
    no_grad_call: Optional[cst.CSTNode] = None
    depth: int = 0
    backward_on: dict[str, cst.CSTNode] = field(
        default_factory=dict
    )  # loss name -> its backward() call
    late: list[tuple[int, cst.CSTNode, cst.CSTNode, str, str, bool]] = field(default_factory=list)
    caller: Optional["Frame"] = None  # the frame that inlined this one
    code: Optional[cst.CSTNode] = None  # the function (or module) whose body runs
    statement: Optional[cst.CSTNode] = None  # the small statement running now
    trains: bool = False  # it calls backward(), or is a Lightning training_step
    created: list[int] = field(default_factory=list)  # penalty records built here
    # In order: ("backward", penalty ids in the loss) and ("step", optimizer key or None).
    events: list[tuple[str, object]] = field(default_factory=list)
    # Parameters the call that inlined this function gave a value (or left at their default).
    given: frozenset[str] = frozenset()
    # Numbers a loop over records binds for the pass being run (`for ws, l1, l2 in records`, the
    # body assigning none of them): what the record holds decides `if l1 > 0:` (branches.py).
    fixed: dict[str, float] = field(default_factory=dict)

    def lookup(self, name: str) -> Optional[Value]:
        frame: Optional[Frame] = self
        while frame is not None:
            if name in frame.env:
                return frame.env[name]
            frame = frame.parent
        return None

    def function(self, name: str) -> Optional[cst.FunctionDef]:
        found = self.function_frame(name)
        return found[0] if found is not None else None

    def function_frame(self, name: str) -> Optional[tuple[cst.FunctionDef, "Frame"]]:
        """The function `name` defined here or in an enclosing frame, and the frame defining it."""
        frame: Optional[Frame] = self
        while frame is not None:
            if name in frame.functions:
                return frame.functions[name], frame
            frame = frame.parent
        return None


def _read_at_default(number: Optional[Num]) -> tuple[str, ...]:
    """The text of a factor a plain run reads at an argument's declared default (`args.l2`)."""
    return (number.text,) if number is not None and number.value is None and number.default is not None else ()
