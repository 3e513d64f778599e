"""Finding the model, the penalty and the optimizer in the imported module, by name.

Model: `--model NAME` (or TARGET's `:attr`), else an `nn.Module` instance called `model`, else a
zero-argument `build_model()` / `make_model()`, else the one LightningModule class defined in the
file (recognized by a base class named `LightningModule`, so lightning need not be installed).
Penalty: `--penalty NAME`, else `penalty(model)` / `regularization(model)`, else the model's own
`penalty()` / `regularization()` method. Optimizer: `--optimizer NAME`, else an optimizer instance
called `optimizer`, else `build_optimizer(model)` / `make_optimizer(model)`, else the model's
`configure_optimizers()`. Penalty and optimizer are optional; `none` switches either off.

Penalties and optimizer factories are returned as functions of a model, so that the audit can call
them on its own copies; an optimizer instance is kept as it is and rebuilt on copies later.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Callable, Optional

from reglint.audit.errors import AuditError, user_code_error
from reglint.audit.factory_args import Resolver, fill

MODEL_NAMES = ("model",)
MODEL_BUILDERS = ("build_model", "make_model")
PENALTY_NAMES = ("penalty", "regularization")
OPTIMIZER_NAMES = ("optimizer",)
OPTIMIZER_BUILDERS = ("build_optimizer", "make_optimizer")
LIGHTNING_HOOK = "configure_optimizers"
EXPECT_NAME = "REGLINT_EXPECT"
NONE = "none"

PenaltyFn = Callable[[Any], Any]


@dataclass
class OptimizerSource:
    """Where the optimizer comes from: an instance on the user's model, or a factory of a model.

    `unavailable` says why the factory cannot be called (arguments the file does not show);
    `called_with` which arguments reglint filled in (factory_args.py).
    """

    label: str
    instance: Any = None
    factory: Optional[Callable[[Any], Any]] = None
    unavailable: Optional[str] = None
    called_with: Optional[str] = None


@dataclass
class Setup:
    model: Any
    model_label: str
    penalty: Optional[PenaltyFn]
    penalty_label: Optional[str]
    optimizer: Optional[OptimizerSource]
    expect: Optional[str] = None
    notes: list[str] = field(default_factory=list)


def _is_module(value: Any) -> bool:
    import torch

    return isinstance(value, torch.nn.Module)


def _is_optimizer(value: Any) -> bool:
    import torch

    return isinstance(value, torch.optim.Optimizer)


def _is_lightning_class(value: Any) -> bool:
    import torch

    return (
        inspect.isclass(value)
        and issubclass(value, torch.nn.Module)
        and any(base.__name__ == "LightningModule" for base in value.__mro__[1:])
    )


def _required_positional(fn: Callable[..., Any]) -> Optional[int]:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    return sum(
        1
        for p in sig.parameters.values()
        if p.default is inspect.Parameter.empty
        and p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    )


def _build_model(value: Any, label: str) -> tuple[Any, str]:
    """An nn.Module from an instance, a class (no arguments) or a zero-argument function."""
    if _is_module(value):
        return value, label
    if callable(value):
        shown = f"{label}()"
        if _required_positional(value):
            raise AuditError(f"{shown} needs arguments: reglint builds the model with no arguments; add a build_model() that does")
        try:
            built = value()
        except Exception as exc:
            raise user_code_error(shown, exc) from None
        if not _is_module(built):
            raise AuditError(f"{shown} returned {type(built).__name__}, not a torch.nn.Module")
        return built, shown
    raise AuditError(f"`{label}` is a {type(value).__name__}, not a torch.nn.Module or a function that builds one")


def find_model(module: ModuleType, name: Optional[str]) -> tuple[Any, str]:
    if name is not None:
        if not hasattr(module, name):
            raise AuditError(f"no `{name}` in {module.__name__} (given with --model or TARGET:attr)")
        return _build_model(getattr(module, name), name)
    for attr in MODEL_NAMES:
        value = getattr(module, attr, None)
        if _is_module(value):
            return value, attr
    for attr in MODEL_BUILDERS:
        value = getattr(module, attr, None)
        if callable(value):
            return _build_model(value, attr)
    lightning = [
        value
        for value in vars(module).values()
        if _is_lightning_class(value) and getattr(value, "__module__", None) == module.__name__
    ]
    if len(lightning) > 1:
        names = ", ".join(sorted(c.__name__ for c in lightning))
        raise AuditError(f"several LightningModule classes ({names}): pick one with --model NAME")
    if lightning:
        return _build_model(lightning[0], lightning[0].__name__)
    looked = ", ".join(["`model` (an nn.Module)", *(f"`{b}()`" for b in MODEL_BUILDERS), "a LightningModule class"])
    raise AuditError(f"no model found: looked for {looked}; name it with --model NAME")


def _method_penalty(name: str) -> PenaltyFn:
    def call(model: Any) -> Any:
        return getattr(model, name)()

    return call


def _own_method(model: Any, name: str) -> bool:
    import torch

    attr = getattr(type(model), name, None)
    return callable(attr) and not hasattr(torch.nn.Module, name)


def _penalty_from_function(fn: Callable[..., Any], label: str) -> tuple[PenaltyFn, str]:
    if _required_positional(fn) == 0:
        raise AuditError(
            f"{label}() takes no argument: reglint calls {label}(model) on copies of the model, so the "
            f"penalty must use its argument (def {label}(model): ...)"
        )
    return fn, f"{label}(model)"


def find_penalty(module: ModuleType, model: Any, name: Optional[str], notes: list[str]) -> tuple[Optional[PenaltyFn], Optional[str]]:
    if name is not None and name.lower() == NONE:
        return None, None
    if name is not None:
        value = getattr(module, name, None)
        if callable(value) and not _is_module(value):
            return _penalty_from_function(value, name)
        if _own_method(model, name):
            return _method_penalty(name), f"model.{name}()"
        raise AuditError(f"no penalty function `{name}` in {module.__name__} and no method `{name}` on the model")
    for attr in PENALTY_NAMES:
        value = getattr(module, attr, None)
        if value is None:
            continue
        if callable(value) and not _is_module(value):
            return _penalty_from_function(value, attr)
        notes.append(f"`{attr}` is a {type(value).__name__}, not a function: not used as the penalty")
    for attr in PENALTY_NAMES:
        if _own_method(model, attr):
            return _method_penalty(attr), f"model.{attr}()"
    return None, None


def _factory_source(fn: Callable[..., Any], takes_model: bool, label: str, resolver: Resolver) -> OptimizerSource:
    """A factory of the model with the other arguments it needs filled in from the file."""
    filled = fill(fn, takes_model, resolver)
    source = OptimizerSource(label=label, factory=filled.factory)
    if filled.missing:
        source.unavailable = filled.missing_message(label)
    elif filled.used:
        source.called_with = filled.describe(label)
    return source


def find_optimizer(module: ModuleType, model: Any, name: Optional[str],
                   resolver: Optional[Resolver] = None) -> Optional[OptimizerSource]:
    resolver = resolver or Resolver(module, model, {}, "cpu")
    if name is not None and name.lower() == NONE:
        return None
    if name is not None:
        value = getattr(module, name, None)
        if _is_optimizer(value):
            return OptimizerSource(label=name, instance=value)
        if callable(value) and not inspect.isclass(value):
            return _factory_source(value, True, f"{name}(model)", resolver)
        if _own_method(model, name):
            return _factory_source(getattr(model, name), False, f"model.{name}()", resolver)
        raise AuditError(f"no optimizer `{name}` in {module.__name__} and no method `{name}` on the model")
    for attr in OPTIMIZER_NAMES:
        value = getattr(module, attr, None)
        if _is_optimizer(value):
            return OptimizerSource(label=attr, instance=value)
    for attr in OPTIMIZER_BUILDERS:
        value = getattr(module, attr, None)
        if callable(value) and not inspect.isclass(value):
            return _factory_source(value, True, f"{attr}(model)", resolver)
    if _own_method(model, LIGHTNING_HOOK):
        return _factory_source(getattr(model, LIGHTNING_HOOK), False, f"model.{LIGHTNING_HOOK}()", resolver)
    value = getattr(module, LIGHTNING_HOOK, None)
    if callable(value):
        return _factory_source(value, True, f"{LIGHTNING_HOOK}(model)", resolver)
    return None


def unwrap_optimizer(result: Any, label: str, notes: list[str]) -> Any:
    """The optimizer inside what a factory returned (Lightning's shapes included)."""
    if _is_optimizer(result):
        return result
    if isinstance(result, dict) and "optimizer" in result:
        return unwrap_optimizer(result["optimizer"], label, notes)
    if isinstance(result, (list, tuple)) and result:
        first = result[0]
        if isinstance(first, (list, tuple)) and first:  # ([optimizers], [schedulers])
            return unwrap_optimizer(first, label, notes)
        optimizers = [r for r in result if _is_optimizer(r) or (isinstance(r, dict) and "optimizer" in r)]
        if len(optimizers) > 1:
            notes.append(f"{label} returned {len(optimizers)} optimizers: only the first is audited")
        if optimizers:
            return unwrap_optimizer(optimizers[0], label, notes)
    raise AuditError(f"{label} returned {type(result).__name__}, not a torch.optim.Optimizer")


def discover(module: ModuleType, *, model: Optional[str] = None, penalty: Optional[str] = None,
             optimizer: Optional[str] = None, optimizer_args: Optional[dict[str, Any]] = None,
             device_type: str = "cpu") -> Setup:
    notes: list[str] = []
    built, model_label = find_model(module, model)
    penalty_fn, penalty_label = find_penalty(module, built, penalty, notes)
    resolver = Resolver(module, built, dict(optimizer_args or {}), device_type)
    opt = find_optimizer(module, built, optimizer, resolver)
    if optimizer_args and (opt is None or opt.factory is None):
        raise AuditError("--optimizer-args is for an optimizer factory (build_optimizer(model, ...), "
                         "configure_optimizers(...)), and the optimizer found is not one")
    if opt is not None and opt.called_with:
        notes.append(opt.called_with)
    expect = getattr(module, EXPECT_NAME, None)
    if expect is not None and not isinstance(expect, str):
        raise AuditError(f"{EXPECT_NAME} must be a string such as \"l2=1e-4\", not {type(expect).__name__}")
    return Setup(built, model_label, penalty_fn, penalty_label, opt, expect=expect, notes=notes)
