"""Units of a file joined into components along the calls the analysis inlines.

Shared by the syntax cut (decision.py) and the text cut (textcut.py), which must
join units by the same rule: a call `f(...)` joins the caller with every function named f; a
call `x.m(...)` joins it with the method m of its own class, or, when m is not one of the common
names the analysis never follows through an unknown owner, with every method named m unless m is
surely defined twice: the analysis inlines the only method of a name it registers (a def directly
in the body of a class it collects), and a cut cannot always tell which defs those are (one under
an `if` in a class body is not), so it counts only the defs it is sure of (`registered`) and,
where they do not show two, joins every def of the name. Calling an object runs its class's
forward or __call__: see _join_instance_calls. An object's attributes carry values between its
methods and the code that holds it: see _join_instance_attributes.

Joins are symmetric; values are not. A unit that sends values nowhere (inert.py) is joined with
nothing: each channel that would join it (a call of it, its class's attributes, a class it names)
is recorded as reaching it (Components.sinks and senders), and complete_units decides it from
its own features and those of the components that reach it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import reduce
from operator import or_
from typing import AbstractSet, Iterable, Mapping, Optional, Protocol, Sequence

from reglint.analysis.vocabulary import CALL_METHODS

PARAMS, TERMS, LOSS = 1, 2, 4
COMPLETE = PARAMS | TERMS | LOSS


class Unit(Protocol):
    @property
    def name(self) -> Optional[str]: ...  # None: the module's own code
    @property
    def owner(self) -> Optional[str]: ...  # the class of a method
    @property
    def registered(self) -> bool: ...  # a method the analysis surely registers
    @property
    def features(self) -> int: ...
    @property
    def called_names(self) -> AbstractSet[str]: ...
    @property
    def called_attributes(self) -> AbstractSet[str]: ...
    @property
    def mentioned(self) -> AbstractSet[str]: ...  # names read in the unit (of classes, at least)
    @property
    def inert(self) -> bool: ...  # sends values nowhere (inert.py)


class _UnionFind:
    def __init__(self, size: int) -> None:
        self.parent = list(range(size))
        self.grouped: set[object] = set()  # keys of the groups join_group has joined

    def find(self, item: int) -> int:
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def join(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[ra] = rb

    def join_group(self, key: object, items: Sequence[int]) -> int:
        """Join `items` with one another, once per `key` (callers meet the same group many
        times); their representative."""
        if key not in self.grouped:
            self.grouped.add(key)
            for other in items[1:]:
                self.join(items[0], other)
        return items[0]


@dataclass
class Components:
    """The units' components, and what reaches each inert unit (inert.py), which joins none."""

    roots: list[int]  # per unit: a representative of its component (equal within one)
    # An inert unit -> the keys of the channels values reach it by; a key -> units whose
    # components send values along it (callers, the methods storing on an object of its class).
    sinks: dict[int, list[object]] = field(default_factory=dict)
    senders: dict[object, list[int]] = field(default_factory=dict)


