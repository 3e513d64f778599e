"""From measurements to findings: one Finding per parameter and code, with the numbers.

Each verdict has two parts. The *summary* states what was measured next to what was expected
("gradient = 0.0010·w/‖w‖ (unsquared norm), expected 0.0010·w (L2)"); the *advice* says why it
matters and what to write instead, and is the same for every parameter that measured alike. A
finding's message is both, so that JSON, SARIF and GitHub annotations stand alone; the text report
prints the summary per group of parameters and each advice once, under the table.

`param` names the parameter (its first name if tied) and `data["measured"]` carries the numbers.
Penalty-wide findings (RL103 with no gradient at all, RL304, RL303 without a culprit) have
`param` = None.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

from reglint.audit import forms as F
from reglint.audit.devices import DeviceResult
from reglint.audit.expect import COEFFICIENT_TOL, Expectation
from reglint.audit.numbers import FORM_NAMES, gradient_formula, num
from reglint.audit.optimizer import COUPLED, OptimizerResult
from reglint.audit.params import NO_DECAY_KINDS, ParamInfo
from reglint.audit.penalty import PenaltyResult
from reglint.model import Finding, Severity

# Used only if the static checks have not registered these codes (they normally have).
_FALLBACK = {
    "RL101": ("penalty-includes-bias", Severity.WARNING),
    "RL102": ("unsquared-l2-norm", Severity.WARNING),
    "RL103": ("penalty-without-gradient", Severity.ERROR),
    "RL201": ("coupled-weight-decay", Severity.WARNING),
    "RL202": ("decay-on-bias-and-norm", Severity.WARNING),
    "RL203": ("double-l2", Severity.WARNING),
}
ORDER = ("RL101", "RL102", "RL103", "RL201", "RL202", "RL203", "RL301", "RL302", "RL303", "RL304", "RL305", "RL306")


def rule_meta(code: str) -> tuple[str, Severity]:
    from reglint.registry import get_rule

    try:
        info = get_rule(code)
        return info.name, info.severity
    except Exception:  # registry incomplete (another package failed to import): keep going
        return _FALLBACK.get(code, (code.lower(), Severity.WARNING))


@dataclass(frozen=True)
class Verdict:
    """A finding and the two parts of its message."""

    finding: Finding
    summary: str
    advice: str


@dataclass
class Verdicts:
    entries: list[Verdict] = field(default_factory=list)
    by_param: dict[int, list[str]] = field(default_factory=dict)

    @property
    def findings(self) -> list[Finding]:
        return [e.finding for e in self.entries]

    def add(self, code: str, summary: str, advice: str, index: Optional[int], infos: Sequence[ParamInfo],
            **measured: Any) -> None:
        name, severity = rule_meta(code)
        param = infos[index].name if index is not None else None
        clean = {k: _json(v) for k, v in measured.items() if v is not None}
        message = f"{summary}; {advice}" if advice else summary
        finding = Finding(code=code, name=name, severity=severity, message=message, param=param,
                          data={"measured": clean} if clean else {})
        self.entries.append(Verdict(finding, summary, advice))
        if index is not None:
            codes = self.by_param.setdefault(index, [])
            if code not in codes:
                codes.append(code)


def _json(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    return value


def square_the_norm(c: float, declared: bool) -> str:
    """RL102's fix, written so that following it literally gives the intended pull (not 2λ)."""
    which = "declared" if declared else "measured"
    return ("replace λ·‖w‖ by λ/2·‖w‖² (`lam / 2 * p.pow(2).sum()`: gradient λ·w, the pull of weight_decay=λ), "
            f"or by λ·‖w‖² with λ halved; λ·‖w‖² with the same λ pulls twice as hard (2λ·w). Here λ = {num(c)} "
            f"({which})")


