"""The triage: decide, without libcst, that a file cannot produce a finding.

libcst parsing and the analysis cost tens of milliseconds per file; CPython's own parser (`ast`)
is several times cheaper, and a substring search cheaper still. A file is read as text first, in
two cuts: the whole text (no optimizer class name, or no parameter attribute, reduction and loss
word: nothing to look for), then the text's units (textcut.py: the syntax cut below, computed
from the text with strings and comments blanked, which over-approximates it). A file ruled out
there is not parsed at all; a file kept there goes to libcst, pruned from its text units (see
"Pruning" below). Only a file the text-units cut does not read with confidence (tabs, non-ASCII
identifiers, unbalanced brackets, unterminated strings, nested f-string fields) is parsed with
`ast` and cut again on its syntax; only a file where a finding is still possible goes on to
libcst (a file `ast` cannot parse goes to libcst too, which reports RL000). Last, where only a
penalty could make a file worth analyzing (it cannot construct an optimizer), the flow cut
(flowcut.py) reads the file with `ast` and follows values from parameters to term calls: a file
where no penalty term can be built is not analyzed either (on transformers, every file the text
cuts keep). `--no-prefilter` turns all this off; tests/test_prefilter.py and the benchmark check
that findings are identical with and without it (RL000 aside, see the end of this text),
tests/test_textcut.py that the text units never rule out what the syntax keeps,
tests/test_pruning.py that their pruning keeps every function the syntax cut keeps, and
tests/test_flowcut.py (with benchmarks/flowcut_soundness.py on the corpora) that the analysis
finds no penalty where the flow cut says none can be built.

## Why a skipped file has no finding (the soundness argument)

Every static rule is a predicate over the analysis' facts (reglint/analysis): optimizer
constructions, and penalties built from penalty terms. RULE_FACTS says which facts each rule
reads. A rule missing from that table sends every file to libcst (a new rule is safe before
anyone looks here, only slower), and a test fails until it is listed.

OPTIMIZER. An OptimizerCall is made only for a call whose qualified name is an optimizer class the
analysis knows (analysis/optimizers.ALL_NAMES: torch.optim's and other libraries'), or a factory
whose name is in the same table, or for a call of such a class held as a value
(values.OptimizerClass: `opt_cls = optim.Adam` ... `opt_cls(params)`), which only the linted
file's own code makes, from a name or attribute that qualifies to the class (a value crossing
modules drops it: linking.plain_value). Either way the qualified name's last part is an
identifier written in the file's code (the attribute in `optim.Adam`, the imported name in
`from torch.optim import Adam as Opt`), so the text contains the class name outside strings and
comments (and not as the name a `class` or `def` defines), and the syntax has an attribute
`x.Adam`, a name `Adam` (star import) or a name `Opt` that an import binds to a name ending in a
class name, called or not. Its first part comes from
an import written in the file (or is `torch` used without one), so the text also contains `torch`
or the library's package: d2l's MXNet, TensorFlow and JAX modules name `SGD` and `Adam` but can
construct no optimizer the analysis knows (an import from a project module that re-exports
torch.optim's classes does not give them torch's qualified name). A class named at run time
(`getattr(torch.optim, cfg.optimizer)`, vocabulary.ATTRIBUTE_BY_NAME) needs `getattr`, `torch` and
the word `optim` in the text (optimizers.names_a_class_at_run_time); each cut then asks of such a
call what it asks of a class name.

GROUP KEY. RL205 also judges the keys of a param-group dict whose optimizer the analysis does not
see (FileFacts.stray_group_dicts): a dict display of the file's code with a plain "params" key,
whose plain one-line literal keys are checked against every torch.optim class. Both keys are
written as such literals, so the text holds them before a colon
(optimizers.may_hold_a_misspelt_group_key). Such a dict may sit in any function, so a file with one
is not pruned.

PENALTY. The penalty rules report only a penalty with at least one term that reaches a loss or
is named like a penalty (RL104's late additions need a backward() call, which counts as well).
  - A term (PenaltyTerm) is made only by a call `.sum()`, `.mean()` or `.norm()`, or a torch
    function `sum`, `mean`, `norm`, `linalg.norm`, `linalg.vector_norm` (the vocabulary's
    SCALAR_REDUCTIONS, NORM_METHODS and NORM_FUNCTIONS, whose last names are TERM_CALL_WORDS),
    with arguments that allow one (vocabulary.arguments_allow_a_term: `x.mean(-1, keepdim=True)`,
    `x.sum(dim=1)` and `x.norm(dim=-1)` build none, and a torch function takes the tensor as its
    argument, so `x.sum(-1)` may build one only where `x` may name a module: a dotted name led
    by a name an import binds, or torch unimported, as names.ImportMap.qualify reads it; the text
    reads the arguments and the callee back from the call, and counts a call it cannot read so
    as allowing one), applied to a parameter value, or an L1 loss of a parameter against zeros: a call of what
    `nn.L1Loss(...)` makes or of `F.l1_loss` (L1_LOSS_CLASSES, L1_LOSS_FUNCTIONS, in
    TERM_CALL_WORDS: the unit that makes the criterion counts, and the criterion reaches the
    unit that calls it only along the channels below). A torch function called by a bare name
    must have been imported under that name, so an import of one of those names makes every
    unit count.
  - A parameter value starts only at an attribute `weight`, `bias` or `*_weight`, or a call
    `.parameters()`, `.named_parameters()` or `.state_dict()` (PARAM_ATTRIBUTES,
    PARAM_ATTRIBUTE_SUFFIX, PARAM_METHODS), or at a call of an embedding layer the file's own
    code makes (ROW_LAYERS, torch.nn's, so only in a text that spells torch: row_layers_in;
    `self.user_embedding(users)` after `nn.Embedding(...)`; a layer made
    by another module's code reaches only a file that runs its project's code, which is analyzed
    whole), or at a call of a class that makes parameters (PARAMETER_CLASSES: `self.P =
    nn.Parameter(w)` read as `self.P`, an item of an `nn.ParameterDict`; parameter_makers_in
    names both kinds). The unit whose code names the layer's class makes it, and the layer reaches the units
    that call it only along the channels below, as a parameter set does: that unit is the source
    (every unit, where an import renames the class). The flow cut follows it.
  - It reaches a loss or gets a penalty name only where a name or attribute matching the
    analysis' PENALTY_NAME / LOSS_NAME is assigned to, a function matching PENALTY_NAME /
    LOSS_FUNCTION returns it (or a module's `forward`/`__call__` whose class matches
    PENALTY_NAME or LOSS_NAME: returns_a_penalty_or_loss), BACKWARD_FUNCTIONS is called, or a dict key
    evaluates to "loss".
  - Values move between functions only through the module's variables (which every function
    reads), the arguments of a call the analysis inlines, its return value, and an object's
    attributes: the analysis runs each method of a class on one object after __init__, so what
    one method stores on `self` the others read, the methods of the file's subclasses and bases
    included, and so does code that names the class and may hold such an object
    (components._join_instance_attributes). It inlines
    `f(...)` for a function `f` defined in the file, `x.m(...)` for a method `m` of the
    caller's class or a method name defined once in the file and not in COMMON_METHODS, and a
    call of an object (`self.reg(model)`, `self.terms["l2"](model)`, `Reg(1e-4)(ps)`) as its
    class's `forward`/`__call__` (CALL_METHODS): components.py joins those with where the class
    is named (_join_instance_calls). A lambda is a value like any other: its body, which belongs
    to the unit that writes it, runs where it is called, and it reaches that unit only along
    these channels, so the two are in one component. A function of the file used as a value
    (`reg_fn = l1_all`, `run(reg_fn=l1_all)`) is run wherever the value is called: the unit that
    names it is joined with it as a call would join it (textcut._function_values), and the value
    reaches the calling unit along the channels above.
  - A function that sends values nowhere (inert.py: it stores to nothing but local names,
    returns and yields nothing, and calls only what runs none of the file's code and stores
    nothing) can only receive them: from its callers, from what is stored on its class's objects,
    from the module. A term built there stays there. But a penalty is a record that the analysis
    changes in place wherever it reaches (`total += term`), so such a function is taken for a
    sink only where what reaches it cannot build a term (components.component_roots).
So the file is cut into units (the module's own statements with the class bodies, whose
attributes every method may read and which may be lambdas a method calls; each function, each
method; imports and docstrings do not run in the analysis), units that may inline one another are
joined into components, the module's component is added to every component, and a penalty is
possible only if one component has a parameter source, a term call and a loss or penalty name, or
a sink holds a loss or penalty name and a term call, with a parameter source in it or in what
reaches it (components.complete_units). An inert
unit is joined with nothing: a model's `reset_parameters`, which names every weight, no longer
joins them with the reductions of its `forward`.
Strings, comments and dead code only add matches, never remove one. Before looking at the tree,
the file as a whole must pass the same test on its text (the cheap first cut): an attribute
`.weight`/`.bias`/`._weight`/`.parameters`/`.named_parameters`/`.state_dict` or the word
`Embedding`, an attribute
`.sum`/`.mean`/`.norm`/`.vector_norm` or an import of one of those names, and a loss word.

Every name, pattern and call above is read from reglint/analysis/vocabulary.py, the one place
the analysis declares what it follows: the text cuts' regular expressions and word lists are built
from its declarations, not copied, so a shape the analysis learns there is a shape the triage
looks for. A shape the analysis learns outside the vocabulary (a new way to build a term, a new
channel between functions) must be declared there, or this argument no longer holds.

Pruning: a file that passes the cuts and cannot construct an optimizer is parsed by libcst as
a copy in which the functions outside every component where a penalty is possible are reduced to
`def name(): pass` (line for line, so positions do not move; the emptied lines ride in one string
literal); see "pruning" below for why no finding can change, and tests/test_pruning.py.

RL000 (parse errors) is reported for what is parsed: every file with `--no-prefilter`, and
otherwise every file whose text passed the two text cuts, that is every file that could hold a
finding, less the functions pruned away in it. A file ruled out on its text is not parsed, so a
syntax error in it is not reported: its text shows it holds no regularization code whatever its
syntax, and parsing all of them would cost more than everything else together (CPython's parser
alone takes 2.5 times ruff's whole run on the benchmark corpus). For the same reason a syntax
error inside a pruned function (one that cannot take part in a finding) is left to the Python
linter, and so is one inside a function body the flow cut did not read in a file it rules out
through the file's skeleton (FLOW_IN_PART: such bodies are never parsed), except merge-conflict
markers: a file holding them is parsed whole. The text-units cut
leaves to the parser any file with unbalanced brackets or an unterminated string, so a training
script with a typo is still reported. When RL000 is the only code selected, every file is parsed
whole (a syntax check). A file is skipped after the syntax cut only if `ast.parse` accepted it,
which assumes that what CPython parses, libcst parses too; the benchmark checks it on its corpus.
RL900 (unused suppressions) needs the words `noqa` or `reglint`, which the suppression scanner
itself requires.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import AbstractSet, Any, Optional, Sequence

from reglint.analysis.optimizers import (
    ALL_NAMES,
    SUBCLASSED_FACTORY_NAMES,
    TORCH_NAMES,
    imports_a_library,
    may_hold_a_misspelt_group_key,
    mentions_an_optimizer,
    spells_optim,
    spells_torch,
)
from reglint.analysis.triage import inert
from reglint.analysis.triage.components import LOSS, PARAMS, TERMS, complete_units
from reglint.analysis.triage.flowcut import (
    FUNCTIONS,
    call_arguments,
    may_build_a_term,
    may_build_a_term_in,
    may_call_an_optimizer_class,
    parse_ok,
    root_name,
    statement_lists,
)
from reglint.analysis.triage.textcut import (
    empty_pruned_body,
    join_lines,
    split_lines,
    text_facts,
)
from reglint.analysis.vocabulary import (
    ATTRIBUTE_BY_NAME,
    BACKWARD_FUNCTIONS,
    COMMON_METHODS,
    LOSS_FUNCTION,
    LOSS_FUNCTION_EXTRA_WORDS,
    LOSS_NAME,
    MODEL_BUILDERS,
    NAME_STEMS,
    PARAM_ATTRIBUTE_SUFFIX,
    PARAM_ATTRIBUTES,
    PARAM_METHODS,
    PARAMETER_MAKERS,
    PENALTY_NAME,
    TERM_CALL_WORDS,
    UNIMPORTED_MODULES,
    arguments_allow_a_term,
    parameter_makers_in,
    returns_a_penalty_or_loss,
)

OPTIMIZER = "optimizer"
PENALTY = "penalty"
SUPPRESSION = "suppression"
GROUP_KEY = "misspelt group key"

# What each rule reads: alternatives, each a set of facts that must all be possible.
RULE_FACTS: dict[str, tuple[frozenset[str], ...]] = {
    "RL101": (frozenset({PENALTY}),),
    "RL102": (frozenset({PENALTY}),),
    "RL103": (frozenset({PENALTY}),),
    "RL104": (frozenset({PENALTY}),),
    "RL105": (frozenset({PENALTY}),),
    "RL106": (frozenset({PENALTY}),),
    "RL107": (frozenset({PENALTY}),),
    "RL201": (frozenset({OPTIMIZER}),),
    "RL202": (frozenset({OPTIMIZER}),),
    "RL203": (frozenset({OPTIMIZER, PENALTY}),),
    "RL204": (frozenset({OPTIMIZER}), frozenset({PENALTY})),
    "RL205": (frozenset({OPTIMIZER}), frozenset({GROUP_KEY})),
    "RL206": (frozenset({OPTIMIZER, PENALTY}),),
    "RL900": (frozenset({SUPPRESSION}),),
}
PARSE_ERROR_CODE = "RL000"
ENGINE_CODES = frozenset({PARSE_ERROR_CODE})  # parse errors: reported for the files that are parsed

# Words of the vocabulary, for substring tests on the whole text: every parameter source holds
# one (`named_parameters` holds `parameters`, `in_proj_weight` holds `weight`), every term call's
# name is one, and every penalty or loss name, loss function and backward call holds one of
# LOSS_WORDS (lower-cased).
PARAM_SOURCES = tuple(sorted(PARAM_ATTRIBUTES | set(PARAM_METHODS)))
TERM_CALLS = tuple(sorted(TERM_CALL_WORDS))
LOSS_WORDS = NAME_STEMS + LOSS_FUNCTION_EXTRA_WORDS + tuple(sorted(BACKWARD_FUNCTIONS))
SUPPRESSION_WORDS = ("noqa", "reglint")


def facts_needed(enabled: frozenset[str]) -> Optional[tuple[frozenset[str], ...]]:
    """The alternatives that make a file worth analyzing; None when some rule is not in RULE_FACTS."""
    alternatives: set[frozenset[str]] = set()
    for code in enabled:
        if code in ENGINE_CODES:
            continue
        facts = RULE_FACTS.get(code)
        if facts is None:
            return None
        alternatives.update(facts)
    return tuple(alternatives)


# ---------------------------------------------------------------------------- the decision

# The flow cut ruled the file out reading its skeleton (textcut.py): the bodies it did not read
# were not parsed, so a syntax error in one of them is not reported (see "RL000" above).
FLOW_IN_PART = "no term in the flow, read in part"


@dataclass
class Verdict:
    analyze: bool
    reason: str  # for tests and the benchmark: which check decided
    # The text libcst should parse instead of the file's own: functions that cannot take part in
    # a finding reduced to `pass` (see "Pruning" above); None: parse the file as it is. (Also
    # given when the flow cut read this text, and not the file's, to rule the file out.)
    parse_text: Optional[str] = None
    # CPython's tree of the text libcst is to read (parse_text, else the file's text), when a cut
    # already parsed it: the runner reads it first (readable.py) and need not parse it again.
    tree: Optional[ast.Module] = None

    @property
    def ruled_out_unparsed(self) -> bool:
        """Skipped before the whole file was parsed (so a syntax error in it is not reported)."""
        return self.reason in ("not in the text", "not in the text units", FLOW_IN_PART)


def verdict(text: str, path: str, enabled: frozenset[str], prune: bool = True) -> Verdict:
    """Whether `text` must be linted with libcst, given the enabled codes (and, with `prune`,
    what libcst needs to see of it)."""
    needed = facts_needed(enabled)
    if needed is None:
        return Verdict(True, "a rule without prefilter facts")
    wanted = set().union(*needed) if needed else set()
    # First cut, on the text: upper bounds of what the analysis can find.
    present: dict[str, bool] = {OPTIMIZER: False, PENALTY: False, SUPPRESSION: False, GROUP_KEY: False}
    if SUPPRESSION in wanted:
        present[SUPPRESSION] = any(word in text for word in SUPPRESSION_WORDS)
        if _satisfied(needed, present):
            return Verdict(True, "suppression comments")
    if OPTIMIZER in wanted:
        present[OPTIMIZER] = mentions_an_optimizer(text)
    if GROUP_KEY in wanted:
        present[GROUP_KEY] = may_hold_a_misspelt_group_key(text)
    if PENALTY in wanted:
        present[PENALTY] = _text_may_hold_penalty(text)
    if not _satisfied(needed, present):
        if not needed and PARSE_ERROR_CODE in enabled:
            # RL000 is the only code asked for: a syntax check of every file.
            return Verdict(parse_ok(text, path) is None, "syntax check only")
        return Verdict(False, "not in the text")  # not even parsed: see "RL000" above
    # Second cut, still on the text: the syntax cut's units and components (textcut.py). When
    # it reads the text with confidence, it decides alone (and prunes as the syntax cut would).
    prune = prune and not present[SUPPRESSION] and not present[GROUP_KEY]  # (a group dict may be in any function)
    units = text_facts(text, COMMON_METHODS, optimizer=present[OPTIMIZER], penalty=present[PENALTY], prune=prune)
    if units is not None:
        present[OPTIMIZER] = present[OPTIMIZER] and units.optimizer
        present[PENALTY] = present[PENALTY] and units.penalty
        if not _satisfied(needed, present):
            return Verdict(False, "not in the text units")
        if _penalty_decides(needed, present):
            # Last cut, on the values (flowcut.py), read through the file's skeleton where there is
            # one: the bodies it never reads are never parsed.
            skeleton = units.skeleton
            answer = may_build_a_term_in(skeleton, text) if skeleton is not None else None
            if answer is False:
                return Verdict(False, FLOW_IN_PART)
            if answer:
                return Verdict(True, "in the text units", units.pruned)
            # Else on the file's tree. It reads the file's own text: the pruned text
            # holds the same code less some function bodies, so a term the flow cannot build from
            # the whole text it cannot build from the pruned one, which is made only for a file
            # that goes on to libcst. (The pruned text where only it parses: a syntax error in a
            # function pruned away, see "RL000".)
            flow_text, flow_tree = text, parse_ok(text, path)
            if flow_tree is None and units.pruned is not None:
                flow_text, flow_tree = units.pruned, parse_ok(units.pruned, path)
            if flow_tree is not None and not may_build_a_term(flow_tree, text=flow_text):
                return Verdict(False, "no term in the flow", None if flow_text is text else flow_text)
            pruned = units.pruned
            return Verdict(True, "in the text units", pruned, flow_tree if flow_text is (pruned or text) else None)
        return Verdict(True, "in the text units", units.pruned)
    tree = parse_ok(text, path)
    if tree is None:
        return Verdict(True, "ast cannot parse it")
    # Third cut, on the syntax tree.
    syntax = _syntax_features(tree, parameter_makers_in(text))
    present[OPTIMIZER] = present[OPTIMIZER] and syntax.optimizer
    present[PENALTY] = present[PENALTY] and syntax.penalty
    if not _satisfied(needed, present):
        return Verdict(False, "not in the syntax")
    if _penalty_decides(needed, present) and not may_build_a_term(tree, text=text):
        return Verdict(False, "no term in the flow")
    if prune and not syntax.optimizer:
        return Verdict(True, "in the syntax", pruned_text(text, syntax))
    return Verdict(True, "in the syntax", tree=tree)


def _penalty_decides(needed: Sequence[frozenset[str]], present: dict[str, bool]) -> bool:
    """A possible penalty is what makes the file worth analyzing (without it, nothing would)."""
    return present[PENALTY] and not _satisfied(needed, {**present, PENALTY: False})


def _satisfied(needed: Sequence[frozenset[str]], present: dict[str, bool]) -> bool:
    """Some alternative has all its facts present."""
    return any(all(present.get(fact, False) for fact in alt) for alt in needed)


# ---------------------------------------------------------------------------- units

# `.name` as the tokenizer sees it: between the dot and the name only blanks, comments and
# line continuations (inside brackets an attribute access may span lines). Each repetition is one
# blank or one whole comment (up to the end of its line, by the lookahead), so there is one way
# to match any gap and the pattern cannot backtrack exponentially.
_GAP = r"(?:[ \t\f\v\r\n\\]|#[^\r\n]*(?![^\r\n]))*"
_PARAM_ATTRIBUTES_ALTERNATION = (
    "(?:" + "|".join(sorted(PARAM_ATTRIBUTES | set(PARAM_METHODS))) + r"|\w*" + PARAM_ATTRIBUTE_SUFFIX + r")\b"
)
_TERM_WORDS_ALTERNATION = "(?:" + "|".join(sorted(TERM_CALL_WORDS)) + r")\b"
_TERM_ATTRIBUTES_ALTERNATION = _TERM_WORDS_ALTERNATION
_PARAM_ATTRIBUTE_TEXT = re.compile(r"\." + _GAP + _PARAM_ATTRIBUTES_ALTERNATION)
_TERM_ATTRIBUTE_TEXT = re.compile(r"\." + _GAP + _TERM_ATTRIBUTES_ALTERNATION)
# The same without comments in the gap: what real code writes, and linear even on a long line
# of `. #` (with comments, each dot may scan to the end of its line).
_PLAIN_GAP = r"[ \t\f\v\r\n\\]*"
_PARAM_ATTRIBUTE_PLAIN = re.compile(r"\." + _PLAIN_GAP + _PARAM_ATTRIBUTES_ALTERNATION)
_TERM_ATTRIBUTE_PLAIN = re.compile(r"\." + _PLAIN_GAP + _TERM_ATTRIBUTES_ALTERNATION)


def _has_attribute(text: str, plain: re.Pattern[str], full: re.Pattern[str]) -> bool:
    return plain.search(text) is not None or ("#" in text and full.search(text) is not None)


_TERM_WORD_TEXT = re.compile(r"\b" + _TERM_WORDS_ALTERNATION)


def _text_may_hold_penalty(text: str) -> bool:
    """The whole file as one unit: a parameter source, a term call and a loss or penalty name."""
    maker = any(word in text for word in parameter_makers_in(text))
    if not (maker or any(word in text for word in PARAM_SOURCES)) or not any(word in text for word in TERM_CALLS):
        return False
    if "\\" not in text and text.isascii():
        # (An escaped string may spell "loss"; and with IGNORECASE the analysis' patterns match
        # some non-ASCII letters, such as the long s for "s", that lower() leaves alone.)
        lowered = text.lower()
        if not any(word in lowered for word in LOSS_WORDS):
            return False
    # Parameter sources and term calls are attribute accesses: `x.weight`, `x.sum(...)`; a term
    # function may also be imported under a name of its own; what an embedding layer looks up is
    # a parameter's rows, wherever the layer is named.
    if not maker and not _has_attribute(text, _PARAM_ATTRIBUTE_PLAIN, _PARAM_ATTRIBUTE_TEXT):
        return False
    if _has_attribute(text, _TERM_ATTRIBUTE_PLAIN, _TERM_ATTRIBUTE_TEXT):
        return True
    # Or a term function imported under its own name (`from torch import sum`): the words
    # `import` and `sum` both appear (the syntax cut then asks whether an import binds it).
    return "import" in text and _TERM_WORD_TEXT.search(text) is not None


# ---------------------------------------------------------------------------- the syntax tree
#
# The second cut, for files whose text passed: features come from syntax, so strings, comments
# and unrelated identifiers no longer count:
#   parameters: an attribute `weight`, `bias` or `*_weight`; a call `.parameters()`,
#               `.named_parameters()` or `.state_dict()`;
#   term:       a call `.sum()`, `.mean()`, `.norm()` or `.vector_norm()` on something (bare
#               `sum(...)` is the builtin unless an import names one of these, which makes every
#               unit count);
#   loss:       a name or attribute assigned to, or a function defined, whose name matches the
#               analysis' PENALTY_NAME / LOSS_NAME / LOSS_FUNCTION; a call `.backward()` or
#               `.manual_backward()`; the string "loss" (a dict key).
# Units are joined where the analysis can inline: a call `f(...)` of a function defined in the
# file, a call `x.m(...)` of a method (same class, or a name defined once and not common).

_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_PINNING = frozenset({ast.Import, ast.ImportFrom, ast.Global, ast.Nonlocal})
# Fields that never hold a node worth visiting: contexts, operators, identifiers, flags.
_NOT_CHILDREN = frozenset({
    "ctx", "op", "ops", "id", "attr", "name", "arg", "asname", "module", "level",
    "type_comment", "kind", "conversion", "is_async", "simple", "tag",
})
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


@dataclass
class _SyntaxUnit:
    name: Optional[str]
    owner: Optional[str]
    nodes: list[ast.AST]
    features: int = 0
    called_names: frozenset[str] = frozenset()  # f in `f(...)`: may inline a function
    called_attributes: frozenset[str] = frozenset()  # m in `x.m(...)`: may inline a method
    mentioned: frozenset[str] = frozenset()  # every name read
    class_body_names: set[str] = field(default_factory=set)  # (the module's) names in class bodies
    class_bases: dict[str, set[str]] = field(default_factory=dict)  # (the module's) class -> base names
    optimizer_aliases: frozenset[tuple[str, str]] = frozenset()  # (name bound, optimizer class) of its imports
    optimizer_attributes: frozenset[str] = frozenset()  # Adam in `optim.Adam`, called or not
    pinned: bool = False  # holds an import, `global`/`nonlocal` or `add_argument`: never pruned
    registered: bool = False  # a def directly in the body of a module-level class
    inert: bool = False  # sends values nowhere (inert.py)


def _syntax_units(tree: ast.Module) -> list[_SyntaxUnit]:
    units = [_SyntaxUnit(None, None, [])]
    _carve(tree.body, units)
    return units


def _carve(statements: list[ast.stmt], units: list[_SyntaxUnit], top: bool = True) -> None:
    """Cut `statements` into units: the module's (units[0]) and one per function or method.
    (A module-level function, not a closure: a recursive closure is a reference cycle that would
    keep the whole tree alive until the garbage collector runs.)"""
    module = units[0]
    for statement in statements:
        if isinstance(statement, FUNCTIONS):
            units.append(_SyntaxUnit(statement.name, None, [statement]))
        elif isinstance(statement, ast.ClassDef):
            module.class_bases.setdefault(statement.name, set()).update(
                node.id if isinstance(node, ast.Name) else node.attr
                for base in statement.bases
                for node in ast.walk(base)
                if isinstance(node, (ast.Name, ast.Attribute))
            )
            # (direct: a def in the class body itself, not under an `if`, `try`, `with` of it)
            pending: list[tuple[ast.stmt, bool]] = [(item, top) for item in statement.body]
            while pending:
                item, direct = pending.pop()
                if isinstance(item, FUNCTIONS):
                    units.append(_SyntaxUnit(item.name, statement.name, [item], registered=direct))
                elif not isinstance(item, ast.ClassDef):
                    bodies = statement_lists(item)
                    if not bodies:  # a class attribute (`reg = Extra(2)`): read by module code
                        module.class_body_names.update(
                            node.id for node in ast.walk(item) if type(node) is ast.Name
                        )
                        # which runs it (`extra = lambda self, m: ...` is called by a method)
                        module.nodes.append(item)
                    for body in bodies:
                        pending.extend((nested, False) for nested in body)
        elif isinstance(statement, (ast.Import, ast.ImportFrom)):
            module.nodes.append(statement)  # only for the import check; binds no value
        elif isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
            continue
        else:
            bodies = statement_lists(statement)
            if not bodies:
                module.nodes.append(statement)
                continue
            # A compound statement: its own expressions run at module level, its nested
            # definitions are units of their own.
            for field_name, value in ast.iter_fields(statement):
                if field_name in ("body", "orelse", "finalbody", "handlers", "cases"):
                    continue
                if isinstance(value, ast.AST):
                    module.nodes.append(value)
                elif isinstance(value, list):
                    module.nodes.extend(v for v in value if isinstance(v, ast.AST))
            for handler in getattr(statement, "handlers", ()) or ():
                if handler.type is not None:
                    module.nodes.append(handler.type)
            for case in getattr(statement, "cases", ()) or ():
                module.nodes.append(case.pattern)
                if case.guard is not None:
                    module.nodes.append(case.guard)
            for body in bodies:
                _carve(body, units, top=False)


_LOSS_LIKE: dict[str, bool] = {}


def _loss_like(name: str) -> bool:
    """A name the analysis would take for a penalty or a loss (memoized: names repeat a lot)."""
    known = _LOSS_LIKE.get(name)
    if known is None:
        if len(_LOSS_LIKE) > 100_000:
            _LOSS_LIKE.clear()
        known = _LOSS_LIKE[name] = bool(PENALTY_NAME.search(name) or LOSS_NAME.search(name))
    return known


def _scan(
    unit: _SyntaxUnit, module_unit: bool, makers: frozenset[str] = PARAMETER_MAKERS, module_names: AbstractSet[str] = frozenset()
) -> int:
    """Fill the unit's features and calls; return the features it gives every unit: TERMS if it
    imports a term function, PARAMS if it names a layer whose call looks rows up (see above).
    `module_names`: the names that may stand for a module (vocabulary.arguments_allow_a_term)."""
    features = 0
    called_names: set[str] = set()
    called_attributes: set[str] = set()
    mentioned: set[str] = set()
    optimizer_aliases: set[tuple[str, str]] = set()
    optimizer_attributes: set[str] = set()
    every_unit = 0
    pinned = False
    stack: list[Any] = list(unit.nodes)
    Name, Attribute, Call, Store = ast.Name, ast.Attribute, ast.Call, ast.Store
    fields_of = _CHILD_FIELDS
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is Name:
            if type(node.ctx) is Store:
                if _loss_like(node.id):
                    features |= LOSS
            else:
                mentioned.add(node.id)
                if node.id in makers:
                    features |= PARAMS  # a layer made here reaches its callers as a set does
            continue
        if kind is Attribute:
            attr = node.attr
            if attr in PARAM_ATTRIBUTES or attr.endswith(PARAM_ATTRIBUTE_SUFFIX):
                features |= PARAMS
            elif attr in makers:
                features |= PARAMS
            if type(node.ctx) is Store and _loss_like(attr):
                features |= LOSS
            if attr in ALL_NAMES:
                optimizer_attributes.add(attr)
            stack.append(node.value)
            continue
        if kind is Call:
            func = node.func
            if type(func) is Name:
                called_names.add(func.id)
            elif type(func) is Attribute:
                attr = func.attr
                called_attributes.add(attr)
                if attr in PARAM_METHODS:
                    features |= PARAMS
                elif attr in TERM_CALL_WORDS:
                    if arguments_allow_a_term(attr, call_arguments(node), root_name(func.value) in module_names):
                        features |= TERMS
                elif attr in BACKWARD_FUNCTIONS:
                    features |= LOSS
                elif attr == "add_argument":
                    pinned = True
        elif kind is ast.Constant:
            if node.value == "loss":
                features |= LOSS
            continue
        elif kind is ast.FunctionDef or kind is ast.AsyncFunctionDef:
            if PENALTY_NAME.search(node.name) or LOSS_FUNCTION.search(node.name):
                features |= LOSS
        elif kind is ast.alias:
            last = node.name.rpartition(".")[2]
            if last in TERM_CALL_WORDS:
                every_unit |= TERMS
            elif last in makers and node.asname is not None and node.asname != last:
                every_unit |= PARAMS  # renamed: a layer may be made under that name in any unit
            if last in ALL_NAMES:
                optimizer_aliases.add((node.asname or node.name, last))
            elif node.name == "*":
                optimizer_aliases.add(("*", "*"))  # every class name may be bound bare
            continue
        elif kind in _PINNING:
            if kind is not ast.ImportFrom or not node.level:  # relative imports bind no alias the analysis reads
                pinned = True
            if kind is ast.Global or kind is ast.Nonlocal:
                continue
        elif kind is str or node is None:
            continue  # identifiers kept in lists (global names, keyword patterns)
        elif module_unit and kind in _DEFINITIONS:
            continue  # defensive: definitions are their own units
        fields = fields_of.get(kind)
        if fields is None:
            fields = fields_of[kind] = tuple(f for f in kind._fields if f not in _NOT_CHILDREN)
        for field_name in fields:
            value = getattr(node, field_name, None)
            if value is None:
                continue
            if type(value) is list:
                stack.extend(value)
            elif isinstance(value, ast.AST):
                stack.append(value)
    unit.features = features
    unit.called_names = frozenset(called_names)
    unit.called_attributes = frozenset(called_attributes)
    unit.mentioned = frozenset(mentioned | unit.class_body_names)
    unit.optimizer_aliases = frozenset(optimizer_aliases)
    unit.optimizer_attributes = frozenset(optimizer_attributes)
    unit.pinned = pinned
    return every_unit


def _import_bound_names(tree: ast.Module) -> set[str]:
    """The names the file's imports bind (`import a.b` binds a)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.asname or alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.update(alias.asname or alias.name for alias in node.names)
    return names


