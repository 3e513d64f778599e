"""Which files a `reglint check PATHS` run reads."""

from __future__ import annotations

import os
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import Iterator

from reglint.engine.config import ConfigResolver

LINTABLE_SUFFIXES = (".py", ".pyi", ".ipynb")
_BY_NAME = attrgetter("name")


@dataclass(frozen=True)
class Target:
    text: str  # the path as str(Path) spells it: a Path per file costs more than the rest of a warm run's bookkeeping
    explicit: bool  # named on the command line (then it is linted even if excluded or oddly named)


class DiscoveryError(Exception):
    pass


def discover(paths: list[Path], resolver: ConfigResolver, force_exclude: bool = False) -> Iterator[Target]:
    """Yield the files under `paths`, depth-first in sorted order, skipping excluded ones.

    A file named explicitly is linted whatever its exclusion (as ruff does) unless `force_exclude`.
    Symlinked directories are not followed, so loops cannot recurse.
    """
    seen: set[str] = set()  # absolute paths, as strings (cheaper than Path objects per file)
    for path in paths:
        if not path.exists() and not path.is_symlink():
            raise DiscoveryError(f"{path}: no such file or directory")
        if path.is_file() or (path.is_symlink() and not path.is_dir()):
            settings = resolver.for_path(path)
            if force_exclude and settings.is_excluded(path.absolute(), path.absolute().parent):
                continue
            key = str(path.absolute())
            if key not in seen:
                seen.add(key)
                yield Target(str(path), explicit=True)
            continue
        yield from _walk(path, resolver, seen)


def _walk(root: Path, resolver: ConfigResolver, seen: set[str]) -> Iterator[Target]:
    """Depth-first in sorted order, a directory's files before its subdirectories (as os.walk
    top-down with sorted names); symlinked directories are listed, never entered; unreadable
    directories are skipped."""
    base = root.absolute()
    pending: list[tuple[Path, Path]] = [(root, base)]  # (as the user spelled it, absolute)
    while pending:
        current, absolute = pending.pop()
        try:
            with os.scandir(current) as scan:
                entries = sorted(scan, key=_BY_NAME)
        except OSError:
            continue
        settings = resolver.for_path(current / "_")
        file_excluded = settings.file_name_excluded(absolute, base)
        absolute_text = str(absolute)
        current_text = str(current)
        subdirectories: list[tuple[Path, Path]] = []
        for entry in entries:
            name = entry.name
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                if not settings.is_excluded(absolute / name, base) and not entry.is_symlink():
                    subdirectories.append((current / name, absolute / name))
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
            key = os.path.join(absolute_text, name)
            if key not in seen:
                seen.add(key)
                # str(current / name), without a Path: "." is dropped as pathlib drops it
                yield Target(name if current_text == "." else os.path.join(current_text, name), explicit=False)
        pending.extend(reversed(subdirectories))
