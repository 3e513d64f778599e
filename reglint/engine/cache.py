"""The result cache: findings per file, reused while the file, reglint and the configuration stay the same.

Layout, under the cache directory (default `.reglint_cache/` at the configuration root):

    CACHEDIR.TAG, .gitignore ("*")      so backup tools and git leave it alone
    v2/<code key>/<settings key>.json   one shard per (reglint code, effective settings)

The code key digests reglint's version and the source of the installed package (so an editable
install invalidates itself when edited), libcst's version and the Python version (which decides
what `ast` accepts). The settings key digests everything in Settings that can change a file's
findings: selection (hence the enabled rule set, which is a function of selection and code),
per-file ignores, rule options, the configuration root, and whether the prefilter ran.

A shard maps a file's absolute path to [display path, stat fingerprint, content digest,
findings]. A warm run only stats the file: when (mtime_ns, ctime_ns, size, inode) match, the
stored findings are used without reading it. When they do not, the file is read and hashed, and
an unchanged digest still reuses the findings. Fingerprints of files modified within the last
seconds are not stored (see parallel.RACY_SECONDS), so a quick edit that keeps the size and the
coarse mtime cannot be missed.

Safety: the directory may be deleted at any time (it is recreated); shards are written to a
temporary file and moved into place with os.replace, so a reader sees an old or a new shard,
never half of one; a shard that does not parse, or an entry of the wrong shape, is a miss.
Concurrent runs merge with the shard on disk just before writing; the worst a race does is drop
the other run's new entries, which is a later miss, never a wrong result. The cache stores JSON,
never pickles, so a planted cache file cannot run code.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import importlib.util
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Optional

from reglint import model
from reglint.model import Finding

if TYPE_CHECKING:
    from reglint.engine.config import Settings

FORMAT = "v2"  # v2: entries list the project modules each file's analysis read
CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by reglint.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)
STALE_AFTER_SECONDS = 7 * 24 * 3600  # other code keys' shards unused this long are removed

Fingerprint = tuple[int, int, int, int]


# ---------------------------------------------------------------------------- keys


def _digest(*parts: object) -> str:
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update(repr(part).encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()


_CODE_KEY: Optional[str] = None


def code_key() -> str:
    """reglint's version and source, libcst's version, Python's version (computed once per process)."""
    global _CODE_KEY
    if _CODE_KEY is not None:
        return _CODE_KEY
    import reglint

    h = hashlib.blake2b(digest_size=16)
    h.update(reglint.__version__.encode())
    h.update(repr(sys.version_info[:3]).encode())
    package = Path(reglint.__file__).parent
    for path in sorted(package.rglob("*.py")):
        h.update(path.relative_to(package).as_posix().encode())
        try:
            h.update(path.read_bytes())
        except OSError:
            h.update(b"?")
    spec = importlib.util.find_spec("libcst")
    if spec is not None and spec.origin:
        version_file = Path(spec.origin).parent / "_version.py"
        try:
            h.update(version_file.read_bytes())
        except OSError:
            st = os.stat(spec.origin)
            h.update(repr((st.st_mtime_ns, st.st_size)).encode())
    _CODE_KEY = h.hexdigest()
    return _CODE_KEY


def settings_key(settings: "Settings", prefilter: bool) -> str:
    options = sorted((code, sorted(values.items())) for code, values in settings.rule_options.items())
    return _digest(
        settings.select,
        settings.ignore,
        settings.extend_select,
        settings.per_file_ignores,
        options,
        str(settings.root) if settings.root is not None else None,
        bool(prefilter),
    )


# ---------------------------------------------------------------------------- findings <-> JSON
#
# Findings are encoded field by field, generically, so that a field added to Finding or Fix (or a
# new dataclass in reglint.model that they hold) is cached without touching this module: a
# dataclass is {"$": class name, "f": {field: value}}, an enum {"$e": class name, "v": value},
# a tuple {"$t": [...]}, a mapping {"$d": {...}}. Only classes defined in reglint.model are
# rebuilt; anything else makes the entry a miss. The code key changes with reglint.model, so a
# shard never meets a Finding class of another shape.


