"""Measuring the optimizer's weight decay: coupled or decoupled, and how much per step.

For each param group the audit builds a *probe*: an optimizer of the same class with the group's
hyperparameters, over one small float64 tensor holding values of several magnitudes (±0.001 to
±10), and steps it `STEPS` times with an explicit zero data gradient, so that weight decay is the
only force. (Ten steps: RAdam applies its adaptive step only from about step 6, before which
coupled and decoupled decay move a weight identically.) The measured trajectory is compared with
the closed forms (closed_forms.py) for coupled and for decoupled decay: decoupled decay shrinks
every value by the same factor (1 − lr·λ per step), coupled decay in an adaptive optimizer moves
every value by about lr per step whatever λ and |w| are.

The built-in optimizers update each value independently, so a probe of ten values per group
stands for the whole group, whatever the model's size. An optimizer of another class (or a
subclass) may not: it is stepped on a miniature copy of the model instead, and reported as
measured, per parameter, without a verdict.
"""

from __future__ import annotations

import copy
import inspect
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

from reglint.audit import closed_forms
from reglint.audit.copies import fill_tiled, test_point_copy
from reglint.audit.discovery import OptimizerSource, unwrap_optimizer
from reglint.audit.errors import AuditError, AuditTimeout, user_code_error
from reglint.audit.numbers import num
from reglint.audit.params import ParamInfo, unique_parameters
from reglint.audit.precision import model_dtype
from reglint.audit.sandbox import deadline

MAGNITUDES = (1e-3, 1e-2, 1e-1, 1.0, 10.0)
# For optimizers stepped on the model's own (cut) tensors: |w| = 1 first, so a tensor of two values
# still shows the reference magnitude and one other.
UNKNOWN_PATTERN = (1.0, -0.1, 10.0, -0.01, 1e-3, -1.0, 0.1, -10.0, 0.01, -1e-3)
STEPS = 10
STEADY_SETTLED = 1e-9  # run until the momentum transient μ^t has decayed below this ...
STEADY_MAX_STEPS = 5000  # ... or for this many steps
# max |measured − closed form| over the steps, relative to how far the value moved. Not tighter:
# some optimizers keep scalar state in float32 (NAdam's μ product), about 1e-8 off exact math.
MATCH_TOL = 1e-6
ZERO_TOL = 1e-14
HYPER_KEYS = ("lr", "weight_decay", "momentum", "dampening", "nesterov", "betas", "eps", "amsgrad",
              "decoupled_weight_decay", "momentum_decay", "alpha", "centered", "lr_decay",
              "initial_accumulator_value", "maximize")
NONE, COUPLED, DECOUPLED, EQUIVALENT, MEASURED = "none", "coupled", "decoupled", "coupled = decoupled", "measured"


@dataclass(frozen=True)
class Steady:
    """SGD with momentum: the per-step shrink after `steps` steps, measured and in closed form.

    From a fresh buffer the first step shrinks |w| by lr·λ; the momentum buffer then builds up
    to (1 − τ)·λw/(1 − μ), so the steady rate is about lr·λ·(1 − τ)/(1 − μ): ten times lr·λ
    for μ = 0.9. A ten-step average from a fresh buffer is neither number.
    """

    shrink: float
    closed_form: float
    steps: int


@dataclass
class GroupResult:
    index: int
    params: list[int]
    hyper: dict[str, Any]
    mode: str
    declared: Optional[str]
    shrink: dict[float, float]  # |w0| → measured relative shrink per step
    closed_form: dict[str, dict[float, float]] = field(default_factory=dict)
    error: Optional[float] = None  # deviation from the closed form it matches (or the declared one)
    first_step: Optional[float] = None  # shrink of |w| = 1 on the first step, from a fresh state
    steady: Optional[Steady] = None  # SGD with momentum: the rate once the momentum buffer has built up

    @property
    def weight_decay(self) -> float:
        return float(self.hyper.get("weight_decay", 0.0) or 0.0)

    @property
    def lr(self) -> float:
        return float(self.hyper.get("lr", 0.0) or 0.0)

    @property
    def decays(self) -> bool:
        return abs(self.shrink.get(1.0, 0.0)) > ZERO_TOL


