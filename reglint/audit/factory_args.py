"""Arguments for an optimizer factory that needs more than the model.

nanoGPT's `configure_optimizers(self, weight_decay, learning_rate, betas, device_type)` and helpers
like `build_optimizer(model, lr)` take the training configuration as arguments. reglint fills each
required parameter (one without a default) by name, from, in this order:

1. `--optimizer-args 'weight_decay=0.1,learning_rate=6e-4'` (values are Python literals; a bare
   word is a string);
2. a module-level constant of the audited file (`weight_decay = 1e-1`);
3. a configuration object in the file: a dict named like a config (`config`, `cfg`, `hparams`,
   `args`, ...), a dataclass, `argparse.Namespace` or `SimpleNamespace` instance, a class or
   instance whose class name ends in Config/Args/HParams (`GPTConfig`), the model's own
   `config` / `cfg` / `hparams` / `args`;
4. the default of an `argparse` option of a module-level parser (`--weight_decay` / `--weight-decay`);
5. what it stands for: `lr` and `learning_rate` for each other, `wd` and `weight_decay`, `betas`
   from `beta1` and `beta2`.

`device_type` and `device` are the device the audit runs on (its copies live there), unless
`--optimizer-args` says otherwise.

Parameters with defaults keep them unless `--optimizer-args` names them. What cannot be found is
reported with the option to pass it, never guessed.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import ModuleType, SimpleNamespace
from typing import Any, Callable, Optional

from reglint.audit.errors import AuditError

CONFIG_NAME = re.compile(r"(config|cfg|hparams|hyper|args|opts?|settings)", re.IGNORECASE)
CONFIG_CLASS = re.compile(r"(Config|Args|HParams|Hparams|Arguments)$")
MODEL_CONFIG_ATTRS = ("config", "cfg", "hparams", "args")
SYNONYMS = {"lr": ("learning_rate",), "learning_rate": ("lr",), "wd": ("weight_decay",), "weight_decay": ("wd",)}
DEVICE_NAMES = ("device_type", "device")


def parse_optimizer_args(text: Optional[str]) -> dict[str, Any]:
    """`a=1,b=(0.9, 0.95),c=cpu` → {'a': 1, 'b': (0.9, 0.95), 'c': 'cpu'}."""
    if text is None or not text.strip():
        return {}
    out: dict[str, Any] = {}
    for item in _split_top_level(text):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise AuditError(f"--optimizer-args {text!r}: expected NAME=VALUE items separated by commas, got {item.strip()!r}")
        value = value.strip()
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            if not re.fullmatch(r"[A-Za-z_][\w.:-]*", value):
                raise AuditError(f"--optimizer-args {text!r}: {value!r} is neither a Python literal nor a word") from None
            out[key] = value
    return out


def _split_top_level(text: str) -> list[str]:
    items, depth, current = [], 0, ""
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += ch
    items.append(current)
    return [i for i in items if i.strip()]


def _plain(value: Any) -> bool:
    """A value a configuration holds: a number, string, bool, None, or a tuple/list of those."""
    if isinstance(value, (bool, int, float, str)) or value is None:
        return True
    return isinstance(value, (tuple, list)) and all(isinstance(v, (bool, int, float, str)) for v in value)


def _lookup(obj: Any, name: str) -> tuple[bool, Any]:
    if isinstance(obj, Mapping):
        return (name in obj, obj.get(name))
    if hasattr(obj, "__dict__") or dataclasses.is_dataclass(obj):
        try:
            value = getattr(obj, name)
        except Exception:  # properties of the user's objects may raise
            return False, None
        return True, value
    return False, None


def _config_objects(module: ModuleType, model: Any) -> list[tuple[str, Any]]:
    import argparse

    found: list[tuple[str, Any]] = []
    for attr, value in vars(module).items():
        if attr.startswith("__") or isinstance(value, ModuleType):
            continue
        cls = value if inspect.isclass(value) else type(value)
        if isinstance(value, Mapping) and CONFIG_NAME.search(attr):
            found.append((f"{attr}[...]", value))
        elif isinstance(value, (argparse.Namespace, SimpleNamespace)):
            found.append((attr, value))
        elif dataclasses.is_dataclass(value) or CONFIG_CLASS.search(cls.__name__):
            found.append((attr, value))
    for attr in MODEL_CONFIG_ATTRS:
        value = getattr(model, attr, None)
        if value is not None and not callable(value):
            found.append((f"model.{attr}", value))
    return found


def _parser_defaults(module: ModuleType) -> dict[str, tuple[str, Any]]:
    import argparse

    out: dict[str, tuple[str, Any]] = {}
    for attr, value in vars(module).items():
        if isinstance(value, argparse.ArgumentParser):
            for action in value._actions:
                if action.default is not None and action.default is not argparse.SUPPRESS and _plain(action.default):
                    out.setdefault(action.dest, (f"the default of {attr}'s --{action.dest}", action.default))
    return out


@dataclass
class Resolver:
    """Looks values up by name in the audited file, in the order the module docstring gives."""

    module: ModuleType
    model: Any
    explicit: dict[str, Any]
    device_type: str
    configs: list[tuple[str, Any]] = field(default_factory=list)
    parser: dict[str, tuple[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.configs = _config_objects(self.module, self.model)
        self.parser = _parser_defaults(self.module)

    def direct(self, name: str) -> Optional[tuple[str, Any]]:
        if name in self.explicit:
            return "--optimizer-args", self.explicit[name]
        value = vars(self.module).get(name, _MISSING)
        if value is not _MISSING and _plain(value):
            return "a module constant", value
        for label, obj in self.configs:
            ok, value = _lookup(obj, name)
            if ok and _plain(value):
                return label, value
        return self.parser.get(name)

    def find(self, name: str) -> Optional[tuple[str, Any]]:
        if name in DEVICE_NAMES and name not in self.explicit:
            # the copies the factory gets live on the audit's device, whatever the file trains on
            return "the audit's device", self.device_type
        hit = self.direct(name)
        if hit is not None:
            return hit
        for other in SYNONYMS.get(name, ()):
            hit = self.direct(other)
            if hit is not None:
                return f"{hit[0]} (as `{other}`)", hit[1]
        if name == "betas":
            b1, b2 = self.direct("beta1"), self.direct("beta2")
            if b1 is not None and b2 is not None:
                return "beta1, beta2", (b1[1], b2[1])
        return None


_MISSING = object()


@dataclass
class Filled:
    """A factory of the model with its other arguments bound, and what was used or is missing."""

    factory: Callable[[Any], Any]
    used: list[tuple[str, Any, str]] = field(default_factory=list)  # (name, value, where from)
    missing: list[str] = field(default_factory=list)

    def describe(self, label: str) -> str:
        shown = ", ".join(f"{n}={v!r}" for n, v, _ in self.used)
        sources: dict[str, list[str]] = {}
        for n, _, where in self.used:
            sources.setdefault(where, []).append(n)
        why = "; ".join(f"{', '.join(names)} from {where}" for where, names in sources.items())
        return f"{label} called with {shown} ({why})"

    def missing_message(self, label: str) -> str:
        example = ",".join(f"{n}=..." for n in self.missing)
        return (f"{label} needs {', '.join(self.missing)}, which the file does not show (no module constant, "
                f"config or argparse default of that name): pass them with --optimizer-args '{example}', or "
                "leave the optimizer out with --optimizer none")


def fill(fn: Callable[..., Any], takes_model: bool, resolver: Resolver) -> Filled:
    """Bind `fn`'s required parameters (after the model, when `takes_model`) from `resolver`.

    Returns a factory of the model. `fn` is a function of the model (`takes_model`) or a method
    already bound to it, in which case the factory looks the method up on the model it is given.
    """
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return Filled(factory=_call(fn, takes_model, [], {}))
    if takes_model and params and params[0].kind in (params[0].POSITIONAL_ONLY, params[0].POSITIONAL_OR_KEYWORD):
        params = params[1:]
    positional: list[Any] = []
    keywords: dict[str, Any] = {}
    used: list[tuple[str, Any, str]] = []
    missing: list[str] = []
    for p in params:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        required = p.default is p.empty
        hit = resolver.find(p.name) if required else (
            ("--optimizer-args", resolver.explicit[p.name]) if p.name in resolver.explicit else None)
        if hit is None:
            if required:
                missing.append(p.name)
            continue
        where, value = hit
        used.append((p.name, value, where))
        if p.kind == p.POSITIONAL_ONLY:
            positional.append(value)
        else:
            keywords[p.name] = value
    unknown = sorted(set(resolver.explicit) - {p.name for p in params})
    if unknown and not any(p.kind == p.VAR_KEYWORD for p in params):
        raise AuditError(f"--optimizer-args names {', '.join(unknown)}, which the optimizer factory does not take")
    return Filled(factory=_call(fn, takes_model, positional, keywords), used=used, missing=missing)


def _call(fn: Callable[..., Any], takes_model: bool, args: list[Any], kwargs: dict[str, Any]) -> Callable[[Any], Any]:
    if takes_model:
        def factory(model: Any) -> Any:
            return fn(model, *args, **kwargs)
    else:
        name = fn.__name__

        def factory(model: Any) -> Any:
            return getattr(model, name)(*args, **kwargs)

    return factory
