"""Importing the audit target: a Python file, `file.py:attr`, a module, or `module:attr`.

Importing runs the user's code, like pytest does. The file's directory goes first on sys.path (as
when the file is run as a script, so its sibling imports work), sys.argv holds only the file name
(so an `argparse` call at import time does not read reglint's options), and any exception,
`SystemExit` included, becomes an AuditError with the user's traceback.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Optional

from reglint.audit.errors import AuditError, user_traceback

_MODULE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


@dataclass(frozen=True)
class Target:
    """What to import (`path` or `module`) and which attribute names the model, if any."""

    label: str
    path: Optional[str] = None
    module: Optional[str] = None
    attr: Optional[str] = None


def parse_target(text: str) -> Target:
    """Split TARGET into a file or module and an optional `:attr`."""
    if os.path.exists(text):
        return Target(label=text, path=text)
    spec, attr = text, None
    head, sep, tail = text.rpartition(":")
    if sep and tail.isidentifier() and head:
        spec, attr = head, tail
    if os.path.exists(spec):
        return Target(label=text, path=spec, attr=attr)
    if spec.endswith(".py") or os.sep in spec or "/" in spec:
        raise AuditError(f"{spec}: no such file")
    if not _MODULE_NAME.match(spec):
        raise AuditError(f"{text!r} is neither a file nor a module name (use FILE, FILE:ATTR or MODULE:ATTR)")
    return Target(label=text, module=spec, attr=attr)


@contextlib.contextmanager
def _script_like(path: Optional[str]) -> Iterator[None]:
    saved_argv = sys.argv
    saved_path = list(sys.path)
    sys.argv = [path or sys.argv[0]]
    if path is not None:
        sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    else:
        sys.path.insert(0, os.getcwd())
    try:
        yield
    finally:
        sys.argv = saved_argv
        sys.path[:] = saved_path


def _module_name_for(path: str) -> str:
    stem = re.sub(r"\W", "_", os.path.splitext(os.path.basename(path))[0]) or "target"
    return f"reglint_audit_target_{stem}"


def load(target: Target) -> ModuleType:
    """Import the target's module (running its top-level code) or raise AuditError."""
    with _script_like(target.path):
        try:
            if target.path is not None:
                path = os.path.abspath(target.path)
                if os.path.isdir(path):
                    raise AuditError(f"{target.path} is a directory: give the Python file that builds the model")
                name = _module_name_for(path)
                spec = importlib.util.spec_from_file_location(name, path)
                if spec is None or spec.loader is None:
                    raise AuditError(f"{target.path}: not a Python file reglint can import")
                module = importlib.util.module_from_spec(spec)
                sys.modules[name] = module
                try:
                    spec.loader.exec_module(module)
                except BaseException:
                    sys.modules.pop(name, None)
                    raise
                return module
            assert target.module is not None
            return importlib.import_module(target.module)
        except AuditError:
            raise
        except SystemExit as exc:
            raise AuditError(
                f"importing {target.label} called sys.exit({exc.code!r}): put the training code under "
                "`if __name__ == \"__main__\":` so that importing the file only defines things",
                details=user_traceback(exc),
            ) from None
        except KeyboardInterrupt:
            raise
        except ModuleNotFoundError as exc:
            if target.module is not None and exc.name == target.module.split(".")[0]:
                raise AuditError(f"no module named {target.module!r} (run from the directory that holds it)") from None
            raise AuditError(
                f"importing {target.label} raised {type(exc).__name__}: {exc}", details=user_traceback(exc)
            ) from None
        except BaseException as exc:  # the user's code may raise anything
            raise AuditError(
                f"importing {target.label} raised {type(exc).__name__}: {exc}", details=user_traceback(exc)
            ) from None
