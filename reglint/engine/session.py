"""One `reglint check` run over many paths: discovery, per-file settings, linting, ordering.

The per-file work runs in worker processes (parallel.py) when there is enough of it; results are
put back in discovery order, so the output is the same for any `--jobs`. Importing this module
does not import libcst or the rules: a run whose files are all cached never needs them.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Protocol, Sequence, Union

from reglint.engine.cache import Entry, ResultCache, Shard, file_key, finding_to_json
from reglint.engine.config import ConfigResolver, Overrides, Settings
from reglint.engine.discovery import discover
from reglint.engine.parallel import (
    Config,
    Job,
    Outcome,
    content_digest,
    current_fingerprint,
    default_jobs,
    read_fingerprinted,
    run_jobs,
)
from reglint.model import Finding, Severity

# A file's lines, or a notebook's lines per cell (by 1-based cell index).
SourceLines = Union[list[str], dict[int, list[str]]]


class FileResultLike(Protocol):
    path: str
    findings: list[Finding]
    source_lines: Optional[list[str]]


@dataclass
class RunStats:
    files: int = 0
    cached: int = 0  # findings reused from the cache
    analyzed: int = 0  # parsed and analyzed with libcst
    prefiltered: int = 0  # shown by the prefilter to have nothing to analyze


@dataclass
class CheckRun:
    results: list[Any] = field(default_factory=list)  # FileResultLike; runner.FileResult when need_modules
    fail_level: Severity = Severity.WARNING
    stats: RunStats = field(default_factory=RunStats)
    read_paths: dict[str, str] = field(default_factory=dict)  # display path -> file to re-read for frames

    @property
    def findings(self) -> list[Finding]:
        out = [f for r in self.results for f in r.findings]
        out.sort(key=lambda f: f.sort_key)
        return out

    @property
    def sources(self) -> dict[str, SourceLines]:
        """Source lines of the files that have findings (read again if the result came from the
        cache or a worker), for code frames; for a notebook, each cell's lines by cell index."""
        out: dict[str, SourceLines] = {}
        for result in self.results:
            if not result.findings:
                continue
            lines: Optional[SourceLines] = result.source_lines
            if lines is None and result.path.endswith(".ipynb"):
                lines = getattr(result, "cell_sources", None)  # a notebook linted in this process
                if not lines and result.path in self.read_paths:
                    from reglint.engine.cells import load_cell_sources

                    lines = load_cell_sources(self.read_paths[result.path])
            elif lines is None and result.path in self.read_paths:
                lines = _read_lines(self.read_paths[result.path])
            if lines:
                out[result.path] = lines
        return out


def _read_lines(path: str) -> Optional[list[str]]:
    """The file's lines decoded as Python does (BOM, coding cookie, else UTF-8), for code frames."""
    import io
    import tokenize

    if not path.endswith((".py", ".pyi")):
        return None
    try:
        data = Path(path).read_bytes()
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        text = data.decode(encoding, errors="replace")
    except (OSError, SyntaxError, LookupError):
        return None
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.splitlines()


def _value_key(settings: Settings) -> tuple[object, ...]:
    options = tuple(sorted((code, tuple(sorted(values.items()))) for code, values in settings.rule_options.items()))
    return tuple(getattr(settings, name) for name in Settings.__dataclass_fields__ if name != "rule_options") + (options,)


def _enabled(settings: Settings) -> frozenset[str]:
    from reglint.engine.selection import enabled_codes
    from reglint.registry import all_rules

    rules = all_rules()
    static = {code: info for code, info in rules.items() if info.origin != "audit"}
    return enabled_codes(settings, static)


class _SettingsTable:
    """Settings per file, and the distinct (settings, enabled codes) pairs the workers receive.

    The enabled codes are computed only when a file needs linting, from the rule catalog
    (reglint/catalog.py), which does not import libcst: the rules and libcst are imported only
    when a file needs analyzing (runner.py), or once before forking workers (parallel.py).
    """

    def __init__(self, overrides: Overrides, resolver: ConfigResolver, prefilter: bool, cached: bool = True) -> None:
        self.overrides = overrides
        self.resolver = resolver
        self.prefilter = prefilter
        self.cached = cached
        self._by_directory: dict[str, Settings] = {}
        self._applied: dict[tuple[object, ...], Settings] = {}  # base settings (by value) -> applied
        self._kept: list[Settings] = []
        self._enabled: dict[tuple[tuple[str, ...], ...], frozenset[str]] = {}
        self._config_index: dict[int, int] = {}  # id(applied settings) -> index in configs
        self.configs: list[Config] = []

    def settings(self, path: Union[Path, str]) -> Settings:
        """The settings of a file; one object per distinct configuration, so ids can key caches."""
        directory = os.path.dirname(str(path)) or "."
        known = self._by_directory.get(directory)
        if known is not None:
            return known
        base = self.resolver.for_path(Path(path))
        key = _value_key(base)
        try:
            applied = self._applied.get(key)
        except TypeError:  # a field that cannot be hashed: fall back to the object's identity
            self._kept.append(base)
            key = ("id", id(base))
            applied = self._applied.get(key)
        if applied is None:
            applied = self._applied[key] = self.overrides.apply(base)
        self._by_directory[directory] = applied
        return applied

    def enabled(self, settings: Settings) -> frozenset[str]:
        key = (settings.select, settings.ignore, settings.extend_select)
        codes = self._enabled.get(key)
        if codes is None:
            codes = _enabled(settings)
            self._enabled[key] = codes
        return codes

    def config(self, settings: Settings) -> int:
        index = self._config_index.get(id(settings))
        if index is None:
            index = len(self.configs)
            self.configs.append(Config(settings, self.enabled(settings), self.prefilter, self.cached))
            self._config_index[id(settings)] = index
        return index


