"""Which files a `reglint check PATHS` run reads."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from reglint.engine.config import ConfigResolver

LINTABLE_SUFFIXES = (".py", ".pyi", ".ipynb")


@dataclass(frozen=True)
class Target:
    path: Path
    explicit: bool  # named on the command line (then it is linted even if excluded or oddly named)


class DiscoveryError(Exception):
    pass


def discover(paths: list[Path], resolver: ConfigResolver, force_exclude: bool = False) -> Iterator[Target]:
    """Yield the files under `paths`, depth-first in sorted order, skipping excluded ones.

    A file named explicitly is linted whatever its exclusion (as ruff does) unless `force_exclude`.
    Symlinked directories are not followed, so loops cannot recurse.
    """
    seen: set[Path] = set()
    for path in paths:
        if not path.exists() and not path.is_symlink():
            raise DiscoveryError(f"{path}: no such file or directory")
        if path.is_file() or (path.is_symlink() and not path.is_dir()):
            settings = resolver.for_path(path)
            if force_exclude and settings.is_excluded(path.absolute(), path.absolute().parent):
                continue
            key = path.absolute()
            if key not in seen:
                seen.add(key)
                yield Target(path, explicit=True)
            continue
        yield from _walk(path, resolver, seen)


def _walk(root: Path, resolver: ConfigResolver, seen: set[Path]) -> Iterator[Target]:
    base = root.absolute()
    for directory, dirnames, filenames in os.walk(root, followlinks=False):
        current = Path(directory)
        settings = resolver.for_path(current / "_")
        dirnames[:] = sorted(
            d for d in dirnames if not settings.is_excluded((current / d).absolute(), base)
        )
        for name in sorted(filenames):
            if not name.endswith(LINTABLE_SUFFIXES):
                continue
            candidate = current / name
            if not candidate.is_file():
                continue  # a dangling link, a FIFO, a socket: reading it could block or fail
            if settings.is_excluded(candidate.absolute(), base):
                continue
            key = candidate.absolute()
            if key not in seen:
                seen.add(key)
                yield Target(candidate, explicit=False)