@dataclass
class OptimizerResult:
    label: str
    class_name: str
    known: bool
    adaptive: bool
    groups: list[GroupResult]
    group_of: list[Optional[int]]
    per_param: dict[int, dict[float, float]] = field(default_factory=dict)  # unknown classes
    steps: int = STEPS
    notes: list[str] = field(default_factory=list)

    def shrink_of(self, index: int) -> Optional[dict[float, float]]:
        if index in self.per_param:
            return self.per_param[index]
        g = self.group_of[index]
        return self.groups[g].shrink if g is not None else None

    def decay_text(self, index: int) -> str:
        """How much one step shrinks parameter `index` with a zero data gradient, labelled.

        SGD with momentum gets two numbers, the first step from a fresh buffer and the steady rate
        once it has built up; a coupled adaptive optimizer gets the shrink at two magnitudes (they
        differ by orders of magnitude); lr·λ is named where the number is exactly that.
        """
        g = self.group_of[index]
        if g is None:
            return "not optimized"
        group = self.groups[g]
        shrink = self.shrink_of(index) or {}
        s1 = shrink.get(1.0, 0.0)
        lr_lambda = group.lr * group.weight_decay

        def named(x: float) -> str:
            return " (lr·λ)" if lr_lambda > 0 and math.isclose(x, lr_lambda, rel_tol=1e-6) else ""

        if group.steady is not None and group.first_step is not None:
            momentum = float(group.hyper.get("momentum") or 0.0)
            return (f"{num(group.first_step)}/step at first{named(group.first_step)}, "
                    f"{num(group.steady.shrink)}/step steady (momentum {num(momentum)})")
        if abs(s1) <= ZERO_TOL:
            return "no decay"
        if group.mode == COUPLED and self.adaptive and self.known:
            return f"{num(shrink.get(0.01, math.nan))}/step at |w|=0.01, {num(s1)} at |w|=1"
        if group.mode in (COUPLED, DECOUPLED, EQUIVALENT):
            return f"{num(s1)}/step{named(s1)}"
        return f"{num(s1)}/step at |w|=1"


def _plain(value: Any) -> Any:
    if hasattr(value, "item") and getattr(value, "numel", lambda: 2)() == 1:
        return float(value.item())
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    return value


def hyperparameters(group: dict[str, Any]) -> dict[str, Any]:
    return {k: _plain(group[k]) for k in HYPER_KEYS if k in group}


def _shrink(w0: float, wn: float, steps: int) -> float:
    ratio = wn / w0
    if ratio <= 0:
        return math.nan  # crossed or reached zero
    return 1.0 - ratio ** (1.0 / steps)


def _probe_values(dtype: Any, device: Any) -> Any:
    import torch

    values = [m for m in MAGNITUDES] + [-m for m in MAGNITUDES]
    return torch.tensor(values, dtype=dtype, device=device)


def _build(source: OptimizerSource, user_model: Any, device: Any, timeout: Optional[float], notes: list[str]) -> tuple[Any, list[Any]]:
    """The optimizer and the parameter list its tensors are looked up in."""
    if source.instance is not None:
        return source.instance, unique_parameters(user_model)
    assert source.factory is not None
    host = test_point_copy(user_model, dtype=model_dtype(user_model), device=device, cap=4096)
    try:
        with deadline(timeout, source.label):
            built = source.factory(host)
    except (Exception, AuditTimeout) as exc:
        raise user_code_error(source.label, exc) from None
    return unwrap_optimizer(built, source.label, notes), unique_parameters(host)


def _ctor_kwargs(cls: type, defaults: dict[str, Any]) -> dict[str, Any]:
    try:
        names = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return {}
    return {k: v for k, v in defaults.items() if k in names and k != "params"}


def _neutral(group: dict[str, Any]) -> dict[str, Any]:
    """Same math, plainest kernel: the probe is a float64 CPU/GPU tensor of ten values."""
    out = dict(group)
    for key, value in (("foreach", False), ("fused", None), ("capturable", False), ("differentiable", False)):
        if key in out:
            out[key] = value
    return out


@dataclass
class _Measured:
    hyper: dict[str, Any]
    shrink: dict[float, float]
    closed_form: dict[str, dict[float, float]]
    mode: str
    error: Optional[float]
    first_step: float
    steady: Optional[Steady] = None


def _step_probes(opt: Any, probes: list[Any], steps: int, timeout: Optional[float]) -> list[list[list[float]]]:
    """Step `opt` over `probes` with a zero data gradient; each probe's values after every step."""
    import torch

    history = [[p.tolist()] for p in probes]
    with deadline(timeout, f"{type(opt).__name__}.step()"):
        for _ in range(steps):
            for p in probes:
                p.grad = torch.zeros_like(p)
            opt.step()
            for h, p in zip(history, probes):
                h.append(p.tolist())
    return history


