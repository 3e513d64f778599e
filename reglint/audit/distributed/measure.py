"""The measurement both sides run: on each rank under the wrapper, and in one process without it.

Both sides write the same values into the same elements (by fully qualified name and flat index,
whatever tensor holds them), run the same steps, and summarize each `Piece` (names.py) the same
way, so that rank 0 can compare piece by piece.

**Decay.** Every parameter is filled with a repeating pattern of ten magnitudes (±0.001 … ±10) by
its flat index; the optimizer *as built* (on the wrapped model's parameters, in its param groups)
is stepped `STEPS` times with an explicit zero gradient, so that weight decay is the only force;
each value's relative shrink per step, 1 − (w_T/w_0)^(1/T), is summarized per magnitude (lowest,
highest, mean). A value whose holder is in no param group is "not optimized".

**Penalty.** Every parameter is filled with the audit's test values (copies.py), the zero forward
(standin.py) runs through the wrapper, the penalty is called on the model as the training step
would (`penalty(model)` on the wrapped model), and `(zero + penalty).backward()` runs the wrapper's
gradient reduction. Each piece's gradient, as the wrapper leaves it in `.grad`, is fitted to
a·w + b·sign(w) (forms.py) in float64.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Optional

from reglint.audit.copies import BLOCK_SIZE, fill_tiled, test_block
from reglint.audit.distributed.names import Holder
from reglint.audit.forms import PointFit, fit_folded
from reglint.audit.optimizer import UNKNOWN_PATTERN, group_membership, hyperparameters
from reglint.audit.sandbox import call_penalty, deadline
from reglint.audit.sums import fold

STEPS = 10
DECAY_PATTERN = UNKNOWN_PATTERN  # ±1, ±0.1, ±10, ±0.01, ±0.001, repeating every 10 values


def magnitude_key(value: float) -> str:
    return f"{abs(value):g}"


@dataclass
class DecayStat:
    """Shrink per step of the values of one magnitude in a piece."""

    lo: float
    hi: float
    mean: float
    crossed: int  # values that reached or crossed 0 (no shrink defined)


@dataclass
class DecayPiece:
    fqn: str
    start: int
    length: int
    group: Optional[int]  # None: the holder is in no param group
    shrink: dict[str, DecayStat] = field(default_factory=dict)


@dataclass
class GradPiece:
    fqn: str
    start: int
    length: int
    fit: dict[str, Any]


@dataclass
class HolderInfo:
    """What a rule on parameters sees of the tensor that holds a piece."""

    name: str
    kind: str
    shape: list[int]
    local_numel: int
    fqns: list[str]


@dataclass
class OptimizerInfo:
    class_name: str
    groups: list[dict[str, Any]]
    foreign: int = 0  # tensors in the optimizer that the model does not expose


def holder_infos(holders: Sequence[Holder]) -> list[HolderInfo]:
    return [HolderInfo(h.name, h.kind, list(h.shape), h.local_numel, list(dict.fromkeys(p.fqn for p in h.pieces)))
            for h in holders]


def fill_pieces(holders: Sequence[Holder], block: Any) -> None:
    """Write `block`, tiled by each piece's flat index in its parameter, into every piece."""
    import torch

    with torch.no_grad():
        for h in holders:
            values = h.local_values()
            for piece in h.pieces:
                _tile_into(values[piece.offset:piece.offset + piece.length], block, piece.start)


def _tile_into(segment: Any, block: Any, start: int) -> None:
    """Write `block`, tiled from flat index `start`, into the 1-D `segment` (in its dtype)."""
    import torch

    rotated = torch.roll(block, -(start % block.numel())).to(dtype=segment.dtype, device=segment.device)
    fill_tiled(segment, rotated)


def written(block: Any, start: int, length: int, like: Any) -> Any:
    """The values `fill_pieces` wrote from flat index `start`: `block` tiled, in `like`'s dtype."""
    import torch

    out = torch.empty(length, dtype=like.dtype, device=like.device)
    _tile_into(out, block, start)
    return out


def decay_block() -> Any:
    import torch

    return torch.tensor(DECAY_PATTERN, dtype=torch.float64)


def penalty_block() -> Any:
    import torch

    return test_block(torch.float64, "cpu")


CHUNK = 100_000 * len(DECAY_PATTERN)  # values per float64 temporary when summarizing a piece's decay


def decay_stats(after: Any, start: int, steps: int = STEPS) -> dict[str, DecayStat]:
    """Shrink per step of each magnitude of the decay pattern, for the values `after` (1-D) that
    `fill_pieces` set from flat index `start` and the optimizer then stepped `steps` times."""
    import torch

    period = len(DECAY_PATTERN)
    block = decay_block()
    acc: dict[str, list[float]] = {}  # magnitude → [lo, hi, sum, count, crossed]
    for c0 in range(0, after.numel(), CHUNK):
        now = after[c0:c0 + CHUNK]
        ratio = now.double() / written(block, start + c0, now.numel(), now).double()
        shrink = torch.where(ratio > 0, 1.0 - ratio.clamp_min(1e-300).pow(1.0 / steps),
                             torch.full_like(ratio, math.nan))
        for k, value in enumerate(DECAY_PATTERN):
            values = shrink[(k - start - c0) % period::period]
            if not values.numel():
                continue
            finite = values[~torch.isnan(values)]
            entry = acc.setdefault(magnitude_key(value), [math.inf, -math.inf, 0.0, 0, 0])
            entry[4] += int(values.numel() - finite.numel())
            if finite.numel():
                entry[0] = min(entry[0], float(finite.min()))
                entry[1] = max(entry[1], float(finite.max()))
                entry[2] += float(finite.sum())
                entry[3] += int(finite.numel())
    return {key: DecayStat(lo, hi, total / count, int(crossed)) if count else
            DecayStat(math.nan, math.nan, math.nan, int(crossed))
            for key, (lo, hi, total, count, crossed) in acc.items()}