class _Joiner:
    """Joins units into components; an inert unit (`sinks`) is never joined, values reach it."""

    def __init__(self, units: Sequence[Unit], inert: AbstractSet[int]) -> None:
        self.units = units
        self.inert = inert
        self.union = _UnionFind(len(units))
        self.sinks: dict[int, list[object]] = {}
        self.senders: dict[object, list[int]] = {}
        self._parts: dict[object, tuple[list[int], list[int]]] = {}

    def _split(self, key: object, targets: Sequence[int]) -> tuple[list[int], list[int]]:
        """The group `key`'s units that are joined and those that are reached (inert)."""
        parts = self._parts.get(key)
        if parts is None:
            joined = [index for index in targets if index not in self.inert]
            reached = [index for index in targets if index in self.inert]
            parts = self._parts[key] = (joined, reached)
            for sink in reached:
                self._reached(sink, key)
        return parts

    def _reached(self, sink: int, key: object) -> None:
        keys = self.sinks.setdefault(sink, [])
        if key not in keys:
            keys.append(key)

    def reach(self, sender: int, key: object, targets: Sequence[int]) -> None:
        """Values of `sender`'s component go to each of `targets` (a group named `key`): joined
        with those that are not inert, sent to those that are. An inert sender sends nothing: it
        reads what the group's component holds."""
        joined, reached = self._split(key, targets)
        if sender in self.inert:
            if joined:
                self._reached(sender, key)
            return
        if joined:
            self.union.join(sender, self.union.join_group(key, joined))
        if reached:
            self.senders.setdefault(key, []).append(sender)

    def group(self, key: object, targets: Sequence[int]) -> Optional[int]:
        """Join the group `key` (its units that are not inert); its representative, if any."""
        joined, _reached = self._split(key, targets)
        return self.union.join_group(key, joined) if joined else None

    def result(self) -> Components:
        # What reaches a sink along a key: the group's own component, and the senders'.
        keys = {key for found in self.sinks.values() for key in found}
        senders = {key: self._parts[key][0][:1] + self.senders.get(key, []) for key in keys}
        return Components([self.union.find(index) for index in range(len(self.units))], self.sinks, senders)


def component_roots(
    units: Sequence[Unit], common_methods: AbstractSet[str], bases: Optional[Mapping[str, AbstractSet[str]]] = None
) -> Components:
    """The units' components (see Components). Linear in the calls: a name defined many times
    (every class's `forward`) is looked up by (name, class), and the definitions of one function
    name are joined once, not per caller.

    An inert unit is a sink only while no penalty can reach it: the analysis holds a penalty as
    a record that every function it reaches may change in place (`total += term`, `reg = total`
    naming it, `total.backward()`), so an inert unit that what reaches it can build a term in (a
    parameter source and a term call) is joined like any other, and the components are made again
    until no sink is left that a penalty can reach; after a few rounds (a chain of sinks, each
    reached by a term only once the one before is joined), every unit is joined (linear time)."""
    inert = {index for index, unit in enumerate(units) if unit.inert}
    for _round in range(_ROUNDS):
        components = _joined(units, common_methods, bases or {}, inert)
        _features, upstream = _features_reaching(components, units)
        receiving = {sink for sink, found in upstream.items() if found & (PARAMS | TERMS) == PARAMS | TERMS}
        if not receiving:
            return components
        inert -= receiving
    return _joined(units, common_methods, bases or {}, set())


_ROUNDS = 3


def _features_reaching(components: Components, units: Sequence[Unit]) -> tuple[dict[int, int], dict[int, int]]:
    """The features of each component (by its representative), and of what reaches each sink:
    the components that send to it and the module's, which every function reads."""
    by_component: dict[int, int] = {}
    for root, unit in zip(components.roots, units):
        by_component[root] = by_component.get(root, 0) | unit.features
    module = by_component[components.roots[0]]
    reaching = {
        key: reduce(or_, (by_component[components.roots[sender]] for sender in senders), 0)
        for key, senders in components.senders.items()
    }
    upstream = {sink: reduce(or_, (reaching[key] for key in keys), module) for sink, keys in components.sinks.items()}
    return by_component, upstream


