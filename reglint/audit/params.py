"""Which parameters a model has and what each one is: weight, bias, norm, embedding, other 1-D.

The kind decides which verdicts apply (a penalty or decay on a bias or norm gain is RL101/RL202),
so it comes from the module that owns the parameter (LayerNorm, BatchNorm, GroupNorm, RMSNorm and
any class whose name contains "Norm"; Embedding and classes named "...Embedding...") and from its
name and shape. Tied parameters (one tensor under several names) are listed once, with their other
names; frozen ones (requires_grad=False) are flagged.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Optional

WEIGHT, BIAS, NORM, EMBEDDING, OTHER = "weight", "bias", "norm", "embedding", "1-D"
NO_DECAY_KINDS = (BIAS, NORM, OTHER)


@dataclass(frozen=True)
class ParamInfo:
    index: int
    name: str
    aliases: tuple[str, ...]
    shape: tuple[int, ...]
    numel: int
    dtype: str
    kind: str
    frozen: bool

    @property
    def tied(self) -> bool:
        return bool(self.aliases)

    @property
    def kind_label(self) -> str:
        label = self.kind
        if self.frozen:
            label += ", frozen"
        if self.tied:
            label += ", tied"
        return label


def unique_parameters(model: Any) -> list[Any]:
    """The model's parameters in `named_parameters()` order, each tensor once."""
    return [p for _, p in model.named_parameters()]


def _owner(model: Any, name: str) -> Any:
    owner_name = name.rpartition(".")[0]
    try:
        return model.get_submodule(owner_name) if owner_name else model
    except AttributeError:
        return None


def _is_norm(module: Any) -> bool:
    import torch.nn as nn

    norm_types: list[type] = [nn.LayerNorm, nn.GroupNorm, nn.LocalResponseNorm]
    norm_types.append(nn.modules.batchnorm._NormBase)
    if hasattr(nn, "RMSNorm"):
        norm_types.append(nn.RMSNorm)
    return isinstance(module, tuple(norm_types)) or any("Norm" in c.__name__ for c in type(module).__mro__[:-1])


def _is_embedding(module: Any) -> bool:
    import torch.nn as nn

    return isinstance(module, (nn.Embedding, nn.EmbeddingBag)) or "Embedding" in type(module).__name__


def kind_of(model: Any, name: str, ndim: int) -> str:
    owner = _owner(model, name)
    leaf = name.rpartition(".")[2]
    if owner is not None and _is_norm(owner) and owner is not model:
        return NORM
    if owner is not None and _is_embedding(owner) and ndim >= 2:
        return EMBEDDING
    if ndim >= 2 and "embed" in leaf.lower():
        return EMBEDDING
    if ndim <= 1 and (leaf == "bias" or leaf.endswith("_bias")):
        return BIAS
    if ndim >= 2:
        return WEIGHT
    return OTHER


def describe_parameters(model: Any) -> list[ParamInfo]:
    """One ParamInfo per distinct parameter tensor, in `named_parameters()` order."""
    names: dict[int, list[str]] = {}
    tensors: dict[int, Any] = {}
    for name, p in model.named_parameters(remove_duplicate=False):
        names.setdefault(id(p), []).append(name)
        tensors[id(p)] = p
    infos = []
    for index, p in enumerate(unique_parameters(model)):
        all_names = names.get(id(p), [])
        first = all_names[0]
        infos.append(
            ParamInfo(
                index=index,
                name=first,
                aliases=tuple(all_names[1:]),
                shape=tuple(p.shape),
                numel=p.numel(),
                dtype=str(p.dtype).replace("torch.", ""),
                kind=kind_of(model, first, p.dim()),
                frozen=not p.requires_grad,
            )
        )
    return infos


def all_names(infos: Sequence[ParamInfo]) -> list[str]:
    """Every name the model's parameters go by (tied ones under each of their names): what group
    labels are honest against."""
    return [n for info in infos for n in (info.name, *info.aliases)]


def shape_text(shape: Sequence[int]) -> str:
    return "×".join(str(s) for s in shape) if shape else "scalar"


_INT = re.compile(r"^\d+$")


def _pattern(names: Sequence[str]) -> Optional[str]:
    """`layers.[0-3].{ln1,ln2}.bias` for names of one length, if it stands for exactly these names."""
    parts = [n.split(".") for n in names]
    out, product = [], 1
    for column in zip(*parts):
        values = list(dict.fromkeys(column))
        product *= len(values)
        if len(values) == 1:
            out.append(values[0])
        elif all(_INT.match(v) for v in values):
            numbers = sorted(int(v) for v in values)
            contiguous = numbers == list(range(numbers[0], numbers[-1] + 1))
            out.append(f"[{numbers[0]}-{numbers[-1]}]" if contiguous else "*")
        elif len(values) <= 4:
            out.append("{" + ",".join(values) + "}")
        else:
            return None
    return ".".join(out) if product == len(set(names)) else None


MAX_LABEL = 80


def group_label(names: Sequence[str]) -> str:
    """A short label for alike parameters: `layers.[0-11].bias`, `blocks.[0-3].{ln1,ln2}.weight`."""
    if len(names) == 1:
        return names[0]
    by_length: dict[int, list[str]] = {}
    for name in names:
        by_length.setdefault(name.count("."), []).append(name)
    labels: list[str] = []
    for group in by_length.values():
        label = _pattern(group)
        if label is not None:
            labels.append(label)
            continue
        by_template: dict[str, list[str]] = {}
        for name in group:
            template = ".".join("#" if _INT.match(c) else c for c in name.split("."))
            by_template.setdefault(template, []).append(name)
        for members in by_template.values():
            labels.append(_pattern(members) or ", ".join(members))
    text = ", ".join(labels)
    if len(text) <= MAX_LABEL:
        return text
    return f"{names[0]} (+{len(names) - 1} more)"