def _penalty_verdicts(v: Verdicts, infos: Sequence[ParamInfo], pen: PenaltyResult, expect: Optional[Expectation]) -> None:
    core = pen.core
    for info in infos:
        i = info.index
        form = pen.forms[i]
        if info.frozen or form is None:
            continue
        data = form.to_json()
        if form.penalized and form.kind != F.UNKNOWN and info.kind in NO_DECAY_KINDS:
            v.add("RL101", f"the penalty pulls this {info.kind} parameter toward 0: gradient = {gradient_formula(form)} "
                  f"({FORM_NAMES[form.kind]}), expected 0",
                  "biases and norm parameters should not be penalized; sum the penalty over weight matrices only "
                  "(`if p.ndim >= 2`)", i, infos, kind=info.kind, **data)
        if form.kind == F.NORM:
            declared = expect is not None and expect.l2 > 0
            c = expect.l2 if expect is not None and declared else form.c
            target = f"{num(c)}·w (L2, declared)" if declared else f"{num(c)}·w (L2)"
            v.add("RL102", f"gradient = {gradient_formula(form)} (unsquared norm: a pull of constant size "
                  f"{num(form.c)} whatever ‖w‖), expected {target}", square_the_norm(c, declared), i, infos, **data)
        if core.nonfinite_at_zero[i]:
            v.add("RL302", "the penalty's gradient is NaN or inf at w = 0",
                  "the derivative of √(Σw²) is w/‖w‖ = 0/0 there; use the squared norm, or add a small eps inside "
                  "the sqrt", i, infos, point="w = 0")
        elif core.nonfinite_at_test[i]:
            v.add("RL302", "the penalty's gradient is NaN or inf at reglint's test values (|w| between 0.1 and 1)",
                  "a NaN gradient poisons every weight it reaches", i, infos, point="test values")
        if expect is not None:
            _expect_verdict(v, infos, i, form, expect)
    if core.no_gradient:
        depends = core.gradcheck.value_depends if core.gradcheck else None
        why = " although its value changes with the parameters" if depends else ""
        v.add("RL103", f"{pen.label} = {core.value_at_test:.6g} at the test values but has no gradient for any "
              f"parameter{why}", "it is built from .item(), .data, .detach() or under no_grad, so adding it to the "
              "loss changes nothing", None, infos, value=core.value_at_test, value_depends=depends)
    if core.gradcheck:
        _gradcheck_verdicts(v, infos, pen)
    if expect is not None and expect.kind != F.NONE:
        if not any(f is not None and f.penalized for f in pen.forms):
            v.add("RL301", f"no parameter is penalized (gradient 0 everywhere), expected {expect.formula()} "
                  f"(declared {expect.text})", "the penalty is not the one declared", None, infos, expected=expect.text)
    _precision_verdicts(v, infos, pen)


def _gradcheck_verdicts(v: Verdicts, infos: Sequence[ParamInfo], pen: PenaltyResult) -> None:
    core = pen.core
    assert core.gradcheck is not None
    for m in core.gradcheck.mismatches:
        names = [infos[i].name for i in m.indices]
        lost = all(not core.grad_present[i] for i in m.indices)
        direction = "w (scaling)" if m.direction == "scale" else "sign(w)"
        group = "" if len(m.indices) == 1 else f" (one of {len(m.indices)} parameters; search budget spent)"
        for i in m.indices:
            if lost:
                v.add("RL103", f"the penalty's value depends on this parameter (finite difference "
                      f"{m.finite_difference:.6g} along {direction}{group}) but autograd gives it no gradient",
                      "that part of the penalty goes through .detach(), .item(), .data or no_grad and does not "
                      "regularize it", i, infos, finite_difference=m.finite_difference, autograd=m.autograd,
                      direction=m.direction)
            else:
                v.add("RL301", f"autograd's directional derivative {m.autograd:.6g} disagrees with the finite "
                      f"difference of the penalty's value {m.finite_difference:.6g} along {direction}{group}",
                      "the gradient is not the gradient of the value (custom autograd Function, in-place edit, "
                      ".data)", i, infos, finite_difference=m.finite_difference, autograd=m.autograd,
                      direction=m.direction, group=names if len(names) > 1 else None)


def _expect_verdict(v: Verdicts, infos: Sequence[ParamInfo], i: int, form: F.Form, expect: Expectation) -> None:
    if not form.penalized and expect.kind != F.NONE:
        return  # the expectation is about the parameters that are penalized
    measured = f"{gradient_formula(form)} ({FORM_NAMES[form.kind]})"
    if form.kind == F.NORM and expect.kind == F.L2:
        return  # RL102 already says it, with the declared coefficient
    if form.kind != expect.kind:
        v.add("RL301", f"gradient = {measured}, expected {expect.formula()} ({FORM_NAMES[expect.kind]}; declared "
              f"{expect.text})", "the penalty does not have the declared form", i, infos, expected=expect.text,
              **form.to_json())
        return
    pairs = []
    if form.kind in (F.L2, F.ELASTIC):
        pairs.append(("l2", form.a, expect.l2))
    if form.kind in (F.L1, F.ELASTIC):
        pairs.append(("l1", form.b, expect.l1))
    for key, got, want in pairs:
        if abs(got - want) > COEFFICIENT_TOL * want:
            ratio = got / want if want else math.inf
            hint = "the coefficient in the code is not the declared one"
            if key == "l2" and abs(ratio - 2) < 0.02:
                hint = "λ·Σw² has gradient 2λ·w; write λ/2·Σw² (or declare l2=2λ)"
            elif key == "l2" and abs(ratio - 0.5) < 0.01:
                hint = "λ/4·Σw² or a mean over two terms? λ/2·Σw² has gradient λ·w"
            v.add("RL305", f"gradient = {measured}, expected {expect.formula()} (declared {expect.text}): the "
                  f"measured {key.upper()} coefficient is {ratio:.3g}× the declared one", hint, i, infos,
                  expected=expect.text, ratio=ratio, **form.to_json())


