"""The distributed audit's report: RL306 findings, a table of alike parameters, notes; or exit 2.

`build_report` turns the ranks' results and the one-process result (with its numbers for the
ranks' pieces) into a `DistributedReport`, which the command renders in every format exactly as a
one-process report (same `header`, `rows`, `verdicts`, `names`, `findings`, `to_json`). What makes
the comparison impossible is an `AuditError` (exit 2): a rank that could not build the set-up (with
its traceback), a rank that did not report in time, a one-process measurement that failed, or
the penalty or optimizer failing in one process too (plain `reglint audit` shows that better).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

from reglint.audit import closed_forms
from reglint.audit.distributed.compare import (
    DECAY_ADVICE,
    PENALTY_ADVICE,
    STEPS_NOTE,
    Mismatch,
    Sided,
    decay_cell,
    decay_mismatches,
    decay_summary,
    dtype_eps,
    exposure,
    exposure_fact,
    exposure_json,
    grad_mismatches,
    gradient_text,
    penalty_cause,
    penalty_summary,
    rank_list,
)
from reglint.audit.distributed.measure import STEPS, DecayStat, OptimizerInfo, piece_key, point_fit
from reglint.audit.distributed.side import (
    OPTIMIZER,
    PENALTY,
    SETUP,
    ParamMeta,
    SideResult,
    StageError,
)
from reglint.audit.errors import AuditError
from reglint.audit.grouping import compact_label
from reglint.audit.numbers import num
from reglint.audit.table import Row, module_pattern, row_label
from reglint.audit.text_report import Header, finding_groups
from reglint.audit.verdicts import Verdict, rule_meta
from reglint.model import Finding

CODE = "RL306"
READING = ("each parameter is measured on every rank, under the wrapper and after its gradient reduction, and in "
           "one process without a process group, at the same values: the penalty gradient fitted to a·w + "
           "b·sign(w), and the decay as the relative shrink of |w| per optimizer step with a zero gradient "
           "(gN: param group N). `x → y`: x in one process, y on the ranks")
TRACEBACK_LINES = 12


@dataclass
class Launch:
    world_size: int
    backend: str
    target: str


@dataclass
class DistributedReport:
    header: Header
    rows: list[Row]
    verdicts: list[Verdict]
    names: list[str]
    launch: Launch
    reference: SideResult
    ranks: dict[int, SideResult]
    notes: list[str] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        return [v.finding for v in self.verdicts]

    def to_json(self) -> dict[str, Any]:
        groups = []
        for g in finding_groups(self.verdicts, self.names):
            first = g.items[0].finding
            groups.append({"code": first.code, "severity": str(first.severity), "count": g.count, "label": g.label,
                           "params": g.names, "message": first.message})
        return {
            "target": self.launch.target,
            "distributed": {
                "world_size": self.launch.world_size,
                "backend": self.launch.backend,
                "wrapping": next((s.wrapping for s in self.ranks.values()), ""),
                "penalty_value": {"one_process": self.reference.penalty_value,
                                  "ranks": {str(r): s.penalty_value for r, s in sorted(self.ranks.items())}},
                "optimizer": {"one_process": _optimizer_json(self.reference.optimizer),
                              "ranks": {str(r): _optimizer_json(s.optimizer) for r, s in sorted(self.ranks.items())}},
            },
            "model": self.header.model,
            "rows": [r.to_json() for r in self.rows],
            "groups": groups,
            "notes": self.notes,
        }


def _optimizer_json(info: Optional[OptimizerInfo]) -> Optional[dict[str, Any]]:
    if info is None:
        return None
    return {"class": info.class_name, "groups": info.groups, "foreign_tensors": info.foreign}


def _trim(details: Optional[str]) -> Optional[str]:
    if not details:
        return details
    lines = details.rstrip().splitlines()
    return "\n".join(lines[-TRACEBACK_LINES:])


_FRAME = re.compile(r'File "([^"]+)", line (\d+), in (\S+)\n[ \t]*([^\n]*)')
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _library(path: str) -> bool:
    return ("site-packages" in path or "dist-packages" in path or path.startswith("<")
            or os.path.abspath(path).startswith(_PACKAGE_DIR + os.sep))


def user_frame(details: Optional[str]) -> Optional[str]:
    """The innermost frame of the user's own code in a traceback: `train.py:12 in penalty: code`."""
    frames = [f for f in _FRAME.findall(details or "") if not _library(f[0])]
    if not frames:
        return None
    path, line, function, code = frames[-1]
    shown = os.path.relpath(path) if not os.path.relpath(path).startswith("..") else path
    return f"{shown}:{line} in {function}: {code.strip()}"


