"""Copies of the user's model that the audit may change, and the test values written into them.

The user's model is never touched: every measurement runs on a copy made by `structure_copy`,
which deep-copies the module tree but gives each parameter a fresh tensor chosen by the caller
(the same tensor for tied parameters). That is how the audit gets, without copying the weights
first, a full-size copy, a small *miniature* (each tensor cut to at most `cap` values, same number
of dimensions, so a 100M-parameter model is measured in float64 in milliseconds), or a copy on the
`meta` device (shapes only, no memory).

Test values: the penalty is measured at a point where every value is nonzero with mixed signs and
magnitudes spread over a decade (0.1 to 1), so that L2 (a·w), L1 (a·sign w) and elastic net are
told apart within one tensor. The values come from one fixed block of random numbers, tiled over
each tensor (cheap for large tensors, and the same every run).
"""

from __future__ import annotations

import copy
import math
from typing import Any, Callable, Optional

from reglint.audit.params import unique_parameters

BLOCK_SIZE = 4093  # prime, so the pattern does not line up with rows
BLOCK_SEED = 1234
LOW, HIGH = 0.1, 1.0


def test_block(dtype: Any, device: Any) -> Any:
    """BLOCK_SIZE values with random signs and log-uniform magnitudes in [LOW, HIGH]."""
    import torch

    gen = torch.Generator().manual_seed(BLOCK_SEED)
    u = torch.rand(BLOCK_SIZE, generator=gen, dtype=torch.float64)
    mags = torch.exp(math.log(LOW) + u * (math.log(HIGH) - math.log(LOW)))
    signs = torch.where(torch.rand(BLOCK_SIZE, generator=gen, dtype=torch.float64) < 0.5, -1.0, 1.0)
    return (mags * signs).to(dtype=dtype, device=device)


def fill_tiled(tensor: Any, block: Any, scale: float = 1.0) -> None:
    """Write `scale·block` tiled over `tensor` (in place, no temporary of the tensor's size)."""
    flat = tensor.view(-1) if tensor.is_contiguous() else None
    if flat is None:
        tmp = tensor.new_empty(tensor.numel())
        fill_tiled(tmp, block, scale)
        tensor.copy_(tmp.view_as(tensor))
        return
    n = flat.numel()
    b = block.numel()
    rows, rest = divmod(n, b)
    src = block if scale == 1.0 else block * scale
    if rows:
        flat[: rows * b].view(rows, b).copy_(src.expand(rows, b))
    if rest:
        flat[rows * b :].copy_(src[:rest])


def mini_shape(shape: tuple[int, ...], cap: Optional[int]) -> tuple[int, ...]:
    """`shape` with its largest dimensions halved until it holds at most `cap` values."""
    dims = list(shape)
    if cap is None:
        return tuple(dims)
    while dims and math.prod(dims) > cap:
        i = max(range(len(dims)), key=lambda k: dims[k])
        dims[i] = max(1, dims[i] // 2)
    return tuple(dims)


def structure_copy(model: Any, make: Callable[[int, Any], Any]) -> Any:
    """Deep-copy `model`, replacing the i-th distinct parameter `p` by `make(i, p)`."""
    import torch

    memo: dict[int, Any] = {}
    for index, p in enumerate(unique_parameters(model)):
        new = make(index, p)
        if not isinstance(new, torch.nn.Parameter):
            new = torch.nn.Parameter(new, requires_grad=p.requires_grad)
        new.requires_grad_(p.requires_grad)
        for key, value in vars(p).items():  # attributes such as `_no_weight_decay`
            setattr(new, key, copy.deepcopy(value))
        memo[id(p)] = new
    return deepcopy_model(model, memo)


def deepcopy_model(model: Any, memo: Optional[dict[int, Any]] = None) -> Any:
    """`copy.deepcopy(model)`, or an AuditError saying the model cannot be copied."""
    from reglint.audit.errors import AuditError

    try:
        return copy.deepcopy(model, memo)
    except Exception as exc:
        raise AuditError(
            f"the model cannot be copied ({type(exc).__name__}: {exc}); reglint audits copies so that "
            "your model is never changed: keep non-copyable objects (files, locks, data loaders) off the model"
        ) from None


def test_point_copy(model: Any, *, dtype: Any, device: Any, cap: Optional[int]) -> Any:
    """A copy of `model` whose parameters hold the test values (cut to `cap` values when given)."""
    import torch

    block = test_block(dtype, device)

    def make(_index: int, p: Any) -> Any:
        t = torch.empty(mini_shape(tuple(p.shape), cap), dtype=dtype, device=device)
        fill_tiled(t, block)
        return t

    out = structure_copy(model, make)
    return out.to(device=device)


def meta_copy(model: Any) -> Any:
    """A copy of `model` on the meta device (no memory for parameters)."""
    import torch

    def make(_index: int, p: Any) -> Any:
        return torch.empty(p.shape, dtype=p.dtype, device="meta")

    return structure_copy(model, make).to("meta")


def refill(model: Any, scale: float = 1.0) -> None:
    """Write the test values (times `scale`) into every parameter of a copy."""
    params = unique_parameters(model)
    refill_some(params, range(len(params)), scale)


def refill_some(params: Any, indices: Any, scale: float = 1.0) -> None:
    """Write the test values (times `scale`) into `params[i]` for each i in `indices`."""
    import torch

    blocks: dict[tuple[Any, Any], Any] = {}
    with torch.no_grad():
        for i in indices:
            p = params[i]
            key = (p.dtype, p.device)
            if key not in blocks:
                blocks[key] = test_block(p.dtype, p.device)
            fill_tiled(p, blocks[key], scale)
