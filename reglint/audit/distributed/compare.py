"""Rank 0's verdicts: each rank's pieces against the one-process numbers for the same pieces.

Two pieces agree when the numbers measured for the same values of the same parameter agree within
stated tolerances:

- decay: for every magnitude of the pattern, the lowest and highest shrink per step agree within
  `eps + DECAY_REL·|shrink|`, eps being the parameter dtype's machine epsilon (the resolution of
  one step in that dtype; both sides compute in it), and values reach 0 on both sides or on
  neither; "not optimized" agrees only with itself;
- penalty gradient: with G the larger of the two gradients' norms, the fitted coefficients of w and
  of sign(w), scaled by ‖w‖ and ‖sign w‖, and the norms themselves agree within GRAD_REL·G (float32
  gradients are exact to ~1e-7 relative; a world size of 2 changes them by 50%); non-finite agrees
  only with non-finite.

A parameter any of whose pieces disagrees on any rank gets one RL306 finding per kind (decay,
penalty) whose message states both measurements and the facts that explain the difference: how
the wrapped model exposes the parameter (its name, a flat parameter, a 1-D shard), and the
penalty's value on each rank.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from reglint.audit.distributed.measure import STEPS, DecayStat, OptimizerInfo, piece_key, point_fit
from reglint.audit.distributed.names import DTENSOR, FLAT, SHARD_VIEW
from reglint.audit.distributed.side import ParamMeta, SideResult
from reglint.audit.forms import ELASTIC, L1, L2, NONE, PointFit
from reglint.audit.numbers import num

DECAY_REL = 1e-3
GRAD_REL = 1e-3
VALUE_REL = 1e-4  # penalty values "equal" (the same sum in another order)
UNIT = "1"  # the decay pattern's |w| = 1
STEPS_NOTE = f"decay measured over {STEPS} steps with a zero gradient on every side"


def close(x: float, y: float, abs_tol: float, rel: float) -> bool:
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    return abs(x - y) <= abs_tol + rel * max(abs(x), abs(y))


def same_decay(d: dict[str, DecayStat], r: dict[str, DecayStat], eps: float) -> bool:
    for key in d.keys() & r.keys():
        a, b = d[key], r[key]
        if (a.crossed > 0) != (b.crossed > 0):
            return False
        if not (close(a.lo, b.lo, eps, DECAY_REL) and close(a.hi, b.hi, eps, DECAY_REL)):
            return False
    return True


def same_gradient(d: PointFit, r: PointFit) -> bool:
    if d.finite != r.finite:
        return False
    if not d.finite:
        return True
    big = max(d.gnorm, r.gnorm)
    if big == 0:
        return True
    errors = (abs(d.a_l2 - r.a_l2) * r.wnorm, abs(d.b_l1 - r.b_l1) * math.sqrt(max(r.numel, 0)),
              abs(d.gnorm - r.gnorm))
    return max(errors) <= GRAD_REL * big


@dataclass
class Sided:
    """One side's measurement of a piece: decay (group and stats) or the gradient's fit."""

    rank: Optional[int]
    group: Optional[int] = None
    stats: dict[str, DecayStat] = field(default_factory=dict)
    fit: Optional[PointFit] = None


@dataclass
class Mismatch:
    """A parameter measured differently on some rank than in one process."""

    param: ParamMeta
    kind: str  # "decay" or "penalty"
    reference: Sided
    ranks: list[Sided]  # the disagreeing pieces, one per rank at most
    all_ranks: int  # how many ranks hold some of it


def dtype_eps(dtype: str) -> float:
    import torch

    try:
        return float(torch.finfo(getattr(torch, dtype)).eps)
    except (AttributeError, TypeError):
        return float(torch.finfo(torch.float32).eps)


def _mismatches(params: Sequence[ParamMeta], ranks: dict[int, SideResult], kind: str,
                pieces: Callable[[SideResult], Sequence[tuple[str, int, int, Sided]]],
                reference: Callable[[Any], Sided], agree: Callable[[Sided, Sided, ParamMeta], bool],
                answers: dict[str, Any]) -> list[Mismatch]:
    """Per parameter, the first disagreeing piece of each rank, with the one-process numbers for it."""
    out = []
    for meta in params:
        wrong: list[tuple[Sided, Sided]] = []
        holding = 0
        for _rank, side in sorted(ranks.items()):
            mine = [p for p in pieces(side) if p[0] == meta.name]
            holding += bool(mine)
            for fqn, start, length, measured in mine:
                ans = answers.get(piece_key(fqn, start, length))
                if ans is None:
                    continue
                ref = reference(ans)
                if not agree(measured, ref, meta):
                    wrong.append((measured, ref))
                    break
        if wrong:
            out.append(Mismatch(meta, kind, wrong[0][1], [w for w, _ in wrong], holding))
    return out


def decay_mismatches(params: Sequence[ParamMeta], ranks: dict[int, SideResult], answers: dict[str, Any]) -> list[Mismatch]:
    def pieces(side: SideResult) -> list[tuple[str, int, int, Sided]]:
        return [(p.fqn, p.start, p.length, Sided(side.rank, p.group, p.shrink)) for p in side.decay or []]

    def reference(ans: Any) -> Sided:
        return Sided(None, ans["group"], {k: DecayStat(**s) for k, s in ans["shrink"].items()})

    def agree(d: Sided, r: Sided, meta: ParamMeta) -> bool:
        return (d.group is None) == (r.group is None) and same_decay(d.stats, r.stats, dtype_eps(meta.dtype))

    return _mismatches(params, ranks, "decay", pieces, reference, agree, answers)


def grad_mismatches(params: Sequence[ParamMeta], ranks: dict[int, SideResult], answers: dict[str, Any]) -> list[Mismatch]:
    def pieces(side: SideResult) -> list[tuple[str, int, int, Sided]]:
        return [(p.fqn, p.start, p.length, Sided(side.rank, fit=point_fit(p.fit))) for p in side.grads or []]

    def agree(d: Sided, r: Sided, _meta: ParamMeta) -> bool:
        assert d.fit is not None and r.fit is not None
        return same_gradient(d.fit, r.fit)

    return _mismatches(params, ranks, "penalty", pieces, lambda ans: Sided(None, fit=point_fit(ans)), agree, answers)


# ------------------------------------------------------------------------------------------ words


def decay_text(side: Sided, opt: Optional[OptimizerInfo], eps: float) -> str:
    """`1.0e-04/step (lr·λ) in param group 0 (weight_decay=0.10)`, `no decay in ...`, `not optimized`."""
    if side.group is None:
        return "not optimized"
    hyper = opt.groups[side.group] if opt is not None and side.group < len(opt.groups) else {}
    wd = float(hyper.get("weight_decay") or 0.0)
    lr = float(hyper.get("lr") or 0.0)
    unit = side.stats.get(UNIT)
    where = f"in param group {side.group} (weight_decay={num(wd)})"
    if unit is None:
        return f"measured {where}"
    s1 = unit.mean
    uniform = all(close(s.mean, s1, eps, DECAY_REL) for s in side.stats.values())
    if abs(s1) <= eps and uniform:
        return f"no decay {where}"
    label = " (lr·λ)" if lr * wd > 0 and close(s1, lr * wd, eps, DECAY_REL) else ""
    at = "" if uniform else " at |w|=1"
    return f"{num(s1)}/step{at}{label} {where}"


def decay_cell(side: Sided, opt: Optional[OptimizerInfo], eps: float) -> str:
    """The table's short form: `g0: 1.0e-04/step (lr·λ)`, `g1: no decay`, `not optimized`."""
    if side.group is None:
        return "not optimized"
    text = decay_text(side, opt, eps)
    return f"g{side.group}: {text.split(' in param group ')[0]}"


