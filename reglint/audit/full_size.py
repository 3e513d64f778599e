"""The forms of the tensors the miniature cut, measured on the full-size tensors.

The miniature (a copy with each tensor cut to `cap` values) gives every tensor's form cheaply in
float64. For a cut tensor, the form is then checked where it matters: on a full-size copy in the
model's dtype (float32 for float16/bfloat16 models, whose rounding would blur the fit), with one
penalty backward at the test point w, each gradient folded in float64 as it arrives (sums.py).
No float64 copy of anything larger than two blocks of test values.

For a plain form (λ/2·Σw², λ·Σ|w|, λ·‖w‖, a `.mean()`) the full gradient has the miniature's
shape, and the reported form is the miniature's with the full tensor's own coefficient. Where it
does not (a penalty that slices a tensor, or treats large tensors differently), those tensors are
measured at 2·w too and classified at full size, the report says that the form depends on the
tensor's size, and they get the finite-difference check at full size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

from reglint.audit import forms, gradcheck
from reglint.audit.copies import refill, refill_some
from reglint.audit.core import CoreResult, directional
from reglint.audit.evaluate import Evaluator
from reglint.audit.grouping import compact_label
from reglint.audit.numbers import FORM_NAMES
from reglint.audit.params import ParamInfo, all_names, unique_parameters
from reglint.audit.precision import model_dtype

FULL_BUDGET = 24  # finite-difference evaluations at full size


@dataclass
class FullSize:
    forms: list[Optional[forms.Form]]
    measured: list[bool]  # measured at full size
    changed: list[int]  # tensors whose kind differs from the miniature's
    dtype: str
    nonfinite: list[int] = field(default_factory=list)
    gradcheck: Optional[gradcheck.GradCheck] = None
    notes: list[str] = field(default_factory=list)


def work_dtype(model: Any) -> Any:
    """The model's dtype where it is float32 or float64; float32 for half-precision models."""
    import torch

    dtype = model_dtype(model)
    return dtype if dtype in (torch.float32, torch.float64) else torch.float32


def prepare(copy: Any, device: Any) -> Any:
    """Turn a full-size copy of the model into the work dtype on `device`, holding the test values."""
    import torch

    with torch.no_grad():
        copy.to(device=device, dtype=work_dtype(copy))
    refill(copy)
    return copy


def measure_full_size(copy: Any, evaluate: Evaluator, core: CoreResult, infos: Sequence[ParamInfo],
                      cap: int) -> FullSize:
    """Measure every trainable tensor above `cap` values on `copy` (prepared, full size)."""
    params = unique_parameters(copy)
    dtype = str(params[0].dtype).replace("torch.", "") if params else "float32"
    large = [i for i, p in enumerate(params) if p.requires_grad and infos[i].numel > cap and core.forms[i] is not None]
    out = FullSize(forms=list(core.forms), measured=[False] * len(params), changed=[], dtype=dtype)
    if not large:
        return out
    _, at_w = evaluate.sums(copy, params, large)
    fits = {i: at_w[i].fit for i in large}
    carried = {i: forms.carry_over(core.forms[i], fits[i]) for i in large}  # type: ignore[arg-type]
    recheck = [i for i in large if carried[i] is None]
    at_2w: dict[int, forms.Measured] = {}
    if recheck:  # the full gradient does not have the miniature's shape: measure its form at 2·w too
        refill(copy, scale=forms.POINT_SCALE)  # every tensor, as on the miniature
        try:
            _, at_2w = evaluate.sums(copy, params, recheck)
        finally:
            refill(copy)
    switched: dict[tuple[str, str], list[str]] = {}
    for i in large:
        mini = core.forms[i]
        assert mini is not None
        full = carried[i] or forms.classify(fits[i], at_2w[i].fit)
        out.forms[i], out.measured[i] = full, True
        if not fits[i].finite:
            out.nonfinite.append(i)  # RL302 at the test values, not a matter of size
        elif full.kind != mini.kind:
            out.changed.append(i)
            switched.setdefault((mini.kind, full.kind), []).append(infos[i].name)
    every = all_names(infos)
    for (was, now), names in switched.items():
        out.notes.append(
            f"the penalty's form depends on the tensor's size for {compact_label(names, every)}: "
            f"{FORM_NAMES[was]} on the miniature's cut (≤{cap:,} values), {FORM_NAMES[now]} on the full "
            "tensor (reported: full size)"
        )
    checkable = [i for i in out.changed if i not in out.nonfinite]
    if checkable:
        def value_now() -> Any:
            return evaluate(copy)

        def restore(indices: Sequence[int]) -> None:
            refill_some(params, indices)

        out.gradcheck = gradcheck.check_gradients(value_now, params, checkable, directional(at_w, len(params)),
                                                  FULL_BUDGET, restore=restore)
    return out
