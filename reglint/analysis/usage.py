"""Is a value bound to a name ever used? (RL107: a penalty computed and then forgotten.)

A penalty is dead when every use of the name it is bound to leads nowhere: there is none (the
addition was commented out), or it is an operand of arithmetic whose result is dropped (`loss +
reg` as a statement) or bound to another name that is itself dead (`loss_with_l1 = loss + reg`
while the step backpropagates `loss`), or bound to a name that a later statement of the same
block binds anew before anything reads it (`loss = ce + mu * prox` then `loss = criterion(...)`:
_replaced_before_read). Any other use — an argument of a call (logging), a return,
a store into an attribute, a subscript or a container, a condition, an f-string, a closure — keeps
it alive: silence is the answer whenever the name goes somewhere the analysis does not follow.

One exception: a name like a loss (`total_loss = loss + l1`), or a penalty's name where the
penalty is bound already scaled by its coefficient (`l2_reg = cfg.l2 * sum(...)`), that is only measured — `.item()`,
`.detach()`, `.cpu()`, `.tolist()`, `.data`, `float(...)`, an f-string, handed to a logger
(`self.log("total", total_loss)`, LOGGING_CALLS) — while the step
backpropagates another loss. A weight norm that is logged is a measurement; a loss that is
logged and never trained on is the addition the step forgot.
"""

from __future__ import annotations

from typing import Iterator, Optional, Union

import libcst as cst

from reglint.analysis.names import callee_name
from reglint.analysis.vocabulary import GRADLESS_METHODS, LOGGING_CALLS, LOSS_NAME
from reglint.analysis.walk import reads_name, subnodes

_ARITHMETIC = (cst.BinaryOperation, cst.UnaryOperation)
_MEASURING_METHODS = GRADLESS_METHODS | {"cpu"}
_MEASURING_FUNCTIONS = frozenset({"float", "int", "str", "repr"})
Scope = Union[cst.FunctionDef, cst.Module]


class _References(cst.CSTVisitor):
    """Every load of `name` in a scope, with the chain of nodes above it up to its statement."""

    def __init__(self, name: str, scope: cst.CSTNode) -> None:
        self.name = name
        self.scope = scope
        self.stack: list[cst.CSTNode] = []
        self.found: list[list[cst.CSTNode]] = []
        self.nested = False  # the name is read inside a nested function, class or lambda

    def on_visit(self, node: cst.CSTNode) -> bool:
        if node is not self.scope and isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            if reads_name(node, {self.name}):
                self.nested = True
            return False
        parent = self.stack[-1] if self.stack else None
        self.stack.append(node)
        if isinstance(node, cst.Name) and node.value == self.name and not _names_something_else(node, parent):
            self.found.append(list(self.stack))
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        if self.stack and self.stack[-1] is original_node:
            self.stack.pop()


def _names_something_else(node: cst.Name, parent: Optional[cst.CSTNode]) -> bool:
    """The name of an attribute (`args.reg`) or of a keyword argument (`f(reg=...)`), not a load
    of the variable."""
    if isinstance(parent, cst.Attribute):
        return parent.attr is node
    return isinstance(parent, cst.Arg) and parent.keyword is node


def is_dead(scope: Scope, name: str, seen: Optional[set[str]] = None, measured_only: bool = False) -> bool:
    """Does every use of `name` in `scope` lead nowhere (see the module docstring)? With
    `measured_only`, a measurement of it leads nowhere too, as for a name like a loss."""
    seen = seen if seen is not None else set()
    if name in seen:
        return True
    seen.add(name)
    references = _References(name, scope)
    _visit_scope(scope, references)
    if references.nested:
        return False
    measured_only = measured_only or bool(LOSS_NAME.search(name))
    for chain in references.found:
        if not _leads_nowhere(chain, name, scope, seen) and not (measured_only and _measures(chain)):
            return False
    return True


