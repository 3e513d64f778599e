"""Errors that end an audit with exit code 2: the input, not the model, is at fault.

An `AuditError` carries a one-line message and, when the user's code raised, the user's own
traceback (reglint's and importlib's frames removed), so the person sees their bug, not ours.
"""

from __future__ import annotations

import os
import traceback
from typing import Optional

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class AuditError(Exception):
    """A problem with the audit's input (exit code 2)."""

    def __init__(self, message: str, details: Optional[str] = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class AuditTimeout(Exception):
    """A call into the user's code ran past `--timeout`."""


def _is_internal(filename: str) -> bool:
    if filename.startswith("<frozen importlib"):
        return True
    path = os.path.abspath(filename)
    return path.startswith(_PACKAGE_DIR + os.sep) and "fixtures" not in path


def user_traceback(exc: BaseException) -> str:
    """Format `exc` with only the frames of the user's code (and the libraries it called)."""
    te = traceback.TracebackException.from_exception(exc)
    frames = [f for f in te.stack if not _is_internal(f.filename)]
    te.stack = traceback.StackSummary.from_list(frames)
    return "".join(te.format()).rstrip("\n")


def user_code_error(what: str, exc: BaseException) -> AuditError:
    """An AuditError for `what` (e.g. "penalty(model)") raising `exc`, with the user's traceback."""
    if isinstance(exc, AuditTimeout):
        return AuditError(f"{what} {exc}")
    return AuditError(f"{what} raised {type(exc).__name__}: {exc}", details=user_traceback(exc))