def grad_fit(g: Optional[Any], start: int, length: int, like: Any) -> dict[str, Any]:
    """The float64 fit of gradient `g` (None: none) of the values `fill_pieces` set from `start`."""
    w = written(penalty_block(), start, length, like)
    return asdict(fit_folded(fold(g, w, BLOCK_SIZE)))


def point_fit(data: dict[str, Any]) -> PointFit:
    return PointFit(**data)


@dataclass
class DecayRun:
    """The optimizer's param groups and which holder is in which; the holders hold the values after
    the steps."""

    info: OptimizerInfo
    group_of: dict[int, int]  # holder index → param group


def run_decay(optimizer: Any, holders: Sequence[Holder], timeout: Optional[float]) -> DecayRun:
    """Step `optimizer` STEPS times with a zero gradient over the decay pattern (changes the holders)."""
    import torch

    group_of, foreign = group_membership(optimizer, [h.tensor for h in holders])
    fill_pieces(holders, decay_block())
    stepped = [p for group in optimizer.param_groups for p in group["params"]]
    name = type(optimizer).__name__
    try:
        with deadline(timeout, f"{name}.step()"):
            for _ in range(STEPS):
                for p in stepped:
                    p.grad = torch.zeros_like(p)
                optimizer.step()
    finally:
        for p in stepped:
            p.grad = None
    groups = [hyperparameters(g) for g in optimizer.param_groups]
    return DecayRun(OptimizerInfo(name, groups, foreign), group_of)


def decay_pieces(run: DecayRun, holders: Sequence[Holder]) -> list[DecayPiece]:
    """Each piece's decay, from the values its holder holds after `run_decay`."""
    out = []
    for k, h in enumerate(holders):
        group = run.group_of.get(k)
        values = h.local_values() if group is not None else None
        for piece in h.pieces:
            stats: dict[str, DecayStat] = {}
            if values is not None:
                stats = decay_stats(values[piece.offset:piece.offset + piece.length], piece.start)
            out.append(DecayPiece(piece.fqn, piece.start, piece.length, group, stats))
    return out


@dataclass
class PenaltyRun:
    """The penalty's value on this rank (or process) and each holder's gradient after the backward."""

    value: Optional[float] = None
    value_kind: Optional[str] = None  # "tensor", "constant", "DTensor (placements)"
    grads: Optional[dict[int, Optional[Any]]] = None  # holder index → its local gradient, 1-D (None: none)


Checkpoint = Callable[[str, Optional[BaseException]], bool]


def _value(value: Any) -> tuple[float, str]:
    if hasattr(value, "to_local") and hasattr(value, "placements"):
        return float(value.to_local().detach().double()), f"DTensor {tuple(value.placements)}"
    if value.requires_grad or value.grad_fn is not None:
        return float(value.detach().double()), "tensor"
    return float(value.detach().double()), "constant"


def run_penalty(model: Any, target: Any, penalty: Callable[[Any], Any], label: str, holders: Sequence[Holder],
                timeout: Optional[float], checkpoint: Checkpoint, out: PenaltyRun) -> None:
    """One training step's worth of penalty: zero forward, `penalty(target)`, backward, into `out`.

    `checkpoint(stage, error)` is called after the penalty's value is known on this rank (with the
    error it raised, if any) and must say whether every rank got there: only then does the backward,
    whose gradient reduction needs every rank, run. Raises what the user's code raised; the value
    is in `out` from the moment it is known (a backward that raises still leaves it).
    """
    import torch

    from reglint.audit.distributed.standin import zero_forward

    fill_pieces(holders, penalty_block())
    for h in holders:
        h.tensor.grad = None
    error: Optional[BaseException] = None
    value = zero = None
    try:
        with torch.enable_grad(), zero_forward(model):
            zero = model()
            value = call_penalty(penalty, target, label, timeout, strict=False)
    except BaseException as exc:  # reported by the caller, after every rank has said how it went
        error = exc
    if not checkpoint("penalty value", error):
        if error is not None:
            raise error
        raise OtherRankFailed()
    assert value is not None
    out.value, out.value_kind = _value(value)
    loss = value if zero is None else zero + value
    if loss.requires_grad:
        with torch.enable_grad():
            loss.backward()
    out.grads = {k: h.local_grad() for k, h in enumerate(holders) if h.pieces}


class OtherRankFailed(Exception):
    """Another rank failed before a step that needs every rank: this rank stops there too."""


def grad_pieces(run: PenaltyRun, holders: Sequence[Holder]) -> list[GradPiece]:
    out: list[GradPiece] = []
    if run.grads is None:
        return out
    for k, h in enumerate(holders):
        if k not in run.grads:
            continue
        g = run.grads[k]
        values = h.local_values()
        for piece in h.pieces:
            span = slice(piece.offset, piece.offset + piece.length)
            out.append(GradPiece(piece.fqn, piece.start, piece.length,
                                 grad_fit(None if g is None else g[span], piece.start, piece.length, values)))
    return out


def piece_key(fqn: str, start: int, length: int) -> str:
    return f"{fqn}@{start}+{length}"
