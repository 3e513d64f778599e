"""A module as the interpreter reads it: its tree, imports, definitions and module-level values.

The linted file is the home module. Project modules it imports are read the same way (their
module-level code run once, for the constants and config values it defines), and their functions
and classes are inlined where the home module calls them; facts built inside them are reported at
the home module's call (see FileAnalyzer.here).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import libcst as cst

from reglint.analysis.names import ImportMap
from reglint.analysis.state import Frame
from reglint.analysis.vocabulary import ATTRIBUTE_DICT_NAMES

if TYPE_CHECKING:
    from reglint.analysis.classes import ClassInfo
    from reglint.analysis.project import LoadedModule


@dataclass(eq=False)
class ModuleContext:
    module: cst.Module
    imports: ImportMap
    frame: Frame
    home: bool
    path: Optional[str] = None  # how messages name the file (None: the linted file itself)
    source: Optional[str] = None
    name: Optional[str] = None  # the dotted module name, where known
    classes: dict[str, "ClassInfo"] = field(default_factory=dict)
    methods: dict[str, list[tuple[str, cst.FunctionDef]]] = field(default_factory=dict)
    argparse_defaults: dict[str, Optional[float]] = field(default_factory=dict)
    loaded: bool = False  # its definitions collected and module-level code run
    file: Optional[Path] = None  # where it is on disk (None: text with no file, e.g. stdin)
    resolved: dict[str, object] = field(default_factory=dict)  # import name -> value (cache)
    # A module read lazily for an importer (indexed_context): the snippet module of each parsed
    # definition, its literal top-level declarations, and what it was read from.
    code_modules: dict[int, cst.Module] = field(default_factory=dict)
    declarations: list[ast.stmt] = field(default_factory=list)
    loaded_module: Optional["LoadedModule"] = None

    @classmethod
    def of(cls, module: cst.Module, home: bool, **kwargs: object) -> "ModuleContext":
        return cls(module, ImportMap.of(module), Frame("<module>", {}, None, code=module), home, **kwargs)  # type: ignore[arg-type]


class LazyDefinitions(dict):  # type: ignore[type-arg]
    """name -> cst.FunctionDef of a project module read for an importer: each definition is
    parsed by libcst (as a snippet at its own lines) the first time the analysis needs it."""

    def __init__(self, loaded: "LoadedModule", nodes: dict[str, ast.stmt], modules: dict[int, cst.Module]) -> None:
        super().__init__()
        self._loaded = loaded
        self._nodes = nodes
        self._modules = modules  # id(parsed def) -> the snippet module it sits in

    def __contains__(self, name: object) -> bool:
        return name in self._nodes or dict.__contains__(self, name)

    def __getitem__(self, name: str) -> cst.FunctionDef:
        found = self.get(name)
        if not isinstance(found, cst.FunctionDef):
            raise KeyError(name)
        return found

    def get(self, name: str, default: object = None) -> object:  # type: ignore[override]
        if dict.__contains__(self, name):
            return dict.__getitem__(self, name)
        node = self._nodes.get(name)
        if node is None:
            return default
        snippet = self._loaded.snippet(node)
        parsed = snippet.body[-1] if snippet is not None and snippet.body else None
        if not isinstance(parsed, cst.FunctionDef):
            parsed = None
        if parsed is not None and snippet is not None:
            self._modules[id(parsed)] = snippet
        dict.__setitem__(self, name, parsed)
        return parsed if parsed is not None else default

    def names(self) -> list[str]:
        return list(self._nodes)

    def source(self, name: str) -> Optional[str]:
        """A definition's text, read without parsing it."""
        node = self._nodes.get(name)
        return self._loaded.segment(node) if node is not None else None


class LazyMethodIndex(dict):  # type: ignore[type-arg]
    """method name -> [(class name, FunctionDef)] over a lazily read module's classes."""

    def __init__(self, classes: dict[str, "ClassInfo"]) -> None:
        super().__init__()
        self._classes = classes

    def get(self, name: str, default: object = None) -> object:  # type: ignore[override]
        found = []
        for info in self._classes.values():
            if name in info.methods:
                method = info.methods.get(name)
                if method is not None:
                    found.append((info.name, method))
        return found if found else (default if default is not None else [])


@dataclass(frozen=True)
class _ModuleIndex:
    """What an importer reads of a project module's tree: the same for every importer."""

    imports: ImportMap
    functions: dict[str, ast.stmt]
    classes: list[tuple[ast.ClassDef, dict[str, ast.stmt]]]  # each class with its methods
    declarations: list[ast.stmt]  # literal top-level assignments (constants, config dicts)


