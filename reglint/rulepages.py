"""Where the rule pages (rules/RL101.md ...) live: inside the wheel, or in the source checkout."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

_PACKAGE = Path(__file__).resolve().parent


def pages_directory() -> Optional[Path]:
    for candidate in (_PACKAGE / "_rules", _PACKAGE.parent / "rules"):
        if candidate.is_dir():
            return candidate
    return None


def find_page(code: str) -> Optional[Path]:
    directory = pages_directory()
    if directory is None:
        return None
    page = directory / f"{code.upper()}.md"
    return page if page.is_file() else None