def _measures(chain: list[cst.CSTNode]) -> bool:
    """Is this load of the name a measurement of its value (see the module docstring)?"""
    reference = chain[-1]
    parent = chain[-2] if len(chain) > 1 else None
    grandparent = chain[-3] if len(chain) > 2 else None
    if isinstance(parent, cst.Attribute) and parent.value is reference:
        if parent.attr.value == "data":
            return True
        return parent.attr.value in _MEASURING_METHODS and isinstance(grandparent, cst.Call) and grandparent.func is parent
    if isinstance(parent, cst.Arg) and isinstance(grandparent, cst.Call) and len(grandparent.args) == 1:
        func = grandparent.func
        if isinstance(func, cst.Name) and func.value in _MEASURING_FUNCTIONS:
            return True
    return isinstance(parent, cst.FormattedStringExpression) or _logged(chain)


def _logged(chain: list[cst.CSTNode]) -> bool:
    """`self.log("train/total_loss", total_loss)`, `self.log_dict({"total": total_loss})`,
    `writer.add_scalar("loss", total_loss, step)`: the value handed to a logger, directly or in a
    dict, list or tuple display."""
    index = len(chain) - 2
    while index >= 0 and isinstance(chain[index], (cst.DictElement, cst.Dict, cst.Element, cst.List, cst.Tuple)):
        index -= 1
    if index < 1 or not isinstance(chain[index], cst.Arg) or not isinstance(chain[index - 1], cst.Call):
        return False
    name = callee_name(chain[index - 1])  # type: ignore[arg-type]
    return name is not None and name in LOGGING_CALLS


def _leads_nowhere(chain: list[cst.CSTNode], name: str, scope: Scope, seen: set[str]) -> bool:
    """One load of the name (the last node of `chain`): is it a binding target, or arithmetic
    that is dropped or bound to a dead name?"""
    index = len(chain) - 1
    reference = chain[index]
    while index > 0 and isinstance(chain[index - 1], _ARITHMETIC):
        index -= 1
    holder = chain[index - 1] if index > 0 else None
    value = chain[index]
    if isinstance(holder, cst.AssignTarget) or (isinstance(holder, cst.AugAssign) and holder.target is reference):
        return True  # the name being bound (`reg = ...`, `reg += ...`), not read for a use
    if isinstance(holder, cst.Expr) and holder.value is value:
        return value is not reference  # `loss + reg` dropped; a bare `reg` statement is a no-op too
    if isinstance(holder, cst.Assign) and holder.value is value:
        targets = [t.target for t in holder.targets]
        return all(
            isinstance(t, cst.Name) and (is_dead(scope, t.value, seen) or _replaced_before_read(chain, index - 1, t.value, scope))
            for t in targets
        )
    if isinstance(holder, cst.AugAssign) and holder.value is value:
        target = holder.target
        return isinstance(target, cst.Name) and (
            is_dead(scope, target.value, seen) or _replaced_before_read(chain, index - 1, target.value, scope)
        )
    return False


def replaced_before_read(scope: Scope, statement: cst.CSTNode, name: str) -> bool:
    """Is what `statement` (an assignment of `scope`) binds to `name` replaced before it is read
    (_replaced_before_read)?"""
    finder = _Chain(statement)
    _visit_scope(scope, finder)
    return finder.chain is not None and _replaced_before_read(finder.chain, len(finder.chain) - 1, name, scope)


def _visit_scope(scope: Scope, visitor: cst.CSTVisitor) -> None:
    """Visit a function's body, or each statement of a module."""
    if isinstance(scope, cst.Module):
        for statement in scope.body:
            statement.visit(visitor)
    else:
        scope.body.visit(visitor)


