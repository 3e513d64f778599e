"""`run_audit`: measure a model's penalty and optimizer and turn the numbers into findings.

This is the audit without the command line: give it a model, a penalty function of a model, and an
optimizer (an instance on the model's parameters, or a function that builds one for a model). It
works on copies only: the model, its gradients, the optimizer and its state, and the RNG state of
Python, torch and numpy are the same afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Union

from reglint.audit.copies import meta_copy, test_point_copy
from reglint.audit.devices import DeviceResult, compare_values, run_on_device
from reglint.audit.discovery import OptimizerSource
from reglint.audit.errors import AuditError
from reglint.audit.evaluate import Evaluator
from reglint.audit.expect import Expectation, parse_expect
from reglint.audit.optimizer import OptimizerResult, measure_optimizer
from reglint.audit.params import ParamInfo, all_names, describe_parameters
from reglint.audit.penalty import DEFAULT_CAP, PenaltyResult, measure_penalty
from reglint.audit.precision import model_dtype
from reglint.audit.sandbox import preserved_rng
from reglint.audit.table import Row, build_rows
from reglint.audit.text_report import Header, finding_groups
from reglint.audit.verdicts import Verdict, build_findings
from reglint.model import Finding

DEFAULT_TIMEOUT = 60.0


@dataclass
class AuditReport:
    infos: list[ParamInfo]
    penalty: Optional[PenaltyResult]
    device: Optional[DeviceResult]
    optimizer: Optional[OptimizerResult]
    expectation: Optional[Expectation]
    verdicts: list[Verdict]
    rows: list[Row]
    header: Header
    audit_device: str
    notes: list[str] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        return [v.finding for v in self.verdicts]

    @property
    def names(self) -> list[str]:
        """Every name of the model's parameters: what group labels are honest against."""
        return all_names(self.infos)

    def groups_json(self) -> list[dict[str, Any]]:
        """The findings grouped as the text report shows them: one entry per code and measurement."""
        out = []
        for g in finding_groups(self.verdicts, self.names):
            first = g.items[0].finding
            out.append({"code": first.code, "severity": str(first.severity), "count": g.count, "label": g.label,
                        "params": g.names, "message": first.message})
        return out

    def to_json(self) -> dict[str, Any]:
        """The table and the measurement set-up, for the JSON report's summary."""
        pen, opt = self.penalty, self.optimizer
        return {
            "target": self.header.target,
            "device": self.audit_device,
            "model": self.header.model,
            "penalty": None if pen is None else {
                "source": pen.label, "value": pen.value_current, "measured_on": pen.measured_on,
                "finite_difference_evaluations": pen.core.gradcheck.evaluations if pen.core.gradcheck else 0,
            },
            "optimizer": None if opt is None else {
                "source": opt.label, "class": opt.class_name, "known": opt.known, "steps": opt.steps,
                "groups": [{"index": g.index, "mode": g.mode, "declared": g.declared, "hyperparameters": g.hyper,
                            "shrink_per_step": {str(k): v for k, v in g.shrink.items()},
                            "closed_form_shrink": {m: {str(k): v for k, v in s.items()} for m, s in g.closed_form.items()},
                            "closed_form_error": g.error} for g in opt.groups],
            },
            "expect": self.expectation.text if self.expectation else None,
            "rows": [r.to_json() for r in self.rows],
            "groups": self.groups_json(),
            "notes": self.notes,
        }


def resolve_device(device: str) -> str:
    import torch

    wanted = device.lower()
    if wanted == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if wanted.startswith("cuda") and not torch.cuda.is_available():
        raise AuditError("--device cuda: no CUDA device is available here. Without a GPU, the default run "
                         "(--device cpu) already checks the penalty against a GPU's device rules on PyTorch's meta "
                         "device (RL304, reported as simulated); use --device cpu, or auto to take a GPU when "
                         "there is one")
    if wanted not in ("cpu",) and not wanted.startswith("cuda"):
        raise AuditError(f"--device {device!r}: choose cpu, cuda or auto")
    return wanted


def _core_cap(model: Any, cap: Optional[int]) -> Optional[int]:
    large = cap is not None and any(p.numel() > cap for p in model.parameters())
    return cap if large else None


def _probe_device(model: Any, evaluate: Evaluator, device: str, cap: Optional[int]) -> DeviceResult:
    """Run the penalty once on `device` (simulated on meta for cpu) under the move recorder."""
    import torch

    if device == "cpu":
        return run_on_device(meta_copy(model), evaluate, "meta", simulated=True)
    on_device = test_point_copy(model, dtype=torch.float64, device=device, cap=_core_cap(model, cap))
    return run_on_device(on_device, evaluate, "cuda", simulated=False)


def _cpu_value(model: Any, evaluate: Evaluator, pen: PenaltyResult, cap: Optional[int]) -> float:
    """The penalty at the core's test point, computed on the CPU (to compare with the GPU)."""
    import torch

    dtype = getattr(torch, pen.core.dtype)
    core_cap = None if pen.core.full_size else _core_cap(model, cap)
    return float(evaluate(test_point_copy(model, dtype=dtype, device="cpu", cap=core_cap)))