@dataclass
class _SyntaxFacts:
    optimizer: bool  # an optimizer construction is possible
    penalty: bool  # a penalty is possible
    units: list[_SyntaxUnit]
    live: list[bool]  # per unit: in a component where a penalty is possible


def _syntax_features(tree: ast.Module, makers: frozenset[str] = PARAMETER_MAKERS) -> _SyntaxFacts:
    units = _syntax_units(tree)
    every_unit = 0
    module_names = _import_bound_names(tree) | UNIMPORTED_MODULES.keys()
    for index, unit in enumerate(units):
        every_unit |= _scan(unit, index == 0, makers, module_names)
        if unit.owner is not None and returns_a_penalty_or_loss(unit.name or "", unit.owner):
            # what forward() of `class L2Regularizer` returns is a penalty, of `class
            # RegularizedLoss` a loss
            unit.features |= LOSS
    # A function of the file used as a value may be called wherever the value goes: the unit that
    # names it is joined with it as a call would join it (textcut._function_values).
    functions = {unit.name for unit in units[1:] if unit.owner is None and unit.name is not None}
    for unit in units:
        if unit.mentioned & functions:
            unit.called_names = unit.called_names | (unit.mentioned & functions)
    # Another library's optimizer classes only where the file imports that library, torch's only
    # where it spells torch, as mentions_an_optimizer asks of the text.
    known = ALL_NAMES if imports_a_library(tree) else TORCH_NAMES if spells_torch(tree) else frozenset()
    # A bare name is a class only where an import binds it (by name, an alias or `*`).
    optimizer_names: set[str] = set().union(
        *({bound for bound, name in unit.optimizer_aliases if name in known} for unit in units)
    )
    if any(("*", "*") in unit.optimizer_aliases for unit in units):
        optimizer_names |= known
    # A class called, or named and followed as a value to a call (values.OptimizerClass).
    optimizer = any(unit.called_attributes & known or unit.called_names & optimizer_names for unit in units)
    # A trainer class builds its optimizer when called or subclassed: named at all is enough.
    subclassed = known & SUBCLASSED_FACTORY_NAMES
    if not optimizer and subclassed:
        subclassed_names = {bound for unit in units for bound, name in unit.optimizer_aliases if name in subclassed}
        if any(("*", "*") in unit.optimizer_aliases for unit in units):
            subclassed_names |= subclassed
        optimizer = any(unit.optimizer_attributes & subclassed or unit.mentioned & subclassed_names for unit in units)
    by_name = (  # getattr(torch.optim, ...)
        bool(known) and any(ATTRIBUTE_BY_NAME in unit.called_names for unit in units) and spells_optim(tree)
    )
    if not optimizer and (by_name or any(unit.optimizer_attributes & known or unit.mentioned & optimizer_names for unit in units)):
        optimizer = may_call_an_optimizer_class(tree)
    if every_unit:
        for unit in units:
            unit.features |= every_unit
    _mark_inert(tree, units)
    live = complete_units(units, COMMON_METHODS, bases=units[0].class_bases)
    return _SyntaxFacts(optimizer, any(live), units, live)


