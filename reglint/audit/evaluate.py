"""Calling the penalty on the audit's copies, and reducing its gradient to sums as it arrives.

`Evaluator.sums` runs one penalty backward with a post-accumulate-grad hook on each parameter of
the copy: the hook folds that parameter's gradient onto the period of the test values (sums.py),
which the copy's parameters hold, fits it (forms.py), keeps only the fit, and drops `.grad` at once, so the gradients of a 100M-parameter model never exist all together (the backward
needs the copy plus the few tensors in flight, not a second copy of the model). The backward is
restricted to the copy's own parameters (`inputs=`), so a tensor of the user's that the penalty
happens to reach never gets a `.grad`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any, Callable, Optional

from reglint.audit.copies import BLOCK_SIZE
from reglint.audit.forms import Measured, measure
from reglint.audit.sandbox import call_penalty
from reglint.audit.sums import fold


class Evaluator:
    """Calls the penalty on a given copy (reseeded, with a deadline, result checked)."""

    def __init__(self, fn: Callable[[Any], Any], label: str, timeout: Optional[float]) -> None:
        self.fn, self.label, self.timeout = fn, label, timeout

    def __call__(self, model: Any, strict: bool = False) -> Any:
        return call_penalty(self.fn, model, self.label, self.timeout, strict)

    def sums(self, model: Any, params: Sequence[Any], wanted: Collection[int]) -> tuple[float, dict[int, Measured]]:
        """The penalty's value on `model` and, for each index in `wanted`, its gradient measured.

        `params` are the copy's parameters (`unique_parameters(model)`), holding test values (or
        zeros); only those that require grad can be wanted. A wanted parameter the penalty does
        not reach gets a zero gradient.
        """
        import torch

        index = {id(p): i for i, p in enumerate(params)}
        wanted = set(wanted)
        out: dict[int, Measured] = {}

        def take(p: Any) -> None:
            i = index[id(p)]
            if i in wanted:
                out[i] = measure(fold(p.grad, p, BLOCK_SIZE))
            p.grad = None

        trainable = [p for p in params if p.requires_grad]
        handles = [p.register_post_accumulate_grad_hook(take) for p in trainable]
        try:
            with torch.enable_grad():
                value = self(model)
                if value.requires_grad and trainable:
                    torch.autograd.backward(value, inputs=trainable)
        finally:
            for handle in handles:
                handle.remove()
            for p in params:
                p.grad = None
        for i in wanted:
            if i not in out:
                out[i] = measure(fold(None, params[i], BLOCK_SIZE))
        return float(value.detach()), out