def _summaries(infos: list[ParamInfo], model: Any, model_label: str, device: str) -> str:
    values = sum(i.numel for i in infos)
    dtype = str(model_dtype(model)).replace("torch.", "")
    return (f"{model_label}: {type(model).__name__}, {len(infos)} parameter tensors, {values:,} values, {dtype}; "
            f"audited on {device}")


def run_audit(
    model: Any,
    penalty: Optional[Callable[[Any], Any]] = None,
    optimizer: Union[None, Any, Callable[[Any], Any], OptimizerSource] = None,
    *,
    device: str = "cpu",
    expect: Optional[str] = None,
    timeout: Optional[float] = DEFAULT_TIMEOUT,
    cap: Optional[int] = DEFAULT_CAP,
    target: str = "<model>",
    model_label: str = "model",
    penalty_label: str = "penalty(model)",
    notes: Optional[list[str]] = None,
    expect_source: str = "declared",
) -> AuditReport:
    import torch

    if not isinstance(model, torch.nn.Module):
        raise AuditError(f"the model is a {type(model).__name__}, not a torch.nn.Module")
    audit_device = resolve_device(device)
    expectation = parse_expect(expect)
    source: Optional[OptimizerSource]
    if optimizer is None or isinstance(optimizer, OptimizerSource):
        source = optimizer
    elif isinstance(optimizer, torch.optim.Optimizer):
        source = OptimizerSource(label="optimizer", instance=optimizer)
    elif callable(optimizer):
        source = OptimizerSource(label="optimizer(model)", factory=optimizer)
    else:
        raise AuditError(f"the optimizer is a {type(optimizer).__name__}, not an optimizer or a function of the model")
    all_notes = list(notes or [])
    if source is not None and source.unavailable:
        if penalty is None:
            raise AuditError(source.unavailable)
        # measure what can be measured: the penalty, and say why the optimizer is not
        all_notes.append(f"optimizer not audited: {source.unavailable}")
        source = None
    infos = describe_parameters(model)
    if not infos:
        raise AuditError(f"{model_label} has no parameters: nothing to audit")
    pen = dev = opt = None
    with preserved_rng(cuda=audit_device.startswith("cuda")):
        if penalty is not None:
            evaluate = Evaluator(penalty, penalty_label, timeout)
            measure_on = audit_device
            if audit_device != "cpu":
                dev = _probe_device(model, evaluate, audit_device, cap)
                if dev.raised:
                    measure_on = "cpu"
                    all_notes.append(f"the penalty fails on {audit_device}: measured on cpu")
            pen = measure_penalty(model, penalty, penalty_label, infos, device=measure_on, timeout=timeout, cap=cap)
            if audit_device == "cpu":
                dev = _probe_device(model, evaluate, "cpu", cap)
            elif dev is not None and not dev.raised:
                compare_values(dev, pen.core.value_at_test, _cpu_value(model, evaluate, pen, cap))
            if dev is not None and dev.inconclusive:
                all_notes.append(f"RL304 device check inconclusive: the penalty raised {dev.inconclusive}")
            all_notes.extend(pen.notes)
            all_notes.extend(_frozen_notes(pen, infos))
        if source is not None:
            opt = measure_optimizer(source, model, infos, device=audit_device, timeout=timeout)
            all_notes.extend(opt.notes)
    verdicts = build_findings(infos, pen, dev, opt, expectation)
    rows = build_rows(infos, pen, opt, verdicts.by_param)
    header = Header(
        target=target,
        model=_summaries(infos, model, model_label, audit_device),
        penalty=None if pen is None else f"{pen.label} = {pen.value_current:.6g} at the current weights; measured on a {pen.measured_on}",
        optimizer=None if opt is None else _optimizer_line(opt),
        expect=None if expectation is None else f"{expectation.text} ({expect_source}): {_expect_meaning(expectation)}",
        notes=all_notes,
    )
    return AuditReport(infos, pen, dev, opt, expectation, verdicts.entries, rows, header, audit_device, all_notes)


def _expect_meaning(expectation: Expectation) -> str:
    from reglint.audit.forms import NONE

    if expectation.kind == NONE:
        return "no penalty"
    return f"gradient {expectation.formula()} on every penalized parameter"


def _frozen_notes(pen: PenaltyResult, infos: list[ParamInfo]) -> list[str]:
    """A penalty that sums frozen parameters carries a constant: say so (it is no finding)."""
    from reglint.audit.grouping import compact_label

    out = []
    every = all_names(infos)
    if pen.core.frozen_in_penalty:
        names = [infos[i].name for i in pen.core.frozen_in_penalty]
        out.append(f"the penalty also sums frozen parameters ({compact_label(names, every)}; requires_grad=False): "
                   "a constant term that regularizes nothing and only shifts the loss")
    if pen.core.frozen_maybe:
        names = [infos[i].name for i in pen.core.frozen_maybe]
        out.append(f"the penalty also sums one or more of the frozen parameters {compact_label(names, every)} "
                   "(search budget spent): a constant term that regularizes nothing")
    return out


def _optimizer_line(opt: OptimizerResult) -> str:
    from reglint.audit.numbers import num

    parts = []
    for g in opt.groups:
        wd = g.hyper.get("weight_decay", 0)
        parts.append(f"g{g.index}: {len(g.params)} tensors, lr={num(g.lr)}, weight_decay={num(float(wd or 0))}")
    return f"{opt.class_name} from {opt.label}; {'; '.join(parts)}; {opt.steps} steps on probes"