def _mark_inert(tree: ast.Module, units: list[_SyntaxUnit]) -> None:
    """Which units holding a parameter source are inert (inert.py)."""
    candidates: list[inert.Candidate[_SyntaxUnit]] = []
    for unit in units[1:]:
        if unit.features & PARAMS and inert.may_be_inert_name(unit.name):
            found = inert.syntax_candidate(unit.nodes[0])
            if found is not None:
                candidates.append((unit, *found))
    inert.mark(candidates, lambda methods, builtins: inert.syntax_call_only(tree, methods, builtins))


# ---------------------------------------------------------------------------- pruning
#
# A file that passed both cuts is usually a large model file where one or two functions hold a
# loss and a parameter; libcst's cost is per node, so it gets the file with every other function
# reduced to `def name(): pass`. This changes no finding when the file can construct no optimizer
# (only then is it done), because every channel through which the analysis lets one function
# affect another is kept:
#   - the functions of a component where a penalty is possible are kept whole: values reach a
#     penalty only through calls the analysis inlines, which are joined into one component; so
#     are those of the module's component wherever any is (every function reads the module's
#     names, which the module's code computes with what it calls: `extra = sum(mags(net))`, a
#     module-level lambda that calls `mags` where it is called);
#   - module code, class bodies and decorators stay, and a pruned function still exists under its
#     name (the analysis tells methods apart by how many classes define a name); its parameters,
#     defaults and annotations are read only when it is analyzed itself, which cannot reach a
#     finding, except that a default is evaluated in the module's frame, so a signature holding
#     `:=` is kept;
#   - functions holding an absolute import (the analysis reads every import of the file; it skips
#     relative ones, reglint/analysis/names.py), `global` or
#     `nonlocal` (they write the module's variables), or `add_argument` (argparse defaults are read
#     file-wide) are kept whole.
# Lines are kept one for one, so every position, code frame and fix edit is the same; suppression
# comments are read from the file itself. (Parameters and annotations are about a fifth of what
# libcst parses in a pruned model file.) The emptied lines of a pruned body are carried in one
# string literal that replaces the `pass` (`def name(): """` ... `"""`): an empty line costs
# libcst a node, the string one node in all, and the function still does nothing.