def _classify(name: str, hyper: dict[str, Any], start: list[float], hist: list[list[float]]) -> _Measured:
    measured = {MAGNITUDES[k]: _shrink(start[k], hist[-1][k], STEPS) for k in range(len(MAGNITUDES))}
    errors: dict[str, float] = {}
    forms: dict[str, dict[float, float]] = {}
    for mode in (closed_forms.COUPLED, closed_forms.DECOUPLED):
        worst = 0.0
        final = {}
        for k, x0 in enumerate(start):
            traj = closed_forms.trajectory(name, x0, STEPS, hyper, mode)
            moved_by = max(max(abs(traj[t] - x0), abs(hist[t][k] - x0)) for t in range(STEPS + 1))
            diff = max(abs(hist[t][k] - traj[t]) for t in range(STEPS + 1))
            worst = max(worst, diff / moved_by if moved_by > 0 else 0.0)
            if k < len(MAGNITUDES):
                final[MAGNITUDES[k]] = _shrink(x0, traj[-1], STEPS)
        errors[mode], forms[mode] = worst, final
    moved = any(abs(hist[-1][k] - start[k]) > ZERO_TOL * abs(start[k]) for k in range(len(start)))
    coupled_ok, decoupled_ok = errors[COUPLED] <= MATCH_TOL, errors[DECOUPLED] <= MATCH_TOL
    declared = closed_forms.declared_mode(name, hyper)
    err: Optional[float]
    if not moved:
        mode, err = NONE, None
    elif coupled_ok and decoupled_ok:
        mode, err = EQUIVALENT, max(errors.values())
    elif coupled_ok:
        mode, err = COUPLED, errors[COUPLED]
    elif decoupled_ok:
        mode, err = DECOUPLED, errors[DECOUPLED]
    else:
        mode, err = MEASURED, errors[declared]
    unit = MAGNITUDES.index(1.0)
    first = 1.0 - hist[1][unit] / start[unit]
    return _Measured(hyper, measured, forms, mode, err, first)


def _steady_steps(momentum: float) -> int:
    return min(STEADY_MAX_STEPS, max(STEPS, math.ceil(math.log(STEADY_SETTLED) / math.log(momentum))))


def _steady(cls: type, group: dict[str, Any], ctor: dict[str, Any], hyper: dict[str, Any], device: Any,
            timeout: Optional[float]) -> Steady:
    """SGD with momentum, stepped until the buffer has built up: the last step's shrink of |w| = 1."""
    import torch

    steps = _steady_steps(float(hyper["momentum"]))
    probe = torch.ones(1, dtype=torch.float64, device=device)
    opt = cls([{**_neutral(group), "params": [probe]}], **ctor)
    with deadline(timeout, f"{cls.__name__}.step()"):
        previous = 1.0
        for _ in range(steps):
            previous = float(probe)
            probe.grad = torch.zeros_like(probe)
            opt.step()
    traj = closed_forms.trajectory(cls.__name__, 1.0, steps, hyper, closed_forms.COUPLED)
    return Steady(1.0 - float(probe) / previous, 1.0 - traj[-1] / traj[-2], steps)


def _measure_known(opt: Any, device: Any, timeout: Optional[float]) -> list[_Measured]:
    import torch

    cls = type(opt)
    name = cls.__name__
    groups = [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]
    probes = [_probe_values(torch.float64, device) for _ in groups]
    initial = [p.tolist() for p in probes]
    ctor = _neutral(_ctor_kwargs(cls, opt.defaults))
    probe_opt = cls([{**_neutral(g), "params": [p]} for g, p in zip(groups, probes)], **ctor)
    history = _step_probes(probe_opt, probes, STEPS, timeout)
    out = []
    for g, start, hist in zip(groups, initial, history):
        hyper = hyperparameters(g)
        result = _classify(name, hyper, start, hist)
        if name == "SGD" and float(hyper.get("momentum") or 0) > 0 and result.mode != NONE:
            result.steady = _steady(cls, g, ctor, hyper, device, timeout)
        out.append(result)
    return out


def _measure_unknown(opt: Any, source: OptimizerSource, user_model: Any, device: Any,
                     timeout: Optional[float]) -> tuple[Any, dict[int, dict[float, float]]]:
    """Step a copy of an optimizer of unknown class on a miniature model; shrink per parameter."""
    import torch

    host = test_point_copy(user_model, dtype=model_dtype(user_model), device=device, cap=4096)
    params = unique_parameters(host)
    if source.instance is not None:
        memo: dict[int, Any] = {id(p): q for p, q in zip(unique_parameters(user_model), params)}
        memo[id(opt.state)] = defaultdict(dict)
        copy_opt = copy.deepcopy(opt, memo)
        copy_opt.__dict__.pop("step", None)  # an LR scheduler's wrapper would step the original
    else:
        assert source.factory is not None
        with deadline(timeout, source.label):
            copy_opt = unwrap_optimizer(source.factory(host), source.label, [])
    block = torch.tensor(UNKNOWN_PATTERN, dtype=torch.float64, device=device)
    ids = {id(p): i for i, p in enumerate(params)}
    stepped = [ids[id(p)] for g in copy_opt.param_groups for p in g["params"] if id(p) in ids]
    with torch.no_grad():
        for i in stepped:
            fill_tiled(params[i], block.to(params[i].dtype))
    start = {i: params[i].detach().double().reshape(-1).clone() for i in stepped}
    with deadline(timeout, f"{type(opt).__name__}.step()"):
        for _ in range(STEPS):
            for i in stepped:
                params[i].grad = torch.zeros_like(params[i])
            copy_opt.step()
    per_param: dict[int, dict[float, float]] = {}
    period = len(UNKNOWN_PATTERN)
    for i in stepped:
        ratio = params[i].detach().double().reshape(-1) / start[i]
        by_magnitude: dict[float, list[float]] = {}
        for k in range(min(period, ratio.numel())):
            by_magnitude.setdefault(abs(UNKNOWN_PATTERN[k]), []).append(float(ratio[k::period].mean()))
        per_param[i] = {m: _shrink(1.0, sum(r) / len(r), STEPS) for m, r in sorted(by_magnitude.items())}
    return copy_opt, per_param


