"""What a wrapped model exposes as parameters, and which values of which original parameter each holds.

Under a wrapper, the tensors that `model.parameters()` yields (and that an optimizer or a penalty
built from them sees) are not the parameters the model was written with:

    DDP                            the same tensors, named `module.<name>`
    FSDP, use_orig_params=False    one 1-D *flat parameter* per FSDP unit
                                   (`_fsdp_wrapped_module._flat_param`), holding this rank's shard of
                                   the unit's parameters laid end to end (and some padding)
    FSDP, use_orig_params=True     each parameter under its name with `_fsdp_wrapped_module.` inside,
                                   as a 1-D view of this rank's part of it (often 0 values)
    fully_shard (FSDP2)            each parameter under its own name, as a DTensor whose local tensor
                                   holds some rows (dim 0) of it

A `Holder` is one such tensor with the `Piece`s it holds: a run of consecutive values (in
row-major order) of one original parameter, named by its fully qualified name in the unwrapped
model. The names are unwrapped structurally: a path segment is dropped where the module above it is
a wrapper and the segment is the wrapper's own attribute (`module` of a DDP, `_fsdp_wrapped_module`
of an FSDP unit, `_checkpoint_wrapped_module`, `_orig_mod` of torch.compile), so a user module that
happens to be called `module` keeps its name. FSDP's flat parameters are read through their
documented layout attributes (`_fqns`, `_shard_param_infos`), which torch has kept since 2.0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional

# Attributes through which a wrapper holds the module it wraps, for wrappers recognized by class name
# (their modules may not be importable, or importing them costs time).
_INNER_BY_CLASS = {
    "CheckpointWrapper": "_checkpoint_wrapped_module",
    "OffloadWrapper": "_checkpoint_wrapped_module",
    "OptimizedModule": "_orig_mod",
}
_INTERNAL_SEGMENTS = frozenset({"_fsdp_wrapped_module", "_checkpoint_wrapped_module", "_orig_mod"})

PLAIN, FLAT, SHARD_VIEW, DTENSOR = "parameter", "flat parameter", "1-D shard", "DTensor"


def inner_attribute(module: Any) -> Optional[str]:
    """The attribute under which `module` holds the module it wraps, or None if it wraps nothing."""
    from torch.nn.parallel import DataParallel, DistributedDataParallel

    if isinstance(module, (DistributedDataParallel, DataParallel)):
        return "module"
    if _is_fsdp1(module):
        return "_fsdp_wrapped_module"
    return _INNER_BY_CLASS.get(type(module).__name__)


def _is_fsdp1(module: Any) -> bool:
    try:
        from torch.distributed.fsdp import FullyShardedDataParallel
    except ImportError:  # pragma: no cover - torch built without distributed
        return False
    return isinstance(module, FullyShardedDataParallel)


def _is_fully_shard(module: Any) -> bool:
    try:
        from torch.distributed.fsdp import FSDPModule
    except ImportError:  # pragma: no cover
        return False
    return isinstance(module, FSDPModule)


def unwrap(model: Any) -> Any:
    """The module the user wrote, inside any chain of wrappers at the top."""
    while True:
        attr = inner_attribute(model)
        if attr is None:
            return model
        model = getattr(model, attr)


def clean_path(root: Any, segments: list[str]) -> list[str]:
    """`segments` (a dotted path below `root`) without the wrappers' own segments."""
    out: list[str] = []
    module: Optional[Any] = root
    for seg in segments:
        wrapper_seg = module is not None and inner_attribute(module) == seg
        if not wrapper_seg and seg not in _INTERNAL_SEGMENTS:
            out.append(seg)
        children = getattr(module, "_modules", None) if module is not None else None
        module = children.get(seg) if isinstance(children, dict) else None
    return out


def clean_name(root: Any, name: str) -> str:
    """The fully qualified name, in the unwrapped model, of parameter `name` of `root`."""
    parts = name.split(".")
    return ".".join([*clean_path(root, parts[:-1]), parts[-1]])


def wrapping(model: Any) -> str:
    """How the model is wrapped, in words: `DDP`, `FSDP (use_orig_params=False)`, `fully_shard`, ...

    An empty string for a model without a wrapper.
    """
    from torch.nn.parallel import DistributedDataParallel

    kinds: list[str] = []
    for module in model.modules():
        if isinstance(module, DistributedDataParallel):
            kinds.append("DDP")
        elif _is_fsdp1(module):
            kinds.append(f"FSDP (use_orig_params={bool(getattr(module, '_use_orig_params', False))})")
        elif _is_fully_shard(module):
            kinds.append("fully_shard")
    return " + ".join(dict.fromkeys(kinds))


@dataclass(frozen=True)
class Piece:
    """`length` consecutive values of parameter `fqn`, from flat index `start`, held at `offset`
    of the holder's local values."""

    fqn: str
    start: int
    length: int
    offset: int


