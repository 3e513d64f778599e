"""RL204 implausible-coefficient: a regularization strength far outside what anyone trains with.

Coupled weight decay (SGD, Adam, RMSprop, ...) is almost always 1e-5..5e-4, AdamW's decoupled
decay 0.01..0.1, an explicit penalty over all weights ~1e-5..1e-3. A value past the thresholds
(options `coupled-max`, `decoupled-max`, `penalty-max` in `[tool.reglint.RL204]`) usually means a
misplaced decimal, or a value tuned for AdamW given to Adam.
"""

from __future__ import annotations

from typing import Iterator, Optional

from reglint.analysis.facts import Number, OptimizerCall, ParamSet
from reglint.analysis.filters import NOT_VECTORS
from reglint.catalog import RL204
from reglint.checks.base import CheckContext, Report, static_rule
from reglint.checks.optimizer_facts import group_line

INFO = RL204  # code, name, severity, summary: reglint/catalog.py

VALID = (
    "opt = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.1)\n",
    "opt = torch.optim.SGD(model.parameters(), lr=0.1, weight_decay=5e-4)\n",
)

INVALID = (
    "opt = torch.optim.SGD(model.parameters(), lr=0.1, weight_decay=0.1)  # expect: RL204\n",
    # the script's own default for its command-line argument
    """
parser.add_argument("--weight-decay", type=float, default=3e-2)
args = parser.parse_args()
opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=args.weight_decay)  # expect: RL204 RL201 RL202
""",
    "opt = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=1.0)  # expect: RL204\n",
    """
l2 = sum(p.pow(2).sum() for p in model.parameters())
loss = loss + 0.5 * l2  # expect: RL204
""",
)

@static_rule(INFO, valid=VALID, invalid=INVALID)
def check(ctx: CheckContext) -> Iterator[Report]:
    settings = ctx.settings
    for optimizer in ctx.facts.home_optimizers:
        if optimizer.spec is not None and optimizer.spec.coupling is None:
            continue  # a class named at run time: the limit depends on which
        decoupled = bool(optimizer.is_decoupled)
        limit = settings.option("RL204", "decoupled-max" if decoupled else "coupled-max")
        over = [
            (number, group_place) for number, group_place in _decays(ctx, optimizer)
            if number.as_run is not None and number.as_run > limit  # (a command-line value at its default)
        ]
        if not over:
            continue
        number, group_place = max(over, key=lambda entry: entry[0].as_run or 0.0)
        value = number.as_run or 0.0
        kind = "decoupled" if decoupled else "coupled"
        written = f"{value:g}" if number.value is not None else _with_default(number.text, value)
        if group_place is not None:
            # `args.wd (default 0.1; its param group, line 12)`
            written = f"{written[:-1]}; {group_place[2:]}" if written.endswith(")") else written + group_place
        node = optimizer.weight_decay_node if group_place is None else None
        yield Report(
            node or optimizer.node,
            f"check {optimizer.class_name}'s weight_decay={written}: {kind} decay above "
            f"{limit:g} is rare, and each step shrinks the weights by {'lr·λ' if decoupled else 'a gradient of λ·w'}",
        )
    limit = settings.option("RL204", "penalty-max")
    for penalty in ctx.facts.penalties:
        if penalty.dead:
            continue  # RL107 speaks of it
        if not penalty.is_penalty or penalty.coefficient is None or penalty.coefficient_node is None:
            continue
        if penalty.coefficient <= limit or not any(_whole_model(p) for p in penalty.param_sets):
            continue
        if all(term.averaged for term in penalty.terms):
            continue  # a mean per tensor: its scale does not grow with the model
        if all(term.anchored for term in penalty.terms):
            continue  # a proximal penalty (EWC's λ is in the thousands): no decay toward 0
        read_at = f" ({', '.join(penalty.coefficient_defaults)})" if penalty.coefficient_defaults else ""
        yield Report(
            penalty.coefficient_node,
            f"check the penalty coefficient {penalty.coefficient:g}{read_at}: on a sum over all parameters, "
            f"above {limit:g} (usually 1e-5 to 1e-3) it outweighs the data loss",
        )


def _decays(ctx: CheckContext, optimizer: OptimizerCall) -> Iterator[tuple[Number, Optional[str]]]:
    """The decays the optimizer applies, each with where a param group sets it (None: the
    constructor's argument). A group's is reported at the optimizer's call, as RL201 does: a
    group helper may feed several optimizers, and the class sets the limit."""
    if optimizer.weight_decay_node is not None:
        yield optimizer.weight_decay, None
    for group in optimizer.groups:
        if group.weight_decay is not None and group.weight_decay.node is not None:
            line = group_line(ctx.facts, group.weight_decay)
            yield group.weight_decay, f" (its param group, {line})" if line else " (its param group)"


def _with_default(text: str, default: float) -> str:
    """`args.wd (default 0.05)`: an argument's text, saying the default it is read at."""
    return text if "(default" in text else f"{text} (default {default:g})"


def _whole_model(params: ParamSet) -> bool:
    """A sum over every parameter, or over every weight matrix (`"bias" not in name`): the
    penalty grows with the model's size."""
    return params.unfiltered or params.selects == NOT_VECTORS
