"""Colour for terminal output, decided as ruff decides it.

`--color always|never` wins. Otherwise (`auto`, the default): `NO_COLOR` set to anything but the
empty string turns colour off; `FORCE_COLOR` (non-empty) or `CLICOLOR_FORCE` (other than `0`)
turns it on; else the stream gets colour when it is a terminal (and `TERM` is not `dumb`).
See https://no-color.org and https://force-color.org.
"""

from __future__ import annotations

import os
import sys
from typing import Optional, TextIO

from reglint.model import Severity

COLOR_CHOICES = ("auto", "always", "never")

_RESET = "\033[0m"
_BOLD, _RED, _YELLOW, _BLUE, _CYAN = "1", "31", "33", "34", "36"
_SEVERITY = {Severity.ERROR: (_BOLD, _RED), Severity.WARNING: (_BOLD, _YELLOW), Severity.INFO: (_BOLD, _BLUE)}


def use_color(stream: Optional[TextIO], choice: str = "auto") -> bool:
    """Whether to write ANSI colour to `stream` (see the module's docstring)."""
    if choice == "never":
        return False
    if choice == "always":
        _enable_windows_ansi(stream)
        return True
    if os.environ.get("NO_COLOR", ""):
        return False
    forced = bool(os.environ.get("FORCE_COLOR", "")) or os.environ.get("CLICOLOR_FORCE", "0") not in ("", "0")
    if forced:
        _enable_windows_ansi(stream)
        return True
    try:
        terminal = stream is not None and stream.isatty()
    except (AttributeError, ValueError, OSError):
        terminal = False
    if not terminal or os.environ.get("TERM") == "dumb":
        return False
    return _enable_windows_ansi(stream)


def _enable_windows_ansi(stream: Optional[TextIO]) -> bool:
    """Turn on ANSI escape handling in a Windows console (a no-op that succeeds elsewhere)."""
    if sys.platform != "win32":
        return True
    try:  # pragma: no cover - Windows only
        import ctypes
        import msvcrt

        handle = msvcrt.get_osfhandle(stream.fileno())  # type: ignore[union-attr]
        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        mode = ctypes.c_uint32()
        if not kernel32.GetConsoleMode(handle, ctypes.byref(mode)):
            return False
        return bool(kernel32.SetConsoleMode(handle, mode.value | 0x0004))  # ENABLE_VIRTUAL_TERMINAL_PROCESSING
    except Exception:  # pragma: no cover - not a console, or no ctypes
        return False


class Palette:
    """Styles for the parts of a report; every method returns its text unchanged when colour is off."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def _paint(self, text: str, *codes: str) -> str:
        if not self.enabled or not text:
            return text
        return f"\033[{';'.join(codes)}m{text}{_RESET}"

    def bold(self, text: str) -> str:
        return self._paint(text, _BOLD)

    def path(self, text: str) -> str:
        return self._paint(text, _BOLD)

    def separator(self, text: str) -> str:
        return self._paint(text, _CYAN)

    def code(self, text: str) -> str:
        return self._paint(text, _BOLD, _RED)

    def fixable(self) -> str:
        return f"[{self._paint('*', _CYAN)}]"

    def severity(self, severity: Severity, text: Optional[str] = None) -> str:
        return self._paint(text if text is not None else str(severity), *_SEVERITY[severity])

    def gutter(self, text: str) -> str:
        return self._paint(text, _BOLD, _BLUE)

    def marker(self, text: str) -> str:
        return self._paint(text, _BOLD, _RED)


PLAIN = Palette(False)