def _rank_failures(ranks: dict[int, SideResult], stage: str) -> list[tuple[int, StageError]]:
    out = []
    for rank, side in sorted(ranks.items()):
        error = side.error(stage)
        if error is not None:
            out.append((rank, error))
    return out


def _root_causes(failures: list[tuple[int, StageError]]) -> list[tuple[int, StageError]]:
    """The failures that are not consequences of another rank's (a timed-out collective)."""
    first = [f for f in failures if not f[1].consequence]
    return first or failures


def _same_everywhere(failures: list[tuple[int, StageError]], world: int) -> bool:
    return len(failures) == world and len({e.message for _, e in failures}) == 1


def check_complete(ranks: dict[int, SideResult], world: int, reference: SideResult, timeout: float,
                   target: str) -> None:
    """Exit-2 errors: ranks that did not report, a set-up that failed on a rank or in one process."""
    missing = [r for r in range(world) if r not in ranks]
    failures = _rank_failures(ranks, SETUP)
    setup = _root_causes(failures)
    if setup:
        rank, error = setup[0]
        where = "on every rank" if _same_everywhere(setup, world) else f"on {rank_list([r for r, _ in setup])}"
        waited = [r for r, e in failures if e.consequence and (r, e) not in setup]
        then = f"; {rank_list(waited)} waited for it in a collective until --timeout" if waited else ""
        raise AuditError(f"{where}: {error.message}{then}", details=error.details)
    if missing:
        raise AuditError(f"{rank_list(missing)} did not report within {timeout:g} s (a rank stuck in the user's "
                         "code, or in a collective that another rank never reached); the other ranks were stopped")
    ref_setup = reference.error(SETUP)
    if ref_setup is not None:
        raise AuditError(f"in one process (no process group, no wrap(model)), {ref_setup.message}: reglint compares "
                         "with the same set-up built in one process, so the file must also build without a process "
                         "group (wrap only `if dist.is_initialized()`)", details=ref_setup.details)
    for stage in (OPTIMIZER, PENALTY):
        ref_error = reference.error(stage)
        if ref_error is not None:
            also = " (and on the ranks)" if _rank_failures(ranks, stage) else ""
            raise AuditError(f"in one process{also}, {ref_error.message}: there is nothing to compare with "
                             f"(`reglint audit {target}` without torchrun audits the one-process set-up)",
                             details=ref_error.details)


def _verdict(param: Optional[str], summary: str, advice: str, measured: dict[str, Any]) -> Verdict:
    name, severity = rule_meta(CODE)
    finding = Finding(code=CODE, name=name, severity=severity, message=f"{summary}; {advice}", param=param,
                      data={"measured": measured})
    return Verdict(finding, summary, advice)


def _where(ranks: dict[int, SideResult], world: int) -> str:
    wrapping = next((s.wrapping for s in ranks.values() if s.wrapping), "the wrapper")
    return f"{wrapping} with {world} rank{'s' if world != 1 else ''}"


def _stage_verdicts(ranks: dict[int, SideResult], world: int, where: str, labels: dict[str, str],
                    notes: list[str]) -> list[Verdict]:
    """A failure on the ranks of what works in one process: one finding per stage."""
    out = []
    for stage in (OPTIMIZER, PENALTY):
        failures = _root_causes(_rank_failures(ranks, stage))
        if not failures:
            continue
        rank, error = failures[0]
        on = "on every rank" if _same_everywhere(failures, world) else f"on {rank_list([r for r, _ in failures])}"
        what = labels[stage]
        summary = f"under {where} {what} raises {on}: {error.message}; in one process it runs"
        sharded = "FSDP" in where or "fully_shard" in where
        if stage == OPTIMIZER:
            advice = ("build the optimizer from the wrapped model's parameters, with param groups that do not depend "
                      "on the wrapper's names")
        elif sharded and len(failures) == world:
            advice = ("outside forward a penalty over model.parameters() sees the wrapper's tensors (FSDP's flat "
                      "parameters, fully_shard's DTensors), not the model's parameters: compute it inside forward, "
                      "where they are whole, or (FSDP) wrap with use_orig_params=True and select the parameters by "
                      "name")
        else:
            advice = ("make the penalty the same computation on every rank, over the parameters as the wrapped model "
                      "exposes them (the user's frame that raised is in the notes)")
        out.append(_verdict(None, summary, advice, {"stage": stage, "error": error.message,
                                                    "ranks": [r for r, _ in failures],
                                                    "traceback": _trim(error.details)}))
        frame = user_frame(error.details)
        if frame:
            notes.append(f"on rank {rank}, {what} raised in {frame}")
    return out


