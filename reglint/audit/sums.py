"""A parameter's penalty gradient, folded onto the period of the test values, in float64.

The audit's copies hold test values tiled with a period of BLOCK_SIZE values (copies.py), so a
tensor w of n values is `rows` copies of one block plus a remainder. Its gradient g is folded the
same way: M, the mean of g over the rows at each position of the block, and the *spread*
Σ_r ‖g_r − M‖², the part of g that does not repeat with w. Then, exactly,

    ‖g − f‖² = rows·‖M − f_block‖² + spread + ‖g_rest − f_rest‖²

for any f that is a function of w position by position (a·w, b·sign(w), ...), which is every form
the audit fits. So the fits (forms.py) run on at most two blocks of float64 values with their
residuals computed directly, never as a difference of large sums (which would need the sums to
1e-9 and, in float32, are off by 1e-5 to 5e-4 over tens of millions of values).

Cost: two float32 passes over g (partial column sums of 32 rows each, added up in float64; then
the spread, a million values at a time), a few MiB of temporaries, whatever the tensor's size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional

ROWS_PER_CHUNK = 32  # float32 partial sums over at most this many rows (relative error ~3e-7)
SPREAD_VALUES = 1 << 20  # values per temporary when measuring the spread


@dataclass(frozen=True)
class Folded:
    """One gradient at one point, folded: `g[k]` is the mean gradient where w is `w[k]`, which
    stands for `weight[k]` values of the tensor; `spread` is what the fold leaves out."""

    numel: int
    finite: bool
    w: Any  # float64 tensor
    g: Any  # float64 tensor
    weight: Any  # float64 tensor
    spread: float = 0.0

    def _sum(self, x: Any) -> float:
        return float((self.weight * x).sum())

    @property
    def sgg(self) -> float:
        return self._sum(self.g * self.g) + self.spread if self.finite else math.inf

    @property
    def sgw(self) -> float:
        return self._sum(self.g * self.w) if self.finite else math.nan

    @property
    def sgs(self) -> float:
        import torch

        return self._sum(self.g * torch.sign(self.w)) if self.finite else math.nan

    @property
    def sww(self) -> float:
        return self._sum(self.w * self.w)

    @property
    def gnorm(self) -> float:
        return math.sqrt(self.sgg) if self.finite else math.inf

    @property
    def wnorm(self) -> float:
        return math.sqrt(self.sww)


def fold(g: Optional[Any], w: Any, period: Optional[int] = None) -> Folded:
    """Fold gradient `g` (None: no gradient) of the parameter holding `w`.

    `period`: w repeats with this period from its first value (the test values do); None folds
    nothing (every value stands for itself), which is right for any w.
    """
    import torch

    wf = w.detach().reshape(-1)
    n = wf.numel()
    b = n if period is None or period >= n else period
    rows, rest = divmod(n, b) if b else (0, 0)
    w_out = torch.cat([wf[:b], wf[rows * b:]]).double() if rest else wf[:b].double()
    weight = torch.cat([torch.full((b,), float(rows), dtype=torch.float64),
                        torch.ones(rest, dtype=torch.float64)]).to(w_out.device)
    if g is None:
        return Folded(n, True, w_out, torch.zeros_like(w_out), weight)
    gf = g.detach().reshape(-1)
    if rows <= 1:  # nothing folded: w_out is w, in order
        g_out = gf.double()
        return Folded(n, bool(torch.isfinite(g_out).all()), w_out, g_out, weight)
    table = gf[: rows * b].view(rows, b)
    whole = rows - rows % ROWS_PER_CHUNK
    total = table[whole:].double().sum(0)
    if whole:
        total += table[:whole].view(-1, ROWS_PER_CHUNK, b).sum(1).double().sum(0)
    mean = total / rows
    mean_rounded = mean.to(gf.dtype)
    spread = 0.0
    step = max(ROWS_PER_CHUNK, SPREAD_VALUES // b)
    for start in range(0, rows, step):
        spread += float(torch.linalg.vector_norm(table[start:start + step] - mean_rounded)) ** 2
    # the spread around the rounded mean exceeds the spread around the mean by rows·‖mean − rounded‖²
    spread = max(0.0, spread - rows * float((mean - mean_rounded.double()).pow(2).sum()))
    g_out = torch.cat([mean, gf[rows * b:].double()]) if rest else mean
    finite = bool(torch.isfinite(g_out).all()) and math.isfinite(spread)
    return Folded(n, finite, w_out, g_out, weight, spread if finite else math.inf)