def _index(loaded: "LoadedModule") -> _ModuleIndex:
    assert loaded.tree is not None
    functions: dict[str, ast.stmt] = {}
    classes: list[tuple[ast.ClassDef, dict[str, ast.stmt]]] = []
    for statement in _top_level(loaded.tree.body):
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            functions[statement.name] = statement
        elif isinstance(statement, ast.ClassDef):
            methods: dict[str, ast.stmt] = {
                item.name: item
                for item in statement.body
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
            }
            classes.append((statement, methods))
    declarations: list[ast.stmt] = [
        statement
        for statement in _top_level(loaded.tree.body)
        if isinstance(statement, (ast.Assign, ast.AnnAssign))
        and statement.value is not None
        and _ast_literal(statement.value)
        and all(_ast_declared(t) for t in (statement.targets if isinstance(statement, ast.Assign) else [statement.target]))
    ]
    return _ModuleIndex(ImportMap.of_ast(loaded.tree), functions, classes, declarations)


def indexed_context(loaded: "LoadedModule", name: str, path: str) -> ModuleContext:
    """A project module read for an importer from CPython's tree: its imports, functions,
    classes and methods are known by name, and parsed by libcst only when used."""
    from reglint.analysis.classes import ClassInfo

    index = loaded.derived("index", _index)
    modules: dict[int, cst.Module] = {}
    context = ModuleContext(
        cst.Module(body=[]),
        index.imports,
        Frame("<module>", {}, None),
        home=False,
        source=loaded.text,
        name=name,
        file=loaded.path,
        path=path,
    )
    context.code_modules = modules
    for statement, methods in index.classes:
        info = ClassInfo(statement.name, None, context, LazyDefinitions(loaded, methods, modules))  # type: ignore[arg-type]
        info.index = (loaded, statement)
        context.classes[statement.name] = info
    context.frame.functions = LazyDefinitions(loaded, index.functions, modules)  # type: ignore[assignment]
    context.methods = LazyMethodIndex(context.classes)  # type: ignore[assignment]
    context.declarations = list(index.declarations)
    context.loaded_module = loaded
    return context


def _top_level(body: list[ast.stmt]) -> list[ast.stmt]:
    """A module's statements, with those under a top-level `if`/`try` (TYPE_CHECKING, optional
    imports) as the analysis collects them."""
    out: list[ast.stmt] = []
    for statement in body:
        out.append(statement)
        if isinstance(statement, (ast.If, ast.Try)):
            out.extend(statement.body)
    return out


def _ast_literal(node: ast.expr, depth: int = 0) -> bool:
    """The ast counterpart of classes.is_literal: only these declarations are parsed."""
    if depth > 20:
        return False
    if isinstance(node, (ast.Constant, ast.Name, ast.Attribute)):
        return True
    if isinstance(node, ast.UnaryOp):
        return _ast_literal(node.operand, depth + 1)
    if isinstance(node, ast.BinOp):
        return _ast_literal(node.left, depth + 1) and _ast_literal(node.right, depth + 1)
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return all(_ast_literal(e, depth + 1) for e in node.elts)
    if isinstance(node, ast.Dict):
        return all(k is not None and _ast_literal(k, depth + 1) for k in node.keys) and all(
            _ast_literal(v, depth + 1) for v in node.values
        )
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict":
        return not node.args and all(k.arg is not None and _ast_literal(k.value, depth + 1) for k in node.keywords)
    if isinstance(node, ast.Call) and _called_name(node.func) in ATTRIBUTE_DICT_NAMES:
        # `SimpleNamespace(lr=1e-3)`, `EasyDict({"lr": 1e-3})`
        return len(node.args) <= 1 and all(_ast_literal(a, depth + 1) for a in node.args) and all(
            k.arg is not None and _ast_literal(k.value, depth + 1) for k in node.keywords
        )
    return False


def _called_name(func: ast.expr) -> Optional[str]:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def _ast_declared(target: ast.expr) -> bool:
    """The ast counterpart of classes._declared: a name, a name's string key, or a name's
    attributes."""
    if isinstance(target, ast.Name):
        return True
    if isinstance(target, ast.Attribute):
        return _ast_declared(target.value) and not isinstance(target.value, ast.Subscript)
    return (
        isinstance(target, ast.Subscript)
        and isinstance(target.value, ast.Name)
        and isinstance(target.slice, ast.Constant)
        and isinstance(target.slice.value, str)
    )