def _closed_form_shrink(opt: Optional[OptimizerInfo], group: Optional[int]) -> Optional[float]:
    """The closed-form shrink per step of |w| = 1 in `group`, for optimizers with a closed form."""
    if opt is None or group is None or opt.class_name not in closed_forms.ALGORITHMS or group >= len(opt.groups):
        return None
    hyper = opt.groups[group]
    try:
        traj = closed_forms.trajectory(opt.class_name, 1.0, STEPS, hyper, closed_forms.declared_mode(opt.class_name, hyper))
    except (KeyError, TypeError, ValueError):
        return None
    return 1.0 - traj[-1] ** (1.0 / STEPS) if traj[-1] > 0 else None


def _decay_json(side: Sided, opt: Optional[OptimizerInfo]) -> dict[str, Any]:
    hyper = opt.groups[side.group] if opt is not None and side.group is not None and side.group < len(opt.groups) else {}
    return {"group": side.group, "lr": hyper.get("lr"), "weight_decay": hyper.get("weight_decay"),
            "shrink_per_step": {k: s.mean for k, s in side.stats.items()},
            "closed_form_shrink": _closed_form_shrink(opt, side.group)}


def _fit_json(side: Sided) -> dict[str, Any]:
    fit = side.fit
    assert fit is not None
    return {"gradient": gradient_text(fit), "l2": fit.a_l2, "l1": fit.b_l1, "residual_l2": fit.r_l2,
            "norm": fit.gnorm}


def _mismatch_verdicts(mismatches: list[Mismatch], ranks: dict[int, SideResult], reference: SideResult,
                       where: str, world: int) -> list[Verdict]:
    out = []
    ranks_opt = {r: s.optimizer for r, s in ranks.items()}
    values = {r: s.penalty_value for r, s in ranks.items()}
    cause, cause_kind = penalty_cause(values, reference.penalty_value, world)
    for m in mismatches:
        first = ranks[m.ranks[0].rank or 0]
        seen = exposure(first, m.param.name)
        if m.kind == "decay":
            summary = decay_summary(m, where, ranks_opt, reference.optimizer, dtype_eps(m.param.dtype))
            fact, kind = exposure_fact(seen, m.param, "the optimizer") if seen else ("", "other")
            if any(s.group is None for s in m.ranks):
                foreign = sum((s.optimizer.foreign if s.optimizer else 0) for s in ranks.values())
                fact = ("no tensor in the optimizer holds it" + (f" ({foreign} of the optimizer's tensors are not the "
                        "wrapped model's parameters)" if foreign else ""))
                kind = "missing"
            advice = DECAY_ADVICE[kind]
            measured = {"kind": "decay", "one_process": _decay_json(m.reference, reference.optimizer),
                        "ranks": {str(s.rank): _decay_json(s, ranks_opt.get(s.rank or 0)) for s in m.ranks},
                        "seen_as": exposure_json(seen)}
        else:
            summary = penalty_summary(m, where)
            fact, kind = exposure_fact(seen, m.param, "the penalty") if seen else ("", "other")
            if cause_kind == "rank":  # the ranks' values explain it; how the penalty sees the tensor does not
                fact, kind = "", "rank"
            elif kind in ("shard", "flat", "dtensor") or cause_kind == "shard":
                kind = "shard"
            else:
                kind = "other"
            fact = "; ".join(t for t in (cause, fact) if t)
            advice = PENALTY_ADVICE[kind]
            measured = {"kind": "penalty", "one_process": _fit_json(m.reference),
                        "ranks": {str(s.rank): _fit_json(s) for s in m.ranks},
                        "penalty_value": {"one_process": reference.penalty_value,
                                          "ranks": {str(r): v for r, v in sorted(values.items())}},
                        "seen_as": exposure_json(seen)}
            relative = [s.fit.a_l2 / m.reference.fit.a_l2 for s in m.ranks
                        if s.fit is not None and m.reference.fit is not None and m.reference.fit.a_l2]
            if relative:
                measured["ratio_l2"] = {str(s.rank): k for s, k in zip(m.ranks, relative)}
        out.append(_verdict(m.param.name, f"{summary}: {fact}" if fact else summary, advice, measured))
    return out


