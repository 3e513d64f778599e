"""The flow cut: can a penalty term be built from a parameter anywhere in a module?

The text and syntax cuts (decision.py) keep a file when one component of its functions holds a
parameter source, a term call and a loss word somewhere. In a large model or trainer file that
is nearly always so, although no term is ever built from a parameter there (RMSNorm's
`hidden_states.pow(2).mean(-1, keepdim=True)` a few lines from its `self.weight`), and each such
file costs a libcst parse and the analysis, which then find nothing. This cut follows values
instead of words, over CPython's tree (`ast`, several times cheaper than libcst), and keeps a
file only where some term could be built.

## Why a file it rules out has no penalty (the soundness argument)

Every penalty rule needs a penalty, and every penalty is made of terms (prefilter.RULE_FACTS;
an optimizer construction is not this cut's question). The analysis builds a term
(analysis/terms.py, `_term`) in exactly three ways:
  - REDUCE: `.sum()` / `.mean()` with no positional argument and no `dim=` / `axis=` other than
    None (DIM_KEYWORDS), or `torch.sum(x)` / `torch.mean(x)` with one argument, of an
    *elementwise* value: |w| or w² of a parameter;
  - NORM: `.norm(...)` of a *parameter* value, or `torch.norm` / `torch.linalg.norm` /
    `torch.linalg.vector_norm` / `torch.functional.norm` of one (by a bare name only where an
    import binds it), unless a `dim` other than None, a second positional argument after the
    order other than None, or a starred argument is given (analysis/terms.norm_term);
  - L1 LOSS: a call of an L1 criterion (what `nn.L1Loss(...)` makes, L1_LOSS_CLASSES) or of
    `F.l1_loss` (L1_LOSS_FUNCTIONS) with a *parameter* value and zeros (calls.l1_loss_term).
A parameter value (Param, Flat, ParamIter) starts only at an attribute `weight`, `bias` or
`*_weight`, a call `.parameters()`, `.named_parameters()` or `.state_dict()`, or a call of what a
call of an embedding layer's class makes (ROW_LAYERS: the rows it looks up, calls.looked_up_rows,
`self.user_embedding(users)` with `self.user_embedding = nn.Embedding(...)`), or a call of a class
that makes parameters (PARAMETER_CLASSES: `self.P = nn.Parameter(w)` read as `self.P`, an item of
an `nn.ParameterDict`), in a text that spells torch; an elementwise
value only at `.abs()`, `.square()`, `.pow(...)`, `abs`/`absolute`/`square`/`pow(...)`, `x ** y`
or `x * y` with a parameter value in it (analysis/calls.py, expressions.py), or at the square of
a parameter value's norms along a dimension (values.RowNorms: `w.norm(dim=1).pow(2)`; here any
norm of a parameter value has its kinds); a parameter value
times a factor that names a mask (MASK_WORD: `masks[name] * w`) is that parameter value, and so is
`F.dropout(w, p)` of one (DROPOUT_FUNCTIONS).

So every expression gets a set of kinds, PARAM, ELEMENTWISE, L1_CRITERION (from a call named
like an L1_LOSS_CLASSES class, or an import's alias for one), ROW_LAYER (likewise from a call
named like a ROW_LAYERS class, in a text that spells torch), ROWS (what a call of a value of kind
ROW_LAYER makes: a parameter value as PARAM is, except that a call hands ROWS and ROW_LAYER, and
lists holding only those, to the code it runs only where its callee is named like a penalty or a
loss, vocabulary.hands_rows_to, and an instance's forward / __call__ hands none back, as the
analysis' values.without_rows; and `a + b` of rows is no join) and LISTISH (a list or set display
holding something of a kind), over-approximating what the analysis can evaluate it to:
  - an expression has every kind any part of it has (containers, subscripts, conditions, calls of
    anything with such a receiver or argument, comprehensions over such an iterable), plus PARAM
    at a source and ELEMENTWISE where an elementwise operation meets PARAM, and a reduction keeps
    the ELEMENTWISE of what it reduces (over some dimensions it is still w², summed in groups:
    calls.partial_reduction, `w.pow(2).sum(dim=1).mean()`); `a + b` has its
    sides' kinds only where one side is LISTISH or both have PARAM, and none otherwise, `a - b`
    also where either side has PARAM (not ROWS: rows minus a value are VQ-VAE's codebook loss), and `a * b` keeps PARAM where either side names a
    mask (the analysis' binary_value joins two collections of parameters or two lists, keeps a
    masked parameter, makes `w - w0` that parameter anchored (expressions.anchored: a proximal
    penalty's distance), and makes anything else of a parameter UNKNOWN: `h + self.pos.weight`; a list without kinds
    joined to one with kinds adds nothing, so it needs no kind of its own);
  - a name or dotted name (`x`, `self.params`) keeps every kind it was ever assigned for the rest
    of the function, whatever is assigned to it later (the analysis runs a function's statements
    in order, a loop body once; here a loop body is read twice); a subscript store or a call
    of a GROWING_METHODS method with such an argument (`d[k] = p`, `terms.append(p)`) gives its
    kinds to the container (the analysis' grow_collection; no other call changes what its
    receiver holds), and a container kept as an attribute (`self.records.append((ps, lam))`,
    `self.groups[0] = ps`) gives them to that attribute name in every function, as a store does
    (a method that grows it runs on the object the other methods read);
    an attribute stored a value gives its kinds to that attribute name in every function,
    except that `self.x` in a method (its `self` never bound to anything else there) reads only
    what the methods of its class's inheritance family among the file's classes store on their
    `self`, and what any other object's attribute of that name is stored (the analysis runs a
    class's methods, inherited ones included, on an object of that class: an object of an
    unrelated class is never their `self`);
  - the module's names are read by every function (the analysis runs the module's code first,
    then each function, and inlines calls), so what the module's code assigns counts everywhere;
  - a call passing such an argument to a function or method defined in the file under that
    name (any class, any nesting: wider than the analysis, which inlines only some) gives its
    kinds to the parameter at its position and the next one (a method's first is `self`, which
    inlining skips; for a def directly in a class body that is no staticmethod, only the next
    one: the analysis never binds an argument to its `self`), a keyword to the parameter of that
    name (or `**kwargs`), and an argument
    after a starred one (inlining drops those, shifting the rest) to every parameter; a call of
    a function that returns or yields such a value has its kinds; a parameter gets its default
    value's kinds; a lambda (which the analysis runs where it is called, with the call's
    arguments) has the kinds its body may have, read with parameters that have every kind,
    objects of the file's classes included, and a call of any value has the value kinds of its
    callee (a name, or an attribute by what is stored to it: `first(model)`, `self.pick(m)`);
    a function of the file other than a method, named other than in a call (`reg_fn = l1_all`,
    a factory's `return penalty` of a def nested in it) has a kind of its own (_Flow.function_kinds), moved as any kind: a call
    whose callee has it (`reg_fn(ps)`, `self.fn(ps)`, `TERMS[k](ps)`, a lambda's parameter,
    which has every such kind) gives its arguments to that function, as a call of it by name
    would, and has the kinds it returns, and the callee's function kinds (the callee may be a
    lambda that returns the function: `(lambda: l1_all)()(ps)`). A call of `partial` has
    the kinds of its first argument and binds the others to that function's parameters, and
    from then on a call of a value of that function's kind binds each positional argument to
    every parameter (the analysis' Partial puts the bound arguments first). Those names have their kinds
    only from the first call given a kind whose callee is no function, class or import of the
    file (`_may_call_a_value`: the analysis calls the file's function of a bare name even where
    a local shadows it), or the first kind one of those functions returns: until then a call of
    one can neither give nor return a kind, so the kinds would change nothing;
    `global`/`nonlocal` names pass their kinds to the module. A bare name called is also read as each name an
    import gave it (`from torch import sum as total`), a method name only as itself;
  - each class of the file whose call or whose instance's call runs code of the file (an
    `__init__`, a `forward` or a `__call__`, its own or one of its in-file bases', as find_method
    looks; a base written as a name the module's code assigns a class, `Alias = Base`, is that
    class) has two kinds more: the class (at its name) and an instance of it (what a call of a
    value of the class kind is). A call whose callee has a class kind passes its arguments to
    that class's `__init__` (the analysis' construct); one whose callee has an instance kind
    passes them to the class's `forward` and `__call__` and has the kinds they return (call_value:
    `reg(model.parameters())`, `col(model)` whose forward returns `list(m.parameters())`), wherever
    the value came from (a name, an attribute, a container, a factory's return, a default, a
    class body's name). A method's `self` has the instance kinds of its class and of the file's
    subclasses of it (`self(ps)`, `helper(self)`). A method's `self` is never bound, by starred
    arguments and `**kwargs` neither. A name a class body assigns is also that attribute name
    (`Config.l2`).
    Classes are followed lazily (_Flow._activate): until a call given a value with a kind meets
    a callee that could hold a class or an instance (a name its unit or the module binds, or a
    parameter; an attribute the file stores to, unless it hangs off an import's name bound
    nowhere; any other expression), no class has a kind, and then all of them do; a class's
    kinds start early where its forward / __call__ (or one it inherits) returns a kind. That
    is the same fixpoint: class kinds change other kinds only at such calls (given kinds, or
    returning them), a call of a class by its own name runs its `__init__` either way, and a
    callee that could hold no class holds none once they are followed. tests/test_flowcut.py
    reads every source both ways (all classes followed from the start, and lazily).
Everything is repeated until no kind is added anywhere. (Given the module's text, a unit is
read only once something on its lines can have a kind, and again when a name it mentions gets a
new one: the same fixpoint, for a fifth of the reading on transformers; _Flow._read_changed.)
Class bodies are read as module code and every function, nested ones included, is read on its
own: more than the analysis runs. A nested function starts with what the names of the functions
it is nested in hold once they are read (the analysis runs it in its definer's frame: Closure),
and is read again when that grows. The file
may hold a term if a REDUCE call has an ELEMENTWISE receiver (method form) or argument (function
form), a NORM call a PARAM one, with the arguments above, or an L1 LOSS call (a callee of kind
L1_CRITERION, or `l1_loss`) a PARAM argument. (A unit is read first also where an import's alias
of an L1_LOSS_CLASSES or ROW_LAYERS class is on its lines.) The function form is the analysis'
only for a bare name or a dotted name starting at an imported name or `torch`; a method call on
anything else (`self.norm(x, gate)`) is read in method form only.

The triage gives the cut a skeleton of the file where it can (textcut.py, `Skeleton`): the
file with the body of every function that holds no def, class, import, global or nonlocal
emptied, lines kept. Such a body adds nothing to the units, names and imports collected before
reading, so the skeleton's structure is the file's; the body is parsed from the file's own lines
when its unit is first read, and put in place before the unit reads it. A unit's lines in the
skeleton hold its true lines (they run from the line after its header to the end of its block),
so it is read at least whenever it would be, and a read more changes nothing (a unit adds what
the kinds present allow, and they only grow). So the answer is the file's, and the bodies never
read are never parsed: on transformers four in five. A body that does not parse or does not hold
what the skeleton promised sends the file to the whole parse (`may_build_a_term_in` answers None).

## The other question: an optimizer class held as a value

The analysis constructs an optimizer where a call calls a value of its own code that is an
optimizer class (values.OptimizerClass: `opt_cls = optim.Adam` ... `opt_cls(params)`, a default
`optimizer_fn=Adam` kept on `self`, `OPTIMIZERS["adam"](...)`, a `functools.partial` of one). It
makes that value only from an attribute whose name is a class it knows (`optim.Adam`), a bare
name an import binds to one (by name, an alias or `*`), or a call of getattr on torch.optim
(`getattr(torch.optim, cfg.optimizer)`, vocabulary.ATTRIBUTE_BY_NAME), and moves it as any value.
So may_call_an_optimizer_class reads the file with one more kind, OPTIMIZER_CLASS, given at those
names and at every call of getattr whose first argument may be that module, and moved by the rules above (and through any call given it, wider than the analysis'
partial), and answers yes at a call whose callee has it, at a `partial` of it (the analysis reads
a partial of a class that no call it follows constructs as a construction of its own:
interpreter._construct_uncalled_partials), or at a call that gives it to code other than the
file's functions and classes and a few builtins (a project module's `Learner(opt_func=Adam)`,
whose code the analysis runs for a module that sets up training). The triage asks it only of a file that
names a class without calling one (textcut.may_construct_an_optimizer); transformers'
trainer_optimizer.py, whose handlers return classes that its own code never calls, is ruled out.

The coupling to the analysis is checked, not assumed: tests/test_flowcut.py runs the analysis
on every fixture, rule example, test source and benchmark corpus file, and fails if it finds a
penalty where this cut says none can be built.
"""

