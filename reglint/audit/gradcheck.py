"""RL301/RL103 evidence: autograd against finite differences of the penalty's own value.

Checking every element by finite differences would cost one penalty evaluation per value. Instead
the check is directional and adaptive (group testing):

1. For a set S of parameter tensors and a direction d (d = w, which scales S by 1±h, or
   d = sign(w), which moves every value of S away from 0 by h), the central difference
   (P(w + h·d_S) − P(w − h·d_S)) / 2h is compared with Σ_{p∈S} ⟨∇_p P, d_p⟩ from autograd.
2. Starting from all trainable parameters, a set that disagrees is split in halves; the first half
   is measured, the second inferred (directional derivatives add up) and measured only if the
   inference says it disagrees too. A parameter that disagrees is found in about 2·log2(n)
   evaluations; `budget` caps the total, and sets still unresolved are reported as they are.

The values at the test point are at least 0.1 in magnitude, so neither direction crosses a kink at
0 (|w|, ‖w‖). Tolerance: relative 1e-4 plus the rounding noise of the penalty's own dtype
(64·eps·|P|/h), so a penalty accumulated in float32 does not raise false alarms.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

SCALE_STEP = 1e-3  # relative step along d = w
SIGN_STEP = 1e-4  # absolute step along d = sign(w); test values are ≥ 0.1
REL_TOL = 1e-4
NOISE_FACTOR = 64.0
DIRECTIONS = ("scale", "sign")


@dataclass(frozen=True)
class Mismatch:
    indices: tuple[int, ...]
    direction: str
    finite_difference: float
    autograd: float


@dataclass
class GradCheck:
    mismatches: list[Mismatch] = field(default_factory=list)
    evaluations: int = 0
    budget_exhausted: bool = False
    value_depends: Optional[bool] = None  # does the value change along the directions at all?


def _perturb(params: Sequence[Any], indices: Sequence[int], direction: str, sign: float) -> None:
    import torch

    for i in indices:
        p = params[i]
        if direction == "scale":
            p.mul_(1.0 + sign * SCALE_STEP)
        else:
            p.add_(torch.sign(p), alpha=sign * SIGN_STEP)


Restore = Callable[[Sequence[int]], None]


def _saving_restore(params: Sequence[Any], indices: Sequence[int]) -> Restore:
    """Restore by copying back clones (for callers that cannot rewrite the values themselves)."""
    saved = {i: params[i].detach().clone() for i in indices}

    def restore(which: Sequence[int]) -> None:
        for i in which:
            params[i].copy_(saved[i])

    return restore


class _Tester:
    def __init__(self, evaluate: Callable[[], Any], params: Sequence[Any], budget: int,
                 restore: Optional[Restore]) -> None:
        self.evaluate = evaluate
        self.params = params
        self.budget = budget
        self.restore = restore
        self.result = GradCheck()

    def finite_difference(self, indices: Sequence[int], direction: str) -> tuple[float, float]:
        """Central difference along `direction` on `indices`, and its rounding noise."""
        import torch

        step = SCALE_STEP if direction == "scale" else SIGN_STEP
        with torch.no_grad():
            restore = self.restore or _saving_restore(self.params, indices)
            try:
                _perturb(self.params, indices, direction, +1.0)
                plus = self.evaluate()
                restore(indices)
                _perturb(self.params, indices, direction, -1.0)
                minus = self.evaluate()
            finally:
                restore(indices)
        self.result.evaluations += 2
        eps = torch.finfo(plus.dtype).eps if plus.is_floating_point() else 1e-16
        vp, vm = float(plus), float(minus)
        noise = NOISE_FACTOR * eps * max(abs(vp), abs(vm)) / (2 * step)
        return (vp - vm) / (2 * step), noise

    @staticmethod
    def disagree(fd: float, ag: float, noise: float) -> bool:
        return abs(fd - ag) > REL_TOL * (abs(fd) + abs(ag)) + noise

    def locate(self, indices: list[int], direction: str, fd: float, ag: float, noise: float,
               autograd: Sequence[float]) -> None:
        if not self.disagree(fd, ag, noise):
            return
        if len(indices) == 1 or self.result.evaluations + 2 > self.budget:
            if len(indices) > 1:
                self.result.budget_exhausted = True
            self.result.mismatches.append(Mismatch(tuple(indices), direction, fd, ag))
            return
        half = len(indices) // 2
        first, second = indices[:half], indices[half:]
        fd1, noise1 = self.finite_difference(first, direction)
        ag1 = sum(autograd[i] for i in first)
        fd2, ag2 = fd - fd1, ag - ag1
        self.locate(first, direction, fd1, ag1, noise1, autograd)
        if self.disagree(fd2, ag2, noise + noise1) and self.result.evaluations + 2 <= self.budget:
            fd2, noise2 = self.finite_difference(second, direction)  # measure before blaming
            self.locate(second, direction, fd2, ag2, noise2, autograd)
        elif self.disagree(fd2, ag2, noise + noise1):
            self.result.budget_exhausted = True
            self.result.mismatches.append(Mismatch(tuple(second), direction, fd2, ag2))


def check_gradients(
    evaluate: Callable[[], Any],
    params: Sequence[Any],
    candidates: Sequence[int],
    autograd: Mapping[str, Sequence[float]],
    budget: int,
    locate: bool = True,
    restore: Optional[Restore] = None,
) -> GradCheck:
    """Compare autograd's directional derivatives (`autograd[direction][i]`) with finite differences.

    `evaluate()` returns the penalty at the parameters' current values (a 0-dim tensor); the
    parameters are perturbed in place and always restored. With `locate=False` only the whole set
    is tested (used to ask whether the value depends on the parameters at all). `restore(indices)`
    writes those parameters' values back exactly (default: from clones taken before each change;
    a caller whose parameters hold values it can rewrite saves the clones' memory).
    """
    tester = _Tester(evaluate, params, budget, restore)
    indices = list(candidates)
    if not indices:
        return tester.result
    depends = False
    seen: set[int] = set()
    for direction in DIRECTIONS:
        remaining = [i for i in indices if i not in seen]  # one report per parameter is enough
        if not remaining:
            break
        fd, noise = tester.finite_difference(remaining, direction)
        if abs(fd) > noise:
            depends = True
        if not locate:
            continue
        ag = sum(autograd[direction][i] for i in remaining)
        before = len(tester.result.mismatches)
        tester.locate(remaining, direction, fd, ag, noise, autograd[direction])
        for m in tester.result.mismatches[before:]:
            seen.update(m.indices)
    tester.result.value_depends = depends
    return tester.result
