"""A forward pass without data: every module returns 0·(its parameters), summed up the module tree.

DDP and FSDP reduce gradients only in a backward that follows their forward: DDP's reducer is
armed by its forward, FSDP gathers a unit's parameters in its forward and reduce-scatters their
gradients in the backward that follows. The audit has no data for the model, so during
`zero_forward(model)` each module's `forward` is replaced (on the instance, restored afterwards)
by one that returns Σ 0·p over its own parameters plus what its children return, each child called
through its `__call__`, so every wrapper's and FSDP unit's hooks run as in training. Wrapper
modules (DDP, FSDP units) keep their own forward. The result is a scalar 0 whose gradient with
respect to every parameter is exactly 0, connected to all of them (DDP expects a gradient for every
parameter), so that `(zero + penalty).backward()` gives each parameter the penalty's gradient as
the wrapper reduces it, and nothing else.
"""

from __future__ import annotations

import contextlib
import types
from collections.abc import Iterator
from typing import Any

from reglint.audit.distributed.names import inner_attribute


def _zero_forward(self: Any, *_args: Any, **_kwargs: Any) -> Any:
    total = None
    for name in list(self._parameters):
        p = getattr(self, name, None)  # inside an FSDP forward: the unsharded value
        if p is not None and getattr(p, "requires_grad", False):
            term = (p * 0).sum()
            total = term if total is None else total + term
    for child in self.children():
        term = child()
        if term is not None:
            total = term if total is None else total + term
    return total


@contextlib.contextmanager
def zero_forward(model: Any) -> Iterator[None]:
    """Within the block, `model()` runs the zero forward described above."""
    patched = []
    for module in model.modules():
        if inner_attribute(module) is not None:
            continue
        had = "forward" in vars(module)
        patched.append((module, had, vars(module).get("forward")))
        module.forward = types.MethodType(_zero_forward, module)
    try:
        yield
    finally:
        for module, had, previous in patched:
            if had:
                module.forward = previous
            else:
                del module.forward