from __future__ import annotations

import ast
import warnings
from typing import TYPE_CHECKING, Iterable, Iterator, Optional, Union

from reglint.analysis.optimizers import ALL_NAMES
from reglint.analysis.triage.components import inheritance_families
from reglint.analysis.triage.readers import Readers
from reglint.analysis.triage.words import member_value_mentions, value_mentions
from reglint.analysis.vocabulary import (
    ATTRIBUTE_BY_NAME,
    CALL_METHODS,
    CHAIN_FUNCTIONS,
    COLLECTING_BUILTINS,
    COLLECTION_METHODS,
    DROPOUT_FUNCTIONS,
    ELEMENTWISE_CALLS,
    FLATTENING_FUNCTIONS,
    GRADLESS_METHODS,
    GROWING_METHODS,
    L1_LOSS_CLASSES,
    L1_LOSS_FUNCTIONS,
    MASK_WORD,
    NORM_WORDS,
    OPTIMIZER_MODULE,
    PARAM_ATTRIBUTE_SUFFIX,
    PARAM_ATTRIBUTES,
    PARAM_METHODS,
    PARAM_VIEW_ATTRIBUTES,
    PASSING_OBJECT_METHODS,
    SCALAR_REDUCTIONS,
    SHAPE_METHODS,
    CallArgument,
    hands_rows_to,
    norm_arguments_allow_a_term,
    parameter_classes_in,
    reduction_allows_a_term,
    row_layers_in,
)

if TYPE_CHECKING:
    from reglint.analysis.triage.textcut import Skeleton

PARAM, ELEMENTWISE, L1_CRITERION = 1, 2, 4
# The other question (may_call_an_optimizer_class): an optimizer class held as a value.
OPTIMIZER_CLASS = 8
# A value that may be a list holding something of a kind above (what a list or set display of
# such things makes): `+` joins two lists whatever they hold, and nothing else but collections of
# parameters. (A list holding nothing of a kind adds nothing to a join, so it needs no kind.)
LISTISH = 16
# What a call of an embedding layer's class makes (vocabulary.ROW_LAYERS), and what a call of that
# makes: the rows it looks up, a parameter value that a call hands only to code named like a
# penalty or a loss (vocabulary.hands_rows_to, the analysis' call_arguments).
ROW_LAYER, ROWS = 32, 64
_PARAMETER_VALUE = PARAM | ROWS
_ROWS_AND_LAYERS = ROWS | ROW_LAYER
# Above these, two kinds for each class of the file a call can run code of (_Flow.class_kinds):
# the class itself, and an instance of it.
_VALUE_KINDS = 127
_FIRST_CLASS_KIND = 128

REDUCE_NAMES = SCALAR_REDUCTIONS
NORM_NAMES = NORM_WORDS
SOURCE_METHODS = frozenset(PARAM_METHODS)
# Methods whose result is the value they are called on (a tensor's view, copy or move, with or
# without its gradient; a parameter collection's items): calls.ev_method and friends.
KEEPING_METHODS = SHAPE_METHODS | GRADLESS_METHODS | COLLECTION_METHODS
# Functions (builtins, torch) whose result is built from their arguments: list(ps), sorted(ps),
# enumerate(ps), filter(f, ps), dict(params=ps), torch.flatten(p), torch.cat(ps), and
# parameters_to_vector(ps).
PASSING_FUNCTIONS = (
    COLLECTING_BUILTINS | FLATTENING_FUNCTIONS | frozenset(name.rsplit(".", 1)[-1] for name in CHAIN_FUNCTIONS)
)
KEEPING_ATTRIBUTES = PARAM_VIEW_ATTRIBUTES
# `F.dropout(w, p)`: a parameter, masked (calls.ev_torch)
DROPOUT_NAMES = frozenset(name.rsplit(".", 1)[-1] for name in DROPOUT_FUNCTIONS)

_Function = Union[ast.FunctionDef, ast.AsyncFunctionDef]
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)
# Statements that hold no statement, no function and no name binding a unit reads elsewhere.
_SIMPLE_STATEMENTS = frozenset(
    {ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Expr, ast.Return, ast.Pass, ast.Break, ast.Continue}
    | {ast.Raise, ast.Assert, ast.Delete}
)
_TRY = (ast.Try, ast.TryStar) if hasattr(ast, "TryStar") else (ast.Try,)


# Builtins that never call what they are given (`isinstance(opt, optim.Adam)`); `partial` returns
# it (its kinds pass through, see _call).
_NEVER_CALL_THEIR_ARGUMENTS = frozenset(
    {"isinstance", "issubclass", "print", "getattr", "hasattr", "type", "id", "str", "repr", "len", "partial"}
)


class _TermFound(Exception):
    """A term may be built: the answer is yes, stop reading."""


class _NotTheSkeleton(Exception):
    """A body parsed from the file is not what the skeleton promised: read the whole file."""


def _is_source_attribute(name: str) -> bool:
    return name in PARAM_ATTRIBUTES or name.endswith(PARAM_ATTRIBUTE_SUFFIX)


# Where a value can get a kind from nothing: a parameter source, which is an attribute (`.weight`,
# `.pos_weight`) or a method (`.parameters()`), only where the word may follow a dot; an L1
# criterion class, by any name; a lambda, whose parameters could be anything. Every other kind
# comes from a name, an attribute, a return value or a parameter that got it first.
_SEED_ATTRIBUTES = tuple(sorted(PARAM_ATTRIBUTES | set(PARAM_METHODS)))
_SEED_ATTRIBUTE_SUFFIXES = (PARAM_ATTRIBUTE_SUFFIX,)
_SEED_WORDS = tuple(sorted(L1_LOSS_CLASSES | {"lambda"}))


def _dotted(node: ast.expr) -> Optional[str]:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def _container(node: ast.expr) -> ast.expr:
    """What a store into `node` lands in: `d` for `d[k][j]`, `self.terms` for itself."""
    while isinstance(node, (ast.Subscript, ast.Starred)):
        node = node.value
    return node


def _root_key(node: ast.expr) -> Optional[str]:
    """The dotted name of the container a store into `node` lands in."""
    return _dotted(_container(node))


def _names_a_mask(node: ast.expr) -> bool:
    """A name or an attribute in `node` holding MASK_WORD (expressions.masked_parameter's test)."""
    return any(
        (isinstance(part, ast.Name) and MASK_WORD in part.id.lower())
        or (isinstance(part, ast.Attribute) and MASK_WORD in part.attr.lower())
        for part in ast.walk(node)
    )


