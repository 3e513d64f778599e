"""Importing the audit target: a Python file, `file.py:attr`, a module, or `module:attr`.

Importing runs the user's code, like pytest does. The file's directory goes first on sys.path (as
when the file is run as a script, so its sibling imports work), sys.argv holds the file name and
the arguments given after `--` (`reglint audit train.py -- --lr 0.1`; so an `argparse` call at
import time reads those, never reglint's options), and any exception, `SystemExit` included,
becomes an AuditError with the user's traceback. A file that puts tensors on a GPU at import on a
machine without one gets told how to audit it.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import re
import sys
from collections.abc import Iterator, Sequence
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
def _script_like(path: Optional[str], args: Sequence[str] = ()) -> Iterator[None]:
    saved_argv = sys.argv
    saved_path = list(sys.path)
    sys.argv = [path or sys.argv[0], *args]
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


_NO_CUDA = re.compile(r"not compiled with CUDA|no NVIDIA driver|No CUDA GPUs are available|CUDA driver "
                      r"initialization failed|no CUDA-capable device|_cuda_setDevice|CUDA is not available",
                      re.IGNORECASE)


def _needs_cuda(exc: BaseException) -> bool:
    """The import failed because the file asked for a GPU on a machine that has none."""
    import torch

    return not torch.cuda.is_available() and bool(_NO_CUDA.search(f"{type(exc).__name__}: {exc}"))


def _cuda_hint(label: str, exc: BaseException) -> AuditError:
    return AuditError(
        f"importing {label} raised {type(exc).__name__}: {exc}: the file puts tensors or the model on a GPU "
        "while it is imported (`.cuda()`, `.to('cuda')`, `device='cuda'`) and this machine has none. Audit it "
        "on a machine with a GPU (add --device cuda), or let the file pick the device (`device = 'cuda' if "
        "torch.cuda.is_available() else 'cpu'`), or read the device from a command-line option and pass it "
        "after `--`: reglint audit FILE -- --device cpu",
        details=user_traceback(exc),
    )


def load(target: Target, args: Sequence[str] = ()) -> ModuleType:
    """Import the target's module (running its top-level code, with `args` as its command line)."""
    with _script_like(target.path, args):
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
                "`if __name__ == \"__main__\":` so that importing the file only defines things; if it parses "
                f"its command line, give the arguments after `--`: reglint audit {target.label} -- --lr 0.1",
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
            if _needs_cuda(exc):
                raise _cuda_hint(target.label, exc) from None
            raise AuditError(
                f"importing {target.label} raised {type(exc).__name__}: {exc}", details=user_traceback(exc)
            ) from None