def _joined(
    units: Sequence[Unit], common_methods: AbstractSet[str], bases: Mapping[str, AbstractSet[str]], inert: AbstractSet[int]
) -> Components:
    joiner = _Joiner(units, inert)
    functions: dict[str, list[int]] = {}
    methods: dict[tuple[str, Optional[str]], list[int]] = {}
    registered: dict[str, int] = {}  # method name -> defs surely registered by the analysis
    by_name: dict[str, list[int]] = {}  # method name -> every def of it
    for index, unit in enumerate(units):
        if unit.name is None:
            continue
        if unit.owner is None:
            functions.setdefault(unit.name, []).append(index)
        else:
            methods.setdefault((unit.name, unit.owner), []).append(index)
            by_name.setdefault(unit.name, []).append(index)
            if unit.registered:
                registered[unit.name] = registered.get(unit.name, 0) + 1
    for caller in range(len(units)):
        if caller in inert:
            continue  # it calls none of the file's functions (inert.py)
        unit = units[caller]
        for name in unit.called_names & functions.keys():
            joiner.reach(caller, ("function", name), functions[name])
        for name in unit.called_attributes & by_name.keys():
            if registered.get(name, 0) <= 1 and name not in common_methods:
                joiner.reach(caller, ("method", name), by_name[name])
            elif unit.owner is not None and (name, unit.owner) in methods:
                joiner.reach(caller, ("own method", name, unit.owner), methods[(name, unit.owner)])
    families = _families(units, bases)
    _join_instance_calls(units, joiner, bases, families)
    _join_instance_attributes(units, joiner, families)
    return joiner.result()


@dataclass
class _Families:
    """The file's classes related by inheritance (an object of one runs the methods of its
    bases; two subclasses of nn.Module share no object)."""

    of: dict[str, str]  # a class name (of the file, or a base name) -> its family's name
    members: dict[str, list[int]]  # a family's name -> the methods of its classes


def _families(units: Sequence[Unit], bases: Mapping[str, AbstractSet[str]]) -> _Families:
    owned: dict[str, list[int]] = {}
    for index, unit in enumerate(units):
        if unit.owner is not None:
            owned.setdefault(unit.owner, []).append(index)
    defined = set(owned) | set(bases)
    related = inheritance_families({name: {base for base in found if base in defined} for name, found in bases.items()})
    members: dict[str, list[int]] = {}
    for name, indices in owned.items():
        members.setdefault(related.get(name, name), []).extend(indices)
    return _Families({name: related.get(name, name) for name in defined}, members)


def _join_instance_attributes(units: Sequence[Unit], joiner: _Joiner, families: _Families) -> None:
    """An object's attributes carry values between the methods that run on it: what __init__
    or any other method stores on `self` (`self.w = self.fc.weight`, `self.reg = ...`), the
    others read, and so does code that holds the object (`model = Net(); model.w.norm()`), the
    class's bases and subclasses included (the analysis runs each method on one object of its
    class, after __init__). So the methods of related classes are joined with one another and
    with every unit that names one of those classes; an inert one, which stores nothing, reads
    what they hold."""
    if not families.members:
        return
    for index, unit in enumerate(units):
        for name in unit.mentioned & families.of.keys():
            kin = families.of[name]
            if kin in families.members:
                joiner.reach(index, ("family", kin), families.members[kin])
    for kin, indices in families.members.items():
        joiner.group(("family", kin), indices)


def _join_instance_calls(
    units: Sequence[Unit], joiner: _Joiner, bases: Mapping[str, AbstractSet[str]], families: _Families
) -> None:
    """Calling an object runs its class's forward or __call__ (`self.extra(model)`,
    `reg(model)`), and the analysis knows which class: the object is made where the class is
    named (`self.extra = Extra(2)`, `make = Extra`). A class named in a method may be kept on self:
    its forward and __call__ are joined with every method of that class. A class named anywhere
    else (module code, a class body, a function, whose objects may go anywhere) has them joined
    with every unit that calls anything. A class's object may run the forward or __call__ it
    inherits: `bases` gives each class's base names in the file. An inert unit makes no object
    and calls none (inert.py).

    Not covered: a method that stores the object on another object (`trainer.reg = Extra(2)`)
    whose class's methods then call it; the shapes generator and the corpora have none."""
    entries: dict[str, list[int]] = {}
    for index, unit in enumerate(units):
        if unit.owner is not None and unit.name in CALL_METHODS:
            entries.setdefault(unit.owner, []).append(index)
    if not entries:
        return
    # Each class that may run a forward or __call__ of the file, its own or a base's.
    pending = [name for name in bases if name not in entries]
    changed = True
    while changed:  # (bases of bases: a fixed point, the file's classes at most once each)
        changed = False
        for name in pending:
            inherited = [index for base in bases[name] for index in entries.get(base, ())]
            if inherited and name not in entries:
                entries[name] = inherited
                changed = True
    callers: Optional[int] = None  # a representative of every unit that calls something
    for index, unit in enumerate(units):
        if index in joiner.inert:
            continue
        for name in unit.mentioned & entries.keys():
            joiner.reach(index, ("entries", name), entries[name])
            if unit.owner is not None and unit.name is not None and unit.owner in families.of:
                kin = families.of[unit.owner]
                joiner.reach(index, ("family", kin), families.members[kin])
                continue
            if callers is None:
                callers = joiner.group("callers", [i for i, u in enumerate(units) if u.called_names or u.called_attributes])
            if callers is not None:
                joiner.reach(callers, ("entries", name), entries[name])