def root_name(node: ast.expr) -> Optional[str]:
    """The first name of a dotted name (`torch` of `torch.linalg.norm`), None for anything else."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _parameter_names(arguments: ast.arguments) -> list[str]:
    names = [a.arg for a in arguments.posonlyargs + arguments.args + arguments.kwonlyargs]
    if arguments.vararg is not None:
        names.append(arguments.vararg.arg)
    if arguments.kwarg is not None:
        names.append(arguments.kwarg.arg)
    return names


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def call_arguments(node: ast.Call) -> list[CallArgument]:
    """The call's arguments as vocabulary.arguments_allow_a_term reads them."""
    arguments = [
        CallArgument(None, 1, False) if isinstance(a, ast.Starred) else CallArgument(None, 0, _is_none(a))
        for a in node.args
    ]
    arguments.extend(CallArgument(k.arg, 0 if k.arg else 2, _is_none(k.value)) for k in node.keywords)
    return arguments


class _Unit:
    """The module's code (with class bodies) or one function's body, read in order."""

    def __init__(
        self,
        function: Optional[_Function],
        parent: Optional["_Unit"] = None,
        index: int = 0,
        method: bool = False,
        owner: Optional[str] = None,
    ) -> None:
        self.body: list[ast.stmt] = []
        # A method the analysis registers (a def directly in a class body, not a staticmethod):
        # inlining binds a call's arguments after its `self`, never to it.
        self.method = method
        self.index = index
        self.parent = parent  # the function it is nested in (None: the module's, or the module)
        # The lines its statements are on (the module's: every line, it holds every unit).
        self.first = function.body[0].lineno if function is not None else 0
        self.last = (function.end_lineno or 1 << 30) if function is not None else 1 << 30
        self.name = function.name if function is not None else None
        self.owner = owner  # the class whose body defines it directly
        self.line = function.lineno if function is not None else 0
        # Its body is emptied in the skeleton read: parse it from the file when it is first read.
        self.deferred = False
        arguments = function.args if function is not None else ast.arguments([], [], None, [], [], None, [])
        self.positional = [a.arg for a in arguments.posonlyargs + arguments.args]
        self.parameters = _parameter_names(arguments)
        self.vararg = arguments.vararg.arg if arguments.vararg is not None else None
        self.kwarg = arguments.kwarg.arg if arguments.kwarg is not None else None
        self.globals: set[str] = set()