def pruned_text(text: str, syntax: _SyntaxFacts) -> Optional[str]:
    """`text` with the functions that cannot take part in a finding reduced to `def name(): pass`
    (or their bodies to `pass`); None when nothing can be pruned."""
    targets: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
    for index, unit in enumerate(syntax.units):
        if index == 0 or syntax.live[index] or unit.pinned or unit.name in MODEL_BUILDERS:
            continue
        targets.extend(node for node in unit.nodes if isinstance(node, FUNCTIONS))
    if not targets:
        return None
    pieces, breaks = split_lines(text)
    changed = False
    for function in targets:
        first = function.body[0]
        start, end = first.lineno, function.end_lineno
        if end is None or end == start:
            continue  # a one-line body: nothing worth pruning
        line = pieces[start - 1]
        indent = line[: len(line) - len(line.lstrip(" \t\f"))]
        if not _starts_statement(indent, first):
            continue  # the body starts on the header's line (`def f(): x = 1; \`)
        header = _bare_header(pieces, function)
        if header is not None:
            start = function.lineno
            pieces[start - 1] = header
        else:
            pieces[start - 1] = indent + "pass"
        empty_pruned_body(pieces, start - 1, end - 1)
        changed = True
    return join_lines(pieces, breaks) if changed else None


def _bare_header(lines: list[str], function: ast.FunctionDef | ast.AsyncFunctionDef) -> Optional[str]:
    """`def name(): pass` at the header's indentation, or None to keep the signature."""
    line = lines[function.lineno - 1]
    keyword = line.lstrip(" \t\f")
    indent = line[: len(line) - len(keyword)]
    is_async = isinstance(function, ast.AsyncFunctionDef)
    if not keyword.startswith("async" if is_async else "def") or len(indent.encode("utf-8")) != function.col_offset:
        return None
    signature = "\n".join(lines[function.lineno - 1 : function.body[0].lineno - 1])
    if ":=" in signature:
        return None
    return f"{indent}{'async def' if is_async else 'def'} {function.name}(): pass"