def _cells(meta: ParamMeta, answers: dict[str, Any], reference: SideResult, mismatched: dict[tuple[str, str], Mismatch],
           ranks: dict[int, SideResult]) -> tuple[str, str]:
    """The penalty and decay cells: the one-process measurement, `→` what the ranks measure if different."""
    whole = piece_key(meta.name, 0, meta.numel)
    pcell = dcell = "—"
    eps = dtype_eps(meta.dtype)
    if reference.grads is not None and whole in answers.get("grads", {}):
        pcell = gradient_text(point_fit(answers["grads"][whole]))
        m = mismatched.get((meta.name, "penalty"))
        if any(s.error(PENALTY) for s in ranks.values()):
            pcell += " → raises"
        elif m is not None:
            pcell += " → " + " or ".join(sorted({gradient_text(s.fit) for s in m.ranks if s.fit is not None}))
    if reference.decay is not None and whole in answers.get("decay", {}):
        ans = answers["decay"][whole]
        ref_side = Sided(None, ans["group"], {k: DecayStat(**s) for k, s in ans["shrink"].items()})
        dcell = decay_cell(ref_side, reference.optimizer, eps)
        m = mismatched.get((meta.name, "decay"))
        if any(s.error(OPTIMIZER) for s in ranks.values()):
            dcell += " → raises"
        elif m is not None:
            dcell += " → " + " or ".join(sorted({decay_cell(s, ranks[s.rank or 0].optimizer, eps) for s in m.ranks}))
    return pcell, dcell


def _rows(params: Sequence[ParamMeta], answers: dict[str, Any], reference: SideResult, mismatches: list[Mismatch],
          ranks: dict[int, SideResult], names: list[str]) -> list[Row]:
    from reglint.audit.params import shape_text

    mismatched = {(m.param.name, m.kind): m for m in mismatches}
    rows: dict[tuple[Any, ...], Row] = {}
    for index, meta in enumerate(params):
        pcell, dcell = _cells(meta, answers, reference, mismatched, ranks)
        verdict = [CODE] if any((meta.name, k) in mismatched for k in ("decay", "penalty")) else []
        kind = meta.kind + (", frozen" if meta.frozen else "") + (", tied" if meta.aliases else "")
        key = (module_pattern(meta.name), kind, shape_text(meta.shape), pcell, dcell, tuple(verdict))
        row = rows.get(key)
        if row is None:
            rows[key] = Row([index], [meta.name], shape_text(meta.shape), kind, pcell, dcell, verdict,
                            aliases=list(meta.aliases))
        else:
            row.members.append(index)
            row.names.append(meta.name)
            row.aliases.extend(meta.aliases)
    for row in rows.values():
        row.label = row_label(row, names)
    return list(rows.values())


def pieces_request(ranks: dict[int, SideResult], params: Sequence[ParamMeta]) -> dict[str, list[tuple[str, int, int]]]:
    """The pieces to ask the one-process measurement about: every rank's, and each whole parameter."""
    wholes = [(p.name, 0, p.numel) for p in params]
    decay = {(p.fqn, p.start, p.length) for s in ranks.values() for p in s.decay or []}
    grads = {(p.fqn, p.start, p.length) for s in ranks.values() for p in s.grads or []}
    return {"decay": sorted(decay | set(wholes)), "grads": sorted(grads | set(wholes))}


def _coverage_notes(params: Sequence[ParamMeta], ranks: dict[int, SideResult]) -> list[str]:
    held = {fqn for s in ranks.values() for h in s.holders for fqn in h.fqns}
    missing = [p.name for p in params if p.name not in held and p.numel]
    every = [p.name for p in params]
    notes = []
    if missing:
        notes.append(f"no rank holds {compact_label(missing, every)} under the wrapper (not compared)")
    extra = sorted(held - set(every))
    if extra:
        notes.append(f"under the wrapper the ranks hold parameters the model has not in one process: "
                     f"{', '.join(extra[:8])}{' ...' if len(extra) > 8 else ''} (not compared)")
    return notes