def check_paths(
    paths: list[Path],
    overrides: Overrides,
    resolver: ConfigResolver,
    stdin_filename: Optional[str] = None,
    *,
    jobs: Optional[int] = None,
    cache_dir: Optional[Path] = None,
    prefilter: bool = True,
    need_modules: bool = False,
) -> CheckRun:
    """Lint every file under `paths` ("-" is standard input). Raises ConfigError/DiscoveryError.

    jobs: worker processes (None: one per core; 1: in-process). cache_dir: where the result cache
    lives (None: no cache; see cache.py). prefilter: skip parsing files that a text scan shows
    cannot produce a finding (see analysis/triage/decision.py). need_modules: results of files
    with findings carry their libcst module and rule reports (for --fix): those files are linted
    again in-process after the fast pass, so every other file still gets the fast path.
    """
    run = CheckRun()
    table = _SettingsTable(overrides, resolver, prefilter, cached=cache_dir is not None)
    fail_levels: list[Severity] = []
    results: list[Any] = []

    file_paths = [p for p in paths if str(p) != "-"]
    if any(str(p) == "-" for p in paths):
        from reglint.engine.runner import lint_bytes

        display = stdin_filename or "-"
        settings = table.settings(Path(stdin_filename) if stdin_filename else Path.cwd() / "-")
        fail_levels.append(settings.fail_level)
        data = sys.stdin.buffer.read()
        results.append(lint_bytes(data, display, settings, table.enabled(settings)))
        run.stats.analyzed += 1

    cache = ResultCache(cache_dir) if cache_dir is not None else None
    pending: list[Job] = []
    slots: list[Any] = []
    settings_of: list[Settings] = []
    entries: dict[int, tuple[Shard, str]] = {}  # slot -> where its cache entry lives
    for target in discover(file_paths, table.settings):
        display = target.text
        settings = table.settings(display)
        fail_levels.append(settings.fail_level)
        run.read_paths[display] = display
        index = len(slots)
        slots.append(None)
        settings_of.append(settings)
        try:
            st: Optional[os.stat_result] = os.stat(display)
        except OSError:
            st = None
        entry: Optional[Entry] = None
        if cache is not None and st is not None:
            shard = cache.shard(settings, prefilter)
            key = file_key(display)
            entries[index] = (shard, key)
            entry = shard.get(key, display)
            reused = _reuse(entry, st, display, shard, key)
            if reused is not None:
                slots[index] = Outcome(index, display, reused, analyzed=False)
                run.stats.cached += 1
                continue
        size = st.st_size if st is not None else 0
        pending.append(Job(index, display, display, table.config(settings), size))

    workers = default_jobs() if jobs is None or jobs < 1 else jobs
    for outcome in run_jobs(pending, table.configs, workers):
        run.stats.analyzed += int(outcome.analyzed)
        run.stats.prefiltered += int(not outcome.analyzed)
        slots[outcome.index] = outcome
        if outcome.index in entries and outcome.digest is not None:
            _remember(*entries[outcome.index], outcome)
    results.extend(slots)
    run.stats.files = len(results)
    if cache is not None:
        cache.save()

    if need_modules:
        _relint_in_process(results, settings_of, table, offset=len(results) - len(slots))
    if not fail_levels:
        settings = table.settings(Path.cwd() / "_")
        table.enabled(settings)  # validates the selection even when there is nothing to lint
        fail_levels.append(settings.fail_level)
    run.results = results
    run.fail_level = min(fail_levels) if overrides.fail_level is None else overrides.fail_level
    if os.environ.get("REGLINT_STATS"):
        print(f"reglint stats: {run.stats}", file=sys.stderr)
    return run


def _reuse(entry: Optional[Entry], st: os.stat_result, display: str, shard: Shard, key: str) -> Optional[list[Finding]]:
    """The cached findings if the file is unchanged: same stat fingerprint, or else same content."""
    if entry is None:
        return None
    if not entry.dependencies_unchanged():
        return None  # a project module the analysis read has changed
    if entry.fingerprint is None or entry.fingerprint != current_fingerprint(st):
        try:
            data, fingerprint = read_fingerprinted(display)
        except OSError:
            return None
        if content_digest(data) != entry.digest:
            return None
        if fingerprint is not None:
            shard.put(key, Entry(entry.display, fingerprint, entry.digest, entry.findings, entry.dependencies))
    return entry.build_findings(display)


def _remember(shard: Shard, key: str, outcome: Outcome) -> None:
    try:
        findings = [finding_to_json(f) for f in outcome.findings]
    except (TypeError, ValueError):
        return  # not representable in JSON: this file is simply not cached
    entry = Entry(outcome.path, outcome.fingerprint, outcome.digest or "", findings, outcome.dependencies)
    shard.put(key, entry)


def default_cache_dir(resolver: ConfigResolver) -> Path:
    """`.reglint_cache` next to the configuration that applies to the current directory, else in it."""
    settings = resolver.for_path(Path.cwd() / "_")
    return (settings.root or Path.cwd()) / ".reglint_cache"


def _relint_in_process(results: list[Any], settings_of: Sequence[Settings], table: _SettingsTable, offset: int) -> None:
    from reglint.engine.runner import lint_file

    for position, settings in enumerate(settings_of):
        slot = offset + position
        result = results[slot]
        if isinstance(result, Outcome) and result.findings:
            results[slot] = lint_file(Path(result.path), settings, table.enabled(settings), display=result.path)

