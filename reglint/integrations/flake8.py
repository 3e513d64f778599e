"""flake8 plugin: `flake8 --select RL` reports reglint's static rules.

Registered as the `flake8.extension` entry point `RL = reglint.integrations.flake8:Plugin`.
flake8 hands the plugin the file's lines (it never re-reads the file); reglint lints that text
with the `[tool.reglint]` settings of the nearest `pyproject.toml` (as `reglint check` would), so
`select`, `ignore`, `per-file-ignores` and `exclude` / `extend-exclude` there apply (a file
under an excluded directory gets no RL finding, as with `reglint check --force-exclude`).

flake8 has no severities: every reported line makes it exit 1. So that flake8 passes and fails
where `reglint check` does, only findings at or above the configured `fail-level` (default
`warning`) are reported: `info` findings (RL206, RL900) appear under flake8 only with
`fail-level = "info"`.

flake8's own `# noqa` handling then runs on top: note that a bare `# noqa` silences every flake8
code on the line, reglint's included, although it does not under `reglint check`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import ClassVar, Optional

from reglint import __version__
from reglint.engine.config import ConfigError, ConfigResolver, Settings
from reglint.engine.runner import lint_text
from reglint.model import Finding

Result = tuple[int, int, str, type]

_STDIN_NAMES = ("stdin", "-", "<stdin>")


class Plugin:
    """A flake8 AST plugin (flake8 classifies plugins by the `tree` parameter)."""

    name: ClassVar[str] = "reglint"
    version: ClassVar[str] = __version__

    _resolver: ClassVar[Optional[ConfigResolver]] = None
    _enabled_cache: ClassVar[dict[tuple[object, ...], frozenset[str]]] = {}

    def __init__(self, tree: ast.AST, filename: str, lines: Sequence[str]) -> None:
        self.filename = filename
        self.lines = lines

    def run(self) -> Iterator[Result]:
        """Yield (line, column from 0, "RLxxx message", type) for each reglint finding."""
        try:
            settings = self._settings()
        except ConfigError as exc:
            yield 1, 0, f"RL000 reglint configuration error: {exc}", type(self)
            return
        if self.filename not in _STDIN_NAMES and settings.force_excluded(Path(self.filename)):
            return
        text = "".join(self.lines)
        if text.startswith("\ufeff"):
            text = text[1:]
        result = lint_text(text, self.filename, settings, self._enabled(settings))
        for finding in result.findings:
            if finding.severity >= settings.fail_level:
                yield _position(finding) + (f"{finding.code} {finding.message}", type(self))

    def _settings(self) -> Settings:
        if Plugin._resolver is None:
            Plugin._resolver = ConfigResolver()
        if self.filename in _STDIN_NAMES:
            return Plugin._resolver.for_path(Path.cwd() / "_")
        return Plugin._resolver.for_path(Path(self.filename))

    @classmethod
    def _enabled(cls, settings: Settings) -> frozenset[str]:
        from reglint.engine.session import _enabled

        key = (settings.source, settings.select, settings.ignore, settings.extend_select)
        if key not in cls._enabled_cache:
            cls._enabled_cache[key] = _enabled(settings)
        return cls._enabled_cache[key]


def _position(finding: Finding) -> tuple[int, int]:
    return finding.line or 1, max((finding.column or 1) - 1, 0)
