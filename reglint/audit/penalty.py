"""Measuring the penalty: its form per parameter, its gradient, at zero, in low precision.

Order of work, chosen so that a 100M-parameter model costs about two penalty evaluations and two
copies of its parameters at most:

1. A deep copy of the model, as it is, gets the first call. This is where the user's own errors
   surface (exit 2 with their traceback), where a penalty that ignores its argument and uses a
   global model is caught, and (float16/bfloat16 models) where RL303 compares with float64.
2. The *core* runs in float64 on a miniature copy (each tensor cut to `cap` values, see copies.py;
   for a small model that is the whole model): the gradient at the test point w and at 2·w fitted
   to the analytic forms (forms.py), the gradient at w = 0 (RL302), and the finite-difference
   check of the gradient (gradcheck.py, RL301/RL103).
3. If some tensor was cut, the full-size copy (float32 at least) gets the test values and one
   penalty backward: each coefficient is refitted on the full tensor, and the miniature's form must
   account for the full gradient (a penalty that depends on the tensor's size, like `.mean()`, only
   changes the coefficient; one that changes form makes the audit redo the core at full size).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from reglint.audit import forms, gradcheck
from reglint.audit.copies import deepcopy_model, refill, test_block, test_point_copy
from reglint.audit.errors import AuditError, AuditTimeout, user_code_error
from reglint.audit.params import ParamInfo, unique_parameters
from reglint.audit.precision import PrecisionResult, compare, low_precision, model_dtype
from reglint.audit.sandbox import call_penalty

DEFAULT_CAP = 4096
CORE_BUDGET = 400  # finite-difference evaluations on the miniature
FULL_BUDGET = 24  # ... and when the core has to run at full size


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
    notes: list[str] = field(default_factory=list)


@dataclass
class PenaltyResult:
    label: str
    value_current: float
    dtype: str
    core: CoreResult
    forms: list[Optional[forms.Form]]
    refitted: list[bool]
    precision: Optional[PrecisionResult]
    measured_on: str
    notes: list[str] = field(default_factory=list)


class Evaluator:
    """Calls the penalty on a given copy; errors become AuditErrors naming the phase."""

    def __init__(self, fn: Callable[[Any], Any], label: str, timeout: Optional[float]) -> None:
        self.fn, self.label, self.timeout = fn, label, timeout

    def __call__(self, model: Any, strict: bool = False) -> Any:
        return call_penalty(self.fn, model, self.label, self.timeout, strict)

    def value_and_grads(self, model: Any, params: Sequence[Any], trainable: Sequence[int]) -> tuple[Any, list[Optional[Any]]]:
        import torch

        grads: list[Optional[Any]] = [None] * len(params)
        with torch.enable_grad():
            value = self(model)
            inputs = [params[i] for i in trainable]
            if value.requires_grad and inputs:
                got = torch.autograd.grad(value, inputs, allow_unused=True)
                for i, g in zip(trainable, got):
                    grads[i] = g
        return value.detach(), grads


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
    """Copy the model and call the penalty on it; exit-2 errors for the user's mistakes."""
    first = deepcopy_model(user_model)
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


def _dot(x: Any, y: Any) -> float:
    return float((x.detach().double().reshape(-1) * y.detach().double().reshape(-1)).sum())


def run_core(model: Any, evaluate: Evaluator, dtype: Any, *, full_size: bool, budget: int) -> CoreResult:
    """Forms, RL302 and the gradient check on `model`, a copy holding the test values."""
    import torch

    params = unique_parameters(model)
    trainable = [i for i, p in enumerate(params) if p.requires_grad]
    notes: list[str] = []
    value, grads = evaluate.value_and_grads(model, params, trainable)
    n = len(params)
    at_w: list[Optional[forms.PointFit]] = [None] * n
    present = [False] * n
    nonfinite_test = [False] * n
    ag: dict[str, Sequence[float]] = {}
    ag_scale, ag_sign = [0.0] * n, [0.0] * n
    for i in trainable:
        g = grads[i]
        fit = at_w[i] = forms.fit_point(g, params[i])
        nonfinite_test[i] = not fit.finite
        present[i] = g is not None and fit.gnorm != 0.0
        if g is not None and fit.finite:
            ag_scale[i] = _dot(g, params[i])
            ag_sign[i] = _dot(g, torch.sign(params[i]))
    ag["scale"], ag["sign"] = ag_scale, ag_sign
    del grads

    at_2w: list[Optional[forms.PointFit]] = [None] * n
    try:
        refill(model, dtype, scale=forms.POINT_SCALE)
        _, grads2 = evaluate.value_and_grads(model, params, trainable)
        for i in trainable:
            at_2w[i] = forms.fit_point(grads2[i], params[i])
        del grads2
    except (Exception, AuditTimeout) as exc:
        notes.append(f"penalty fails at 2·w ({type(exc).__name__}: {exc}): L2 and unsquared norm not told apart")
        at_2w = [None] * n

    nonfinite_zero = [False] * n
    value_zero: Optional[float] = None
    try:
        with torch.no_grad():
            for p in params:
                p.zero_()
        vz, grads0 = evaluate.value_and_grads(model, params, trainable)
        value_zero = float(vz)
        for i in trainable:
            g = grads0[i]
            nonfinite_zero[i] = g is not None and not bool(torch.isfinite(g).all())
        del grads0
    except (Exception, AuditTimeout) as exc:
        notes.append(f"penalty fails at w = 0 ({type(exc).__name__}: {exc}): RL302 not checked")
    refill(model, dtype)

    measured: list[Optional[forms.Form]] = []
    for fit_w, fit_2w in zip(at_w, at_2w):
        measured.append(forms.classify(fit_w, fit_2w) if fit_w is not None else None)
    no_gradient = float(value) != 0.0 and not any(present)
    candidates = [i for i in trainable if not nonfinite_test[i]]

    def value_now() -> Any:
        return evaluate(model)

    check = gradcheck.check_gradients(value_now, params, candidates, ag, budget, locate=not no_gradient)
    return CoreResult(
        dtype=str(dtype).replace("torch.", ""),
        full_size=full_size,
        value_at_test=float(value),
        forms=measured,
        grad_present=present,
        nonfinite_at_test=nonfinite_test,
        nonfinite_at_zero=nonfinite_zero,
        value_at_zero=value_zero,
        gradcheck=check,
        no_gradient=no_gradient,
        notes=notes,
    )