def unknown_pattern(shrink: dict[float, float]) -> str:
    """Describe an unknown optimizer's measured decay without naming a mechanism it may not use."""
    values = [shrink[m] for m in MAGNITUDES if m in shrink]
    if not values or all(abs(v) <= ZERO_TOL for v in values):
        return NONE
    if any(math.isnan(v) for v in values):
        return "measured: some values reach 0"
    if max(values) - min(values) <= 0.01 * max(abs(v) for v in values):
        return "measured: same shrink at every |w| (decoupled-like)"
    steps = [m * v for m, v in zip(MAGNITUDES, values)]
    if max(steps) - min(steps) <= 0.05 * max(abs(s) for s in steps):
        return "measured: same step at every |w| (coupled-like)"
    return "measured: shrink varies with |w|"


def group_membership(optimizer: Any, tensors: Sequence[Any]) -> tuple[dict[int, int], int]:
    """Which param group of `optimizer` holds each of `tensors` (by position; absent: none), and how
    many tensors the optimizer holds that are not among them."""
    position = {id(t): i for i, t in enumerate(tensors)}
    group_of: dict[int, int] = {}
    foreign = 0
    for gi, group in enumerate(optimizer.param_groups):
        for p in group["params"]:
            i = position.get(id(p))
            if i is None:
                foreign += 1
            else:
                group_of[i] = gi
    return group_of, foreign


def measure_optimizer(source: OptimizerSource, user_model: Any, infos: Sequence[ParamInfo], *, device: Any,
                      timeout: Optional[float]) -> OptimizerResult:
    notes: list[str] = []
    opt, lookup = _build(source, user_model, device, timeout, notes)
    membership, foreign = group_membership(opt, lookup)
    group_of: list[Optional[int]] = [membership.get(i) for i in range(len(infos))]
    if foreign:
        notes.append(f"{foreign} tensor(s) in the optimizer are not parameters of the model")
        if foreign == sum(len(g["params"]) for g in opt.param_groups):
            raise AuditError(f"{source.label} holds none of the model's parameters: was it built for another model?")
    cls = type(opt)
    name = cls.__name__
    known = name in closed_forms.ALGORITHMS and cls.__module__.startswith("torch.optim")
    groups: list[GroupResult] = []
    per_param: dict[int, dict[float, float]] = {}
    members = [[i for i, g in enumerate(group_of) if g == gi] for gi in range(len(opt.param_groups))]
    if known:
        try:
            measured = _measure_known(opt, device, timeout)
        except AuditTimeout as exc:
            raise AuditError(f"{name}.step() {exc}") from None
        for gi, m in enumerate(measured):
            groups.append(GroupResult(gi, members[gi], m.hyper, m.mode, closed_forms.declared_mode(name, m.hyper),
                                      m.shrink, m.closed_form, m.error, m.first_step, m.steady))
    else:
        try:
            _, per_param = _measure_unknown(opt, source, user_model, device, timeout)
        except (Exception, AuditTimeout) as exc:
            notes.append(f"{name} could not be stepped on a copy ({type(exc).__name__}: {exc}): decay not measured")
        for gi, group in enumerate(opt.param_groups):
            sample = next((per_param[i] for i in members[gi] if i in per_param), {})
            groups.append(GroupResult(gi, members[gi], hyperparameters(group), unknown_pattern(sample) if sample else MEASURED, None, sample))
        notes.append(f"{name} is not one of the optimizers reglint has closed forms for: decay reported as measured")
    return OptimizerResult(
        label=source.label,
        class_name=name,
        known=known,
        adaptive=name in closed_forms.ADAPTIVE,
        groups=groups,
        group_of=group_of,
        per_param=per_param,
        notes=notes,
    )