def _value_note(ranks: dict[int, SideResult], reference: SideResult, has_penalty_finding: bool) -> list[str]:
    values = {r: s.penalty_value for r, s in sorted(ranks.items()) if s.penalty_value is not None}
    ref = reference.penalty_value
    if ref is None or not values or has_penalty_finding or any(s.error(PENALTY) for s in ranks.values()):
        return []
    if all(abs(v - ref) <= 1e-4 * max(abs(v), abs(ref)) for v in values.values()):
        return []
    shown = ", ".join(f"{num(v)} on rank {r}" for r, v in values.items())
    return [f"the penalty's value differs per rank ({shown}; {num(ref)} in one process) but every parameter gets "
            "the one-process gradient: only the loss each rank logs differs"]


def build_report(reference: SideResult, ranks: dict[int, SideResult], answers: dict[str, Any], launch: Launch,
                 timeout: float) -> DistributedReport:
    check_complete(ranks, launch.world_size, reference, timeout, launch.target)
    params = reference.params
    names = [n for p in params for n in (p.name, *p.aliases)]
    where = _where(ranks, launch.world_size)
    notes: list[str] = list(dict.fromkeys(n for s in (reference, *ranks.values()) for n in s.notes))
    labels = {OPTIMIZER: reference.optimizer_label or "the optimizer", PENALTY: f"the training step with "
              f"{reference.penalty_label or 'the penalty'}"}
    verdicts = _stage_verdicts(ranks, launch.world_size, where, labels, notes)
    mismatches = decay_mismatches(params, ranks, answers.get("decay", {})) + grad_mismatches(
        params, ranks, answers.get("grads", {}))
    verdicts += _mismatch_verdicts(mismatches, ranks, reference, where, launch.world_size)
    notes += _coverage_notes(params, ranks)
    notes += _value_note(ranks, reference, any(m.kind == "penalty" for m in mismatches))
    notes += [f"rank {r}: {e.message}" for r, s in sorted(ranks.items()) for e in s.errors if e.consequence]
    kinds = {s.penalty_value_kind for s in ranks.values() if s.penalty_value_kind}
    if any(k.startswith("DTensor") for k in kinds):
        notes.append(f"on the ranks {reference.penalty_label} returns a "
                     f"{next(k for k in sorted(kinds) if k.startswith('DTensor'))}: each rank's value shown is its "
                     "local part")
    rows = _rows(params, answers, reference, mismatches, ranks, names)
    header = _header(reference, ranks, launch, notes)
    return DistributedReport(header, rows, verdicts, names, launch, reference, ranks, notes)


def _header(reference: SideResult, ranks: dict[int, SideResult], launch: Launch, notes: list[str]) -> Header:
    params = reference.params
    values = sum(p.numel for p in params)
    dtype = params[0].dtype if params else "float32"
    wrapping = next((s.wrapping for s in ranks.values() if s.wrapping), "")
    model = (f"{reference.model_label}: {len(params)} parameter tensors, {values:,} values, {dtype}; under torchrun: "
             f"{launch.world_size} rank{'s' if launch.world_size != 1 else ''}, {launch.backend}, {wrapping}")
    penalty = None
    if reference.penalty_label:
        rank_values = ", ".join(f"{num(s.penalty_value)} on rank {r}" for r, s in sorted(ranks.items())
                                if s.penalty_value is not None)
        penalty = (f"{reference.penalty_label} = {num(reference.penalty_value or 0.0)} in one process at the test "
                   f"values" + (f"; {rank_values}" if rank_values else ""))
    optimizer = None
    if reference.optimizer is not None:
        opt = reference.optimizer
        parts = [f"g{k}: lr={num(float(g.get('lr') or 0))}, weight_decay={num(float(g.get('weight_decay') or 0))}"
                 for k, g in enumerate(opt.groups)]
        optimizer = (f"{opt.class_name} from {reference.optimizer_label}; in one process {'; '.join(parts)}; "
                     f"{STEPS_NOTE}")
    return Header(target=launch.target, model=model, penalty=penalty, optimizer=optimizer, notes=notes,
                  reading=READING,
                  audited=f"1 model audited on {launch.world_size} rank{'s' if launch.world_size != 1 else ''}")
