"""The per-parameter table: rows of alike parameters, as data (the text layout is in text_report.py).

A row holds the parameters that share a module path pattern (the path above the owning module,
numbers taken out: `layer#.#` for `layer3.1.bn2.weight`), a kind, a shape and everything the table
shows about them (penalty form and coefficient, optimizer decay, verdict). So the twelve layers'
query, key and value weights of a transformer take one row, norms of one width in layer1 and
layer3 share a row whose label says `layer{1,3}`, and BERT's pooler never hides among attention
weights of the same shape. The label is honest (grouping.py): it matches exactly the row's
parameters among all of the model's names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

from reglint.audit.grouping import compact_label
from reglint.audit.numbers import form_cell
from reglint.audit.optimizer import NONE, OptimizerResult
from reglint.audit.params import ParamInfo, all_names, shape_text
from reglint.audit.penalty import PenaltyResult

_DIGITS = re.compile(r"\d+")


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
    label: str = ""

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


def module_pattern(name: str) -> str:
    """Where parameter `name` sits: the path above its owning module, numbers replaced (`layer#.#`).

    The owning module's own name is left out so that siblings alike in kind and shape (a block's
    bn1 and bn2, attention's query, key and value) share a row; its parent path keeps apart what
    sits elsewhere (BERT's pooler, a head, an embedding).
    """
    return _DIGITS.sub("#", ".".join(name.split(".")[:-2]))


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
    data: dict[str, Any] = {"group": g, "mode": group.mode, "lr": group.lr, "weight_decay": group.weight_decay,
                            "shrink_per_step": {str(k): v for k, v in shrink.items()}}
    if group.steady is not None:
        data["first_step"] = group.first_step
        data["steady"] = {"shrink": group.steady.shrink, "closed_form": group.steady.closed_form,
                          "steps": group.steady.steps}
    text = opt.decay_text(info.index)
    if group.mode == NONE or text == "no decay":
        return f"g{g}: no decay", data
    return f"g{g}: {group.mode}, {text}", data


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
        key = (module_pattern(info.name), info.kind_label, shape, pcell, ocell, tuple(verdict))
        row = rows.get(key)
        if row is None:
            rows[key] = Row([info.index], [info.name], shape, info.kind_label, pcell, ocell, list(verdict),
                            form.to_json() if form is not None else None, odata, list(info.aliases))
        else:
            row.members.append(info.index)
            row.names.append(info.name)
            row.aliases.extend(info.aliases)
    every = all_names(infos)
    for row in rows.values():
        row.label = row_label(row, every)
    return list(rows.values())


def row_label(row: Row, every: Sequence[str], prefix: str = "") -> str:
    """The row's honest label, with `prefix` (shared by every name of the model) cut off."""
    cut = len(prefix)
    rest = [n[cut:] for n in every]
    label = compact_label([n[cut:] for n in row.names], rest)
    if row.aliases:
        label += f" (= {compact_label([n[cut:] for n in row.aliases], rest)})"
    return label


def shared_prefix(names: Sequence[str]) -> str:
    """The leading module path every name shares (`module.`, `bert.`), whole segments, or ""."""
    split = [n.split(".") for n in names]
    if len(split) < 2:
        return ""
    common: list[str] = []
    for segments in zip(*(parts[:-1] for parts in split)):
        if len(set(segments)) != 1:
            break
        common.append(segments[0])
    return "".join(f"{c}." for c in common)