def gradient_text(fit: PointFit) -> str:
    """The gradient as a formula: `1.0e-04·w`, `5.0e-05·sign(w)`, `0`, or its best fit."""
    shape = fit.shape()
    if shape == NONE:
        return "0"
    if not fit.finite:
        return "not finite"
    if shape == L2:
        return f"{num(fit.a_l2)}·w"
    if shape == L1:
        return f"{num(fit.b_l1)}·sign(w)"
    if shape == ELASTIC:
        return f"{num(fit.a_el)}·w + {num(fit.b_el)}·sign(w)"
    return f"≈ {num(fit.a_l2)}·w (residual {fit.r_l2:.2g})"


def relative_texts(ranks: Sequence[Sided], reference: PointFit) -> Optional[tuple[list[str], str, str]]:
    """Each rank's gradient as k·λ·w (or k·λ·sign(w)) with λ the one-process coefficient, when the
    one-process gradient is L2 (or L1) and each rank's is 0 or of the same form."""
    shape = reference.shape()
    if shape not in (L2, L1):
        return None
    base = reference.a_l2 if shape == L2 else reference.b_l1
    term = "w" if shape == L2 else "sign(w)"
    texts = []
    for side in ranks:
        assert side.fit is not None
        got = side.fit.shape()
        if got == NONE:
            texts.append("0")
        elif got == shape and base:
            k = (side.fit.a_l2 if shape == L2 else side.fit.b_l1) / base
            texts.append(f"{num(k)}·λ·{term}")
        else:
            return None
    return texts, f"1.0·λ·{term}", f"λ = {num(base)}"