def _encode(value: Any) -> Any:
    if isinstance(value, enum.Enum):  # before str and int: Applicability is a str, Severity an int
        return {"$e": type(value).__name__, "v": value.value}
    if value is None or isinstance(value, (bool, str, int, float)):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"$": type(value).__name__, "f": {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}}
    if isinstance(value, tuple):
        return {"$t": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            raise TypeError("mapping keys must be strings")
        return {"$d": {k: _encode(v) for k, v in value.items()}}
    raise TypeError(f"cannot cache a {type(value).__name__}")


def _model_class(name: Any) -> Any:
    cls = getattr(model, str(name), None)
    if not isinstance(cls, type) or cls.__module__ != model.__name__:
        raise ValueError(f"not a reglint.model class: {name!r}")
    return cls


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "$" in value:
        cls = _model_class(value["$"])
        if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
            raise ValueError(f"{getattr(cls, '__name__', cls)} is not a dataclass")
        return cls(**{k: _decode(v) for k, v in dict(value["f"]).items()})
    if "$e" in value:
        cls = _model_class(value["$e"])
        if not issubclass(cls, enum.Enum):
            raise ValueError(f"{cls.__name__} is not an enum")
        return cls(value["v"])
    if "$t" in value:
        return tuple(_decode(v) for v in value["$t"])
    if "$d" in value:
        return {str(k): _decode(v) for k, v in dict(value["$d"]).items()}
    raise ValueError("unknown encoding")


def finding_to_json(finding: Finding) -> Any:
    """The finding as JSON-ready data, without its path (re-attached on load: the entry is per path)."""
    return _encode(dataclasses.replace(finding, path=None))


def finding_from_json(data: Any, path: str) -> Finding:
    finding = _decode(data)
    if not isinstance(finding, Finding):
        raise ValueError("not a finding")
    return dataclasses.replace(finding, path=path)


# ---------------------------------------------------------------------------- shards


class Entry:
    """A shard's record of one file (kept as parsed JSON; findings are built only when used).

    `dependencies` are the project modules the file's analysis read (path -> content digest): the
    findings hold only while each of them is unchanged too.
    """

    __slots__ = ("display", "fingerprint", "digest", "findings", "dependencies")

    def __init__(
        self,
        display: str,
        fingerprint: Optional[Fingerprint],
        digest: str,
        findings: list[dict[str, Any]],
        dependencies: Optional[dict[str, str]] = None,
    ) -> None:
        self.display = display
        self.fingerprint = fingerprint
        self.digest = digest
        self.findings = findings
        self.dependencies = dependencies or {}

    @classmethod
    def parse(cls, raw: Any) -> Optional["Entry"]:
        try:
            display, fingerprint, digest, findings, dependencies = raw
            if not isinstance(display, str) or not isinstance(digest, str) or not isinstance(findings, list):
                return None
            if not isinstance(dependencies, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in dependencies.items()
            ):
                return None
            fp = tuple(int(x) for x in fingerprint) if fingerprint is not None else None
            if fp is not None and len(fp) != 4:
                return None
            return cls(display, fp, digest, findings, dependencies)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None

    def to_raw(self) -> list[Any]:
        return [self.display, list(self.fingerprint) if self.fingerprint else None, self.digest, self.findings, self.dependencies]

    def dependencies_unchanged(self) -> bool:
        """Every project module the file's analysis read still has the content it had."""
        for path, digest in self.dependencies.items():
            try:
                with open(path, "rb") as handle:
                    data = handle.read()
            except OSError:
                return False
            if hashlib.blake2b(data, digest_size=16).hexdigest() != digest:
                return False
        return True

    def build_findings(self, path: str) -> Optional[list[Finding]]:
        try:
            return [finding_from_json(f, path) for f in self.findings]
        except (KeyError, TypeError, ValueError, IndexError, AttributeError, RecursionError):
            return None  # a damaged entry is a miss


class Shard:
    """The entries of one (code key, settings key), loaded on first use and saved if changed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._raw: Optional[dict[str, Any]] = None
        self._loaded_stamp: Optional[tuple[int, int]] = None
        self._updates: dict[str, list[Any]] = {}

    def _read(self) -> tuple[dict[str, Any], Optional[tuple[int, int]]]:
        try:
            with open(self.path, "rb") as handle:
                st = os.fstat(handle.fileno())
                data = json.loads(handle.read())
            if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("files"), dict):
                return {}, None
            return data["files"], (st.st_mtime_ns, st.st_size)
        except (OSError, ValueError, UnicodeDecodeError, RecursionError):
            return {}, None

    def _entries(self) -> dict[str, Any]:
        if self._raw is None:
            self._raw, self._loaded_stamp = self._read()
        return self._raw

    def get(self, key: str, display: str) -> Optional[Entry]:
        raw = self._entries().get(key)
        if raw is None:
            return None
        entry = Entry.parse(raw)
        if entry is None or entry.display != display:
            return None
        return entry

    def put(self, key: str, entry: Entry) -> None:
        self._updates[key] = entry.to_raw()

    @property
    def dirty(self) -> bool:
        return bool(self._updates)

    def save(self) -> None:
        if not self._updates:
            return
        entries = dict(self._entries())
        try:
            st = os.stat(self.path)
            if (st.st_mtime_ns, st.st_size) != self._loaded_stamp:
                fresh, _ = self._read()  # another run wrote meanwhile: keep its entries too
                entries.update(fresh)
        except OSError:
            pass
        entries.update(self._updates)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = json.dumps({"format": FORMAT, "files": entries}, separators=(",", ":"))
        fd, temp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(payload)
            os.chmod(temp, 0o644)  # mkstemp makes it 0600; a cache shared in CI may be read by others
            os.replace(temp, self.path)
        except BaseException:
            try:
                os.unlink(temp)
            except OSError:
                pass
            raise
        self._raw = entries
        self._updates = {}


class ResultCache:
    """The cache directory: hands out shards and writes the marker files once."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._shards: dict[str, Shard] = {}
        self._by_settings: dict[tuple[int, bool], tuple["Settings", Shard]] = {}

    def shard(self, settings: "Settings", prefilter: bool) -> Shard:
        known = self._by_settings.get((id(settings), prefilter))
        if known is not None:
            return known[1]
        key = settings_key(settings, prefilter)
        shard = self._shards.get(key)
        if shard is None:
            shard = Shard(self.directory / FORMAT / code_key() / f"{key}.json")
            self._shards[key] = shard
        self._by_settings[(id(settings), prefilter)] = (settings, shard)
        return shard

    def save(self) -> None:
        """Write every changed shard; a cache that cannot be written is silently skipped."""
        dirty = [s for s in self._shards.values() if s.dirty]
        if not dirty:
            return
        try:
            self._prepare()
            for shard in dirty:
                shard.save()
            self._prune()
        except OSError:
            pass

    def _prepare(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        tag = self.directory / "CACHEDIR.TAG"
        if not tag.exists():
            _write_atomic(tag, CACHEDIR_TAG)
        ignore = self.directory / ".gitignore"
        if not ignore.exists():
            _write_atomic(ignore, "# Created by reglint; the cache is not to be committed.\n*\n")

    def _prune(self) -> None:
        versions = self.directory / FORMAT
        now = time.time()
        current = code_key()
        for child in versions.iterdir():
            if child.name == current or not child.is_dir():
                continue
            try:
                if now - child.stat().st_mtime > STALE_AFTER_SECONDS:
                    for item in child.iterdir():
                        item.unlink()
                    child.rmdir()
            except OSError:
                continue


def _write_atomic(path: Path, text: str) -> None:
    fd, temp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(temp, 0o644)
    os.replace(temp, path)


def file_key(path: str) -> str:
    return os.path.abspath(path)


__all__ = ["ResultCache", "Shard", "Entry", "code_key", "settings_key", "finding_to_json", "finding_from_json", "file_key"]
