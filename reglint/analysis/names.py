"""Import aliases and qualified names, resolved from the module's own import statements.

No libcst scope metadata is computed: reading the imports ourselves costs one shallow walk and is
all the rules need (`import torch.optim as optim`, `from torch.optim import Adam as Opt`,
`from torch import optim`, `import torch as th`).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Iterator, Optional, Sequence, Union

import libcst as cst

from reglint.analysis.vocabulary import UNIMPORTED_MODULES


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


def _as_name(alias: cst.ImportAlias) -> Optional[str]:
    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        return alias.asname.name.value
    return None


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
                for alias in statement.names:
                    collector.bind_import(_module_name(alias.name), _as_name(alias))
            elif isinstance(statement.names, cst.ImportStar):
                collector.bind_from(_module_name(statement.module) if statement.module else "", len(statement.relative), None)
            else:
                names = [(_module_name(alias.name), _as_name(alias)) for alias in statement.names]
                collector.bind_from(_module_name(statement.module) if statement.module else "", len(statement.relative), names)
        return collector

    @classmethod
    def of_ast(cls, tree: ast.Module) -> "ImportMap":
        """The same map, read from CPython's tree (a project module read only for its names)."""
        collector = cls()
        for node in _ast_statements(tree.body):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    collector.bind_import(alias.name, alias.asname)
            elif isinstance(node, ast.ImportFrom):
                if any(alias.name == "*" for alias in node.names):
                    collector.bind_from(node.module or "", node.level, None)
                else:
                    collector.bind_from(node.module or "", node.level, [(a.name, a.asname) for a in node.names])
        return collector

    def bind_import(self, full: str, asname: Optional[str]) -> None:
        """`import a.b` (binds a) or `import a.b as ab`."""
        if asname is not None:
            self.aliases[asname] = full
            self.targets[asname] = ImportTarget(full, None)
        else:
            top = full.split(".")[0]
            self.aliases.setdefault(top, top)
            self.targets.setdefault(top, ImportTarget(top, None))

    def bind_from(self, module: str, level: int, names: Optional[list[tuple[str, Optional[str]]]]) -> None:
        """`from module import a as b, c`; `names` None for `import *`."""
        if names is None:
            self.star_targets.append(ImportTarget(module, None, level))
            if not level and module:
                self.aliases.setdefault(f"*{module}", module)  # the optimizer names become bare names
            return
        for name, asname in names:
            local = asname or name
            self.targets[local] = ImportTarget(module, name, level)
            if not level and module:
                self.aliases[local] = f"{module}.{name}"

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
            target = UNIMPORTED_MODULES.get(head)
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


def _ast_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement under `body`, at any depth, without visiting expressions."""
    stack = [iter(body)]
    while stack:
        statement = next(stack[-1], None)
        if statement is None:
            stack.pop()
            continue
        yield statement
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            nested = getattr(statement, field, None)
            if isinstance(nested, list) and nested:
                stack.append(iter(nested))


def callee_name(call: cst.Call) -> Optional[str]:
    """The last name of what a call calls: `reg_loss` of `self.reg_loss(...)`, `f` of `f(...)`;
    None for any other callee (`fns[0](...)`)."""
    func = call.func
    if isinstance(func, cst.Name):
        return func.value
    return func.attr.value if isinstance(func, cst.Attribute) else None
