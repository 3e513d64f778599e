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
"""

from __future__ import annotations

from typing import AbstractSet, Mapping, Optional, Protocol, Sequence

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


def component_roots(
    units: Sequence[Unit], common_methods: AbstractSet[str], bases: Optional[Mapping[str, AbstractSet[str]]] = None
) -> list[int]:
    """Per unit: a representative of its component (equal for units of one component).
    Linear in the calls: a name defined many times (every class's `forward`) is looked up by
    (name, class), and the definitions of one function name are joined once, not per caller."""
    components = _UnionFind(len(units))
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
    for caller, unit in enumerate(units):
        for name in unit.called_names & functions.keys():
            components.join(caller, components.join_group(("function", name), functions[name]))
        for name in unit.called_attributes & by_name.keys():
            if registered.get(name, 0) <= 1 and name not in common_methods:
                components.join(caller, components.join_group(("method", name), by_name[name]))
                continue
            for callee in methods.get((name, unit.owner), ()) if unit.owner is not None else ():
                components.join(caller, callee)
    _join_instance_calls(units, components, bases or {})
    _join_instance_attributes(units, components, bases or {})
    return [components.find(index) for index in range(len(units))]


def _join_instance_attributes(units: Sequence[Unit], components: "_UnionFind", bases: Mapping[str, AbstractSet[str]]) -> None:
    """An object's attributes carry values between the methods that run on it: what __init__
    or any other method stores on `self` (`self.w = self.fc.weight`, `self.reg = ...`), the
    others read, and so does code that holds the object (`model = Net(); model.w.norm()`), the
    class's bases and subclasses included (the analysis runs each method on one object of its
    class, after __init__). So the methods of related classes are joined with one another and
    with every unit that names one of those classes."""
    members: dict[str, list[int]] = {}
    for index, unit in enumerate(units):
        if unit.owner is not None:
            members.setdefault(unit.owner, []).append(index)
    if not members:
        return
    # Related by inheritance between the file's own classes (an object of one runs the methods
    # of its bases; two subclasses of nn.Module share no object).
    defined = set(members) | set(bases)
    families = inheritance_families({name: {base for base in found if base in defined} for name, found in bases.items()})
    family: dict[str, list[int]] = {}
    for name, indices in members.items():
        family.setdefault(families.get(name, name), []).extend(indices)
    named = {name: families.get(name, name) for name in defined}
    for index, unit in enumerate(units):
        for name in unit.mentioned & named.keys():
            kin = named[name]
            if kin in family:
                components.join(index, components.join_group(("family", kin), family[kin]))
    for kin, indices in family.items():
        components.join_group(("family", kin), indices)


def _join_instance_calls(units: Sequence[Unit], components: "_UnionFind", bases: Mapping[str, AbstractSet[str]]) -> None:
    """Calling an object runs its class's forward or __call__ (`self.extra(model)`,
    `reg(model)`), and the analysis knows which class: the object is made where the class is
    named (`self.extra = Extra(2)`, `make = Extra`). A class named in a method may be kept on self:
    its forward and __call__ are joined with every method of that class. A class named anywhere
    else (module code, a class body, a function, whose objects may go anywhere) has them joined
    with every unit that calls anything. A class's object may run the forward or __call__ it
    inherits: `bases` gives each class's base names in the file.

    Not covered: a method that stores the object on another object (`trainer.reg = Extra(2)`)
    whose class's methods then call it; the shapes generator and the corpora have none."""
    entries: dict[str, list[int]] = {}
    members: dict[str, list[int]] = {}
    for index, unit in enumerate(units):
        if unit.owner is not None:
            members.setdefault(unit.owner, []).append(index)
            if unit.name in CALL_METHODS:
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
    # An object kept on self is read by the methods of its class's bases and subclasses too.
    families = inheritance_families(bases)
    family: dict[str, list[int]] = {}
    for name, indices in members.items():
        family.setdefault(families.get(name, name), []).extend(indices)
    callers: Optional[list[int]] = None
    for index, unit in enumerate(units):
        for name in unit.mentioned & entries.keys():
            entry = components.join_group(("entries", name), entries[name])
            components.join(index, entry)
            if unit.owner is not None and unit.name is not None and unit.owner in members:
                kin = families.get(unit.owner, unit.owner)
                components.join(index, components.join_group(("family", kin), family[kin]))
                continue
            if callers is None:  # every unit that calls something
                callers = [i for i, u in enumerate(units) if u.called_names or u.called_attributes]
            if callers:
                components.join(entry, components.join_group("callers", callers))


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
    roots: Optional[list[int]] = None,
    bases: Optional[Mapping[str, AbstractSet[str]]] = None,
) -> list[bool]:
    """Per unit: whether its component, with the module's code (units[0]) and so the module's
    component, which every function reads, has the `required` features (by default all three)."""
    if roots is None:
        roots = component_roots(units, common_methods, bases)
    by_component: dict[int, int] = {}
    for root, unit in zip(roots, units):
        by_component[root] = by_component.get(root, 0) | unit.features
    module = by_component[roots[0]]
    return [(by_component[root] | module) & required == required for root in roots]