def rank_list(ranks: Sequence[int]) -> str:
    items = [str(r) for r in ranks]
    return ("rank " if len(items) == 1 else "ranks ") + (", ".join(items[:-1]) + " and " + items[-1] if len(items) > 1
                                                          else items[0])


def _per_rank(texts: list[str], ranks: Sequence[Sided], holding: int) -> str:
    if len(set(texts)) == 1 and len(ranks) == holding:
        return texts[0]
    if len(set(texts)) == 1:
        return f"{texts[0]} on {rank_list([s.rank for s in ranks if s.rank is not None])}"
    return ", ".join(f"{t} on rank {s.rank}" for t, s in zip(texts, ranks))


def penalty_summary(m: Mismatch, where: str) -> str:
    assert m.reference.fit is not None
    relative = relative_texts(m.ranks, m.reference.fit)
    if relative is not None:
        texts, one, coefficient = relative
        return f"penalty gradient {_per_rank(texts, m.ranks, m.all_ranks)} under {where}, {one} in one process ({coefficient})"
    texts = [gradient_text(s.fit) for s in m.ranks if s.fit is not None]
    return f"penalty gradient {_per_rank(texts, m.ranks, m.all_ranks)} under {where}, {gradient_text(m.reference.fit)} in one process"


def decay_summary(m: Mismatch, where: str, ranks_opt: dict[int, Optional[OptimizerInfo]],
                  ref_opt: Optional[OptimizerInfo], eps: float) -> str:
    texts = [decay_text(s, ranks_opt.get(s.rank) if s.rank is not None else None, eps) for s in m.ranks]
    return (f"optimizer decay {_per_rank(texts, m.ranks, m.all_ranks)} under {where}, "
            f"{decay_text(m.reference, ref_opt, eps)} in one process")


# ------------------------------------------------------------------------------------ the causes


@dataclass(frozen=True)
class Exposure:
    """How the wrapped model exposes a parameter on the ranks (what name and shape rules see)."""

    holder: str
    kind: str
    shape: tuple[int, ...]
    local_numel: int
    rank: int


def exposure(side: SideResult, fqn: str) -> Optional[Exposure]:
    for h in side.holders:
        if fqn in h.fqns:
            return Exposure(h.name, h.kind, tuple(h.shape), h.local_numel, side.rank or 0)
    return None


def shape_text(shape: Sequence[int]) -> str:
    return "×".join(str(s) for s in shape) if shape else "scalar"


