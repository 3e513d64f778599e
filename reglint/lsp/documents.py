"""Lint one editor document: its text, with the settings `reglint check` would use for its path.

The text is linted through the same entry point as a file of a `check` run (the prefilter, then
the runner; reglint/engine/prefilter.py `lint_source`), so the editor shows exactly what the
command line reports for the same content. Settings come from the nearest `pyproject.toml` with a
`[tool.reglint]` table above the document (or `--config` / `--isolated`); a document without a
path (an unsaved buffer) takes the settings of the workspace root. A file excluded by the
settings is not linted, as `reglint check --force-exclude` (what pre-commit runs) would skip it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from reglint.engine.config import ConfigError, ConfigResolver, Overrides, Settings
from reglint.engine.discovery import DiscoveryError
from reglint.engine.incremental import IncrementalParser
from reglint.engine.runner import FileResult, Parser
from reglint.model import Finding

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DocumentLint:
    """The result of linting one version of a document."""

    text: str
    path: str  # the path the engine saw (per-file ignores match it)
    findings: tuple[Finding, ...] = ()
    settings: Optional[Settings] = None
    enabled: frozenset[str] = frozenset()
    problem: Optional[str] = None  # a configuration or internal error: the findings are incomplete
    skipped: Optional[str] = None  # why the document was not linted at all


class DocumentLinter:
    """Lints documents; keeps the configuration resolver (and so its cache) between lints."""

    def __init__(self, config: Optional[Path] = None, isolated: bool = False, root: Optional[Path] = None) -> None:
        self._config = config
        self._isolated = isolated
        self.root = root
        self._resolver: Optional[ConfigResolver] = None
        self._lookup: Optional[Callable[[Path], tuple[Settings, frozenset[str]]]] = None
        self._parsers: dict[str, IncrementalParser] = {}  # per document: trees of its last version

    def reload_config(self) -> None:
        """Forget the settings read so far (a pyproject.toml changed)."""
        self._resolver = None
        self._lookup = None

    def forget(self, key: str) -> None:
        """The document `key` was closed: drop what was kept of it."""
        self._parsers.pop(key, None)

    def _resolver_now(self) -> ConfigResolver:
        if self._resolver is None:
            self._resolver = ConfigResolver(explicit=self._config, isolated=self._isolated)
        return self._resolver

    def settings_for(self, path: Optional[Path]) -> tuple[Settings, frozenset[str]]:
        """The settings and enabled codes for a document; raises ConfigError."""
        from reglint.engine.fixes import settings_lookup

        if self._lookup is None:
            self._lookup = settings_lookup(Overrides(), self._resolver_now())
        where = path if path is not None else (self.root or Path.cwd()) / "_"
        return self._lookup(where)

    def excluded(self, path: Optional[Path]) -> bool:
        """Would `reglint check --force-exclude PATH` skip this file? (Files not on disk yet are
        linted: there is nothing to match but their name, and the user is editing them.)"""
        if path is None or not path.is_file():
            return False
        try:
            return self.settings_for(path)[0].force_excluded(path)
        except (DiscoveryError, OSError):
            return False

    def lint(self, text: str, path: Optional[Path], name: Optional[str] = None, key: Optional[str] = None) -> DocumentLint:
        """Lint `text`, the content of the document at `path` (None: no file; `name` is then the
        path shown to the engine, for per-file ignores). `key` names the document across its
        versions: the top-level statements a new version shares with the last are not parsed
        again (engine/incremental.py)."""
        shown = str(path) if path is not None else (name or "untitled.py")
        try:
            settings, enabled = self.settings_for(path)
            if self.excluded(path):
                return DocumentLint(text, shown, settings=settings, enabled=enabled, skipped="excluded by the settings")
        except ConfigError as exc:
            return DocumentLint(text, shown, problem=f"configuration error: {exc}")
        from reglint.engine.parallel import collector_paused

        parser = self._parsers.setdefault(key, IncrementalParser()).parse if key is not None else None
        with collector_paused():
            result = lint_document(text, shown, settings, enabled, parser)
        problem = None
        if result.internal_error:
            logger.warning("internal error on %s: %s", shown, result.internal_error)
            problem = f"internal error: {result.internal_error.splitlines()[0]} (the server's log has the traceback)"
        return DocumentLint(text, shown, tuple(result.findings), settings, enabled, problem)

    def fix_all(self, lint: DocumentLint, unsafe: bool = False) -> Optional[str]:
        """The document's text with every fix applied that `reglint check --fix` would apply (with
        `unsafe`, `--unsafe-fixes` too), or None when nothing changes."""
        if lint.settings is None or lint.skipped or lint.problem:
            return None
        from reglint.engine.fixes import fix_source

        settings, enabled = lint.settings, lint.enabled
        outcome = fix_source(lint.text, lambda text: lint_document(text, lint.path, settings, enabled), unsafe=unsafe)
        return outcome.text if outcome.changed else None


def lint_document(
    text: str, path: str, settings: Settings, enabled: frozenset[str], parser: Optional[Parser] = None
) -> FileResult:
    """What `reglint check` finds in a file with this text (an empty result where the prefilter
    shows there is nothing to analyze)."""
    from reglint.engine.prefilter import lint_source

    result = lint_source(text, path, settings, enabled, parser)
    return result if result is not None else FileResult(path=path, source_lines=text.splitlines())
