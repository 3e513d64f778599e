"""One `reglint check` run over many paths: discovery, per-file settings, linting, ordering."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from reglint.engine.config import ConfigResolver, Overrides, Settings
from reglint.engine.discovery import discover
from reglint.engine.runner import FileResult, lint_bytes, lint_file
from reglint.engine.selection import enabled_codes
from reglint.model import Finding, Severity
from reglint.registry import all_rules


@dataclass
class CheckRun:
    results: list[FileResult] = field(default_factory=list)
    fail_level: Severity = Severity.WARNING

    @property
    def findings(self) -> list[Finding]:
        out = [f for r in self.results for f in r.findings]
        out.sort(key=lambda f: f.sort_key)
        return out

    @property
    def sources(self) -> dict[str, list[str]]:
        return {r.path: r.source_lines for r in self.results if r.source_lines is not None}


def _enabled(settings: Settings) -> frozenset[str]:
    rules = all_rules()
    static = {code: info for code, info in rules.items() if info.origin != "audit"}
    return enabled_codes(settings, static)


def check_paths(
    paths: list[Path],
    overrides: Overrides,
    resolver: ConfigResolver,
    stdin_filename: Optional[str] = None,
) -> CheckRun:
    """Lint every file under `paths` ("-" is standard input). Raises ConfigError/DiscoveryError."""
    run = CheckRun()
    enabled_cache: dict[int, frozenset[str]] = {}
    fail_levels: list[Severity] = []

    def settings_for(path: Path) -> tuple[Settings, frozenset[str]]:
        settings = overrides.apply(resolver.for_path(path))
        key = id(settings.source) ^ hash((settings.select, settings.ignore, settings.extend_select))
        if key not in enabled_cache:
            enabled_cache[key] = _enabled(settings)
        fail_levels.append(settings.fail_level)
        return settings, enabled_cache[key]

    file_paths = [p for p in paths if str(p) != "-"]
    if any(str(p) == "-" for p in paths):
        display = stdin_filename or "-"
        settings, enabled = settings_for(Path(stdin_filename) if stdin_filename else Path.cwd() / "-")
        data = sys.stdin.buffer.read()
        run.results.append(lint_bytes(data, display, settings, enabled))
    for target in discover(file_paths, resolver):
        settings, enabled = settings_for(target.path)
        run.results.append(lint_file(target.path, settings, enabled))
    if not fail_levels:
        settings, _ = settings_for(Path.cwd() / "_")
    run.fail_level = min(fail_levels) if overrides.fail_level is None else overrides.fail_level
    return run
