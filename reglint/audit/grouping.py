"""Compact, honest labels for sets of parameter names, and grouping of findings by what was measured.

A label is one or more patterns separated by ", ". A pattern is a dotted name whose segments may be

    abc            that segment
    *              any one segment
    pre*           any one segment that starts with `pre`
    pre{a,b}suf    pre·a·suf or pre·b·suf; an item `1..4` stands for 1, 2, 3, 4

so `layer{1..4}.*.bn{1..3}.weight` stands for layer1.0.bn1.weight, ..., layer4.2.bn3.weight. A
name that holds one of `{ } * , '` or a space itself is written whole between single quotes. A
group of every name of the universe is labelled `every parameter`.

Labels are *honest* with respect to the names they are drawn from (`universe`: every parameter of
the model): each member is matched by some pattern, and no other name of the universe is matched by
any. Patterns only ever grow by exact steps: names that differ in one segment merge into one
pattern (the set of names stays the same), and a segment's list is widened to `*` or `pre*` only
when the universe holds no other name that the wider pattern would match.

`group` puts items that share a key (a finding's code and what it measured) together and labels
each group's names; it works on any items that carry a name, so per-rank or per-shard measurements
can be grouped the same way.
"""

from __future__ import annotations

import os
import re
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Callable, Generic, Optional, TypeVar, Union

T = TypeVar("T")

_INT = re.compile(r"^(0|[1-9][0-9]*)$")
_SPECIAL = re.compile(r"[{}*,'\s]")
MAX_ALTERNATIVES = 4  # a list of more non-numeric alternatives is widened to a glob when honest
EVERY = "every parameter"


@dataclass(frozen=True)
class Glob:
    """Any one segment that starts with `prefix` (any segment when empty)."""

    prefix: str

    def matches(self, segment: str) -> bool:
        return segment.startswith(self.prefix)


Slot = Union[frozenset, Glob]  # frozenset[str]: exactly these segments
Pattern = tuple[Slot, ...]


def _slot_matches(slot: Slot, segment: str) -> bool:
    return slot.matches(segment) if isinstance(slot, Glob) else segment in slot


def _matches(pattern: Pattern, parts: Sequence[str]) -> bool:
    return len(pattern) == len(parts) and all(_slot_matches(s, p) for s, p in zip(pattern, parts))


def _slot_within(inner: Slot, outer: Slot) -> bool:
    if isinstance(outer, Glob):
        if isinstance(inner, Glob):
            return inner.prefix.startswith(outer.prefix)
        return all(outer.matches(v) for v in inner)
    return not isinstance(inner, Glob) and inner <= outer


def _within(inner: Pattern, outer: Pattern) -> bool:
    return all(_slot_within(a, b) for a, b in zip(inner, outer))


def _merge(patterns: list[Pattern]) -> list[Pattern]:
    """Merge patterns that differ in one listed segment only, last segment first, to a fixpoint."""
    current = list(dict.fromkeys(patterns))
    depth = len(current[0]) if current else 0
    changed = True
    while changed:
        changed = False
        for i in reversed(range(depth)):
            buckets: dict[Pattern, list[Pattern]] = {}
            kept: list[Pattern] = []
            for p in current:
                if isinstance(p[i], Glob):
                    kept.append(p)
                else:
                    buckets.setdefault(p[:i] + p[i + 1:], []).append(p)
            merged: list[Pattern] = []
            for rest, group in buckets.items():
                if len(group) > 1:
                    changed = True
                union: frozenset = frozenset().union(*(g[i] for g in group))  # type: ignore[arg-type]
                merged.append(rest[:i] + (union,) + rest[i:])
            current = _drop_covered(merged + kept)
    return current


def _drop_covered(patterns: list[Pattern]) -> list[Pattern]:
    unique = list(dict.fromkeys(patterns))
    return [p for k, p in enumerate(unique) if not any(k != j and _within(p, q) and (not _within(q, p) or j < k)
                                                       for j, q in enumerate(unique))]


def _common_prefix(values: Iterable[str]) -> str:
    return os.path.commonprefix(list(values))


def _widenings(values: frozenset) -> list[Glob]:
    """Wider slots worth trying for a listed segment, narrowest first."""
    if all(_INT.match(v) for v in values):
        return [Glob("")]
    if _numbered(values) is not None or len(values) <= MAX_ALTERNATIVES:
        return []
    prefix = _common_prefix(values)
    return [Glob(prefix), Glob("")] if prefix else [Glob("")]


def _widen(patterns: list[Pattern], universe: list[tuple[str, ...]], members: set[tuple[str, ...]]) -> list[Pattern]:
    out = []
    for p in patterns:
        for i, slot in enumerate(p):
            if isinstance(slot, Glob) or len(slot) < 2:
                continue
            for glob in _widenings(slot):
                wider = p[:i] + (glob,) + p[i + 1:]
                if all(u in members for u in universe if _matches(wider, u)):
                    p = wider
                    break
        out.append(p)
    return out


