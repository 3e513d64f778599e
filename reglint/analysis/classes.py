"""Classes of the project's code: their methods, their bases, and what their instances hold.

`model = Net()` makes an Instance of Net: its attributes are what `__init__` assigns to `self`,
`model.l2_penalty()` is Net's method (or a base class's), and `model.parameters()` holds the
parameters of the layers `__init__` builds — which, where every layer is known, says whether the
model has any bias or norm gain at all.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Optional

import libcst as cst

from reglint.analysis.names import callee_name
from reglint.analysis.vocabulary import (
    ATTRIBUTE_DICT_NAMES,
    HARMLESS_MODULE_METHODS,
    LAYER_CONTAINERS,
    LAYERS_MATRIX_ONLY,
    LAYERS_WITH_BIAS,
    LAYERS_WITHOUT_PARAMETERS,
    NORM_LAYERS,
    REGISTERING_CALLS,
)
from reglint.analysis.walk import subnodes

if TYPE_CHECKING:
    from reglint.analysis.modules import ModuleContext
    from reglint.analysis.project import LoadedModule
    from reglint.analysis.values import Value


@dataclass(eq=False)
class ClassInfo:
    """One class definition, in the module that defines it."""

    name: str
    node: Optional[cst.ClassDef]  # None for a class of a module read lazily (see `index`)
    context: "ModuleContext"
    methods: dict[str, cst.FunctionDef] = field(default_factory=dict)
    attributes: Optional[dict[str, "Value"]] = None  # what the class body assigns (evaluated lazily)
    index: Optional[tuple["LoadedModule", ast.ClassDef]] = None  # where a lazy class is read from
    _bases: Optional[list[cst.BaseExpression]] = None  # a lazy class's bases, parsed once

    @property
    def bases(self) -> list[cst.BaseExpression]:
        if self.node is not None:
            return [arg.value for arg in self.node.bases if arg.keyword is None and not arg.star]
        if self._bases is None:
            self._bases = self._parse_bases()
        return self._bases

    def _parse_bases(self) -> list[cst.BaseExpression]:
        assert self.index is not None
        loaded, node = self.index
        out: list[cst.BaseExpression] = []
        for base in node.bases:
            text = loaded.segment(base)
            if text is None:
                continue
            try:
                out.append(cst.parse_expression(text))
            except (cst.ParserSyntaxError, ValueError):
                continue
        return out

    def body_assignments(self) -> list[cst.BaseSmallStatement]:
        """The class body's simple assignments (for a lazy class, only its literal ones, each
        parsed on its own)."""
        if self.node is not None:
            return [
                small
                for statement in self.node.body.body
                if isinstance(statement, cst.SimpleStatementLine)
                for small in statement.body
            ]
        assert self.index is not None
        loaded, node = self.index
        return parsed_declarations(loaded, [s for s in node.body if isinstance(s, (ast.Assign, ast.AnnAssign))])

    def __repr__(self) -> str:
        return f"ClassInfo({self.name})"


def layer_vectors(name: str, call: cst.Call) -> Optional[bool]:
    """Does the torch.nn layer `name` (called as `call`) have 1-D parameters? None: not known."""
    keywords = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
    if name in LAYERS_WITHOUT_PARAMETERS:
        return False
    if name in LAYERS_MATRIX_ONLY:
        # A table of width 1 (`nn.Embedding(n_users, 1)`) is a per-row bias, not a weight matrix.
        positional = [a.value for a in call.args if a.keyword is None]
        width = keywords.get("embedding_dim", positional[1] if len(positional) > 1 else None)
        if isinstance(width, cst.Integer):
            return width.value == "1"
        return False  # a table of any other width is a weight matrix
    if name in LAYERS_WITH_BIAS:
        flag = keywords.get("bias")
        if flag is None and _positional_may_set(name, call):
            return None
        return not _is_false(flag)
    if name in NORM_LAYERS:
        flag = keywords.get(NORM_LAYERS[name])
        return not _is_false(flag)
    return None


def type_vectors(qualified: Optional[str]) -> Optional[bool]:
    """Do modules of the class `qualified` hold 1-D parameters (as built by default)? Known for
    torch.nn's layers only; None for any other class."""
    if qualified is None or not qualified.startswith("torch.nn."):
        return None
    name = qualified.rsplit(".", 1)[-1]
    if name in LAYERS_WITHOUT_PARAMETERS or name in LAYERS_MATRIX_ONLY:
        return False
    if name in LAYERS_WITH_BIAS or name in NORM_LAYERS:
        return True
    return None


# Where `bias` sits among a layer's positional arguments (0-based).
_BIAS_POSITION = {
    "Linear": 2, "LazyLinear": 1, "Bilinear": 3, "RNN": 3, "LSTM": 3, "GRU": 3, "RNNCell": 2,
    "LSTMCell": 2, "GRUCell": 2,
}


def _positional_may_set(name: str, call: cst.Call) -> bool:
    """`nn.Linear(3, 4, False)`: a positional argument where `bias` sits: not read, unknown."""
    if any(a.star for a in call.args):
        return True
    positional = [a for a in call.args if a.keyword is None]
    return len(positional) > _BIAS_POSITION.get(name, 7)  # convolutions: 7


def _is_false(node: Optional[cst.BaseExpression]) -> bool:
    return isinstance(node, cst.Name) and node.value == "False"


def is_container(name: str) -> bool:
    return name in LAYER_CONTAINERS