def _precision_verdicts(v: Verdicts, infos: Sequence[ParamInfo], pen: PenaltyResult) -> None:
    p = pen.precision
    if p is None or not p.flagged:
        return
    if p.overflow:
        what = f"overflows to {p.value:g} (largest {p.dtype}: {p.largest:g}); float64 gives {p.reference:.6g}"
    else:
        what = f"is {p.value:.6g}, float64 gives {p.reference:.6g} ({p.relative_error:.1%} off)"
    fix = "compute the penalty in float32 (`p.float().pow(2).sum()`) and cast the result"
    if p.overflowing:
        for i, total in p.overflowing:
            v.add("RL303", f"in {p.dtype} the penalty {what}: this parameter's own Σw² is {total:.3g}", fix, i, infos,
                  dtype=p.dtype, value=p.value, reference=p.reference, sum_of_squares=total)
    else:
        v.add("RL303", f"in {p.dtype} the penalty {what}", fix, None, infos, dtype=p.dtype, value=p.value,
              reference=p.reference, relative_error=p.relative_error)


def _device_verdicts(v: Verdicts, infos: Sequence[ParamInfo], dev: Optional[DeviceResult], label: str) -> None:
    if dev is None or not dev.flagged:
        return
    where = "simulated on the meta device, as on a GPU: " if dev.simulated else f"on {dev.device}: "
    made = f" (tensors made on the CPU without device=: {', '.join(dev.cpu_factories)})" if dev.cpu_factories else ""
    if dev.error:
        summary, advice = f"{where}{label} raises {dev.error}{made}", "create tensors with device=p.device or start from 0."
    elif dev.off_device:
        summary = f"{where}{label} returns a result on {dev.result_device} while the parameters are on {dev.device}{made}"
        advice = "the penalty leaves the model's device; create tensors with device=p.device or start from 0."
    elif dev.transfers:
        summary = f"{where}{label} copies data off the parameters' device ({', '.join(dev.transfers)})"
        advice = "a host sync every step, and no gradient through it"
    else:
        summary, advice = f"{where}{dev.mismatch}", "the penalty's value differs between devices"
    v.add("RL304", summary, advice, None, infos, device=dev.device, simulated=dev.simulated, error=dev.error,
          transfers=dev.transfers or None, cpu_factories=dev.cpu_factories or None, result_device=dev.result_device,
          mismatch=dev.mismatch)


def _optimizer_verdicts(v: Verdicts, infos: Sequence[ParamInfo], opt: OptimizerResult, pen: Optional[PenaltyResult]) -> None:
    for info in infos:
        i = info.index
        g = opt.group_of[i]
        if info.frozen or g is None:
            continue
        group = opt.groups[g]
        shrink = opt.shrink_of(i) or {}
        s1 = shrink.get(1.0, 0.0)
        decays = abs(s1) > 1e-14
        decay = opt.decay_text(i)
        numbers = dict(optimizer=opt.class_name, group=g, lr=group.lr, weight_decay=group.weight_decay,
                       mode=group.mode, shrink_per_step={str(k): s for k, s in shrink.items()},
                       first_step=group.first_step,
                       steady=None if group.steady is None else {"shrink": group.steady.shrink, "steps": group.steady.steps,
                                                                "closed_form": group.steady.closed_form})
        if opt.known and opt.adaptive and group.mode == COUPLED and group.weight_decay > 0:
            v.add("RL201", f"{opt.class_name} applies weight_decay={num(group.weight_decay)} as coupled L2: with a zero "
                  f"data gradient it shrinks |w| by {decay}, expected {num(group.lr * group.weight_decay)}/step at "
                  "every |w| (decoupled, lr·λ)",
                  "coupled decay is divided by the adaptive denominator, so each weight moves about lr per step "
                  "whatever λ and |w|; use AdamW or decoupled_weight_decay=True (λ then means a per-step shrink of "
                  "lr·λ)", i, infos, **numbers)
        if decays and info.kind in NO_DECAY_KINDS:
            v.add("RL202", f"{opt.class_name} decays this {info.kind} parameter by {decay} in param group {g} "
                  f"(weight_decay={num(group.weight_decay)}), expected 0",
                  "give biases and norm parameters a param group with weight_decay=0 (`[{'params': decay}, "
                  "{'params': no_decay, 'weight_decay': 0.0}]`, no_decay = the parameters with p.ndim < 2)",
                  i, infos, **numbers)
        form = pen.forms[i] if pen is not None else None
        if decays and form is not None and form.l2_like:
            v.add("RL203", f"regularized twice: {opt.class_name} (weight_decay={num(group.weight_decay)}) shrinks "
                  f"it by {decay} and the penalty adds gradient {gradient_formula(form)}",
                  "keep one of the two", i, infos, penalty=form.to_json(), **numbers)


def build_findings(infos: Sequence[ParamInfo], pen: Optional[PenaltyResult], dev: Optional[DeviceResult],
                   opt: Optional[OptimizerResult], expect: Optional[Expectation]) -> Verdicts:
    v = Verdicts()
    if pen is not None:
        _penalty_verdicts(v, infos, pen, expect)
        _device_verdicts(v, infos, dev, pen.label)
    if opt is not None:
        _optimizer_verdicts(v, infos, opt, pen)
    position = {info.name: info.index for info in infos}
    v.entries.sort(key=lambda e: (ORDER.index(e.finding.code) if e.finding.code in ORDER else 99,
                                  position.get(e.finding.param or "", -1)))
    for codes in v.by_param.values():
        codes.sort(key=lambda c: ORDER.index(c) if c in ORDER else 99)
    return v
