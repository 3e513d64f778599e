"""Float64 sums over one gradient tensor and its parameter, taken a chunk at a time.

Everything the audit fits (forms.py) and checks (gradcheck.py) about a parameter's penalty
gradient g at the point w needs only five sums: Σg·w, Σg², Σg·sign(w), Σw², Σ|w| (and the number
of nonzero w). They are accumulated here in float64, a chunk of `CHUNK` values at a time, so a
38.6M-value embedding costs a few MiB of temporaries, never a float64 copy of the tensor.

Why float64 accumulation: a float32 dot product over tens of millions of values is off by 1e-5
to 5e-4 relative (measured with torch's CPU kernels), enough to make an exact λ/2·Σw² look like
a different form; each float32 product is exact in float64, so the sums here are as good as the
gradient itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional

CHUNK = 1 << 20  # values per chunk: 8 MiB per float64 temporary


@dataclass(frozen=True)
class GradSums:
    """Sums over one tensor at one point; `finite` is False if g holds NaN or inf."""

    numel: int
    finite: bool
    sgw: float = 0.0
    sgg: float = 0.0
    sgs: float = 0.0
    sww: float = 0.0
    sws: float = 0.0
    nonzero: int = 0

    @property
    def gnorm(self) -> float:
        return math.sqrt(self.sgg) if self.finite else math.inf

    @property
    def wnorm(self) -> float:
        return math.sqrt(self.sww)


def _flat(t: Any) -> Any:
    return t.detach().reshape(-1)


def tensor_sums(g: Optional[Any], w: Any, chunk: Optional[int] = None) -> GradSums:
    """The sums of gradient `g` (None: no gradient) of the parameter holding `w` (`chunk`: CHUNK)."""
    import torch

    chunk = chunk or CHUNK
    wf = _flat(w)
    gf = _flat(g) if g is not None else None
    n = wf.numel()
    sgw = sgg = sgs = sww = sws = 0.0
    nonzero = 0
    finite = True
    for start in range(0, n, chunk):
        wc = wf[start:start + chunk].double()
        sign = torch.sign(wc)
        sww += float(torch.dot(wc, wc))
        sws += float(wc.abs().sum())
        nonzero += int(torch.count_nonzero(wc))
        if gf is None or not finite:
            continue
        gc = gf[start:start + chunk].double()
        if not bool(torch.isfinite(gc).all()):
            finite = False
            continue
        sgw += float(torch.dot(gc, wc))
        sgg += float(torch.dot(gc, gc))
        sgs += float(torch.dot(gc, sign))
    if not finite:
        return GradSums(n, False, math.nan, math.inf, math.nan, sww, sws, nonzero)
    return GradSums(n, True, sgw, sgg, sgs, sww, sws, nonzero)