class _Flow:
    def __init__(
        self,
        tree: ast.Module,
        seed_parameters: bool = False,
        term_builders: frozenset[str] = frozenset(),
        text: Optional[str] = None,
        skeleton: Optional["Skeleton"] = None,
        optimizer_classes: bool = False,
    ) -> None:
        self.seed_parameters = seed_parameters
        self.skeleton = skeleton
        self.row_layers = row_layers_in(text)
        self.parameter_classes = parameter_classes_in(text)
        # The question asked: can a term be built (False), or can a call call an optimizer class
        # held as a value (True)? The kinds move the same way for both.
        self.optimizer_classes = optimizer_classes
        # Names a class body assigns: read as attributes too (`Config.optimizer`, `cfg.optimizer`).
        self.class_attributes: set[str] = set()
        # Names bound by imports of project modules whose functions may build a term from what
        # they are given: a call of one with a parameter or elementwise argument may build one.
        self.term_builders = term_builders
        module = _Unit(None)
        self.units: list[_Unit] = [module]
        self.functions: dict[str, list[_Unit]] = {}
        self.unit_of: dict[int, _Unit] = {}  # id() of a def -> its unit
        # The file's classes by name: their bases (as written) and methods (name -> units).
        self.classes: dict[str, list[tuple[list[str], dict[str, list[_Unit]]]]] = {}
        self.aliases: dict[str, set[str]] = {}  # `from torch import norm as N`: N -> {norm}
        self.imported: set[str] = {"torch"}  # names an import binds (qualified names start there)
        self._collect(tree.body, module, module.body)
        self._resolve_base_aliases(module)
        # The file's functions used as values (`reg_fn = l1_all`): called wherever the value goes.
        self.escaped_units: dict[str, list[_Unit]] = {}
        for unit in _functions_used_as_values(tree, text, self.units):
            self.escaped_units.setdefault(unit.name or "", []).append(unit)
        self.escaped = frozenset(self.escaped_units)
        self.escaped_methods = frozenset(
            name for name, escaped_units in self.escaped_units.items() if any(unit.method for unit in escaped_units)
        )
        self._found_methods: dict[tuple[str, str], list[_Unit]] = {}
        # Kinds of the file's classes whose call or whose instance's call runs code of the file
        # (an __init__, a forward or a __call__, their own or a base's): CLASS_KIND for the class,
        # twice that for an instance of it.
        self.class_kinds: dict[str, int] = {}
        self.kind_class: dict[int, str] = {}
        for name in self.classes:
            if any(self._found(name, method) for method in ("__init__", *CALL_METHODS)):
                kind = _FIRST_CLASS_KIND << (2 * len(self.class_kinds))
                self.class_kinds[name] = kind
                self.kind_class[kind] = name
                self.kind_class[kind << 1] = name
        self.every_class_kind = sum(kind | kind << 1 for kind in self.class_kinds.values())
        # Above those, a kind for each of them (by name): a call of a value of that kind runs it.
        self.function_kinds: dict[str, int] = {}
        self.kind_function: dict[int, str] = {}
        for name in sorted(self.escaped):
            kind = _FIRST_CLASS_KIND << (2 * len(self.class_kinds) + len(self.function_kinds))
            self.function_kinds[name] = kind
            self.kind_function[kind] = name
        self.every_function_kind = sum(self.function_kinds.values())
        self.function_callers: dict[str, set[int]] = {}  # units that call it as a value
        # Their names have their kinds only once a call that may call a value is given a kind, or
        # one of them returns a kind (_follow_functions): before, a call of one changes nothing.
        self.following_functions = False
        # Those a `partial` was made of: a call of the value may bind any argument to any
        # parameter (the bound ones come first).
        self.partially_applied: set[str] = set()
        # What each function's names hold once read (a function nested in it reads them), and
        # the units nested in each, at any depth.
        self.unit_locals: dict[int, dict[str, int]] = {}
        self._nested_in: Optional[dict[int, list[int]]] = None
        # Names each unit's statements bind, as read (for _may_hold_a_class), and the callees of
        # the calls given a kind in the unit being read.
        self.bound: dict[int, set[str]] = {}
        self.pending_callees: list[ast.expr] = []
        # Caches of the class hierarchy: a method's class -> the classes its `self` may be; a
        # class -> the file's classes written with it as a base.
        self._self_classes: dict[str, list[str]] = {}
        self._subclasses: Optional[dict[str, set[str]]] = None
        self._bases: Optional[dict[str, set[str]]] = None  # (after _resolve_base_aliases)
        self._global_names: Optional[frozenset[str]] = None
        self._methods_with_self: Optional[list[_Unit]] = None
        self._running_cache: dict[int, list[str]] = {}
        # What each forward / __call__ returns (what a call of an instance is), and who calls it so.
        self.unit_returns: dict[int, int] = {}
        self.instance_callers: dict[int, set[int]] = {}
        # Bare names that may be an optimizer class: bound by an import to one (or a star import).
        self.class_names: frozenset[str] = frozenset(
            ({name for name in self.imported if name in ALL_NAMES} | (ALL_NAMES if "*" in self.imported else set()))
            | {alias for alias, names in self.aliases.items() if names & ALL_NAMES}
        )
        self.module: dict[str, int] = {}  # kinds of the module's names and dotted names
        self.attributes: dict[str, int] = {}  # kinds stored to an attribute name anywhere
        # The same, apart: stored on a method's `self`, by the family of classes (related by
        # inheritance) whose objects it may be; and stored on anything else.
        self.self_attributes: dict[tuple[str, str], int] = {}
        self.other_attributes: dict[str, int] = {}
        self.rebound_self: set[int] = set()  # methods that bind their `self` name to something
        self._families_of: Optional[dict[str, str]] = None
        self.parameter_kinds: dict[tuple[int, str], int] = {}  # (unit.index, parameter) -> kinds
        self.returns: dict[str, int] = {}  # function name -> kinds it may return
        self.changed = False
        self.unit = module
        self.self_name: Optional[str] = None
        self.local: dict[str, int] = self.module
        self.readers = Readers.of(text, self.units) if text is not None else None
        # Classes are followed (have kinds) only once a call is met where that could matter
        # (_activate); reading every unit in every round, or for an importer, from the start.
        self.active = not self.class_kinds or self.readers is None or seed_parameters  # all of them
        self.name_kinds: dict[str, int] = dict(self.class_kinds) if self.active else {}  # those followed
        self.dirty: set[int] = set()
        self.touched: set[tuple[str, bool]] = set()  # words whose units are in `dirty` already

    # ---------------------------------------------------------------- structure

    def _collect(
        self, body: list[ast.stmt], unit: _Unit, into: Optional[list[ast.stmt]], in_class: Optional[str] = None
    ) -> None:
        """Split statements into units. `into`: where `unit` reads them (None for statements
        inside a compound statement, which `unit` reads through it). A function's body is a unit
        of its own; a class body is read by the unit the class sits in, after it. `in_class`:
        `body` is the body of the class of that name."""
        for statement in body:
            if into is not None:
                into.append(statement)
            kind = type(statement)
            if kind in _SIMPLE_STATEMENTS:
                continue
            if isinstance(statement, FUNCTIONS):
                method = in_class is not None and not any(
                    isinstance(d, ast.Name) and d.id == "staticmethod" for d in statement.decorator_list
                )
                parent = unit if unit.name is not None else None
                inner = _Unit(statement, parent, len(self.units), method, in_class)
                self.units.append(inner)
                self.functions.setdefault(statement.name, []).append(inner)
                self.unit_of[id(statement)] = inner
                inner.deferred = self.skeleton is not None and statement.lineno in self.skeleton.bodies
                self._collect(statement.body, inner, inner.body)
            elif isinstance(statement, ast.ClassDef):
                self._collect(statement.body, unit, unit.body, in_class=statement.name)
                methods: dict[str, list[_Unit]] = {}
                for item in statement.body:
                    if isinstance(item, FUNCTIONS):
                        methods.setdefault(item.name, []).append(self.unit_of[id(item)])
                    targets = item.targets if isinstance(item, ast.Assign) else [item.target] if isinstance(item, ast.AnnAssign) else []
                    self.class_attributes.update(target.id for target in targets if isinstance(target, ast.Name))
                bases = [base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "") for base in statement.bases]
                self.classes.setdefault(statement.name, []).append((bases, methods))
            elif isinstance(statement, (ast.Global, ast.Nonlocal)):
                unit.globals.update(statement.names)
            elif isinstance(statement, (ast.Import, ast.ImportFrom)):
                for alias in statement.names:
                    local = alias.asname or alias.name.partition(".")[0]
                    self.imported.add(local)
                    if alias.asname is not None:
                        self.aliases.setdefault(alias.asname, set()).add(alias.name.rpartition(".")[2])
            else:
                for nested in statement_lists(statement):
                    self._collect(nested, unit, None)

    def _resolve_base_aliases(self, module: _Unit) -> None:
        """A base written as a name the module's code assigns (`Alias = Base`, `Alias: type = Base`,
        `A, B = Base, object`; the analysis evaluates a base in the module's frame) stands also for
        every class of the file named in what is assigned to it, at any depth of such names."""
        unresolved = {base for definitions in self.classes.values() for bases, _ in definitions for base in bases}
        unresolved -= self.classes.keys()
        if not unresolved:
            return
        values: dict[str, list[ast.expr]] = {}  # a name the module's code assigns -> what
        pending_statements = list(module.body)
        while pending_statements:
            statement = pending_statements.pop()
            kind = type(statement)
            if kind is ast.Assign:
                targets, value = statement.targets, statement.value  # type: ignore[attr-defined]
            elif kind is ast.AnnAssign and statement.value is not None:  # type: ignore[attr-defined]
                targets, value = [statement.target], statement.value  # type: ignore[attr-defined]
            else:
                if kind not in _SIMPLE_STATEMENTS and not isinstance(statement, (*FUNCTIONS, ast.ClassDef)):
                    for nested in statement_lists(statement):  # (under `if`, `try`, ...)
                        pending_statements.extend(nested)
                continue
            pending_targets = list(targets)
            while pending_targets:
                target = pending_targets.pop()
                if isinstance(target, ast.Name):
                    values.setdefault(target.id, []).append(value)
                elif isinstance(target, (ast.Tuple, ast.List, ast.Starred)):
                    pending_targets.extend(target.elts if not isinstance(target, ast.Starred) else [target.value])
        for definitions in self.classes.values():
            for bases, _ in definitions:
                pending = [base for base in bases if base in unresolved and base in values]
                seen: set[str] = set()
                while pending:
                    alias = pending.pop()
                    if alias in seen:
                        continue
                    seen.add(alias)
                    for value in values.get(alias, ()):
                        for node in ast.walk(value):
                            if not isinstance(node, ast.Name):
                                continue
                            if node.id in self.classes and node.id not in bases:
                                bases.append(node.id)
                            elif node.id not in self.classes:
                                pending.append(node.id)

    # ---------------------------------------------------------------- driver

    def may_build_a_term(self) -> bool:
        try:
            if self.readers is not None:
                self._read_changed()
                return False
            while True:
                self.changed = False
                for unit in self.units:
                    self._read_unit(unit)
                if not self.changed:
                    return False
        except _TermFound:
            return True

    def _read_changed(self) -> None:
        """The same fixpoint, reading a unit again only when something it may read has changed.
        A unit's reading depends on nothing but the kinds of the module's names, of attribute
        names, of what functions return and of its own parameters (its locals start empty each
        time), and a unit in which nothing has a kind adds no kind anywhere and finds no term.
        So a unit is read first if a kind can start in it (on its lines a parameter source's
        name where it may be an attribute, `m.weight` but not `bias=False`; an L1 criterion
        class; a lambda; the name of a function used as a value; or parameters seeded; once
        classes are followed, a class's name, or a
        method's `self` other than before a dot), and again whenever a name, attribute or
        function it mentions, or one of its parameters, gets a new kind (an attribute name: where
        it may be an attribute), or a forward / __call__ it called an instance's way, or a
        function it called as a value, returns more."""
        assert self.readers is not None
        if self.seed_parameters:
            self.dirty.update(range(len(self.units)))
        else:
            self.dirty.add(0)
            # (an import may call L1Loss by another name: `from torch.nn import L1Loss as Crit`)
            renamed = [alias for alias, names in self.aliases.items() if names & L1_LOSS_CLASSES]
            # (an embedding layer's kind starts only where one is made: `nn.Embedding(n, d)`; a
            # parameter's where one is: `nn.Parameter(w)`, `nn.ParameterDict(...)`)
            makers = self.row_layers | self.parameter_classes
            self.dirty.update(self.readers.calling([*makers, *(a for a, names in self.aliases.items() if names & makers)]))
            if self.optimizer_classes:
                renamed += sorted(ALL_NAMES | self.class_names | {ATTRIBUTE_BY_NAME})  # where a class may be named
            self.dirty.update(self.readers.seeded((*_SEED_WORDS, *renamed), _SEED_ATTRIBUTES, _SEED_ATTRIBUTE_SUFFIXES))
            if self.active:
                self._seed_classes(self.class_kinds)
        while self.dirty:
            batch = sorted(self.dirty)
            self.dirty.clear()
            self.touched.clear()
            for index in batch:
                self._read_unit(self.units[index])

    def _activate(self, names: Optional[Iterable[str]] = None) -> None:
        """From now on the file's classes `names` (None: all of them) and their instances have
        kinds (see _may_hold_a_class)."""
        if self.active:
            return
        if names is None:
            self.active = True
            names = self.class_kinds
        new = [name for name in names if name not in self.name_kinds]
        if not new:
            return
        self.changed = True
        self.name_kinds.update((name, self.class_kinds[name]) for name in new)
        if self.readers is not None:
            self._seed_classes(new)

    def _seed_classes(self, names: Iterable[str]) -> None:
        """Where the kinds of classes `names` can start: their names, and a method's `self` used
        as a value where it may be an instance of one (a method of the class or of a base)."""
        assert self.readers is not None
        names = list(names)
        self.dirty.update(self.readers.mentioning_any(names))
        owners = self._ancestors(names)
        for unit in self._methods_with_a_self():
            if unit.owner in owners and unit.index in self.readers.bare(unit.positional[0]):
                self.dirty.add(unit.index)

    def _follow_functions(self) -> None:
        """From now on the names of the functions used as values have their kinds: read where
        they are named."""
        if self.following_functions:
            return
        self.following_functions = True
        self.changed = True
        if self.readers is not None:
            self.dirty.update(self.readers.mentioning_any(sorted(self.escaped)))

    def _methods_with_a_self(self) -> list[_Unit]:
        """The units of methods with a `self` (whose owner is a class of the file)."""
        if self._methods_with_self is None:
            self._methods_with_self = [u for u in self.units if u.method and u.positional and u.owner is not None]
        return self._methods_with_self

    def _ancestors(self, names: Iterable[str]) -> set[str]:
        """The classes `names` and every in-file base of theirs, at any depth."""
        return _closure(names, self._in_file_bases())

    def _descendants(self, name: str) -> set[str]:
        """The class `name` and the file's classes that derive from it, at any depth."""
        if self._subclasses is None:
            self._subclasses = {}
            for child, bases in self._in_file_bases().items():
                for base in bases:
                    self._subclasses.setdefault(base, set()).add(child)
        return _closure((name,), self._subclasses)

    def _in_file_bases(self) -> dict[str, set[str]]:
        """Each class of the file -> its bases that are classes of the file (all its definitions')."""
        if self._bases is None:
            self._bases = {
                name: {base for bases, _ in definitions for base in bases if base in self.classes}
                for name, definitions in self.classes.items()
            }
        return self._bases

    def _touch(self, word: str, attribute: bool = False) -> None:
        """Something named `word` got a new kind: the units that mention it must read it
        (`attribute`: it is read only as an attribute, `x.word`)."""
        if self.readers is not None and (word, attribute) not in self.touched:
            self.touched.add((word, attribute))  # (its units are in the next batch already)
            self.dirty.update(self.readers.mentioning(word, attribute))

    def _read_unit(self, unit: _Unit) -> None:
        if unit.deferred:
            self._parse_body(unit)
        self.unit = unit
        # (the name of a method's `self`, which _bind_name and _self_family look for)
        self.self_name = unit.positional[0] if unit.method and unit.positional and unit.owner is not None else None
        if unit.name is None:
            self.local = self.module  # the module's code writes the module's names
        else:
            self.local = self._enclosing_names(unit)
            for parameter in unit.parameters:
                kinds = self.parameter_kinds.get((unit.index, parameter), 0)
                if self.seed_parameters:
                    # called from another module with anything (this module's objects included)
                    kinds |= self._anything()
                if kinds:
                    self.local[parameter] = kinds
            if self.name_kinds and self.self_name is not None:
                self_kinds = self._self_kinds(unit)
                if self_kinds:
                    self.local[self.self_name] = self.local.get(self.self_name, 0) | self_kinds
        self.pending_callees.clear()
        self._block(unit.body)
        if unit.name is not None:
            self._keep_names(unit)
        # (decided once the whole unit is read: a name may be bound after the call, in a loop)
        if not self.active and any(self._may_hold_a_class(callee) for callee in self.pending_callees):
            self._activate()

    def _enclosing_names(self, unit: _Unit) -> dict[str, int]:
        """What the names of the functions `unit` is nested in hold (the analysis runs a nested
        function in the frame of the one defining it: Closure)."""
        names: dict[str, int] = {}
        enclosing = unit.parent
        while enclosing is not None:
            for name, kinds in self.unit_locals.get(enclosing.index, {}).items():
                names[name] = names.get(name, 0) | kinds
            enclosing = enclosing.parent
        return names

    def _keep_names(self, unit: _Unit) -> None:
        """Keep what `unit`'s names hold; where that grew, the functions nested in it read again."""
        kept = self.unit_locals.setdefault(unit.index, {})
        grew = False
        for name, kinds in self.local.items():
            old = kept.get(name, 0)
            if old | kinds != old:
                kept[name] = old | kinds
                grew = True
        if grew:
            nested = self._nested_units().get(unit.index, ())
            if nested:
                self.changed = True
                self.dirty.update(nested)

    def _nested_units(self) -> dict[int, list[int]]:
        if self._nested_in is None:
            self._nested_in = {}
            for unit in self.units:
                enclosing = unit.parent
                while enclosing is not None:
                    self._nested_in.setdefault(enclosing.index, []).append(unit.index)
                    enclosing = enclosing.parent
        return self._nested_in

    def _anything(self) -> int:
        """The kinds of a value the code cannot know (what an unknown caller gives)."""
        kinds = PARAM | ELEMENTWISE | LISTISH | self.every_class_kind | self.every_function_kind
        return kinds | OPTIMIZER_CLASS if self.optimizer_classes else kinds

    def _parse_body(self, unit: _Unit) -> None:
        """Put the body the skeleton emptied in its place, parsed from the file's own lines; it
        must add no unit, import or global name (the skeleton leaves such bodies whole)."""
        assert self.skeleton is not None
        unit.deferred = False
        source = self.skeleton.function_source(unit.line)
        tree = parse_ok(source) if source is not None else None
        function = tree.body[0] if tree is not None and len(tree.body) == 1 else None
        if isinstance(function, ast.If) and len(function.body) == 1:
            function = function.body[0]
        if not (isinstance(function, FUNCTIONS) and function.name == unit.name):
            raise _NotTheSkeleton(unit.line)
        structure = (len(self.units), len(self.imported), len(self.aliases))
        unit.body.clear()
        self._collect(function.body, unit, unit.body)
        if (len(self.units), len(self.imported), len(self.aliases)) != structure or unit.globals:
            raise _NotTheSkeleton(unit.line)

    # ---------------------------------------------------------------- kinds of names

    def _bind_name(self, name: str, kinds: int) -> None:
        unit = self.unit
        if not self.active:
            self.bound.setdefault(unit.index, set()).add(name)  # (for _bound_here)
        if name == self.self_name and unit.index not in self.rebound_self:
            # `self = ...`: from now on its attributes are read as any object's (read it again)
            self.rebound_self.add(unit.index)
            self.dirty.add(unit.index)
            self.changed = True
        self._add(name, kinds)

    def _add(self, key: str, kinds: int) -> None:
        if not kinds:
            return
        if key in self.class_attributes:
            # (a class body's name: over-approximated)
            self._widen(self.attributes, key, kinds)
            self._widen(self.other_attributes, key, kinds)
        old = self.local.get(key, 0)
        if old | kinds != old:
            self.local[key] = old | kinds
            if self.local is self.module:
                self.changed = True
                self._touch(key.rpartition(".")[2], attribute="." in key)
        if key.partition(".")[0] in self.unit.globals:
            old = self.module.get(key, 0)
            if old | kinds != old:
                self.module[key] = old | kinds
                self.changed = True
                self._touch(key.rpartition(".")[2], attribute="." in key)

    def _widen(self, table: dict, key: object, kinds: int) -> None:
        old = table.get(key, 0)
        if old | kinds != old:
            table[key] = old | kinds
            self.changed = True
            if self.readers is None:
                return
            if table is self.parameter_kinds:
                self.dirty.add(key[0])  # type: ignore[index]
            elif table is self.self_attributes:
                self._touch(key[1], attribute=True)  # type: ignore[index]
            elif table is self.returns:
                # Read at calls of the name, or of an import's alias for it, or of a value that
                # may be the function.
                self._touch(key)  # type: ignore[arg-type]
                self.dirty.update(self.function_callers.get(key, ()))  # type: ignore[call-overload]
                for alias, names in self.aliases.items():
                    if key in names:
                        self._touch(alias)
            else:
                self._touch(key, attribute=True)  # type: ignore[arg-type]  # (read at `x.key` only)

    def _lookup(self, key: str) -> int:
        return self.local.get(key, 0) | self.module.get(key, 0)

    # ---------------------------------------------------------------- statements

    def _block(self, body: Iterable[ast.stmt]) -> None:
        for statement in body:
            self._statement(statement)

    def _statement(self, node: ast.stmt) -> None:
        if isinstance(node, ast.Assign):
            kinds = self._expr(node.value)
            for target in node.targets:
                self._bind(target, kinds)
        elif isinstance(node, ast.AugAssign):
            kinds = self._expr(node.value)
            self._bind(node.target, self._expr(node.target) | kinds)
        elif isinstance(node, ast.AnnAssign):
            if node.value is not None:
                self._bind(node.target, self._expr(node.value))
        elif isinstance(node, ast.Expr):
            self._expr(node.value)
        elif isinstance(node, ast.Return):
            if node.value is not None:
                self._return(self._expr(node.value))
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            kinds = self._expr(node.iter)
            for _ in range(2):
                self._bind(node.target, kinds)
                self._block(node.body)
            self._block(node.orelse)
        elif isinstance(node, ast.While):
            for _ in range(2):
                self._expr(node.test)
                self._block(node.body)
            self._block(node.orelse)
        elif isinstance(node, ast.If):
            self._expr(node.test)
            self._block(node.body)
            self._block(node.orelse)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                kinds = self._expr(item.context_expr)
                if item.optional_vars is not None:
                    self._bind(item.optional_vars, kinds)
            self._block(node.body)
        elif isinstance(node, _TRY):
            self._block(node.body)
            for handler in node.handlers:
                if handler.type is not None:
                    self._expr(handler.type)
                self._block(handler.body)
            self._block(node.orelse)
            self._block(node.finalbody)
        elif isinstance(node, ast.Match):
            kinds = self._expr(node.subject)
            for case in node.cases:
                for child in ast.walk(case.pattern):
                    for field in ("name", "rest"):
                        captured = getattr(child, field, None)
                        if isinstance(captured, str):
                            self._bind_name(captured, kinds)
                if case.guard is not None:
                    self._expr(case.guard)
                self._block(case.body)
        elif isinstance(node, FUNCTIONS):
            # Its body is a unit of its own; decorators and defaults are evaluated here.
            for decorator in node.decorator_list:
                self._expr(decorator)
            positional = node.args.posonlyargs + node.args.args
            with_defaults = positional[len(positional) - len(node.args.defaults) :]
            for parameter, default in zip(with_defaults, node.args.defaults):
                self._pass_to(node, parameter.arg, self._expr(default))
            for parameter, kw_default in zip(node.args.kwonlyargs, node.args.kw_defaults):
                if kw_default is not None:
                    self._pass_to(node, parameter.arg, self._expr(kw_default))
        elif isinstance(node, ast.ClassDef):
            for expression in node.bases + [k.value for k in node.keywords] + node.decorator_list:
                self._expr(expression)
        else:
            # Raise, Assert, Delete, type aliases: evaluate what they hold.
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    self._expr(child)

    def _return(self, kinds: int) -> None:
        if kinds and self.unit.name is not None:
            self._widen(self.returns, self.unit.name, kinds)
            if self.unit.name in self.escaped and not self.following_functions:
                self._follow_functions()  # a call of the value may return it
            if not self.active and self.unit.owner is not None and self.unit.name in CALL_METHODS and _without_rows(kinds):
                # what a call of an instance of its class is (or of a subclass that inherits it;
                # not the rows it looked up: see _call_held)
                self._activate(self._running(self.unit))
            old = self.unit_returns.get(self.unit.index, 0)
            if old | kinds != old:
                self.unit_returns[self.unit.index] = old | kinds
                self.changed = True
                self.dirty.update(self.instance_callers.get(self.unit.index, ()))

    # ---------------------------------------------------------------- the file's classes

    def _found(self, class_name: str, method: str) -> list[_Unit]:
        key = (class_name, method)
        found = self._found_methods.get(key)
        if found is None:
            found = self._found_methods[key] = self._methods(class_name, method)
        return found

    def _self_kinds(self, unit: _Unit) -> int:
        """What a method's `self` may be: an instance of its class or of a subclass of it among
        the file's classes (inherited methods run on those)."""
        if unit.owner is None or not self.name_kinds:
            return 0
        family = self._self_classes.get(unit.owner)
        if family is None:
            family = self._self_classes[unit.owner] = [name for name in self._descendants(unit.owner) if name in self.class_kinds]
        kinds = 0
        for name in family:
            kinds |= self.name_kinds.get(name, 0) << 1
        return kinds

    def _may_hold_a_class(self, func: ast.expr) -> bool:
        """Whether the callee `func`, given a value with a kind, could be a class of the file held
        as a value or an instance of one, once classes have kinds. A name can be one only where
        its unit or the module binds it (or it is a parameter, or global); an attribute only where
        an import's name it starts at is bound nowhere and the file stores to it (`.reg` is
        written other than as `.reg(`, or a class body assigns it); anything else could be.
        Until such a call is met, or a forward / __call__ returns a kind, following classes
        changes no other kind: they add one only through those calls (_call_held)."""
        if isinstance(func, ast.Name):
            return self._bound_here(func.id)
        if isinstance(func, ast.Attribute):
            root = root_name(func)
            if root is not None and root in self.imported and not self._bound_here(root):
                return False  # `nn.init.normal_(w)`, `F.linear(x, w)`: another module's
            assert self.readers is not None
            return func.attr in self.class_attributes or self.readers.stored(func.attr)
        return True

    def _bound_here(self, name: str) -> bool:
        """Whether the unit being read, or the module, may give `name` a value: a parameter, a
        global, or a name its statements bind (_bind_name records them as it reads them: the
        unit has been read whole, the module first of all)."""
        unit = self.unit
        if self._global_names is None:
            self._global_names = frozenset().union(*(other.globals for other in self.units))
        return (
            name in unit.parameters
            or name in self.bound.get(unit.index, ())
            or name in self.bound.get(0, ())
            or name in self._global_names
        )

    def _running(self, unit: _Unit) -> list[str]:
        """The classes whose instances' calls may run the forward / __call__ `unit` (its class's
        and those of subclasses that inherit it)."""
        assert unit.owner is not None and unit.name is not None
        found = self._running_cache.get(unit.index)
        if found is None:
            found = self._running_cache[unit.index] = [
                name for name in self._descendants(unit.owner)
                if name in self.class_kinds and unit in self._found(name, unit.name)
            ]
        return found

    def _call_held(self, held: int, node: ast.Call, argument_kinds: list[int], keyword_kinds: list[int]) -> int:
        """A call of a value that may be a class of the file (it runs the class's __init__ and
        makes an instance) or an instance of one (it runs its forward / __call__ and is what that
        returns: the analysis' call_value). `held`: the callee's class kinds."""
        arguments = any(argument_kinds) or any(keyword_kinds)
        kinds = 0
        for kind in _single_kinds(held):
            name = self.kind_class[kind]
            if kind == self.class_kinds[name]:
                if arguments:
                    self._call_into(self._found(name, "__init__"), node, argument_kinds, keyword_kinds)
                kinds |= kind << 1
                continue
            for method in CALL_METHODS:
                for unit in self._found(name, method):
                    if arguments:
                        self._call_into((unit,), node, argument_kinds, keyword_kinds)
                    # (a module's output is an activation: the rows its forward looked up are not
                    # its caller's, values.without_rows)
                    kinds |= _without_rows(self.unit_returns.get(unit.index, 0))
                    self.instance_callers.setdefault(unit.index, set()).add(self.unit.index)
        return kinds

    def _call_functions(self, held: int, node: ast.Call, argument_kinds: list[int], keyword_kinds: list[int]) -> int:
        """A call of a value that may be a function of the file used as a value: it runs the
        function with the call's arguments and is what it returns. `held`: the callee's function
        kinds, which the result keeps too (the callee may be a lambda returning the function)."""
        arguments = any(argument_kinds) or any(keyword_kinds)
        kinds = held
        for kind in _single_kinds(held):
            name = self.kind_function[kind]
            if arguments:
                anywhere = name in self.partially_applied
                self._call_into(self.escaped_units[name], node, argument_kinds, keyword_kinds, anywhere)
            kinds |= self.returns.get(name, 0)
            self.function_callers.setdefault(name, set()).add(self.unit.index)
        return kinds

    def _methods(self, class_name: str, method: str, seen: Optional[set[str]] = None) -> list[_Unit]:
        """The units of `method` a call on an instance of the file's class `class_name` may run:
        its own, else those of its bases that are classes of the file (as find_method looks;
        a base from elsewhere runs code of another module, which the triage reads apart)."""
        seen = set() if seen is None else seen
        if class_name in seen:
            return []
        seen.add(class_name)
        found: list[_Unit] = []
        for bases, methods in self.classes.get(class_name, ()):
            if method in methods:
                found.extend(methods[method])
            else:
                for base in bases:
                    found.extend(self._methods(base, method, seen))
        return found

    def _pass_to(self, function: _Function, parameter: str, kinds: int) -> None:
        if kinds:
            self._widen(self.parameter_kinds, (self.unit_of[id(function)].index, parameter), kinds)

    def _call_into(
        self,
        units: Iterable[_Unit],
        node: ast.Call,
        argument_kinds: list[int],
        keyword_kinds: list[int],
        anywhere: bool = False,
    ) -> None:
        """Bind a call's arguments to the parameters of each unit, as inlining does: positional
        ones in order (for a method, after `self`: both places count here), keywords by name;
        starred ones could be anything. The receiver is never bound. `anywhere`: positional
        ones to every parameter (a partial's bound arguments come before them)."""
        for unit in units:
            # (a method's `self` is never bound, starred arguments and `**kwargs` included)
            bindable = unit.parameters[1:] if unit.method and unit.positional else unit.parameters
            given: list[tuple[Optional[str], int]] = []
            after_a_star = anywhere  # inlining drops starred arguments: the ones after it move left
            for index, (argument, kinds) in enumerate(zip(node.args, argument_kinds)):
                after_a_star = after_a_star or isinstance(argument, ast.Starred)
                if not kinds:
                    continue
                if after_a_star:
                    given.extend((parameter, kinds) for parameter in bindable)
                    continue
                for position in (index + 1,) if unit.method else (index, index + 1):
                    given.append((unit.positional[position] if position < len(unit.positional) else unit.vararg, kinds))
            for keyword, kinds in zip(node.keywords, keyword_kinds):
                if not kinds:
                    continue
                if keyword.arg is None:
                    given.extend((parameter, kinds) for parameter in bindable)
                else:
                    given.append((keyword.arg if keyword.arg in unit.parameters else unit.kwarg, kinds))
            for parameter, kinds in given:
                if parameter is not None:
                    self._widen(self.parameter_kinds, (unit.index, parameter), kinds)

    def _bind(self, target: ast.expr, kinds: int) -> None:
        if isinstance(target, ast.Name):
            self._bind_name(target.id, kinds)
        elif isinstance(target, ast.Attribute):
            self._expr(target.value)
            if kinds:
                key = _dotted(target)
                if key is not None:
                    self._add(key, kinds)
                self._store_attribute(target.value, target.attr, kinds)
        elif isinstance(target, ast.Subscript):
            self._expr(target.value)
            self._expr(target.slice)
            self._grow(target, kinds)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._bind(element, kinds)
        elif isinstance(target, ast.Starred):
            self._bind(target.value, kinds)
        else:
            self._expr(target)

    # ---------------------------------------------------------------- expressions

    def _expr(self, node: ast.expr) -> int:
        """The kinds `node` may evaluate to (every part of it is read, so that a term built
        anywhere inside is seen)."""
        if isinstance(node, ast.Name):
            kinds = self.local.get(node.id, 0) | self.module.get(node.id, 0) | self.name_kinds.get(node.id, 0)
            if self.following_functions and node.id in self.escaped:
                kinds |= self.function_kinds[node.id]  # (a call of the value runs it)
            return kinds | OPTIMIZER_CLASS if node.id in self.class_names else kinds
        if isinstance(node, ast.Constant):
            return 0
        if isinstance(node, ast.Attribute):
            kinds = self._expr(node.value)
            if node.attr not in KEEPING_ATTRIBUTES:
                kinds = 0  # any other attribute of a value is UNKNOWN to the analysis
            kinds |= self._stored(node)
            if _is_source_attribute(node.attr):
                kinds |= PARAM
            if self.following_functions and node.attr in self.escaped_methods:
                kinds |= self.function_kinds[node.attr]  # `model.l1_penalty`: a bound method
            if node.attr in ALL_NAMES:
                kinds |= OPTIMIZER_CLASS  # `optim.Adam`
            key = _dotted(node)
            return kinds | self._lookup(key) if key is not None else kinds
        if isinstance(node, ast.Subscript):
            self._expr(node.slice)
            return self._expr(node.value)  # an item of a collection, or UNKNOWN
        if isinstance(node, ast.JoinedStr):
            self._read_parts(node)
            return 0
        if isinstance(node, ast.Call):
            return self._call(node)
        if isinstance(node, ast.BinOp):
            return self._binary(node)
        if isinstance(node, (ast.Compare, ast.BoolOp, ast.UnaryOp)):
            self._read_parts(node)
            return 0  # the analysis evaluates these to UNKNOWN (`-p` included)
        if isinstance(node, _COMPREHENSIONS):
            return self._comprehension(node)
        if isinstance(node, ast.Lambda):
            # The analysis runs a lambda's body where it is called, with the call's arguments:
            # read it with parameters that could be anything, and give the lambda what its body
            # may return (a call of it has the kinds of its callee).
            saved = self.local
            self.local = dict(saved)
            for name in _parameter_names(node.args):
                self.local[name] = self._anything()
            try:
                return self._expr(node.body)
            finally:
                self.local = saved
        if isinstance(node, (ast.List, ast.Set)):
            kinds = self._read_parts(node)
            return kinds | LISTISH if kinds else 0
        if isinstance(node, ast.NamedExpr):
            kinds = self._expr(node.value)
            self._bind(node.target, kinds)
            return kinds
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            kinds = self._expr(node.value) if node.value is not None else 0
            self._return(kinds)
            return kinds
        # Containers, conditional expressions, starred items, await: what they hold.
        return self._read_parts(node)

    def _read_parts(self, node: ast.AST) -> int:
        kinds = 0
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                kinds |= self._expr(child)
        return kinds

    def _binary(self, node: ast.BinOp) -> int:
        """The analysis' arithmetic (expressions.ev_binary): `+`/`-` join parameter collections
        and lists; `w - w0` of a parameter is that parameter, anchored; `w ** 2` and `w * w` of a
        parameter are elementwise; `*` and `/` by a factor
        keep an elementwise value; anything else about a parameter is UNKNOWN."""
        left = self._expr(node.left)
        right = self._expr(node.right)
        op = node.op
        if isinstance(op, (ast.Add, ast.Sub)):
            # Two collections of parameters join, and two lists, whatever they hold (the other
            # side of a list with kinds may be a list without); anything else (`x + self.bias`,
            # `h + pos_embedding`) is UNKNOWN, or a number.
            # (Looked-up rows are one tensor each, never a collection: `tok + pos` is UNKNOWN.)
            if (left | right) & LISTISH or left & right & PARAM:
                return left | right
            if isinstance(op, ast.Sub) and (left | right) & PARAM:
                return left | right  # `p - p0`: a parameter's distance from an anchor (expressions.anchored)
            return 0
        if isinstance(op, ast.Pow):
            return ELEMENTWISE if left & _PARAMETER_VALUE else 0
        if isinstance(op, ast.Mult):
            both_params = left & _PARAMETER_VALUE and right & _PARAMETER_VALUE
            params = (left | right) & PARAM
            masked = params if params and (_names_a_mask(node.left) or _names_a_mask(node.right)) else 0
            return ((left | right) & ELEMENTWISE) | (ELEMENTWISE if both_params else 0) | masked
        if isinstance(op, ast.Div):
            return left & ELEMENTWISE
        return 0

    def _call(self, node: ast.Call) -> int:
        func = node.func
        method_form = isinstance(func, ast.Attribute)
        if isinstance(func, ast.Attribute):
            name: Optional[str] = func.attr
            receiver = self._expr(func.value)
            function_form = root_name(func) in self.imported
        else:
            name = func.id if isinstance(func, ast.Name) else None
            receiver = self._expr(func)
            function_form = name is not None
        argument_kinds = [self._expr(argument) for argument in node.args]
        keyword_kinds = [self._expr(keyword.value) for keyword in node.keywords]
        arguments = 0
        for kinds in argument_kinds + keyword_kinds:
            arguments |= kinds
        # What the code the call runs is given (the file's functions, methods, classes, lambdas):
        # rows, and embedding layers to look them up with, only where the callee is named like a
        # penalty or a loss (values.without_rows).
        given_kinds, given_keyword_kinds, given = argument_kinds, keyword_kinds, arguments
        if arguments & (_ROWS_AND_LAYERS | LISTISH) and not hands_rows_to(name):
            given_kinds = [_without_rows(kinds) for kinds in argument_kinds]
            given_keyword_kinds = [_without_rows(kinds) for kinds in keyword_kinds]
            given = 0
            for kinds in given_kinds + given_keyword_kinds:
                given |= kinds
        if self.optimizer_classes and (self._expr(func) if method_form else receiver) & OPTIMIZER_CLASS:
            raise _TermFound  # `opt_cls(params)`, `self.optimizer_fn(params)`, `OPTIMIZERS[k](params)`
        if not self.active and given:
            self.pending_callees.append(func)  # could it hold a class? (_read_unit asks)
        # `L2Reg(ps)`, `reg(ps)`, `self.reg(ps)`: a class of the file or an instance of one
        callee = self._attribute_kinds(func) if isinstance(func, ast.Attribute) else receiver
        held = callee & self.every_class_kind
        made = self._call_held(held, node, given_kinds, given_keyword_kinds) if held else 0
        # `reg_fn(model.parameters())`: the file's functions the value may be
        functions = callee & self.every_function_kind
        if functions:
            made |= self._call_functions(functions, node, given_kinds, given_keyword_kinds)
        elif given and self.escaped and not self.following_functions and self._may_call_a_value(func, name, method_form):
            self._follow_functions()  # (this unit is read again once its callee has their kinds)
        if callee & ROW_LAYER:
            made |= ROWS  # `self.user_embedding(users)`: the rows it looks up
        if name is None:
            return receiver | arguments | made
        # A bare name may also be an import's alias for any of the names it was imported as
        # (`from torch import norm as N`); a method name is what it says.
        names = {name} | self.aliases.get(name, set()) if not method_form else {name}
        if not self.optimizer_classes:
            self._term_at(node, func, method_form, function_form, names, receiver, argument_kinds, arguments)
        elif arguments & OPTIMIZER_CLASS and not names & _NEVER_CALL_THEIR_ARGUMENTS:
            if not any(called in self.functions or called in self.classes for called in names):
                raise _TermFound  # given to code elsewhere (a project module's Learner), which may call it
        elif "partial" in names and argument_kinds and argument_kinds[0] & OPTIMIZER_CLASS:
            raise _TermFound  # `partial(optim.Adam, weight_decay=1e-5)`: a construction, called or not
        kinds = made | (L1_CRITERION if names & L1_LOSS_CLASSES else 0)  # nn.L1Loss(...)
        if names & self.row_layers:
            kinds |= ROW_LAYER  # nn.Embedding(n, d)
        if names & self.parameter_classes:
            kinds |= PARAM  # nn.Parameter(w), nn.ParameterDict({...}): read back as parameters
        # A value called returns what it may return: a lambda's body (`first(model)`, `self.fn(m)`).
        kinds |= callee & _VALUE_KINDS
        for called in names:
            kinds |= self.returns.get(called, 0)  # a function or method of the file, inlined
            if given:
                self._call_into(self.functions.get(called, ()), node, given_kinds, given_keyword_kinds)
            if given and called in self.classes and called not in self.name_kinds:
                # `L2Reg(model.parameters(), lam)` runs L2Reg.__init__ (once active, by its kind)
                self._call_into(self._found(called, "__init__"), node, given_kinds, given_keyword_kinds)
        if method_form:
            if name in PASSING_OBJECT_METHODS:
                kinds |= arguments  # `accelerator.prepare(model, optimizer)` hands them back
            if name in KEEPING_METHODS:
                kinds |= receiver
            elif name in ELEMENTWISE_CALLS and receiver & _PARAMETER_VALUE:
                kinds |= ELEMENTWISE
            elif name in NORM_NAMES:
                kinds |= receiver & _PARAMETER_VALUE  # norms along a dimension (values.RowNorms)
            elif name in SOURCE_METHODS:
                kinds |= PARAM
            elif name == "scale":
                kinds |= arguments  # GradScaler.scale(loss) is the loss
            if name in REDUCE_NAMES:
                kinds |= receiver & ELEMENTWISE  # over some dimensions: still w² (calls.partial_reduction)
        if function_form:
            if names & PASSING_FUNCTIONS:
                kinds |= arguments
            if names & DROPOUT_NAMES and argument_kinds:
                kinds |= argument_kinds[0] & _PARAMETER_VALUE
            if names & ELEMENTWISE_CALLS and arguments & _PARAMETER_VALUE:
                kinds |= ELEMENTWISE
            if names & NORM_NAMES and argument_kinds:
                kinds |= argument_kinds[0] & _PARAMETER_VALUE  # `torch.norm(w, dim=1)`
            if names & REDUCE_NAMES and argument_kinds:
                kinds |= argument_kinds[0] & ELEMENTWISE  # `torch.sum(w ** 2, dim=1)`
        if self.optimizer_classes:
            # A class goes through any call that is given it (`partial(optim.Adam, ...)`,
            # `OPTIMIZERS.get(name)`): wider than the analysis, which knows a few such calls.
            kinds |= (receiver | arguments) & OPTIMIZER_CLASS
            if function_form and ATTRIBUTE_BY_NAME in names and node.args and self._may_be_the_optimizer_module(node.args[0]):
                kinds |= OPTIMIZER_CLASS  # `getattr(torch.optim, cfg.optimizer)`, whatever it reads
        if "partial" in names and node.args and not isinstance(node.args[0], ast.Starred):
            kinds |= self._partial(node, given_kinds, given_keyword_kinds)
        if arguments and isinstance(func, ast.Attribute) and name in GROWING_METHODS:
            self._grow(func.value, arguments)  # `terms.append(p)`, `groups[0].extend(ps)`
        return kinds

    def _may_be_the_optimizer_module(self, node: ast.expr) -> bool:
        """`torch.optim`, `optim`, or an alias an import binds to it: what the analysis qualifies as
        torch.optim (it needs the last name, or an import's alias of it)."""
        if isinstance(node, ast.Attribute):
            return node.attr == OPTIMIZER_MODULE
        return isinstance(node, ast.Name) and (node.id == OPTIMIZER_MODULE or OPTIMIZER_MODULE in self.aliases.get(node.id, ()))

    def _partial(self, node: ast.Call, argument_kinds: list[int], keyword_kinds: list[int]) -> int:
        """`partial(size_of, model.parameters())`, `functools.partial(l2_of, lam=1e-4)`: the
        function (or lambda) given first, its other arguments bound to its parameters, and a
        later call's arguments to any of them (the analysis' Partial: the bound ones come first)."""
        held = argument_kinds[0]
        functions = held & self.every_function_kind
        if any(argument_kinds[1:]) or any(keyword_kinds):
            if self.escaped:
                self._follow_functions()
            bound = ast.Call(node.args[0], node.args[1:], node.keywords)
            self._call_functions(functions, bound, argument_kinds[1:], keyword_kinds)
        for kind in _single_kinds(functions):
            name = self.kind_function[kind]
            if name not in self.partially_applied:
                self.partially_applied.add(name)
                self.changed = True
                self.dirty.update(self.function_callers.get(name, ()))  # (to bind theirs anywhere)
        return held

    def _may_call_a_value(self, func: ast.expr, name: Optional[str], method_form: bool) -> bool:
        """May this call call a value the code holds (`reg_fn(...)`, `self.fn(...)`,
        `TERMS[k](...)`) rather than a function, method or class the file defines or one an
        import names? (The analysis calls the file's function of a bare name called, even where
        a local name shadows it.)"""
        if method_form:
            return name not in self.functions and root_name(func) not in self.imported
        if name is not None:
            return name not in self.functions and name not in self.classes and name not in self.imported
        return True

    def _term_at(
        self,
        node: ast.Call,
        func: ast.expr,
        method_form: bool,
        function_form: bool,
        names: set[str],
        receiver: int,
        argument_kinds: list[int],
        arguments: int,
    ) -> None:
        """Raise _TermFound where this call may build a penalty term (see the module docstring)."""
        if self.term_builders and arguments & (_PARAMETER_VALUE | ELEMENTWISE):
            called = _dotted(func) or ""
            if called.partition(".")[0] in self.term_builders:
                raise _TermFound
        if names & REDUCE_NAMES:
            if method_form and receiver & ELEMENTWISE and reduction_allows_a_term(call_arguments(node), as_method=True):
                raise _TermFound
            if function_form and arguments & ELEMENTWISE and reduction_allows_a_term(call_arguments(node), as_method=False):
                raise _TermFound
        if arguments & _PARAMETER_VALUE:
            if names & L1_LOSS_FUNCTIONS:
                raise _TermFound  # F.l1_loss(p, torch.zeros_like(p))
            callee = receiver if not method_form else self._attribute_kinds(func)  # type: ignore[arg-type]
            if callee & L1_CRITERION:
                raise _TermFound  # l1_crit(p, zeros), self.l1_crit(p, zeros)
        if names & NORM_NAMES:
            if method_form and receiver & _PARAMETER_VALUE and norm_arguments_allow_a_term(call_arguments(node), 0):
                raise _TermFound
            if (
                function_form
                and argument_kinds
                and argument_kinds[0] & _PARAMETER_VALUE
                and norm_arguments_allow_a_term(call_arguments(node), 1)
                and (not isinstance(func, ast.Name) or func.id in self.imported or "*" in self.imported)
            ):
                raise _TermFound  # (a bare name is torch's norm only where an import binds it)

    def _grow(self, container: ast.expr, kinds: int) -> None:
        """A container gets what is put into it; one kept as an attribute (`self.terms`) is that
        attribute in every function, as a store into it would be."""
        key = _root_key(container)
        if key is not None and not self.active and "." not in key:
            self.bound.setdefault(self.unit.index, set()).add(key)  # (it may hold what it gets)
        if not kinds:
            return
        if key is not None:
            self._add(key, kinds)
        held = _container(container)
        if isinstance(held, ast.Attribute):
            self._store_attribute(held.value, held.attr, kinds)

    def _attribute_kinds(self, node: ast.Attribute) -> int:
        """What an attribute called as a function may hold (`self.l1_crit`), without reading
        its owner again."""
        key = _dotted(node)
        return self._stored(node) | (self._lookup(key) if key is not None else 0)

    # ---------------------------------------------------------------- attributes

    def _store_attribute(self, owner: ast.expr, attribute: str, kinds: int) -> None:
        """`owner.attribute` is stored `kinds` (or a container kept there grows them)."""
        self._widen(self.attributes, attribute, kinds)
        family = self._self_family(owner)
        if family is None:
            self._widen(self.other_attributes, attribute, kinds)
        else:
            self._widen(self.self_attributes, (family, attribute), kinds)

    def _stored(self, node: ast.Attribute) -> int:
        """What may be stored at `node`'s attribute name: on a method's `self`, what the methods of
        its class's family store on their `self` and what anything else stores there (the analysis
        runs a class's methods on objects of that class, its bases' methods included, and an
        object of another class is not this one); elsewhere, anything stored under that name."""
        family = self._self_family(node.value)
        if family is None:
            return self.attributes.get(node.attr, 0)
        return self.other_attributes.get(node.attr, 0) | self.self_attributes.get((family, node.attr), 0)

    def _self_family(self, node: ast.expr) -> Optional[str]:
        """The family of classes (related by inheritance among the file's classes) whose object
        `node` is, where it is the `self` of the method being read and never bound to anything
        else there; None otherwise."""
        if (
            self.self_name is None
            or type(node) is not ast.Name
            or node.id != self.self_name  # type: ignore[attr-defined]
            or self.unit.index in self.rebound_self
        ):
            return None
        if self._families_of is None:
            self._families_of = inheritance_families(self._in_file_bases())
        owner = self.unit.owner
        assert owner is not None
        return self._families_of.get(owner, owner)

    def _comprehension(self, node: ast.expr) -> int:
        kinds = 0
        for generator in node.generators:  # type: ignore[attr-defined]
            iterated = self._expr(generator.iter)
            kinds |= iterated
            self._bind(generator.target, iterated)
            for condition in generator.ifs:
                self._expr(condition)
        if isinstance(node, ast.DictComp):
            return kinds | self._expr(node.key) | self._expr(node.value)
        return kinds | self._expr(node.elt)  # type: ignore[attr-defined]


