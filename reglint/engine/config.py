"""`[tool.reglint]` configuration: reading, validating and merging with command-line flags.

Every file is linted with the configuration of the nearest `pyproject.toml` above it that has a
`[tool.reglint]` table (as ruff does); flags given on the command line override it.
"""

from __future__ import annotations

import functools
import os
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Optional

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11 only
    import tomli as tomllib

from reglint.engine.globs import GlobError, compile_any, compile_glob
from reglint.model import Severity

DEFAULT_EXCLUDE: tuple[str, ...] = (
    ".git", ".hg", ".svn", ".bzr", ".tox", ".nox", ".venv", "venv", ".env", "env",
    "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".reglint_cache",
    "build", "dist", "site-packages", "node_modules", ".eggs", "*.egg-info", ".ipynb_checkpoints",
)

# Options a rule accepts, with their defaults; the table `[tool.reglint.RL204]` sets them.
RULE_OPTIONS: dict[str, dict[str, float]] = {
    "RL204": {"coupled-max": 1e-2, "decoupled-max": 0.3, "penalty-max": 1e-2},
}

_KNOWN_KEYS = {
    "select", "ignore", "extend-select", "extend-ignore", "per-file-ignores", "exclude",
    "extend-exclude", "force-exclude", "respect-gitignore", "fail-level",
}
_BOOLEAN_KEYS = ("force-exclude", "respect-gitignore")


class ConfigError(Exception):
    """A configuration that cannot be used; reported with exit code 2."""


@dataclass(frozen=True)
class Settings:
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: tuple[str, ...] = ()
    force_exclude: bool = False  # apply the excludes to files named on the command line too
    respect_gitignore: bool = True  # discovery skips what git ignores
    fail_level: Severity = Severity.WARNING
    rule_options: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    root: Optional[Path] = None  # directory of the pyproject.toml the settings came from
    source: Optional[Path] = None

    def option(self, code: str, key: str) -> float:
        return float(self.rule_options.get(code, {}).get(key, RULE_OPTIONS[code][key]))

    def is_excluded(self, path: Path, below: Optional[Path] = None) -> bool:
        """Does an exclude pattern match a component of `path` below `below` (the directory the
        user named: `reglint check ~/venv/proj` still lints proj), or its path from the config root?"""
        part_pattern, path_pattern, absolute_pattern = _exclude_matchers(self.exclude + self.extend_exclude)
        parts = path.parts
        if below is not None:
            try:
                parts = path.relative_to(below).parts
            except ValueError:
                pass
        if part_pattern is not None and any(part_pattern.fullmatch(part) for part in parts):
            return True
        if path_pattern is not None and _any_ancestor(path_pattern, _relative_posix(path, self.root)):
            return True
        if absolute_pattern is not None:
            return _any_ancestor(absolute_pattern, Path(os.path.abspath(path)).as_posix())
        return False

    def force_excluded(self, path: Path) -> bool:
        """`--force-exclude` for a file named on the command line: is it, or a directory above it
        up to the project root (the config's directory, else the working directory), excluded?"""
        absolute = Path(os.path.abspath(path))
        base = self.root if self.root is not None and _is_under(absolute, self.root) else Path.cwd()
        return self.is_excluded(absolute, base if _is_under(absolute, base) else absolute.parent)

    def file_name_excluded(self, directory: Path, below: Path) -> Callable[[str], bool]:
        """`is_excluded` for the files directly in `directory` (absolute, at or under `below`),
        as a test of the file's name: the directory's own components are matched once, not once
        per file (discovery asks for every file of a large tree)."""
        part_pattern, path_pattern, absolute_pattern = _exclude_matchers(self.exclude + self.extend_exclude)
        if path_pattern is not None or absolute_pattern is not None:
            return lambda name: self.is_excluded(directory / name, below)
        if part_pattern is None:
            return lambda name: False
        try:
            parts = directory.relative_to(below).parts
        except ValueError:
            parts = directory.parts
        if any(part_pattern.fullmatch(part) for part in parts):
            return lambda name: True
        match = part_pattern.fullmatch
        return lambda name: match(name) is not None

    def ignored_for(self, path: Optional[str]) -> tuple[str, ...]:
        """The codes `per-file-ignores` turns off for `path`, matched as ruff matches them: each
        pattern against the file's name and against its path from the config root; a pattern
        that starts with `!` applies to the files it does not match."""
        if not path:
            return ()
        p = Path(path)
        relative = _relative_posix(p, self.root) or p.as_posix()
        absolute = Path(os.path.abspath(p)).as_posix()
        codes: list[str] = []
        for pattern, pattern_codes in self.per_file_ignores:
            negated = pattern.startswith("!")
            text = _strip_dot_slash(pattern[1:] if negated else pattern)
            glob = compile_glob(text)
            target = absolute if Path(text).is_absolute() else relative
            matched = glob.fullmatch(p.name) is not None or glob.fullmatch(target) is not None
            if matched != negated:
                codes.extend(pattern_codes)
        return tuple(codes)