def core_on_copy(user_model: Any, evaluate: Evaluator, device: Any, cap: Optional[int], budget: int) -> CoreResult:
    """The core in float64 on a (miniature) copy; in float32 if the penalty fails in float64."""
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


def _streamed_stats(first: Any, evaluate: Evaluator, params: Sequence[Any], wanted: set[int], signs: Any) -> dict[int, forms.FullStats]:
    """One penalty backward on `first`, each gradient reduced to its sums and freed on arrival.

    A post-accumulate-grad hook on every parameter of the copy takes the sums and drops `.grad`
    at once, so the gradients of a 100M-parameter model never all exist together: the backward
    needs the copy plus a few tensors in flight, not a second copy of the model.
    """
    import torch

    index = {id(p): i for i, p in enumerate(params)}
    stats: dict[int, forms.FullStats] = {}

    def take(p: Any) -> None:
        i = index[id(p)]
        if i in wanted:
            stats[i] = forms.full_stats(p.grad, p, signs)
        p.grad = None

    handles = [p.register_post_accumulate_grad_hook(take) for p in params if p.requires_grad]
    try:
        with torch.enable_grad():
            value = evaluate(first)
            if value.requires_grad:
                value.backward()
    finally:
        for handle in handles:
            handle.remove()
        for p in params:
            p.grad = None
    return stats


def full_pass(first: Any, evaluate: Evaluator, core: CoreResult, infos: Sequence[ParamInfo], cap: int) -> tuple[list[Optional[forms.Form]], list[bool], bool]:
    """Refit the core's forms on the full-size tensors; False if some form does not carry over."""
    import torch

    dtype = model_dtype(first)
    work = dtype if dtype in (torch.float32, torch.float64) else torch.float32
    with torch.no_grad():
        first.to(dtype=work)
    refill(first, work)
    params = unique_parameters(first)
    signs = torch.sign(test_block(work, params[0].device)) if params else None
    wanted = {
        i for i, p in enumerate(params)
        if p.requires_grad and core.forms[i] is not None and infos[i].numel > cap
    }
    stats = _streamed_stats(first, evaluate, params, wanted, signs)
    out: list[Optional[forms.Form]] = list(core.forms)
    refitted = [False] * len(params)
    for i in sorted(wanted):
        form = core.forms[i]
        assert form is not None
        if form.kind == forms.UNKNOWN:
            continue
        new = forms.rescale_to_full(form, stats.get(i) or forms.full_stats(None, params[i], signs))
        if new is None:
            return out, refitted, False
        out[i] = new
        refitted[i] = True
    return out, refitted, True


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
    try:
        core = core_on_copy(user_model, evaluate, device, cap if large else None, CORE_BUDGET)
    except AuditError as exc:
        if not large:
            raise
        # e.g. a penalty that runs the model's forward pass: the cut tensors do not fit together
        notes.append(f"the penalty fails on the miniature copy ({exc.message}): measured at full size")
        large = False
        core = core_on_copy(user_model, evaluate, device, None, FULL_BUDGET)
    assert cap is not None or not large
    measured_forms = list(core.forms)
    refitted = [False] * len(infos)
    measured_on = f"{core.dtype} copy"
    if large:
        first = first.to(device)
        try:
            full_forms, refitted, consistent = full_pass(first, evaluate, core, infos, cap or 0)
        except (Exception, AuditTimeout) as exc:
            notes.append(f"full-size check failed ({type(exc).__name__}: {exc}); coefficients from the miniature")
            full_forms, consistent = measured_forms, True
        del first
        if consistent:
            measured_forms = full_forms
            measured_on = f"{core.dtype} miniature (≤{cap} values per tensor), coefficients refitted on the full tensors"
        else:
            notes.append("the penalty's form depends on the tensors' size: measured again at full size")
            core = core_on_copy(user_model, evaluate, device, None, FULL_BUDGET)
            measured_forms, refitted = list(core.forms), [False] * len(infos)
            measured_on = f"{core.dtype} full-size copy"
    else:
        del first
    if torch.cuda.is_available() and str(device).startswith("cuda"):
        torch.cuda.empty_cache()
    return PenaltyResult(
        label=label,
        value_current=float(value),
        dtype=str(dtype).replace("torch.", ""),
        core=core,
        forms=measured_forms,
        refitted=refitted,
        precision=precision,
        measured_on=measured_on,
        notes=notes + core.notes,
    )
