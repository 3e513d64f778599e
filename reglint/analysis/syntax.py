"""Small questions asked of libcst nodes: names mentioned, guards, decorators, argparse defaults."""

from __future__ import annotations

import ast
from typing import Optional, Sequence, Union

import libcst as cst

from reglint.analysis.names import ImportMap, dotted
from reglint.analysis.walk import reads_dotted, subnodes


def argparse_defaults(module: cst.Module, source: Optional[str] = None) -> dict[str, Optional[float]]:
    """dest -> numeric default of every `add_argument("--name", default=<number>)` in the file.

    With `source`, the module's text, only the top-level statements whose text mentions
    `add_argument` are walked (a walk of a whole long file costs more than the rest of the
    analysis)."""
    found: dict[str, Optional[float]] = {}

    def read(node: cst.Call) -> None:
        if not (isinstance(node.func, cst.Attribute) and node.func.attr.value == "add_argument"):
            return
        keywords = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
        names = [
            a.value.evaluated_value
            for a in node.args
            if a.keyword is None and isinstance(a.value, cst.SimpleString)
        ]
        dest_node = keywords.get("dest")
        if isinstance(dest_node, cst.SimpleString):
            evaluated = dest_node.evaluated_value
            dest: Optional[str] = evaluated if isinstance(evaluated, str) else None
        else:
            longs = [n for n in names if isinstance(n, str) and n.startswith("--")]
            chosen = longs[0] if longs else (names[0] if names else None)
            dest = chosen.lstrip("-").replace("-", "_") if isinstance(chosen, str) else None
        if not isinstance(dest, str) or not dest:
            return
        default = keywords.get("default")
        value: Optional[float] = None
        if isinstance(default, (cst.Integer, cst.Float)):
            value = float(default.value.replace("_", ""))
        elif isinstance(default, cst.UnaryOperation) and isinstance(
            default.expression, (cst.Integer, cst.Float)
        ):
            value = -float(default.expression.value.replace("_", ""))
        elif isinstance(default, cst.Name) and default.value in ("True", "False"):
            value = 1.0 if default.value == "True" else 0.0
        elif default is None and "action" not in keywords:
            value = None  # no default: None unless given, which torch.optim rejects
        else:
            return
        found[dest] = value if dest not in found or found[dest] == value else None

    for statement in statements_mentioning(module, source, "add_argument"):
        for node in subnodes(statement):
            if type(node) is cst.Call:
                read(node)  # type: ignore[arg-type]
    return {k: v for k, v in found.items() if v is not None}


_last_tree: tuple[Optional[str], Optional[ast.Module]] = (None, None)


def python_tree(source: str) -> Optional[ast.Module]:
    """CPython's tree of `source` (None if it does not parse), remembered for the last text asked
    about: the language server's parser and the analysis both read the tree of the same text."""
    global _last_tree
    text, tree = _last_tree
    if text is source or text == source:
        return tree
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        tree = None
    _last_tree = (source, tree)
    return tree


def statements_mentioning(module: cst.Module, source: Optional[str], word: str) -> Sequence[cst.CSTNode]:
    """The top-level statements of `module` whose lines in `source` contain `word`, in order; the
    module itself when that cannot be told (no source, or CPython reads it otherwise than libcst).

    CPython's parser finds each statement's lines in a fraction of the time a libcst walk takes.
    Its top-level statements are libcst's, except that a line of `;`-separated statements is one
    libcst statement and several for `ast`; a text whose statements do not pair up so is not
    trusted.
    """
    if source is None:
        return [module]
    import re

    tree = python_tree(source)
    if tree is None:
        return [module]
    lines = re.split(r"\r\n|\r|\n", source)
    chosen: list[cst.CSTNode] = []
    position = 0
    for statement in module.body:
        count = len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1
        group = tree.body[position : position + count]
        position += count
        if len(group) < count:
            return [module]
        first = min(
            [node.lineno for node in group]
            + [d.lineno for node in group for d in getattr(node, "decorator_list", ())]
        )
        last = max(node.end_lineno or node.lineno for node in group)
        if any(word in line for line in lines[first - 1 : last]):
            chosen.append(statement)
    if position != len(tree.body):
        return [module]
    return chosen


