"""Units of a file joined into components along the calls the analysis inlines.

Shared by the syntax cut (decision.py) and the text cut (textcut.py), which must
join units by the same rule: a call `f(...)` joins the caller with every function named f; a
call `x.m(...)` joins it with the method m of its own class, or, when m is not one of the common
names the analysis never follows through an unknown owner, with every method named m unless m is
surely defined twice: the analysis inlines the only method of a name it registers (a def directly
in the body of a class it collects), and a cut cannot always tell which defs those are (one under
an `if` in a class body is not), so it counts only the defs it is sure of (`registered`) and,
where they do not show two, joins every def of the name.
"""

from __future__ import annotations

from typing import AbstractSet, Optional, Protocol, Sequence

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


class _UnionFind:
    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, item: int) -> int:
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def join(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[ra] = rb


def component_roots(units: Sequence[Unit], common_methods: AbstractSet[str]) -> list[int]:
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
    joined: set[tuple[bool, str]] = set()  # (a method?, name) whose definitions are joined

    def join_definitions(caller: int, method: bool, name: str, definitions: list[int]) -> None:
        """The caller with every definition of the name (joined with one another once)."""
        if (method, name) not in joined:
            joined.add((method, name))
            for other in definitions[1:]:
                components.join(definitions[0], other)
        components.join(caller, definitions[0])

    for caller, unit in enumerate(units):
        for name in unit.called_names & functions.keys():
            join_definitions(caller, False, name, functions[name])
        for name in unit.called_attributes & by_name.keys():
            if registered.get(name, 0) <= 1 and name not in common_methods:
                join_definitions(caller, True, name, by_name[name])
                continue
            for callee in methods.get((name, unit.owner), ()) if unit.owner is not None else ():
                components.join(caller, callee)
    return [components.find(index) for index in range(len(units))]


def complete_units(
    units: Sequence[Unit], common_methods: AbstractSet[str], required: int = COMPLETE, roots: Optional[list[int]] = None
) -> list[bool]:
    """Per unit: whether its component, with the module's code (units[0]) and so the module's
    component, which every function reads, has the `required` features (by default all three)."""
    if roots is None:
        roots = component_roots(units, common_methods)
    by_component: dict[int, int] = {}
    for root, unit in zip(roots, units):
        by_component[root] = by_component.get(root, 0) | unit.features
    module = by_component[roots[0]]
    return [(by_component[root] | module) & required == required for root in roots]
