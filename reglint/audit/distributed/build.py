"""Building the audited set-up as the file says, on a rank (wrapped) or in one process (not).

The file is imported (target.py) and searched by the same names as the single-process audit
(discovery.py). On a rank the model must come out wrapped, in one of two documented ways:

- the file defines `wrap(model)` (or `wrap(model, device)`): reglint calls it on the model it
  found, on every rank, and nowhere else (not in the one-process measurement);
- `build_model()` (or the module's `model`) wraps by itself when a process group exists
  (`if dist.is_initialized(): model = DDP(model)`): reglint starts the process group before it
  imports the file, so the file sees it.

The penalty and an optimizer factory are then called as a training script calls them after
wrapping: `penalty(model)` and `build_optimizer(model)` get the wrapped model; methods of the
model (`model.penalty()`, `configure_optimizers()`) are called on the module inside the wrapper.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from reglint.audit.discovery import (
    OptimizerSource,
    find_model,
    find_optimizer,
    find_penalty,
    unwrap_optimizer,
)
from reglint.audit.distributed.names import unwrap, wrapping
from reglint.audit.errors import AuditError, AuditTimeout, user_code_error
from reglint.audit.factory_args import Resolver, parse_optimizer_args
from reglint.audit.sandbox import deadline
from reglint.audit.target import load, parse_target

WRAP_HOOK = "wrap"
NOT_WRAPPED = (
    "the model is not wrapped on the ranks: define wrap(model) in the file (reglint calls it on every rank, "
    "e.g. `def wrap(model): return DDP(model)`), or let build_model() wrap when a process group exists "
    "(`if dist.is_initialized(): model = DDP(model)`)"
)


@dataclass(frozen=True)
class AuditRequest:
    """What to audit: the command line's choices, as plain values (they travel to every process)."""

    target: str
    model: Optional[str] = None
    penalty: Optional[str] = None
    optimizer: Optional[str] = None
    optimizer_args: Optional[str] = None
    script_args: tuple[str, ...] = ()
    timeout: Optional[float] = 60.0


@dataclass
class Built:
    model: Any  # what the training step calls: the wrapped model on a rank, the model in one process
    inner: Any  # the module the user wrote
    model_label: str
    wrapping: str  # "" in one process
    penalty: Optional[Callable[[Any], Any]]
    penalty_label: str
    penalty_target: Any
    optimizer: Optional[OptimizerSource]
    notes: list[str] = field(default_factory=list)

    def build_optimizer(self, timeout: Optional[float]) -> Any:
        """The optimizer as the file builds it (may raise AuditError with the user's traceback)."""
        source = self.optimizer
        assert source is not None
        if source.instance is not None:
            return source.instance
        assert source.factory is not None
        host = self.inner if source.label.startswith("model.") else self.model
        try:
            with deadline(timeout, source.label):
                built = source.factory(host)
        except (Exception, AuditTimeout) as exc:
            raise user_code_error(source.label, exc) from None
        return unwrap_optimizer(built, source.label, self.notes)


def _call_wrap(hook: Callable[..., Any], model: Any, device: Any) -> Any:
    import torch

    try:
        params = [p for p in inspect.signature(hook).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    try:
        wrapped = hook(model, torch.device(device)) if len(params) >= 2 else hook(model)
    except Exception as exc:
        raise user_code_error(f"{WRAP_HOOK}(model)", exc) from None
    if not isinstance(wrapped, torch.nn.Module):
        raise AuditError(f"{WRAP_HOOK}(model) returned {type(wrapped).__name__}, not a torch.nn.Module")
    return wrapped


def build(request: AuditRequest, *, device: str, distributed: bool) -> Built:
    """Import the target and build its set-up; wrapped on a rank (`distributed`), plain otherwise."""
    parsed = parse_target(request.target)
    if request.model is not None and parsed.attr is not None and request.model != parsed.attr:
        raise AuditError(f"the model is named twice: TARGET's :{parsed.attr} and --model {request.model}")
    optimizer_args = parse_optimizer_args(request.optimizer_args)
    module = load(parsed, request.script_args)
    model, label = find_model(module, request.model or parsed.attr)
    if distributed and not wrapping(model):
        hook = getattr(module, WRAP_HOOK, None)
        if not callable(hook):
            raise AuditError(NOT_WRAPPED)
        model = _call_wrap(hook, model, device)
        if not wrapping(model):
            raise AuditError(f"{WRAP_HOOK}(model) returned a {type(model).__name__} without DDP or FSDP inside: "
                             + NOT_WRAPPED)
    inner = unwrap(model)
    notes: list[str] = []
    penalty, penalty_label = find_penalty(module, inner, request.penalty, notes)
    resolver = Resolver(module, inner, dict(optimizer_args or {}), device.split(":")[0])
    source = find_optimizer(module, inner, request.optimizer, resolver)
    if optimizer_args and (source is None or source.factory is None):
        raise AuditError("--optimizer-args is for an optimizer factory (build_optimizer(model, ...), "
                         "configure_optimizers(...)), and the optimizer found is not one")
    if source is not None and source.unavailable:
        if penalty is None:
            raise AuditError(source.unavailable)
        notes.append(f"optimizer not audited: {source.unavailable}")
        source = None
    if source is not None and source.called_with:
        notes.append(source.called_with)
    if penalty is None and source is None:
        raise AuditError(f"found the model ({label}) but no penalty and no optimizer, so there is nothing to "
                         "measure: define penalty(model) or regularization(model), and optimizer or "
                         "build_optimizer(model) (or name them with --penalty / --optimizer)")
    penalty_label = penalty_label or "penalty(model)"
    target = inner if penalty_label.startswith("model.") else model
    return Built(model, inner, label, wrapping(model), penalty, penalty_label, target, source, notes)