def decorator_name(decorator: cst.Decorator, imports: ImportMap) -> Optional[str]:
    target = decorator.decorator
    if isinstance(target, cst.Call):
        target = target.func
    return imports.qualify(target) if isinstance(target, (cst.Name, cst.Attribute)) else None


def is_true(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "True"


def is_none_literal(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


def is_static(function: cst.FunctionDef) -> bool:
    return any(
        isinstance(d.decorator, cst.Name) and d.decorator.value == "staticmethod"
        for d in function.decorators
    )


def nested_statements(statement: Union[cst.If, cst.Try]) -> list[cst.CSTNode]:
    out: list[cst.CSTNode] = []
    if isinstance(statement.body, cst.IndentedBlock):
        out.extend(statement.body.body)
    return out


def continue_guard(statement: cst.CSTNode) -> Optional[cst.BaseExpression]:
    """`if cond: continue` → cond (the rest of the loop body runs when cond is false)."""
    if not isinstance(statement, cst.If) or statement.orelse is not None:
        return None
    body = statement.body
    smalls: Sequence[cst.CSTNode]
    if isinstance(body, cst.SimpleStatementSuite):
        smalls = body.body
    elif (
        isinstance(body, cst.IndentedBlock)
        and len(body.body) == 1
        and isinstance(body.body[0], cst.SimpleStatementLine)
    ):
        smalls = body.body[0].body
    else:
        return None
    if len(smalls) == 1 and isinstance(smalls[0], cst.Continue):
        return statement.test
    return None


def mentions(node: cst.CSTNode, name: str) -> bool:
    """Does the statement read `name` (a name or a dotted chain): an assignment's value, an
    augmented assignment's target, or anywhere in anything else?"""
    if isinstance(node, cst.Assign):
        return reads_dotted(node.value, {name})
    if isinstance(node, cst.AugAssign):
        return dotted(node.target) == name or reads_dotted(node.target, {name})
    return reads_dotted(node, {name})


def mentions_any(node: cst.CSTNode, names: set[str]) -> bool:
    return reads_dotted(node, names)


def adds_name(statement: cst.CSTNode, name: str) -> bool:
    """Is `name` itself an operand of the sum this statement computes (`loss = loss + reg`,
    `loss += reg`, `total = 0.5 * loss + reg`)? `loss.detach() + reg` and `float(loss) + reg`
    build a new value from a copy and do not count."""
    if isinstance(statement, cst.AugAssign):
        return dotted(statement.target) == name
    value = statement.value if isinstance(statement, (cst.Assign, cst.AnnAssign)) else None
    if value is None:
        return False
    pending: list[cst.BaseExpression] = [value]
    while pending:
        node = pending.pop()
        if isinstance(node, cst.BinaryOperation):
            pending.extend((node.left, node.right))
        elif isinstance(node, cst.UnaryOperation):
            pending.append(node.expression)
        elif dotted(node) == name:
            return True
    return False


def nested_functions(function: cst.FunctionDef) -> list[cst.FunctionDef]:
    """The functions defined in a function's body, at any depth of its blocks (not inside nested
    functions or classes: those are theirs)."""
    found: list[cst.FunctionDef] = []
    pending: list[cst.CSTNode] = [function.body]
    while pending:
        node = pending.pop()
        if isinstance(node, cst.FunctionDef):
            found.append(node)
            continue
        if isinstance(node, (cst.ClassDef, cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            continue
        if isinstance(node, cst.IndentedBlock):
            pending.extend(reversed(node.body))
        elif isinstance(node, cst.BaseCompoundStatement):
            for part in ("body", "orelse", "finalbody"):
                child = getattr(node, part, None)
                if isinstance(child, cst.BaseSuite):
                    pending.append(child)
                elif isinstance(child, (cst.Else, cst.Finally, cst.If)):
                    pending.append(child)
            for handler in getattr(node, "handlers", ()):
                pending.append(handler.body)
            for case in getattr(node, "cases", ()):
                pending.append(case.body)
        elif isinstance(node, (cst.Else, cst.Finally)):
            pending.append(node.body)
    return found