def builds_only_attributes(
    init: cst.FunctionDef, code: Callable[[cst.CSTNode], str], method_ran: Callable[[str], Optional[bool]]
) -> bool:
    """Does this __init__ show everything it adds to the instance? Not when its body is hidden (a
    stub), when it registers parameters in ways the analysis does not follow (`add_module`,
    `setattr`), or when it calls a method of its own that did not run for the analysis:
    `method_ran(name)` says whether `self.<name>()` was read (None: a method the class does not
    define; only nn.Module's own bookkeeping is harmless then). `code(node)`: its module's code
    for a node."""
    body = init.body.body if isinstance(init.body, cst.IndentedBlock) else ()
    if not body or all(_is_stub(statement) for statement in body):
        return False
    text = code(init)
    if any(word in text for word in REGISTERING_CALLS):
        return False
    self_name = init.params.params[0].name.value if init.params.params else "self"
    if re.search(rf"\b{re.escape(self_name)}\s*\.\s*\w+[\s)]*\(", text) is None:
        return True  # no `self.m(...)` in its code: the walk below would find none
    for name in _own_method_calls(init, self_name):
        ran = method_ran(name)
        if ran is None and name not in HARMLESS_MODULE_METHODS:
            return False
        if ran is False:
            return False
    return True


def _is_stub(statement: cst.CSTNode) -> bool:
    if not isinstance(statement, cst.SimpleStatementLine):
        return False
    for small in statement.body:
        if isinstance(small, cst.Pass):
            continue
        if isinstance(small, cst.Expr) and isinstance(small.value, (cst.SimpleString, cst.Ellipsis)):
            continue
        return False
    return True


def _own_method_calls(init: cst.FunctionDef, self_name: str) -> list[str]:
    """The `m` of every `self.m(...)` in the body."""
    names: list[str] = []
    for node in subnodes(init.body):
        if type(node) is cst.Call:
            func = node.func  # type: ignore[attr-defined]
            if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == self_name:
                names.append(func.attr.value)
    return names


def is_stub(function: cst.FunctionDef) -> bool:
    """A body that shows nothing: `pass`, `...`, a lone string (how the triage prunes one)."""
    body = function.body.body if isinstance(function.body, cst.IndentedBlock) else ()
    return not body or all(_is_stub(statement) for statement in body)


_LITERALS = (
    cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString, cst.ConcatenatedString, cst.Name,
    cst.Attribute, cst.Ellipsis,
)


def is_declaration(statement: cst.BaseSmallStatement) -> bool:
    """`WD = 1e-4`, `CONFIG = {"lr": 1e-3, "weight_decay": 5e-4}`, `lr: float = 3e-4`: an
    assignment of a literal (numbers, strings, names, containers and arithmetic of them,
    `dict(...)` of them) to plain names. What a module declares for its importers."""
    if isinstance(statement, cst.Assign):
        targets, value = [t.target for t in statement.targets], statement.value
    elif isinstance(statement, cst.AnnAssign) and statement.value is not None:
        targets, value = [statement.target], statement.value
    else:
        return False
    return all(_declared(t) for t in targets) and is_literal(value)


def _declared(target: cst.BaseExpression) -> bool:
    """`NAME = ...`, `NAME["key"] = ...` (a config dict filled key by key) or `NAME.KEY.SUB = ...`
    (an attribute dict filled the same way: `__C.OPTIM.LR = 1e-4`)."""
    if isinstance(target, cst.Name):
        return True
    if isinstance(target, cst.Attribute):
        return _declared(target.value) and not isinstance(target.value, cst.Subscript)
    return (
        isinstance(target, cst.Subscript)
        and isinstance(target.value, cst.Name)
        and len(target.slice) == 1
        and isinstance(target.slice[0].slice, cst.Index)
        and isinstance(target.slice[0].slice.value, cst.SimpleString)
    )


def is_literal(node: cst.BaseExpression, depth: int = 0) -> bool:
    if depth > 20:
        return False
    if isinstance(node, _LITERALS):
        return True
    if isinstance(node, (cst.UnaryOperation,)):
        return is_literal(node.expression, depth + 1)
    if isinstance(node, cst.BinaryOperation):
        return is_literal(node.left, depth + 1) and is_literal(node.right, depth + 1)
    if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
        return all(is_literal(e.value, depth + 1) for e in node.elements)
    if isinstance(node, cst.Dict):
        return all(
            isinstance(e, cst.DictElement) and is_literal(e.key, depth + 1) and is_literal(e.value, depth + 1)
            for e in node.elements
        )
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value in ("dict", "field"):
        # `dict(lr=1e-3)`; a dataclass `field(default=0.05)` or `field(default_factory=OptimConfig)`
        return all(not a.star and is_literal(a.value, depth + 1) for a in node.args)
    if isinstance(node, cst.Call):
        if callee_name(node) in ATTRIBUTE_DICT_NAMES:  # `SimpleNamespace(lr=1e-3)` (modules._ast_literal)
            return sum(a.keyword is None for a in node.args) <= 1 and all(
                not a.star and is_literal(a.value, depth + 1) for a in node.args
            )
    return False


def parsed_declarations(loaded: "LoadedModule", statements: list[ast.stmt]) -> list[cst.BaseSmallStatement]:
    """Assignments of a lazily read module, each parsed by libcst on its own."""
    out: list[cst.BaseSmallStatement] = []
    for statement in statements:
        snippet = loaded.snippet(statement)
        if snippet is None or not snippet.body:
            continue
        line = snippet.body[-1]
        if isinstance(line, cst.SimpleStatementLine):
            out.extend(small for small in line.body if is_declaration(small))
    return out