def _strip_dot_slash(pattern: str) -> str:
    while pattern.startswith("./"):
        pattern = pattern[2:]
    return pattern


def _is_under(path: Path, directory: Path) -> bool:
    try:
        path.relative_to(directory)
    except ValueError:
        return False
    return True


def _any_ancestor(pattern: re.Pattern[str], posix: Optional[str]) -> bool:
    """Does `pattern` match the POSIX path `posix` or a directory above it?"""
    while posix:
        if pattern.fullmatch(posix):
            return True
        head = posix.rpartition("/")[0]
        posix = head if head != posix else ""
    return False


@functools.lru_cache(maxsize=64)
def _exclude_matchers(patterns: tuple[str, ...]) -> tuple[Optional[re.Pattern[str]], ...]:
    """Compiled once per pattern set (discovery asks for every file and directory): the patterns
    without a `/`, matched against each path component; those with one, matched against the path
    from the config root; and absolute ones (`--exclude dir/sub` from the command line is made
    absolute from the working directory), matched against the absolute path."""
    simple = [p for p in patterns if "/" not in p]
    nested = [p for p in patterns if "/" in p]
    absolute = [p.rstrip("/") for p in nested if Path(p).is_absolute()]
    relative = [_strip_dot_slash(p).strip("/") for p in nested if not Path(p).is_absolute()]
    return compile_any(simple), compile_any(relative), compile_any(absolute)


def _relative_posix(path: Path, root: Optional[Path]) -> Optional[str]:
    if root is None:
        return None
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except (ValueError, OSError):
        return None


def _codes(value: Any, key: str, source: Path) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{source}: [tool.reglint] {key} must be a list of rule codes")
    return tuple(v.strip().upper() for v in value)


def parse_table(table: Mapping[str, Any], source: Path) -> Settings:
    """Turn a `[tool.reglint]` table into Settings, rejecting what it does not understand."""
    settings = Settings(root=source.parent, source=source)
    options: dict[str, dict[str, float]] = {}
    for key, value in table.items():
        if key.upper() in RULE_OPTIONS:
            code = key.upper()
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: [tool.reglint.{key}] must be a table of options")
            for opt, opt_value in value.items():
                if opt not in RULE_OPTIONS[code]:
                    known = ", ".join(RULE_OPTIONS[code])
                    raise ConfigError(f"{source}: unknown option {opt!r} for {code} (known: {known})")
                if isinstance(opt_value, bool) or not isinstance(opt_value, (int, float)):
                    raise ConfigError(f"{source}: {code} option {opt!r} must be a number")
                options.setdefault(code, {})[opt] = float(opt_value)
            continue
        if key not in _KNOWN_KEYS:
            raise ConfigError(
                f"{source}: unknown key {key!r} in [tool.reglint] (known: {', '.join(sorted(_KNOWN_KEYS))})"
            )
        if key == "select":
            settings = replace(settings, select=_codes(value, key, source))
        elif key == "ignore":
            settings = replace(settings, ignore=_codes(value, key, source))
        elif key == "extend-ignore":
            settings = replace(settings, ignore=settings.ignore + _codes(value, key, source))
        elif key == "extend-select":
            settings = replace(settings, extend_select=_codes(value, key, source))
        elif key in _BOOLEAN_KEYS:
            if not isinstance(value, bool):
                raise ConfigError(f"{source}: [tool.reglint] {key} must be true or false")
            if key == "force-exclude":
                settings = replace(settings, force_exclude=value)
            else:
                settings = replace(settings, respect_gitignore=value)
        elif key in ("exclude", "extend-exclude"):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{source}: [tool.reglint] {key} must be a list of glob patterns")
            _check_globs(value, f"{source}: [tool.reglint] {key}")
            if key == "exclude":
                settings = replace(settings, exclude=tuple(value))
            else:
                settings = replace(settings, extend_exclude=tuple(value))
        elif key == "per-file-ignores":
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: [tool.reglint] per-file-ignores must be a table of pattern = [codes]")
            _check_globs([p[1:] if p.startswith("!") else p for p in value], f"{source}: [tool.reglint] per-file-ignores")
            pairs = tuple((pattern, _codes(codes, f"per-file-ignores.{pattern}", source)) for pattern, codes in value.items())
            settings = replace(settings, per_file_ignores=pairs)
        elif key == "fail-level":
            try:
                settings = replace(settings, fail_level=Severity.parse(str(value)))
            except ValueError as exc:
                raise ConfigError(f"{source}: fail-level: {exc}") from None
    return replace(settings, rule_options=options)