@dataclass
class Holder:
    """A tensor the (wrapped) model exposes as a parameter, and what it holds on this rank."""

    tensor: Any
    name: str  # its name in the wrapped model: what a rule on names sees
    kind: str  # PLAIN, FLAT, SHARD_VIEW or DTENSOR
    shape: tuple[int, ...]  # p.shape as Python code sees it (a DTensor reports the global shape)
    local_numel: int
    pieces: list[Piece] = field(default_factory=list)

    def local_values(self) -> Any:
        """This rank's values, 1-D, sharing the tensor's storage (write to them to set values)."""
        t = self.tensor.to_local() if self.kind == DTENSOR else self.tensor
        return t.detach().view(-1)

    def local_grad(self) -> Optional[Any]:
        g = self.tensor.grad
        if g is None:
            return None
        if self.kind == DTENSOR and hasattr(g, "to_local"):
            g = g.to_local()
        return g.detach().reshape(-1)


def _dtensor_start(p: Any) -> Optional[int]:
    """Flat index of the first local value of DTensor `p`, when its local values are one run.

    That holds for placements that shard dim 0 only (fully_shard's default) or replicate; None
    for others (a shard of dim 1 holds many runs).
    """
    try:
        from torch.distributed.tensor import Replicate, Shard
        from torch.distributed.tensor._utils import compute_local_shape_and_global_offset
    except ImportError:  # pragma: no cover
        return None
    placements = tuple(p.placements)
    if not all(isinstance(pl, (Replicate, Shard)) for pl in placements):
        return None
    if any(isinstance(pl, Shard) and pl.dim != 0 for pl in placements):
        return None
    if p.ndim == 0:
        return 0
    _, offset = compute_local_shape_and_global_offset(p.shape, p.device_mesh, placements)
    return int(offset[0]) * math.prod(p.shape[1:])


def _fsdp1_units(model: Any) -> list[tuple[list[str], Any]]:
    """(cleaned path of the unit's module, flat parameter) for every FSDP unit under `model`."""
    out = []
    for path, module in model.named_modules():
        handle = getattr(module, "_handle", None) if _is_fsdp1(module) else None
        flat = getattr(handle, "flat_param", None)
        if flat is None or not hasattr(flat, "_shard_param_infos"):
            continue
        out.append((clean_path(model, path.split(".") if path else []), flat))
    return out


def holders(model: Any) -> tuple[list[Holder], list[str]]:
    """Every distinct parameter tensor of `model` (wrapped or not) with the pieces it holds.

    Returns the holders and notes on tensors whose layout is not understood (not measured).
    """
    notes: list[str] = []
    by_id: dict[int, Holder] = {}
    named = list(model.named_parameters())
    name_of = {id(p): n for n, p in named}
    for prefix, flat in _fsdp1_units(model):
        originals = getattr(flat, "_params", None)  # use_orig_params=True: the parameters FSDP exposes
        for i, (rel, info) in enumerate(zip(flat._fqns, flat._shard_param_infos)):
            rel_parts = [s for s in rel.split(".") if s not in _INTERNAL_SEGMENTS]
            fqn = ".".join([*prefix, *rel_parts])
            if originals is not None:  # every one, also those with no value on this rank
                p = originals[i]
                holder = by_id.setdefault(id(p), Holder(p, name_of.get(id(p), fqn), SHARD_VIEW, tuple(p.shape),
                                                        p.numel()))
                offset = 0
            else:
                holder = by_id.setdefault(id(flat), Holder(flat, name_of.get(id(flat), "_flat_param"), FLAT,
                                                           tuple(flat.shape), flat.numel()))
                offset = int(info.offset_in_shard or 0)
            if info.in_shard and info.numel_in_shard:
                holder.pieces.append(Piece(fqn, int(info.intra_param_start_idx), int(info.numel_in_shard), offset))
    out = [by_id.get(id(p)) or _own_holder(model, name, p, notes) for name, p in named]
    return out, notes


def _own_holder(model: Any, name: str, p: Any, notes: list[str]) -> Holder:
    """The holder of a parameter that no FSDP unit manages: a DTensor's rows, or the whole tensor."""
    fqn = clean_name(model, name)
    if not _is_dtensor(p):
        return Holder(p, name, PLAIN, tuple(p.shape), p.numel(), [Piece(fqn, 0, p.numel(), 0)])
    local = p.to_local()
    holder = Holder(p, name, DTENSOR, tuple(p.shape), local.numel())
    start = _dtensor_start(p)
    if start is None:
        notes.append(f"{fqn}: DTensor placements {tuple(p.placements)} hold more than one run of its values on a "
                     "rank; not measured")
    elif local.numel():
        holder.pieces.append(Piece(fqn, start, local.numel(), 0))
    return holder


def _is_dtensor(p: Any) -> bool:
    try:
        from torch.distributed.tensor import DTensor
    except ImportError:  # pragma: no cover
        return False
    return isinstance(p, DTensor)