def _without_rows(kinds: int) -> int:
    """The kinds of a value handed to code not named like a penalty or a loss (values.without_rows):
    no rows, no embedding layer, and no list that held only those (the analysis strips them from
    the lists and tuples it knows; a value that is LISTISH and nothing else got it from them)."""
    kinds &= ~_ROWS_AND_LAYERS
    return 0 if kinds == LISTISH else kinds


def _single_kinds(kinds: int) -> Iterator[int]:
    """Each kind (bit) set in `kinds`, lowest first."""
    while kinds:
        kind = kinds & -kinds
        kinds ^= kind
        yield kind


def _closure(names: Iterable[str], edges: dict[str, set[str]]) -> set[str]:
    """`names` and every name reached from them along `edges`, at any depth."""
    found: set[str] = set()
    pending = list(names)
    while pending:
        name = pending.pop()
        if name not in found:
            found.add(name)
            pending.extend(edges.get(name, ()))
    return found


def statement_lists(statement: ast.stmt) -> list[list[ast.stmt]]:
    """The statement lists a compound statement holds (bodies, handlers' bodies, match cases)."""
    out: list[list[ast.stmt]] = []
    for name in ("body", "orelse", "finalbody"):
        value = getattr(statement, name, None)
        if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
            out.append(value)
    for handler in getattr(statement, "handlers", ()) or ():
        out.append(handler.body)
    for case in getattr(statement, "cases", ()) or ():
        out.append(case.body)
    return out