class _Chain(cst.CSTVisitor):
    """The nodes from the scope's body down to `target`."""

    def __init__(self, target: cst.CSTNode) -> None:
        self.target = target
        self.stack: list[cst.CSTNode] = []
        self.chain: Optional[list[cst.CSTNode]] = None

    def on_visit(self, node: cst.CSTNode) -> bool:
        if self.chain is not None:
            return False
        self.stack.append(node)
        if node is self.target:
            self.chain = list(self.stack)
            return False
        return not isinstance(node, (cst.BaseExpression, cst.FunctionDef, cst.ClassDef))

    def on_leave(self, original_node: cst.CSTNode) -> None:
        if self.stack and self.stack[-1] is original_node:
            self.stack.pop()


def _replaced_before_read(chain: list[cst.CSTNode], at: int, name: str, scope: Scope) -> bool:
    """Does a later statement of the same block bind `name` anew (`loss = criterion(out, y)`, not
    reading it) before anything reads it, so that what `chain[at]` (an assignment) bound to it is
    never used (`loss = l1 + mu * prox` then `loss = criterion(...)`, then `loss.backward()`)? Only
    on straight-line code: the statements between may not jump (return, break, continue, raise,
    yield) nor sit in a `try` whose handlers could read the old value; `with` bodies run in line.
    At a module's level, no function of the module may read the name (a call could)."""
    line_at = at - 1
    if line_at < 0 or not isinstance(chain[line_at], cst.SimpleStatementLine):
        return False
    if any(isinstance(node, cst.Try) for node in chain[:line_at]):
        return False
    if isinstance(scope, cst.Module) and any(
        isinstance(node, (cst.FunctionDef, cst.Lambda)) and reads_name(node, {name}) for node in subnodes(scope)
    ):
        return False
    line = chain[line_at]
    block = chain[line_at - 1] if line_at > 0 else scope
    statements = getattr(block, "body", None)
    if not isinstance(statements, (list, tuple)) or line not in statements:
        return False
    small = list(line.body)  # type: ignore[attr-defined]
    after = small[small.index(chain[at]) + 1 :] if chain[at] in small else []
    return _rebinds_first(after + list(statements[statements.index(line) + 1 :]), name) is True


def _rebinds_first(statements: list[cst.CSTNode], name: str) -> Optional[bool]:
    """True: these statements, run in order, bind `name` anew before reading it; False: they read
    it, or may leave the block first; None: neither (the name is still unread at their end)."""
    for statement in statements:
        if isinstance(statement, cst.SimpleStatementLine):
            found = _rebinds_first(list(statement.body), name)
            if found is not None:
                return found
        elif isinstance(statement, cst.With):
            if any(reads_name(item, {name}) for item in statement.items):
                return False
            if not isinstance(statement.body, cst.IndentedBlock):
                return False
            found = _rebinds_first(list(statement.body.body), name)
            if found is not None:
                return found
        elif isinstance(statement, cst.Assign) and not reads_name(statement.value, {name}) and not _leaves(statement):
            if any(isinstance(t.target, cst.Name) and t.target.value == name for t in statement.targets):
                return True
            if any(reads_name(t, {name}) for t in statement.targets):
                return False
        elif reads_name(statement, {name}) or _leaves(statement):
            return False
    return None


_LEAVING = (cst.Return, cst.Raise, cst.Break, cst.Continue, cst.Yield, cst.Await)


def _leaves(statement: cst.CSTNode) -> bool:
    """May control leave the block from inside this statement (outside nested functions)?"""
    pending = [statement]
    while pending:
        node = pending.pop()
        if isinstance(node, _LEAVING):
            return True
        if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)) and node is not statement:
            continue
        pending.extend(node.children)
    return False


def bound_names(statement: cst.CSTNode) -> Iterator[str]:
    """The plain names a statement binds (`reg = ...`, `reg += ...`)."""
    if isinstance(statement, cst.Assign):
        for target in statement.targets:
            if isinstance(target.target, cst.Name):
                yield target.target.value
    elif isinstance(statement, (cst.AugAssign, cst.AnnAssign)) and isinstance(statement.target, cst.Name):
        yield statement.target.value
