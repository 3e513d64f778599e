"""RL303 evidence: the penalty's value in the model's own low-precision dtype against float64.

A float16 sum of squares overflows past 65,504 (an embedding of 128k values drawn from N(0, 1) is
already there); bfloat16 keeps 8 significant bits, so a running `reg = reg + term` loses small
terms once the total is large. The check evaluates the penalty at the model's current values in
its own dtype (float16 or bfloat16) and again after a float64 copy, and flags an overflow or a
relative error above 1%. It names the parameters whose own Σw² (or Σ|w|) exceeds the dtype's range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

REL_LIMIT = 0.01


@dataclass(frozen=True)
class PrecisionResult:
    dtype: str
    value: float
    reference: float
    relative_error: float
    overflow: bool
    overflowing: tuple[tuple[int, float], ...]  # (parameter index, its Σw² in float64)
    largest: float

    @property
    def flagged(self) -> bool:
        return self.overflow or self.relative_error > REL_LIMIT


def low_precision(dtype: Any) -> bool:
    import torch

    return dtype in (torch.float16, torch.bfloat16)


def model_dtype(model: Any) -> Any:
    """The most common floating dtype among the parameters (by number of values)."""
    import torch

    counts: dict[Any, int] = {}
    for p in model.parameters():
        if p.is_floating_point():
            counts[p.dtype] = counts.get(p.dtype, 0) + p.numel()
    return max(counts, key=lambda d: counts[d]) if counts else torch.get_default_dtype()


def compare(value: Any, reference: Any, dtype: Any, copy64: Any) -> PrecisionResult:
    """Compare the low-precision `value` with the float64 `reference`; `copy64` holds the values."""
    import torch

    from reglint.audit.params import unique_parameters

    v, ref = float(value), float(reference)
    largest = float(torch.finfo(dtype).max)
    overflow = not math.isfinite(v) and math.isfinite(ref)
    rel = abs(v - ref) / abs(ref) if ref != 0 and math.isfinite(v) else (0.0 if v == ref else math.inf)
    culprits = []
    if overflow or rel > REL_LIMIT:
        with torch.no_grad():
            for i, p in enumerate(unique_parameters(copy64)):
                sq = float(p.detach().double().pow(2).sum())
                ab = float(p.detach().double().abs().sum())
                if max(sq, ab) > largest:
                    culprits.append((i, max(sq, ab)))
    return PrecisionResult(str(dtype).replace("torch.", ""), v, ref, rel, overflow, tuple(culprits), largest)
