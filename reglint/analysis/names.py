"""Import aliases and qualified names, resolved from the module's own import statements.

No libcst scope metadata is computed: reading the imports ourselves costs one shallow walk and is
all the rules need (`import torch.optim as optim`, `from torch.optim import Adam as Opt`,
`from torch import optim`, `import torch as th`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Optional, Sequence, Union

import libcst as cst


def dotted(node: cst.BaseExpression) -> Optional[str]:
    """`a.b.c` as text, or None for anything that is not a plain dotted name."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr.value}" if base is not None else None
    return None


def _module_name(node: cst.BaseExpression) -> str:
    return dotted(node) or ""


_Import = Union[cst.Import, cst.ImportFrom]
# Fields of compound statements and their clauses that hold statements, in source order.
_STATEMENT_FIELDS = ("body", "handlers", "orelse", "finalbody", "cases")
_CLAUSES = (cst.BaseCompoundStatement, cst.Else, cst.ExceptHandler, cst.ExceptStarHandler, cst.Finally, cst.MatchCase)


def import_statements(body: Sequence[cst.CSTNode]) -> Iterator[_Import]:
    """Every import statement under `body`, at any depth (functions, classes, if/try blocks), in
    source order. Only statements are walked: an import never sits inside an expression, and
    libcst's generic visitor would visit every expression node of the file."""
    stack: list[Iterator[cst.CSTNode]] = [iter(body)]
    while stack:
        node = next(stack[-1], None)
        if node is None:
            stack.pop()
        elif isinstance(node, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            for small in node.body:
                if isinstance(small, (cst.Import, cst.ImportFrom)):
                    yield small
        elif isinstance(node, cst.IndentedBlock):
            stack.append(iter(node.body))
        elif isinstance(node, _CLAUSES):
            parts: list[cst.CSTNode] = []
            for name in _STATEMENT_FIELDS:
                value = getattr(node, name, None)
                if isinstance(value, (list, tuple)):
                    parts.extend(value)
                elif isinstance(value, cst.CSTNode):
                    parts.append(value)
            stack.append(iter(parts))


_UNIMPORTED = {"torch": "torch", "nn": "torch.nn"}


@dataclass(frozen=True)
class ImportTarget:
    """What an import binds a local name to: module `module` itself (name None), or the name
    `name` inside it; `level` counts the leading dots of a relative import."""

    module: str
    name: Optional[str]
    level: int = 0


class ImportMap:
    """Maps each local name bound by an import to the qualified name it stands for."""

    def __init__(self) -> None:
        self.aliases: dict[str, str] = {}
        # Every import, relative ones included, as written: what the project's modules resolve.
        self.targets: dict[str, ImportTarget] = {}
        self.star_targets: list[ImportTarget] = []

    @classmethod
    def of(cls, module: cst.Module) -> "ImportMap":
        collector = cls()
        for statement in import_statements(module.body):
            if isinstance(statement, cst.Import):
                collector.add_import(statement)
            else:
                collector.add_import_from(statement)
        return collector

    def add_import(self, node: cst.Import) -> None:
        for alias in node.names:
            full = _module_name(alias.name)
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self.aliases[alias.asname.name.value] = full
                self.targets[alias.asname.name.value] = ImportTarget(full, None)
            else:
                top = full.split(".")[0]
                self.aliases.setdefault(top, top)
                self.targets.setdefault(top, ImportTarget(top, None))

    def add_import_from(self, node: cst.ImportFrom) -> None:
        level = len(node.relative)
        module = _module_name(node.module) if node.module is not None else ""
        if isinstance(node.names, cst.ImportStar):
            self.star_targets.append(ImportTarget(module, None, level))
        else:
            for alias in node.names:
                name = _module_name(alias.name)
                local = name
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    local = alias.asname.name.value
                self.targets[local] = ImportTarget(module, name, level)
        if node.relative or node.module is None:
            return
        base = _module_name(node.module)
        if isinstance(node.names, cst.ImportStar):
            # `from torch.optim import *`: the optimizer names become bare names.
            self.aliases.setdefault(f"*{base}", base)
            return
        for alias in node.names:
            name = _module_name(alias.name)
            local = name
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                local = alias.asname.name.value
            self.aliases[local] = f"{base}.{name}"

    def star_modules(self) -> list[str]:
        return [v for k, v in self.aliases.items() if k.startswith("*")]

    def qualify(self, node: cst.BaseExpression) -> Optional[str]:
        """The qualified name of a dotted expression, via the import aliases; None if not imported."""
        text = dotted(node)
        if text is None:
            return None
        head, _, rest = text.partition(".")
        target = self.aliases.get(head)
        if target is None:
            # `torch` and `nn` used without an import (a notebook cell, a pasted snippet) are
            # still torch and torch.nn.
            target = _UNIMPORTED.get(head)
            if target is None:
                return None
        return f"{target}.{rest}" if rest else target

    def qualify_call_target(self, node: cst.BaseExpression, known: frozenset[str]) -> Optional[str]:
        """Like `qualify`, but a bare name may also come from a star import of a module in `known`."""
        name = self.qualify(node)
        if name is not None:
            return name
        if isinstance(node, cst.Name):
            for module in self.star_modules():
                candidate = f"{module}.{node.value}"
                if candidate in known:
                    return candidate
        return None