def may_build_a_term(
    tree: ast.Module,
    seed_parameters: bool = False,
    term_builders: frozenset[str] = frozenset(),
    text: Optional[str] = None,
) -> bool:
    """Whether the analysis could build a penalty term from a parameter value in `tree` (True
    when unsure: code nested too deeply to read). With `seed_parameters`, every function's
    parameters may hold parameters or elementwise values: the question an importer asks of a
    module whose functions it may call with anything. `text`, the source `tree` was parsed from,
    lets it read only the units where something can have a kind (the answer is the same)."""
    try:
        return _Flow(tree, seed_parameters, term_builders, text).may_build_a_term()
    except RecursionError:
        return True


def may_call_an_optimizer_class(tree: ast.Module, text: Optional[str] = None) -> bool:
    """Whether a call in `tree` may call an optimizer class held as a value (values.OptimizerClass:
    `opt_cls(params)` where `opt_cls = optim.Adam`, a default `optimizer_fn=Adam`, a registry, a
    partial), following values as may_build_a_term does, from every attribute named like a class
    the analysis knows and every bare name an import binds to one. True when unsure."""
    try:
        return _Flow(tree, text=text, optimizer_classes=True).may_build_a_term()
    except RecursionError:
        return True


def may_build_a_term_in(skeleton: "Skeleton", text: str) -> Optional[bool]:
    """may_build_a_term of the file `text`, read through its skeleton (textcut.py): its tree, and
    each emptied body parsed from the file when the flow first reads it, so that the bodies it
    never reads are never parsed. The answer is the file's (the structure is the same, and a
    unit's body is in place before it is read); None where the skeleton cannot stand in for the
    file (it does not parse, or a body parsed is not what it promised)."""
    tree = parse_ok(skeleton.text)
    if tree is None:
        return None
    try:
        return _Flow(tree, text=text, skeleton=skeleton).may_build_a_term()
    except RecursionError:
        return True
    except _NotTheSkeleton:
        return None


