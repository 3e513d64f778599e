"""Measuring the penalty: its form per parameter, its gradient, at zero, in low precision.

Order of work, chosen so that a 100M-parameter model costs a few penalty backwards and one copy
of its parameters (in the model's dtype) at most:

1. A deep copy of the model, as it is, gets the first call. This is where the user's own errors
   surface (exit 2 with their traceback), where a penalty that ignores its argument and uses a
   global model is caught, and (float16/bfloat16 models) where RL303 compares with float64.
2. The *core* (core.py) runs in float64 on a miniature copy (each tensor cut to `cap` values, see
   copies.py; for a small model that is the whole model): the gradient at the test point w and at
   2·w fitted to the analytic forms (forms.py), the gradient at w = 0 (RL302), the
   finite-difference check of the gradient (gradcheck.py, RL301/RL103) and the frozen parameters
   the penalty sums.
3. If some tensor was cut, the copy of step 1 becomes a full-size copy in the model's dtype
   holding the test values, and each cut tensor's form is measured on it (full_size.py): the
   reported coefficients are the full tensors' own (a `.mean()` divides by the full numel).
   If the penalty fails on the miniature (it runs the model's forward pass, say), the core runs
   on that full-size copy instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from reglint.audit import forms
from reglint.audit.copies import structure_copy
from reglint.audit.core import CoreResult, core_on_copy, run_core
from reglint.audit.errors import AuditError, AuditTimeout, user_code_error
from reglint.audit.evaluate import Evaluator
from reglint.audit.full_size import FULL_BUDGET, FullSize, measure_full_size, prepare, work_dtype
from reglint.audit.params import ParamInfo
from reglint.audit.precision import PrecisionResult, compare, low_precision, model_dtype

DEFAULT_CAP = 4096
CORE_BUDGET = 400  # finite-difference evaluations on the miniature


@dataclass
class PenaltyResult:
    label: str
    value_current: float
    dtype: str
    core: CoreResult
    forms: list[Optional[forms.Form]]
    full_size: list[bool]  # measured on the full tensor (it was cut in the miniature)
    precision: Optional[PrecisionResult]
    measured_on: str
    notes: list[str] = field(default_factory=list)


def _leaves(value: Any) -> set[int]:
    """ids of the leaf tensors the autograd graph of `value` reaches."""
    out: set[int] = set()
    seen: set[int] = set()
    stack = [value.grad_fn] if value.grad_fn is not None else []
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        variable = getattr(node, "variable", None)
        if variable is not None:
            out.add(id(variable))
        stack.extend(n for n, _ in getattr(node, "next_functions", ()))
    return out


def first_call(user_model: Any, evaluate: Evaluator) -> tuple[Any, Any]:
    """Copy the model and call the penalty on it; exit-2 errors for the user's mistakes.

    The copy takes the parameters' values, not their `.grad`s (a model audited mid-training would
    otherwise cost a second copy of its size).
    """
    first = structure_copy(user_model, lambda _index, p: p.detach().clone())
    try:
        value = evaluate(first, strict=True)
    except AuditError:
        raise
    except (Exception, AuditTimeout) as exc:
        raise user_code_error(evaluate.label, exc) from None
    if value.requires_grad:
        reached = _leaves(value)
        mine = {id(p) for p in first.parameters()}
        theirs = {id(p) for p in user_model.parameters()}
        if reached and not reached & mine and reached & theirs:
            raise AuditError(
                f"{evaluate.label} computes the penalty of a global model, not of its argument: reglint "
                "calls it on copies, so write it in terms of the model it is given"
            )
    return first, value.detach()


def _low_precision_check(first: Any, value: Any, evaluate: Evaluator, notes: list[str]) -> Optional[PrecisionResult]:
    import torch

    dtype = model_dtype(first)
    if not low_precision(dtype):
        return None
    with torch.no_grad():
        first.double()
    try:
        reference = evaluate(first)
    except (Exception, AuditTimeout) as exc:
        notes.append(f"RL303 not checked: the penalty fails in float64 ({type(exc).__name__}: {exc})")
        return None
    return compare(value, reference.detach(), dtype, first)


def _merge_full_size(core: CoreResult, full: FullSize) -> None:
    """Fold what the full-size measurement found into the core's verdict inputs."""
    for i in full.nonfinite:
        core.nonfinite_at_test[i] = True
    if full.gradcheck is not None and core.gradcheck is not None:
        core.gradcheck.mismatches.extend(full.gradcheck.mismatches)
        core.gradcheck.evaluations += full.gradcheck.evaluations


def measure_penalty(
    user_model: Any,
    fn: Callable[[Any], Any],
    label: str,
    infos: Sequence[ParamInfo],
    *,
    device: Any,
    timeout: Optional[float],
    cap: Optional[int] = DEFAULT_CAP,
) -> PenaltyResult:
    import torch

    evaluate = Evaluator(fn, label, timeout)
    notes: list[str] = []
    first, value = first_call(user_model, evaluate)
    dtype = model_dtype(first)
    precision = _low_precision_check(first, value, evaluate, notes)
    large = cap is not None and any(info.numel > cap for info in infos)
    full_size = [False] * len(infos)
    if not large:
        del first
        core = core_on_copy(user_model, evaluate, device, None, CORE_BUDGET)
        measured_forms, measured_on = list(core.forms), f"{core.dtype} copy"
    else:
        assert cap is not None
        try:
            core = core_on_copy(user_model, evaluate, device, cap, CORE_BUDGET)
        except AuditError as exc:
            # e.g. a penalty that runs the model's forward pass: the cut tensors do not fit together
            notes.append(f"the penalty fails on the miniature copy ({exc.message}): measured at full size")
            work = prepare(first, device)
            core = _full_size_core(work, evaluate)
            del first, work
            measured_forms, measured_on = list(core.forms), f"{core.dtype} full-size copy"
        else:
            measured_forms = list(core.forms)
            measured_on = f"{core.dtype} miniature (≤{cap:,} values per tensor)"
            try:
                full = measure_full_size(prepare(first, device), evaluate, core, infos, cap)
            except (Exception, AuditTimeout) as exc:
                notes.append(f"full-size check failed ({type(exc).__name__}: {exc}); forms and coefficients "
                             "from the miniature")
            else:
                measured_forms, full_size = full.forms, full.measured
                _merge_full_size(core, full)
                notes.extend(full.notes)
                measured_on += f"; tensors above that measured at full size in {full.dtype}"
            del first
    if torch.cuda.is_available() and str(device).startswith("cuda"):
        torch.cuda.empty_cache()
    return PenaltyResult(
        label=label,
        value_current=float(value),
        dtype=str(dtype).replace("torch.", ""),
        core=core,
        forms=measured_forms,
        full_size=full_size,
        precision=precision,
        measured_on=measured_on,
        notes=notes + core.notes,
    )


def _full_size_core(copy: Any, evaluate: Evaluator) -> CoreResult:
    """The core on the prepared full-size copy, in its dtype; the user's errors end the audit."""
    try:
        return run_core(copy, evaluate, work_dtype(copy), full_size=True, budget=FULL_BUDGET)
    except AuditError:
        raise
    except (Exception, AuditTimeout) as exc:
        raise user_code_error(f"{evaluate.label} (at reglint's test values, full size)", exc) from None