def exposure_fact(e: Exposure, meta: ParamMeta, what: str) -> tuple[str, str]:
    """(fact, cause kind) about how `what` ("the optimizer", "the penalty") sees the parameter.

    Worded alike for every parameter exposed alike (the specifics are in the finding's data), so
    that the report groups them.
    """
    if e.kind == FLAT:
        return (f"{what} sees it inside one of FSDP's flat parameters (1-D, one tensor for several parameters, "
                "so one param group for all of them)", "flat")
    if e.kind == SHARD_VIEW and len(e.shape) != len(meta.shape):
        return f"{what} sees it as a 1-D shard of this rank's values (p.ndim == 1, p.shape is the shard's)", "shard"
    if e.kind == DTENSOR:
        return f"{what} sees it as a DTensor", "dtensor"
    if e.holder != meta.name:
        if e.holder.endswith("." + meta.name):
            return f"{what} sees it named `{e.holder[:-len(meta.name)]}<name>`", "name"
        return f"{what} sees it named `{e.holder}`", "name"
    return "", "other"


def exposure_json(e: Optional[Exposure]) -> Optional[dict[str, Any]]:
    if e is None:
        return None
    return {"name": e.holder, "kind": e.kind, "shape": list(e.shape), "local_values": e.local_numel, "rank": e.rank}


DECAY_ADVICE = {
    "name": "build param groups from the unwrapped model's names (`model.module.named_parameters()` under DDP) or "
            "by p.ndim, not from names of the wrapped model",
    "flat": "an optimizer sees FSDP's flat parameters (use_orig_params=False) whole, so param groups cannot tell "
            "weights from biases: wrap with use_orig_params=True and choose the no-decay group by name",
    "shard": "outside forward FSDP (use_orig_params=True) exposes each parameter as a 1-D shard: choose param "
             "groups by name, or by the shapes of the unwrapped model taken before wrapping, not by p.ndim",
    "dtensor": "choose param groups so that they do not depend on the wrapper",
    "missing": "build the optimizer after wrapping, from the wrapped model's parameters (FSDP replaces them)",
    "other": "build the param groups so that they do not depend on the wrapper, and measure again",
}
PENALTY_ADVICE = {
    "rank": "add the penalty on every rank: each rank's loss is averaged, so a term added on k of W ranks acts "
            "with k/W of its strength (or scale it by W/k where it is added)",
    "shard": "outside forward the penalty sees each rank's shards: select its parameters by name (not p.ndim), "
             "or compute it inside forward, on the full parameters",
    "other": "compute the penalty so that every rank adds the same term for the same full parameters",
}


def penalty_cause(values: dict[int, Optional[float]], reference: Optional[float], world: int) -> tuple[str, str]:
    """What the penalty's value on each rank says, and the kind of cause ("rank", "shard", "other")."""
    known = {r: v for r, v in sorted(values.items()) if v is not None}
    if not known or reference is None:
        return "", "other"
    shown = ", ".join(f"{num(v)} on rank {r}" for r, v in known.items())
    full = [r for r, v in known.items() if close(v, reference, 0.0, VALUE_REL)]
    zero = [r for r, v in known.items() if v == 0.0]
    if reference != 0 and full and zero and len(full) + len(zero) == len(known):
        return (f"the penalty is added on {rank_list(full)} only (0 on {rank_list(zero)}) and the wrapper averages "
                f"gradients over {world} ranks", "rank")
    if reference != 0 and len(known) > 1 and close(sum(known.values()), reference, 0.0, VALUE_REL) and len(zero) < len(known) - 1:
        return (f"each rank's penalty sums only the values it holds ({shown}: together {num(sum(known.values()))}, "
                f"the one-process value)", "shard")
    if reference != 0 and len(zero) == len(known):
        return f"the penalty is 0 on every rank ({num(reference)} in one process)", "shard"
    return f"the penalty is {shown} ({num(reference)} in one process)", "other"