def inheritance_families(bases: Mapping[str, AbstractSet[str]]) -> dict[str, str]:
    """Each class name -> a name for the classes related to it by inheritance in the file, in
    either direction (the root of their set)."""
    names = sorted(set(bases) | {base for found in bases.values() for base in found})
    index = {name: position for position, name in enumerate(names)}
    related = _UnionFind(len(names))
    for name, found in bases.items():
        for base in found:
            related.join(index[name], index[base])
    return {name: names[related.find(index[name])] for name in names}


def complete_units(
    units: Sequence[Unit],
    common_methods: AbstractSet[str],
    required: int = COMPLETE,
    components: Optional[Components] = None,
    bases: Optional[Mapping[str, AbstractSet[str]]] = None,
    with_senders: bool = True,
) -> list[bool]:
    """Per unit: whether its component, with the module's code (units[0]) and so the module's
    component, which every function reads, has the `required` features (by default all three;
    else PARAMS | TERMS). An inert unit that stays a sink (no term can reach it: see
    component_roots) has them where a term can be built in it (a term call of its own on a
    parameter of its own or from what reaches it) and, where LOSS is required, it holds a loss
    itself: nothing it holds goes anywhere else. `with_senders`: the components whose values
    reach such a unit have them too (they must be kept where it is)."""
    if components is None:
        components = component_roots(units, common_methods, bases)
    roots = components.roots
    by_component, upstream = _features_reaching(components, units)
    module = by_component[roots[0]]
    complete = [(by_component[root] | module) & required == required for root in roots]
    complete_sinks = []
    for sink, reaching in upstream.items():
        if _sink_complete(units[sink].features | module, reaching, required):
            complete[sink] = True
            complete_sinks.append(sink)
    if with_senders and complete_sinks:
        sending = senders_of(components, complete_sinks)
        complete = [found or root in sending for found, root in zip(complete, roots)]
    return with_module_component(complete, roots)


def with_module_component(complete: list[bool], roots: Sequence[int]) -> list[bool]:
    """Where some unit is complete, the module's component is too: every function reads the
    module's names, and what its code computes there (`extra = sum(mags(net))`, or a module-level
    lambda that calls `mags` wherever it is called) is computed by the functions joined to it."""
    if not any(complete):
        return complete
    return [found or root == roots[0] for found, root in zip(complete, roots)]


def _sink_complete(own: int, upstream: int, required: int) -> bool:
    """A sink's answer (complete_units) from its features and those of what reaches it."""
    term_here = bool(own & TERMS) and bool((own | upstream) & PARAMS)
    return term_here and (not required & LOSS or bool(own & LOSS))


def senders_of(components: Components, sinks: Iterable[int]) -> set[int]:
    """The components (their representatives) whose values reach the inert units `sinks`."""
    keys = {key for sink in sinks for key in components.sinks.get(sink, ())}
    return {components.roots[sender] for key in keys for sender in components.senders[key]}