def _check_globs(patterns: Iterable[str], where: str) -> None:
    for pattern in patterns:
        try:
            compile_glob(pattern)
        except GlobError as exc:
            raise ConfigError(f"{where}: {exc}") from None


def load_pyproject(path: Path) -> Optional[Settings]:
    """Settings from one pyproject.toml, or None when it has no [tool.reglint] table."""
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: invalid TOML: the file is not UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    tool = data.get("tool", {})
    table = tool.get("reglint") if isinstance(tool, dict) else None
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.reglint] must be a table")
    return parse_table(table, path)


class ConfigResolver:
    """Finds and caches the settings that apply to each directory."""

    def __init__(self, explicit: Optional[Path] = None, isolated: bool = False) -> None:
        self._explicit = load_pyproject(explicit) or Settings(root=explicit.parent, source=explicit) if explicit else None
        self._isolated = isolated
        self._cache: dict[Path, Settings] = {}
        self._by_spelling: dict[str, Settings] = {}  # directory as given -> its settings (no resolve)

    def for_path(self, path: Path) -> Settings:
        if self._explicit is not None:
            return self._explicit
        if self._isolated:
            return Settings()
        directory = path if path.is_dir() else path.parent
        spelling = str(directory)
        known = self._by_spelling.get(spelling)
        if known is not None:
            return known
        try:
            resolved = directory.resolve()
        except OSError:
            return Settings()
        settings = self._by_spelling[spelling] = self._for_directory(resolved)
        return settings

    def _for_directory(self, directory: Path) -> Settings:
        cached = self._cache.get(directory)
        if cached is not None:
            return cached
        candidate = directory / "pyproject.toml"
        settings: Optional[Settings] = None
        if candidate.is_file():
            settings = load_pyproject(candidate)
        if settings is None:
            parent = directory.parent
            settings = Settings() if parent == directory else self._for_directory(parent)
        self._cache[directory] = settings
        return settings


@dataclass(frozen=True)
class Overrides:
    """What the command line says; None means 'keep the configuration file's value'."""

    select: Optional[tuple[str, ...]] = None
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    exclude: Optional[tuple[str, ...]] = None  # replaces `exclude` (the defaults included), as ruff's --exclude
    extend_exclude: tuple[str, ...] = ()
    force_exclude: Optional[bool] = None
    respect_gitignore: Optional[bool] = None
    fail_level: Optional[Severity] = None

    def apply(self, settings: Settings) -> Settings:
        if self.select is not None:
            settings = replace(settings, select=self.select)
        if self.ignore:
            settings = replace(settings, ignore=settings.ignore + self.ignore)
        if self.extend_select:
            settings = replace(settings, extend_select=settings.extend_select + self.extend_select)
        if self.exclude is not None:
            settings = replace(settings, exclude=self.exclude)
        if self.extend_exclude:
            settings = replace(settings, extend_exclude=settings.extend_exclude + self.extend_exclude)
        if self.force_exclude is not None:
            settings = replace(settings, force_exclude=self.force_exclude)
        if self.respect_gitignore is not None:
            settings = replace(settings, respect_gitignore=self.respect_gitignore)
        if self.fail_level is not None:
            settings = replace(settings, fail_level=self.fail_level)
        return settings


def command_line_globs(patterns: Iterable[str]) -> tuple[str, ...]:
    """`--exclude` / `--extend-exclude` patterns: one with a `/` is relative to the working
    directory (as ruff reads them), so it is made absolute here; a bare name matches anywhere.
    Raises ConfigError for a pattern that cannot be compiled."""
    out: list[str] = []
    for pattern in patterns:
        _check_globs([pattern], f"--exclude {pattern!r}")
        if "/" in pattern and not Path(pattern).is_absolute():
            pattern = _escape_glob(Path.cwd().as_posix()) + "/" + _strip_dot_slash(pattern)
        out.append(pattern)
    return tuple(out)


def _escape_glob(text: str) -> str:
    return "".join("\\" + c if c in "*?[]{}\\," else c for c in text)


def split_codes(values: Iterable[str]) -> tuple[str, ...]:
    """`--select RL101,RL2 --select RL3` → ('RL101', 'RL2', 'RL3')."""
    out: list[str] = []
    for value in values:
        out.extend(part.strip().upper() for part in value.split(",") if part.strip())
    return tuple(out)


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}
