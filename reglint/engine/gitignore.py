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
    """The rules of one ignore file, matched against paths relative to `base`."""

    base: str  # absolute directory, no trailing separator
    negated: tuple[bool, ...]  # by rule index
    for_files: Optional[re.Pattern[str]]  # rules that may match a file (not directory-only)
    for_dirs: Optional[re.Pattern[str]]  # every rule

    def decide(self, relative: str, is_dir: bool) -> Optional[bool]:
        """True: ignored; False: re-included by a `!` rule; None: no rule matches."""
        pattern = self.for_dirs if is_dir else self.for_files
        if pattern is None:
            return None
        match = pattern.fullmatch(relative)
        if match is None or match.lastgroup is None:
            return None
        return not self.negated[int(match.lastgroup[1:])]


def parse_rules(text: str, base: str) -> Optional[_Layer]:
    """The layer for the ignore file text at directory `base` (None when it has no rules)."""
    rules: list[tuple[str, bool, bool]] = []  # (regex, negated, directory only)
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
        line = line.lstrip("/")
        try:
            regex = glob_to_regex(line, cross_separator=False)
        except GlobError:
            continue  # git ignores a line it cannot read; so do we
        if not anchored:
            regex = "(?:.*/)?" + regex
        rules.append((regex, negated, directory_only))
    if not rules:
        return None
    # Python's alternation takes the first alternative that matches; git takes the last matching
    # line: list the rules last first, and name each group by its rule's index.
    def combined(kept: list[int]) -> Optional[re.Pattern[str]]:
        if not kept:
            return None
        return re.compile("|".join(f"(?P<r{i}>{rules[i][0]})" for i in reversed(kept)), re.DOTALL)

    every = list(range(len(rules)))
    return _Layer(
        base=base,
        negated=tuple(rule[1] for rule in rules),
        for_files=combined([i for i in every if not rules[i][2]]),
        for_dirs=combined(every),
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

    def ignored(self, path: str, is_dir: bool) -> bool:
        """Whether git ignores `path` (absolute, under every layer's base)."""
        for layer in reversed(self.layers):
            relative = path[len(layer.base) + 1 :] if layer.base != os.sep else path[1:]
            if os.sep != "/":
                relative = relative.replace(os.sep, "/")
            decision = layer.decide(relative, is_dir)
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
