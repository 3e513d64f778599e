"""`.gitignore` rules, so that directory discovery skips what git ignores (as ruff does).

Read inside a git work tree only (a directory with `.git` at or above it): the `.gitignore` of
every directory from the work tree's root down, and `.git/info/exclude`. Pattern semantics are
git's (gitignore(5)):

- blank lines and `#` comments are skipped; `\\#` and `\\!` escape a leading `#` or `!`;
- `!pattern` re-includes what an earlier pattern excluded; the last matching line decides, and a
  deeper `.gitignore` outranks a shallower one (and `.git/info/exclude` comes below them all);
- a trailing `/` matches directories only;
- a pattern with a `/` at its start or middle is anchored to the `.gitignore`'s directory; one
  without matches a name at any depth;
- `*` and `?` do not match `/`; `**/`, `/**/` and `/**` match across directories.

As in git, a file inside an ignored directory cannot be re-included: discovery does not enter it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Callable, Optional

from reglint.engine.globs import GlobError, glob_to_regex

GITIGNORE = ".gitignore"


_GLOB_CHARS = frozenset("*?[\\")  # braces are literal in gitignore patterns


@dataclass(frozen=True)
class _NameRules:
    """Rules matched against an entry's name, as the last matching rule's index (-1: none).

    Most lines of a real .gitignore are a plain name (`.coverage`) or `*.suffix` (`*.log`): those
    are looked up in a dict and a suffix tuple; only the rest go through one regular expression."""

    exact: dict[str, int]
    suffixes: tuple[tuple[str, int], ...]
    any_suffix: tuple[str, ...]
    pattern: Optional[re.Pattern[str]]

    def last(self, name: str) -> int:
        best = self.exact.get(name, -1)
        if self.any_suffix and name.endswith(self.any_suffix):
            best = max([best, *(index for suffix, index in self.suffixes if name.endswith(suffix))])
        if self.pattern is not None:
            best = max(best, _last_rule(self.pattern.fullmatch(name)))
        return best


@dataclass(frozen=True)
class _Rule:
    glob: str  # the pattern, leading `/` and trailing `/` removed
    negated: bool
    directory_only: bool
    anchored: bool  # a `/` at its start or middle: matched against the path from the file's directory


@dataclass(frozen=True)
class _Layer:
    """The rules of one ignore file. A rule without a `/` is matched against the entry's name
    (git matches it at any depth, and discovery has already matched the directories above);
    an anchored one against the path relative to `base`. The last matching rule decides."""

    base: str  # absolute directory, no trailing separator
    negated: tuple[bool, ...]  # by rule index
    names: tuple[_NameRules, _NameRules]  # for files, for directories
    paths: tuple[Optional[re.Pattern[str]], Optional[re.Pattern[str]]]  # anchored rules, likewise
    # the first path components the anchored rules can start with (None: any, a rule starts with a glob)
    heads: Optional[frozenset[str]]

    def decide(self, directory: str, name: str, is_dir: bool) -> Optional[bool]:
        """True: ignored; False: re-included by a `!` rule; None: no rule matches. `directory`
        is the absolute directory holding the entry `name` (at or under `base`)."""
        return self.in_directory(directory)(name, is_dir)

    def in_directory(self, directory: str) -> Callable[[str, bool], Optional[bool]]:
        """`decide` for the entries of one directory, its relative path worked out once."""
        start = len(self.base) if self.base.endswith(os.sep) else len(self.base) + 1
        inside = directory[start:] if len(directory) > len(self.base) else ""
        if os.sep != "/":
            inside = inside.replace(os.sep, "/")
        heads, names, negated = self.heads, self.names, self.negated
        paths = self.paths if heads is None or not inside or inside.partition("/")[0] in heads else (None, None)
        prefix = inside + "/" if inside else ""

        def decide(name: str, is_dir: bool) -> Optional[bool]:
            best = names[is_dir].last(name)
            anchored = paths[is_dir]
            if anchored is not None and (inside or heads is None or name in heads):
                best = max(best, _last_rule(anchored.fullmatch(prefix + name)))
            return None if best < 0 else not negated[best]

        return decide


def _last_rule(match: Optional[re.Match[str]]) -> int:
    return int(match.lastgroup[1:]) if match is not None and match.lastgroup is not None else -1


def _alternation(rules: list[_Rule], indexes: list[int]) -> Optional[re.Pattern[str]]:
    """One regex for the rules at `indexes`. Python's alternation takes the first alternative that
    matches and git the last matching line: list the rules last first, each group named by index."""
    if not indexes:
        return None
    parts = (f"(?P<r{i}>{glob_to_regex(rules[i].glob, cross_separator=False, braces=False)})" for i in reversed(indexes))
    return re.compile("|".join(parts), re.DOTALL)


def _name_rules(rules: list[_Rule], indexes: list[int]) -> _NameRules:
    exact: dict[str, int] = {}
    suffixes: list[tuple[str, int]] = []
    other: list[int] = []
    for i in indexes:
        glob = rules[i].glob
        if not _GLOB_CHARS & set(glob):
            exact[glob] = i  # a later line with the same name overrides: keep the last index
        elif glob.startswith("*") and not _GLOB_CHARS & set(glob[1:]):
            suffixes.append((glob[1:], i))
        else:
            other.append(i)
    return _NameRules(exact, tuple(suffixes), tuple(suffix for suffix, _ in suffixes), _alternation(rules, other))


def parse_rules(text: str, base: str) -> Optional[_Layer]:
    """The layer for the ignore file text at directory `base` (None when it has no rules)."""
    rules: list[_Rule] = []
    for raw in text.splitlines():
        line = _strip_trailing_spaces(raw)
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        if negated:
            line = line[1:]
        elif line.startswith(("\\!", "\\#")):
            line = line[1:]
        directory_only = line.endswith("/")
        line = line.rstrip("/")
        if not line:
            continue
        glob = line.lstrip("/")
        try:
            glob_to_regex(glob, cross_separator=False, braces=False)
        except GlobError:
            continue  # git ignores a line it cannot read; so do we
        rules.append(_Rule(glob, negated, directory_only, anchored="/" in line))
    if not rules:
        return None
    every = range(len(rules))
    heads: Optional[frozenset[str]] = frozenset()
    for rule in rules:
        if rule.anchored:
            head = rule.glob.partition("/")[0]
            heads = None if heads is None or _GLOB_CHARS & set(head) else heads | {head}
    files = [i for i in every if not rules[i].directory_only]
    return _Layer(
        base=base,
        negated=tuple(rule.negated for rule in rules),
        names=(
            _name_rules(rules, [i for i in files if not rules[i].anchored]),
            _name_rules(rules, [i for i in every if not rules[i].anchored]),
        ),
        paths=(
            _alternation(rules, [i for i in files if rules[i].anchored]),
            _alternation(rules, [i for i in every if rules[i].anchored]),
        ),
        heads=heads,
    )


def _strip_trailing_spaces(line: str) -> str:
    stripped = line.rstrip(" ")
    if stripped.endswith("\\") and len(stripped) < len(line):
        return stripped[:-1] + " "  # `\ ` keeps one escaped trailing space
    return stripped


def _read(path: str) -> Optional[str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return None


class IgnoreRules:
    """The ignore layers in force in one directory, outermost first; immutable."""

    __slots__ = ("layers",)

    def __init__(self, layers: tuple[_Layer, ...] = ()) -> None:
        self.layers = layers

    def __bool__(self) -> bool:
        return bool(self.layers)

    def ignored(self, directory: str, name: str, is_dir: bool) -> bool:
        """Whether git ignores the entry `name` of `directory` (absolute, under every layer's base)."""
        return self.in_directory(directory)(name, is_dir)

    def in_directory(self, directory: str) -> Callable[[str, bool], bool]:
        """`ignored` for the entries of one directory (discovery asks for each of its entries)."""
        deciders = [layer.in_directory(directory) for layer in reversed(self.layers)]
        if len(deciders) == 1:
            only = deciders[0]
            return lambda name, is_dir: bool(only(name, is_dir))

        def ignored(name: str, is_dir: bool) -> bool:
            for decide in deciders:
                decision = decide(name, is_dir)
                if decision is not None:
                    return decision
            return False

        return ignored

    def entering(self, directory: str, has_gitignore: bool) -> IgnoreRules:
        """The rules for `directory` (absolute), a child of the one these rules are for."""
        if not has_gitignore:
            return self
        text = _read(os.path.join(directory, GITIGNORE))
        layer = parse_rules(text, directory) if text is not None else None
        return IgnoreRules(self.layers + (layer,)) if layer is not None else self


def rules_above(directory: str) -> Optional[IgnoreRules]:
    """The rules in force in `directory` (absolute) from the work tree it lies in, not counting its
    own `.gitignore` (the caller reads that when it lists the directory); None outside a work tree."""
    root = _work_tree_root(directory)
    if root is None:
        return None
    layers: list[_Layer] = []
    info = _info_exclude(root)
    if info is not None:
        text = _read(info)
        layer = parse_rules(text, root) if text is not None else None
        if layer is not None:
            layers.append(layer)
    rules = IgnoreRules(tuple(layers))
    current = root
    relative = os.path.relpath(directory, root)
    parts = [] if relative == os.curdir else relative.split(os.sep)
    for part in parts:
        rules = rules.entering(current, os.path.isfile(os.path.join(current, GITIGNORE)))
        current = os.path.join(current, part)
    return rules


def _work_tree_root(directory: str) -> Optional[str]:
    current = directory
    while True:
        if os.path.exists(os.path.join(current, ".git")):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


def _info_exclude(root: str) -> Optional[str]:
    """`info/exclude` of the repository whose work tree is `root` (a `.git` directory, or a `.git`
    file pointing at a linked worktree's git directory, whose `commondir` holds `info/`)."""
    dot_git = os.path.join(root, ".git")
    if os.path.isdir(dot_git):
        return os.path.join(dot_git, "info", "exclude")
    text = _read(dot_git)
    if text is None or not text.startswith("gitdir:"):
        return None
    git_dir = os.path.join(root, text[len("gitdir:") :].strip())
    common = _read(os.path.join(git_dir, "commondir"))
    if common is not None:
        git_dir = os.path.join(git_dir, common.strip())
    return os.path.join(git_dir, "info", "exclude")