def _starts_statement(indent: str, statement: ast.stmt) -> bool:
    """The statement begins right after the line's indentation (its column is in UTF-8 bytes;
    indentation is ASCII, so they agree whenever it does)."""
    return len(indent.encode("utf-8")) == statement.col_offset


# ---------------------------------------------------------------------------- the project


def reads_the_project(text: str, path: str) -> tuple[bool, dict[str, str]]:
    """A file whose analysis runs code of its project's other modules (reglint/analysis/project.
    reads_project_code) and imports one, or a trainer's file that project modules wire (wirers.
    wiring_modules: their code runs the trainer's): its facts may come from there, so no cut on
    its own text applies and it is analyzed whole. Also the project modules read to decide
    (path -> digest)."""
    from pathlib import Path

    from reglint.analysis.project import imports_project_module, reads_project_code
    from reglint.analysis.wirers import wiring_modules

    file = Path(path)
    if not file.is_file():
        return False, {}
    follows, consulted = reads_project_code(text, file)
    if follows and imports_project_module(text, file):
        return True, consulted
    wiring, read = wiring_modules(text, file)
    consulted.update(read)
    return bool(wiring), consulted


def decide(text: str, path: str, enabled: frozenset[str]) -> tuple[Verdict, dict[str, str]]:
    """The verdict on a file's text, and the project modules read to reach it (path -> digest)."""
    decision = verdict(text, path, enabled)
    consulted: dict[str, str] = {}
    if not decision.analyze or decision.parse_text is not None:
        whole, consulted = reads_the_project(text, path)
        if whole:
            decision = Verdict(True, "sets up training with the project's modules")  # whole, unpruned
    return decision, consulted