def _functions_used_as_values(tree: ast.Module, text: Optional[str], units: list[_Unit]) -> list[_Unit]:
    """The units of the functions of the file that its code names other than by calling them:
    module-level ones and ones nested in a function (`reg_fn = l1_all`, a factory's `return
    penalty`) by their names, methods as attributes (`model.l1_penalty`, a bound method); from the
    text where there is one (a skeleton has no bodies), else from the tree."""
    functions = [unit for unit in units[1:] if unit.owner is None and not unit.method and unit.name]
    methods = [unit for unit in units[1:] if unit.method and unit.name]
    if not functions and not methods:
        return []
    names = {unit.name for unit in functions if unit.name is not None}
    method_names = {unit.name for unit in methods if unit.name is not None}
    used: set[str]
    used_methods: set[str]
    if text is not None:
        from reglint.analysis.triage.textcut import _Unsure, blank

        try:
            code = blank(text)  # (a name in a docstring or a string is no use of it)
        except (_Unsure, RecursionError):
            code = text
        used = {name for _, name in value_mentions(code, names)} if names else set()
        used_methods = {name for _, name in member_value_mentions(code, method_names)} if method_names else set()
    else:
        callees = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
        loads = [node for node in ast.walk(tree) if isinstance(getattr(node, "ctx", None), ast.Load) and id(node) not in callees]
        used = {node.id for node in loads if isinstance(node, ast.Name) and node.id in names}
        used_methods = {node.attr for node in loads if isinstance(node, ast.Attribute) and node.attr in method_names}
    return [unit for unit in functions if unit.name in used] + [unit for unit in methods if unit.name in used_methods]


def parse_ok(text: str, path: str = "<unknown>") -> Optional[ast.Module]:
    """CPython's tree of `text`, None where it does not parse (its warnings silenced)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(text, filename=path)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return None