def _split(name: str) -> tuple[str, ...]:
    return tuple(name.split("."))


def patterns(members: Sequence[str], universe: Iterable[str] = ()) -> list[str]:
    """Patterns that together match exactly `members` among `universe` ∪ `members`."""
    names = list(dict.fromkeys(members))
    plain = [n for n in names if not _SPECIAL.search(n)]
    odd = [n for n in names if _SPECIAL.search(n)]  # would read as pattern syntax: listed verbatim
    order = {n: k for k, n in enumerate(names)}
    seen: dict[str, int] = {}  # segments in order of first appearance, for listing alternatives
    for n in names:
        for segment in n.split("."):
            seen.setdefault(segment, len(seen))
    every = [_split(u) for u in dict.fromkeys([*universe, *names])]
    out: list[tuple[int, str]] = []
    by_depth: dict[int, list[tuple[str, ...]]] = {}
    for name in plain:
        by_depth.setdefault(name.count(".") + 1, []).append(_split(name))
    for depth, group in by_depth.items():
        member_set = set(group)
        universe_d = [u for u in every if len(u) == depth]
        current = _merge([tuple(frozenset([s]) for s in parts) for parts in group])
        while True:
            widened = _merge(_widen(current, universe_d, member_set))
            if widened == current:
                break
            current = widened
        for p in current:
            first = min(order[".".join(m)] for m in group if _matches(p, m))
            out.append((first, render(p, seen)))
    out.extend((order[n], f"'{n}'") for n in odd)
    return [text for _, text in sorted(out)]


def compact_label(members: Sequence[str], universe: Iterable[str] = ()) -> str:
    """`layer{1..4}.*.bn{1..3}.weight, bn1.weight`: the members, honestly, in a few patterns."""
    return ", ".join(patterns(members, universe))


def _ranges(numbers: list[int]) -> str:
    parts: list[str] = []
    start = prev = numbers[0]
    for n in [*numbers[1:], None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        if prev - start >= 2:
            parts.append(f"{start}..{prev}")
        else:
            parts.extend(str(k) for k in range(start, prev + 1))
        if n is not None:
            start = prev = n
    return ",".join(parts)


def _numbered(values: Iterable[str]) -> Optional[tuple[str, list[int], str]]:
    """(prefix, numbers, suffix) when every value is prefix + a number + suffix."""
    vals = list(values)
    prefix = re.sub(r"\d+$", "", _common_prefix(vals))
    suffix = re.sub(r"^\d+", "", _common_prefix([v[::-1] for v in vals])[::-1])
    numbers = []
    for v in vals:
        middle = v[len(prefix):len(v) - len(suffix)] if len(prefix) + len(suffix) <= len(v) else ""
        if not _INT.match(middle):
            return None
        numbers.append(int(middle))
    return prefix, sorted(set(numbers)), suffix


def _render_slot(slot: Slot, seen: dict[str, int]) -> str:
    if isinstance(slot, Glob):
        return slot.prefix + "*"
    values = sorted(slot, key=lambda v: (seen.get(v, len(seen)), v))
    if len(values) == 1:
        return values[0]
    numbered = _numbered(values)
    if numbered is not None:
        prefix, numbers, suffix = numbered
        return f"{prefix}{{{_ranges(numbers)}}}{suffix}"
    prefix = _common_prefix(values)
    suffix = _common_prefix([v[::-1] for v in values])[::-1]
    if any(len(v) <= len(prefix) + len(suffix) for v in values):
        prefix = suffix = ""
    middles = [v[len(prefix):len(v) - len(suffix)] for v in values]
    return f"{prefix}{{{','.join(middles)}}}{suffix}"


def render(pattern: Pattern, seen: Optional[dict[str, int]] = None) -> str:
    """The pattern's text; listed alternatives in the order of `seen` (else sorted)."""
    return ".".join(_render_slot(s, seen or {}) for s in pattern)


@dataclass
class Group(Generic[T]):
    """Items that share a key; `label` names their parameters (None for items without one)."""

    key: Hashable
    items: list[T] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    label: Optional[str] = None

    @property
    def count(self) -> int:
        return len(self.items)


def group(items: Sequence[T], key: Callable[[T], Hashable], name: Callable[[T], Optional[str]],
          universe: Iterable[str]) -> list[Group[T]]:
    """Items grouped by `key`, in the order of each group's first item, each labelled honestly.

    Items without a name (a finding about the whole penalty) group only with equal keys too, and
    their group has no label unless some member has a name.
    """
    every = list(universe)
    groups: dict[Hashable, Group[T]] = {}
    for item in items:
        k = key(item)
        g = groups.setdefault(k, Group(k))
        g.items.append(item)
        n = name(item)
        if n is not None and n not in g.names:
            g.names.append(n)
    whole = set(every)
    for g in groups.values():
        if g.names:
            g.label = EVERY if len(whole) > 1 and set(g.names) == whole else compact_label(g.names, every)
    return list(groups.values())
