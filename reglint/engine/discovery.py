"""Which files a `reglint check PATHS` run reads."""

from __future__ import annotations

import os
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import Callable, Iterator, Optional

from reglint.engine.config import Settings
from reglint.engine.gitignore import GITIGNORE, IgnoreRules, rules_above

LINTABLE_SUFFIXES = (".py", ".pyi", ".ipynb")
VENV_MARKER = "pyvenv.cfg"  # every virtual environment made by venv or virtualenv has one
_BY_NAME = attrgetter("name")


@dataclass(frozen=True)
class Target:
    text: str  # the path as str(Path) spells it: a Path per file costs more than the rest of a warm run's bookkeeping
    explicit: bool  # named on the command line (then it is linted even if excluded or oddly named)


class DiscoveryError(Exception):
    pass


SettingsFor = Callable[[Path], Settings]


def discover(paths: list[Path], settings_for: SettingsFor) -> Iterator[Target]:
    """Yield the files under `paths`, depth-first in sorted order, skipping excluded ones.

    `settings_for(path)` gives the settings of a file (the command line's overrides applied).
    A file or directory named explicitly is linted whatever its exclusion (as ruff does) unless
    its settings say `force-exclude`; `.gitignore` applies to the files found in directories, not to those
    named (as in ruff). Symlinked directories are not followed, so loops cannot recurse.
    """
    seen: set[str] = set()  # absolute paths, as strings (cheaper than Path objects per file)
    for path in paths:
        if not path.exists() and not path.is_symlink():
            raise DiscoveryError(f"{path}: no such file or directory")
        if path.is_file() or (path.is_symlink() and not path.is_dir()):
            settings = settings_for(path)
            if settings.force_exclude and settings.force_excluded(path):
                continue
            key = str(path.absolute())
            if key not in seen:
                seen.add(key)
                yield Target(str(path), explicit=True)
            continue
        settings = settings_for(path / "_")
        if settings.force_exclude and settings.force_excluded(path):
            continue
        yield from _walk(path, settings_for, seen)


def _walk(root: Path, settings_for: SettingsFor, seen: set[str]) -> Iterator[Target]:
    """Depth-first in sorted order, a directory's files before its subdirectories (as os.walk
    top-down with sorted names); symlinked directories are listed, never entered; unreadable
    directories and virtual environments (a directory holding `pyvenv.cfg`) are skipped."""
    base = root.absolute()
    # (as the user spelled it, absolute, the .gitignore rules in force above it)
    pending: list[tuple[Path, Path, Optional[IgnoreRules]]] = [(root, base, rules_above(str(base)))]
    while pending:
        current, absolute, above = pending.pop()
        try:
            with os.scandir(current) as scan:
                entries = sorted(scan, key=_BY_NAME)
        except OSError:
            continue
        if absolute is not base and any(entry.name == VENV_MARKER for entry in entries):
            continue
        settings = settings_for(current / "_")
        file_excluded = settings.file_name_excluded(absolute, base)
        absolute_text = str(absolute)
        current_text = str(current)
        rules = above.entering(absolute_text, any(e.name == GITIGNORE for e in entries)) if above is not None else None
        ignored = rules.in_directory(absolute_text) if rules and settings.respect_gitignore else None
        subdirectories: list[tuple[Path, Path, Optional[IgnoreRules]]] = []
        for entry in entries:
            name = entry.name
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                if settings.is_excluded(absolute / name, base) or entry.is_symlink():
                    continue
                if ignored is not None and ignored(name, True):
                    continue
                subdirectories.append((current / name, absolute / name, rules))
                continue
            if not name.endswith(LINTABLE_SUFFIXES):
                continue
            try:
                regular = entry.is_file()
            except OSError:
                regular = False
            if not regular:
                continue  # a dangling link, a FIFO, a socket: reading it could block or fail
            if file_excluded(name):
                continue
            if ignored is not None and ignored(name, False):
                continue
            key = os.path.join(absolute_text, name)
            if key not in seen:
                seen.add(key)
                # str(current / name), without a Path: "." is dropped as pathlib drops it
                yield Target(name if current_text == "." else os.path.join(current_text, name), explicit=False)
        pending.extend(reversed(subdirectories))
