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
from typing import Optional

from reglint.engine.globs import GlobError, glob_to_regex

GITIGNORE = ".gitignore"


@dataclass(frozen=True)
class _Layer:
    """The rules of one ignore file. A rule without a `/` is matched against the entry's name
    (git matches it at any depth, and discovery has already matched the directories above);
    an anchored one against the path relative to `base`. The last matching rule decides."""

    base: str  # absolute directory, no trailing separator
    negated: tuple[bool, ...]  # by rule index
    # (for files, for directories): rules without a `/`, matched against the name ...
    names: tuple[Optional[re.Pattern[str]], Optional[re.Pattern[str]]]
    # ... and anchored rules, matched against the relative path
    paths: tuple[Optional[re.Pattern[str]], Optional[re.Pattern[str]]]

    def decide(self, directory: str, name: str, is_dir: bool) -> Optional[bool]:
        """True: ignored; False: re-included by a `!` rule; None: no rule matches. `directory`
        is the absolute directory holding the entry `name` (at or under `base`)."""
        best = -1
        names = self.names[is_dir]
        if names is not None:
            best = _last_rule(names.fullmatch(name))
        paths = self.paths[is_dir]
        if paths is not None:
            start = len(self.base) if self.base.endswith(os.sep) else len(self.base) + 1
            inside = directory[start:] if len(directory) > len(self.base) else ""
            if os.sep != "/":
                inside = inside.replace(os.sep, "/")
            best = max(best, _last_rule(paths.fullmatch(f"{inside}/{name}" if inside else name)))
        return None if best < 0 else not self.negated[best]


def _last_rule(match: Optional[re.Match[str]]) -> int:
    return int(match.lastgroup[1:]) if match is not None and match.lastgroup is not None else -1


def parse_rules(text: str, base: str) -> Optional[_Layer]:
    """The layer for the ignore file text at directory `base` (None when it has no rules)."""
    rules: list[tuple[str, bool, bool, bool]] = []  # (regex, negated, directory only, anchored)
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
        anchored = "/" in line
        try:
            regex = glob_to_regex(line.lstrip("/"), cross_separator=False)
        except GlobError:
            continue  # git ignores a line it cannot read; so do we
        rules.append((regex, negated, directory_only, anchored))
    if not rules:
        return None

    # Python's alternation takes the first alternative that matches; git takes the last matching
    # line: list the rules last first, and name each group by its rule's index.
    def combined(anchored: bool, for_dirs: bool) -> Optional[re.Pattern[str]]:
        kept = [i for i, rule in enumerate(rules) if rule[3] == anchored and (for_dirs or not rule[2])]
        if not kept:
            return None
        return re.compile("|".join(f"(?P<r{i}>{rules[i][0]})" for i in reversed(kept)), re.DOTALL)

    return _Layer(
        base=base,
        negated=tuple(rule[1] for rule in rules),
        names=(combined(False, False), combined(False, True)),
        paths=(combined(True, False), combined(True, True)),
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
        for layer in reversed(self.layers):
            decision = layer.decide(directory, name, is_dir)
            if decision is not None:
                return decision
        return False

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
