"""The core measurement of a penalty, on a copy that holds the test values.

Per trainable parameter: the gradient's form at the test point w and at 2·w (forms.py), whether it
is finite there and at w = 0 (RL302), and the finite-difference check of autograd (gradcheck.py,
RL301/RL103). Per frozen parameter: whether the penalty's value depends on it at all (a penalty
that sums frozen parameters carries a constant term that regularizes nothing).

Every gradient is reduced to its float64 sums as autograd produces it (evaluate.py), and the
finite-difference check restores perturbed parameters by rewriting the test values, so the core
needs no memory beyond the copy it runs on: it can run on a miniature in float64, or on a
full-size copy in the model's own dtype.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

from reglint.audit import forms, gradcheck
from reglint.audit.copies import refill, refill_some, test_point_copy
from reglint.audit.errors import AuditError, AuditTimeout, user_code_error
from reglint.audit.evaluate import Evaluator
from reglint.audit.params import unique_parameters

FROZEN_BUDGET = 200  # at most this many evaluations naming the frozen parameters in the penalty


@dataclass
class CoreResult:
    dtype: str
    full_size: bool
    value_at_test: float
    forms: list[Optional[forms.Form]]
    grad_present: list[bool]
    nonfinite_at_test: list[bool]
    nonfinite_at_zero: list[bool]
    value_at_zero: Optional[float]
    gradcheck: Optional[gradcheck.GradCheck]
    no_gradient: bool
    frozen_in_penalty: list[int] = field(default_factory=list)  # the value depends on each of these
    frozen_maybe: list[int] = field(default_factory=list)  # ... on one or more of these (budget spent)
    notes: list[str] = field(default_factory=list)


def directional(measured: dict[int, forms.Measured], n: int) -> dict[str, list[float]]:
    """Autograd's directional derivatives ⟨g, w⟩ and ⟨g, sign w⟩ per parameter, for gradcheck."""
    scale, sign = [0.0] * n, [0.0] * n
    for i, m in measured.items():
        if m.fit.finite:
            scale[i], sign[i] = m.along_w, m.along_sign
    return {"scale": scale, "sign": sign}


def run_core(model: Any, evaluate: Evaluator, dtype: Any, *, full_size: bool, budget: int) -> CoreResult:
    """Forms, RL302, the gradient check and the frozen check on `model`, a copy holding the test values."""
    import torch

    params = unique_parameters(model)
    n = len(params)
    trainable = [i for i, p in enumerate(params) if p.requires_grad]
    frozen = [i for i, p in enumerate(params) if not p.requires_grad]
    notes: list[str] = []
    value, at_w = evaluate.sums(model, params, trainable)
    fits_w: list[Optional[forms.PointFit]] = [None] * n
    present = [False] * n
    nonfinite_test = [False] * n
    for i in trainable:
        fit = fits_w[i] = at_w[i].fit
        nonfinite_test[i] = not fit.finite
        present[i] = fit.gnorm != 0.0

    fits_2w: list[Optional[forms.PointFit]] = [None] * n
    try:
        refill(model, scale=forms.POINT_SCALE)
        _, at_2w = evaluate.sums(model, params, trainable)
        for i in trainable:
            fits_2w[i] = at_2w[i].fit
    except (Exception, AuditTimeout) as exc:
        notes.append(f"penalty fails at 2·w ({type(exc).__name__}: {exc}): L2 and unsquared norm not told apart")
        fits_2w = [None] * n

    nonfinite_zero = [False] * n
    value_zero: Optional[float] = None
    try:
        with torch.no_grad():
            for p in params:
                p.zero_()
        value_zero, at_0 = evaluate.sums(model, params, trainable)
        for i in trainable:
            nonfinite_zero[i] = not at_0[i].fit.finite
    except (Exception, AuditTimeout) as exc:
        notes.append(f"penalty fails at w = 0 ({type(exc).__name__}: {exc}): RL302 not checked")
    refill(model)

    measured = [forms.classify(fw, f2) if fw is not None else None for fw, f2 in zip(fits_w, fits_2w)]
    no_gradient = value != 0.0 and not any(present)
    candidates = [i for i in trainable if not nonfinite_test[i]]

    def value_now() -> Any:
        return evaluate(model)

    def restore(indices: Sequence[int]) -> None:
        refill_some(params, indices)

    check = gradcheck.check_gradients(value_now, params, candidates, directional(at_w, n), budget,
                                      locate=not no_gradient, restore=restore)
    in_penalty: list[int] = []
    maybe: list[int] = []
    if frozen:
        # Autograd gives a frozen parameter nothing; where finite differences see the value move,
        # the penalty depends on it.
        zero = {"scale": [0.0] * n, "sign": [0.0] * n}
        found = gradcheck.check_gradients(value_now, params, frozen, zero, min(FROZEN_BUDGET, 4 + 4 * len(frozen)),
                                          restore=restore)
        in_penalty = sorted(i for m in found.mismatches if len(m.indices) == 1 for i in m.indices)
        maybe = sorted(i for m in found.mismatches if len(m.indices) > 1 for i in m.indices)
    return CoreResult(
        dtype=str(dtype).replace("torch.", ""),
        full_size=full_size,
        value_at_test=value,
        forms=measured,
        grad_present=present,
        nonfinite_at_test=nonfinite_test,
        nonfinite_at_zero=nonfinite_zero,
        value_at_zero=value_zero,
        gradcheck=check,
        no_gradient=no_gradient,
        frozen_in_penalty=in_penalty,
        frozen_maybe=maybe,
        notes=notes,
    )


def core_on_copy(user_model: Any, evaluate: Evaluator, device: Any, cap: Optional[int], budget: int) -> CoreResult:
    """The core in float64 on a miniature copy (cut to `cap` values per tensor; None: whole tensors).

    Falls back to float32 if the penalty fails in float64.
    """
    import torch

    failure: Optional[BaseException] = None
    for dtype in (torch.float64, torch.float32):
        model = test_point_copy(user_model, dtype=dtype, device=device, cap=cap)
        try:
            result = run_core(model, evaluate, dtype, full_size=cap is None, budget=budget)
        except AuditError:
            raise
        except (Exception, AuditTimeout) as exc:
            failure = exc
            continue
        if dtype != torch.float64:
            result.notes.append(
                f"the penalty fails in float64 ({type(failure).__name__}: {failure}); measured in float32"
            )
        return result
    assert failure is not None
    raise user_code_error(f"{evaluate.label} (at reglint's test values)", failure)
