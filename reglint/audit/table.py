"""The per-parameter table: rows of alike parameters, rendered as text or as JSON data.

Parameters are grouped when everything the table shows about them is the same (kind, shape,
penalty form and coefficient, optimizer decay, verdict), so the twelve `layers.[0-11].attn.bias`
of a transformer take one row. The text report is the header, the table, the findings (one line
per code and row, naming its parameters) and the notes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Optional, TextIO

from reglint.audit.numbers import form_cell, num
from reglint.audit.optimizer import COUPLED, DECOUPLED, EQUIVALENT, NONE, OptimizerResult
from reglint.audit.params import ParamInfo, group_label, shape_text
from reglint.audit.penalty import PenaltyResult
from reglint.model import Finding, Severity


@dataclass
class Row:
    members: list[int]
    names: list[str]
    shape: str
    kind: str
    penalty: str
    optimizer: str
    verdict: list[str]
    penalty_data: Optional[dict[str, Any]] = None
    optimizer_data: Optional[dict[str, Any]] = None
    aliases: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        label = group_label(self.names)
        if len(self.names) == 1 and self.aliases:
            label += f" (= {', '.join(self.aliases)})"
        return label

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "params": self.names,
            "aliases": self.aliases,
            "shape": self.shape,
            "kind": self.kind,
            "penalty": self.penalty,
            "penalty_measured": self.penalty_data,
            "optimizer": self.optimizer,
            "optimizer_measured": self.optimizer_data,
            "verdict": self.verdict,
        }


def _optimizer_cell(info: ParamInfo, opt: Optional[OptimizerResult]) -> tuple[str, Optional[dict[str, Any]]]:
    if opt is None:
        return "—", None
    g = opt.group_of[info.index]
    if g is None:
        return "not optimized", None
    if info.frozen:
        return "frozen: never updated", None
    group = opt.groups[g]
    shrink = opt.shrink_of(info.index) or {}
    s1, s_small = shrink.get(1.0, 0.0), shrink.get(0.01, 0.0)
    data = {"group": g, "mode": group.mode, "lr": group.lr, "weight_decay": group.weight_decay,
            "shrink_per_step": {str(k): v for k, v in shrink.items()}}
    if group.mode == NONE:
        return f"g{g}: no decay", data
    if group.mode in (DECOUPLED, EQUIVALENT) or (group.mode == COUPLED and not opt.adaptive):
        return f"g{g}: {group.mode}, −{num(s1)}·w/step", data
    if group.mode == COUPLED:
        return f"g{g}: coupled, shrink {num(s_small)}/step at |w|=0.01, {num(s1)} at 1", data
    return f"g{g}: {group.mode}, {num(s1)}/step at |w|=1", data


def build_rows(infos: Sequence[ParamInfo], pen: Optional[PenaltyResult], opt: Optional[OptimizerResult],
               by_param: dict[int, list[str]]) -> list[Row]:
    rows: dict[tuple[Any, ...], Row] = {}
    for info in infos:
        form = pen.forms[info.index] if pen is not None else None
        if pen is None:
            pcell = "—"
        elif info.frozen:
            pcell = "frozen: no gradient"
        elif form is None:
            pcell = "not measured"
        else:
            pcell = form_cell(form)
        ocell, odata = _optimizer_cell(info, opt)
        verdict = by_param.get(info.index, [])
        shape = shape_text(info.shape)
        key = (info.kind_label, shape, pcell, ocell, tuple(verdict))
        row = rows.get(key)
        if row is None:
            rows[key] = Row([info.index], [info.name], shape, info.kind_label, pcell, ocell, list(verdict),
                            form.to_json() if form is not None else None, odata, list(info.aliases))
        else:
            row.members.append(info.index)
            row.names.append(info.name)
            row.aliases.extend(info.aliases)
    return list(rows.values())


HEADERS = ("parameter", "shape", "kind", "penalty gradient", "optimizer decay", "verdict")


def render_table(rows: Sequence[Row], out: TextIO) -> None:
    cells = [HEADERS] + [
        (r.label + (f" ×{len(r.members)}" if len(r.members) > 1 else ""), r.shape, r.kind, r.penalty, r.optimizer,
         " ".join(r.verdict) or "ok")
        for r in rows
    ]
    widths = [max(len(c[k]) for c in cells) for k in range(len(HEADERS))]
    for n, line in enumerate(cells):
        out.write("  " + "  ".join(text.ljust(w) for text, w in zip(line, widths)).rstrip() + "\n")
        if n == 0:
            out.write("  " + "  ".join("-" * w for w in widths) + "\n")


def collapse(findings: Sequence[Finding], rows: Sequence[Row], infos: Sequence[ParamInfo]) -> list[tuple[str, Finding]]:
    """One (label, finding) per code and row: alike parameters share one line."""
    row_of = {infos[i].name: n for n, r in enumerate(rows) for i in r.members}
    grouped: dict[tuple[str, Optional[int], str], list[Finding]] = {}
    for f in findings:
        row = row_of.get(f.param or "")
        key = (f.code, row, f.message if row is None else "")
        grouped.setdefault(key, []).append(f)
    out = []
    for items in grouped.values():
        names = [f.param for f in items if f.param]
        label = group_label(names) if names else "<penalty>"
        out.append((label, items[0]))
    return out


@dataclass
class Header:
    target: str
    model: str
    penalty: Optional[str]
    optimizer: Optional[str]
    notes: list[str] = field(default_factory=list)


def render_text(header: Header, rows: Sequence[Row], findings: Sequence[Finding], infos: Sequence[ParamInfo],
                out: TextIO) -> None:
    out.write(f"reglint audit {header.target}\n")
    out.write(f"  model      {header.model}\n")
    out.write(f"  penalty    {header.penalty or 'none found (define penalty(model) or use --penalty)'}\n")
    out.write(f"  optimizer  {header.optimizer or 'none found (define optimizer / build_optimizer(model) or use --optimizer)'}\n")
    out.write("  reading    gradient a·w is L2 with coefficient a (λ/2·Σw² gives a = λ, like weight_decay λ);\n"
              "             shrink = relative decrease of |w| per optimizer step with a zero data gradient\n\n")
    render_table(rows, out)
    out.write("\n")
    for label, f in collapse(findings, rows, infos):
        out.write(f"{label}: {f.code} [{f.severity}] {f.message}\n")
    if header.notes:
        out.write("notes:\n")
        for note in header.notes:
            out.write(f"  - {note}\n")
    counts = {s: sum(1 for f in findings if f.severity == s) for s in Severity}
    if findings:
        parts = [f"{counts[s]} {s}{'s' if counts[s] != 1 else ''}" for s in reversed(Severity) if counts[s]]
        out.write(f"Found {len(findings)} finding{'s' if len(findings) != 1 else ''} ({', '.join(parts)}) in 1 model audited.\n")
    else:
        out.write("All checks passed (1 model audited).\n")
