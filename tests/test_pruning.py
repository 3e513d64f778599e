"""The prefilter's pruning: libcst parses a copy of a large file in which the functions that cannot
take part in a finding are reduced to `pass`. It must change nothing but the time.

- Every source the prefilter tests use (fixtures, rule snippets, test snippets, adversarial
  cases) is linted from its own text and from a pruned copy, pruned as hard as the prefilter
  knows how (even where an optimizer would make it keep the file whole), and the penalty rules'
  findings must be the same.
- A file built to tempt it (functions that write module variables, import names, define
  argparse defaults, share a method name) keeps exactly the functions the analysis can read.
"""

from __future__ import annotations

import ast
import re
import textwrap
import warnings

import pytest
from test_prefilter import SOURCES

from reglint.analysis import vocabulary
from reglint.analysis.triage import decision as triage
from reglint.analysis.triage import textcut
from reglint.engine.config import Settings
from reglint.engine.runner import lint_text
from reglint.engine.session import _enabled

PENALTY_RULES = frozenset({"RL101", "RL102", "RL103", "RL104", "RL105", "RL106"})
DEFAULT = _enabled(Settings())


def _forced_prune(source: str) -> str | None:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    return triage.pruned_text(source, triage._syntax_features(tree))


def _codes(source: str, parse_text: str | None, enabled: frozenset[str]) -> list[tuple[object, ...]]:
    """Each finding's code, span, message and fix (its edits included): what a pruned parse
    must reproduce exactly."""
    result = lint_text(source, "snippet.py", Settings(), enabled, parse_text=parse_text)
    return [(f.code, f.line or 0, f.column or 0, f.end_line, f.end_column, f.message, f.fix) for f in result.findings]


def text_pruned(source: str) -> str | None:
    """The text units' pruning of `source`, done even where an optimizer is possible."""
    if "\t" in source or "\f" in source:
        return None
    joined: list[tuple[int, int]] = []
    try:
        blanked = textcut.blank(source, joined)
    except textcut._Unsure:
        return None
    brackets = textcut.round_brackets(blanked)
    if not blanked.isascii() or textcut._depth(brackets, 0, len(brackets)):
        return None
    try:
        split = textcut.split_units(blanked, brackets)
    except textcut._Unsure:
        return None
    found = textcut._candidates(blanked, split, textcut._imports_a_term(blanked), vocabulary.COMMON_METHODS)
    if found is None:
        return None
    components, candidates = found
    live = textcut._live(split, components, candidates, textcut._LossSearch(blanked, brackets))
    return textcut._pruned(source, blanked, brackets, split, live, joined)


def assert_text_pruning_keeps_what_the_syntax_keeps(source: str) -> None:
    """The text units' pruning leaves every line of each function the syntax cut keeps (live or
    pinned, with its decorators) as it is, keeps the line count, and parses."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return
    pruned = text_pruned(source)
    if pruned is None:
        return
    lines, pruned_lines = re.split(r"\r\n|\r|\n", source), re.split(r"\r\n|\r|\n", pruned)
    assert len(pruned_lines) == len(lines)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ast.parse(pruned)
    syntax = triage._syntax_features(tree)
    for index, unit in enumerate(syntax.units):
        if index == 0 or not (syntax.live[index] or unit.pinned):
            continue
        for node in unit.nodes:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                first = min([node.lineno] + [decorator.lineno for decorator in node.decorator_list])
                span = slice(first - 1, node.end_lineno)
                assert pruned_lines[span] == lines[span], f"{node.name} (line {node.lineno}) was pruned"


PRUNABLE = [(name, source) for name, source in SOURCES if _forced_prune(source) is not None]
# (A broken source pruned into one that parses has findings only pruned: see test_prefilter.py.)
TEXT_PRUNABLE = [
    (name, source) for name, source in SOURCES if _forced_prune(source) is not None and text_pruned(source) is not None
]


def test_some_sources_are_pruned() -> None:
    assert len(PRUNABLE) >= 10, [name for name, _ in PRUNABLE]


@pytest.mark.parametrize("name,source", PRUNABLE, ids=[name for name, _ in PRUNABLE])
def test_pruned_copy_gives_the_same_penalty_findings(name: str, source: str) -> None:
    pruned = _forced_prune(source)
    assert pruned is not None
    assert len(re.split(r"\r\n|\r|\n", pruned)) == len(re.split(r"\r\n|\r|\n", source))
    ast.parse(pruned)
    assert _codes(source, pruned, PENALTY_RULES) == _codes(source, None, PENALTY_RULES)


def test_some_sources_are_pruned_from_the_text() -> None:
    assert len(TEXT_PRUNABLE) >= 10, [name for name, _ in TEXT_PRUNABLE]


@pytest.mark.parametrize("name,source", SOURCES, ids=[name for name, _ in SOURCES])
def test_text_pruning_keeps_every_function_the_syntax_cut_keeps(name: str, source: str) -> None:
    assert_text_pruning_keeps_what_the_syntax_keeps(source)


@pytest.mark.parametrize("name,source", TEXT_PRUNABLE, ids=[name for name, _ in TEXT_PRUNABLE])
def test_text_pruned_copy_gives_the_same_penalty_findings(name: str, source: str) -> None:
    assert _codes(source, text_pruned(source), PENALTY_RULES) == _codes(source, None, PENALTY_RULES)


TEMPTING = textwrap.dedent(
    '''\
    import argparse
    import torch

    LAMBDA = 1e-4


    def set_strength(value):
        global LAMBDA
        LAMBDA = value
        print("strength", value)


    def load_sum():
        from numpy import sum
        return sum


    def parse_args():
        parser = argparse.ArgumentParser()
        parser.add_argument("--reg", type=float, default=0.5)
        return parser.parse_args()


    def unrelated_report(rows):
        total = 0
        for row in rows:
            total += len(row)
        return total


    class Logger:
        def penalty(self):
            width = 3
            return width * 2


    class Trainer:
        def penalty(self, model):
            return sum(p.pow(2).sum() for p in model.parameters())

        def step(self, model, crit, x, y):
            loss = crit(model(x), y) + LAMBDA * self.penalty(model)
            loss.backward()
    '''
)


def test_tempting_file_keeps_what_the_analysis_reads() -> None:
    decision = triage.verdict(TEMPTING, "t.py", DEFAULT)
    assert decision.analyze and decision.parse_text is not None
    kept = decision.parse_text
    for line in (
        "    LAMBDA = value",  # writes a module variable
        "    from numpy import sum",  # binds a name for the whole file's imports
        '    parser.add_argument("--reg", type=float, default=0.5)',  # argparse defaults
        "        return sum(p.pow(2).sum() for p in model.parameters())",  # the penalty
        "        loss.backward()",
    ):
        assert line in kept.splitlines(), line
    assert "total += len(row)" not in kept and "width * 2" not in kept
    # Logger.penalty still exists, so `self.penalty` stays ambiguous exactly as in the file.
    assert '    def penalty(): """' in kept.splitlines()
    assert _codes(TEMPTING, kept, DEFAULT) == _codes(TEMPTING, None, DEFAULT)
    assert {code for code, *_ in _codes(TEMPTING, None, DEFAULT)} == {"RL101"}


def test_files_that_may_build_an_optimizer_are_not_pruned() -> None:
    source = TEMPTING + "\nopt = torch.optim.SGD(Trainer().parameters(), lr=0.1)\n"
    decision = triage.verdict(source, "t.py", DEFAULT)
    assert decision.analyze and decision.parse_text is None


def test_bodies_on_the_header_line_and_crlf_are_handled() -> None:
    source = (
        "import torch\r\n"
        "def one(x): return x + 1\r\n"
        "def two(x):\r\n"
        "    y = x + 1\r\n"
        "    return y\r\n"
        "def reg(model):\r\n"
        "    return sum(p.abs().sum() for p in model.parameters())\r\n"
        "def train(model):\r\n"
        "    loss = crit(model(x), y) + reg(model)\r\n"
    )
    pruned = _forced_prune(source)
    assert pruned is not None
    assert pruned.split("\r\n") == [
        "import torch",
        "def one(x): return x + 1",
        'def two(): """',  # the emptied lines are carried in one string (one node for libcst)
        "",
        '"""',
        "def reg(model):",
        "    return sum(p.abs().sum() for p in model.parameters())",
        "def train(model):",
        "    loss = crit(model(x), y) + reg(model)",
        "",
    ]


def test_a_signature_that_writes_a_module_variable_is_kept() -> None:
    # A default is evaluated in the module's frame: `:=` there binds a module variable.
    source = textwrap.dedent(
        """\
        def configure(strength=(LAMBDA := 0.5)):
            print("strength", strength)
            return strength

        async def fetch(
            url: str,
            timeout: float = 1.0,
        ) -> bytes:
            data = await get(url)
            return data

        def reg(model):
            return sum(p.abs().sum() for p in model.parameters())

        def train(model):
            loss = crit(model(x), y) + LAMBDA * reg(model)
        """
    )
    pruned = _forced_prune(source)
    assert pruned is not None
    assert pruned.splitlines()[:10] == [
        "def configure(strength=(LAMBDA := 0.5)):",
        '    """',
        '"""',
        "",
        'async def fetch(): """',
        "",
        "",
        "",
        "",
        '"""',
    ]
    assert _codes(source, pruned, DEFAULT) == _codes(source, None, DEFAULT)


def test_text_pruning_maps_joined_lines_back_to_the_file() -> None:
    # CRLF breaks, a docstring over lines and a backslash continuation are one line each in the
    # blanked text; the pruned copy must still cut the file's own lines.
    source = (
        'import torch\r\n'
        'def two(x):\r\n'
        '    """Add one.\r\n'
        '\r\n'
        '    More text."""\r\n'
        '    y = x + \\\r\n'
        '        1\r\n'
        '    return y\r\n'
        'def reg(model):\r\n'
        '    return sum(p.abs().sum() for p in model.parameters())\r\n'
        'def train(model):\r\n'
        '    loss = crit(model(x), y) + reg(model)\r\n'
    )
    pruned = text_pruned(source)
    assert pruned is not None
    assert pruned.split("\r\n") == [
        "import torch",
        'def two(): """',
        "",
        "",
        "",
        "",
        "",
        '"""',
        "def reg(model):",
        "    return sum(p.abs().sum() for p in model.parameters())",
        "def train(model):",
        "    loss = crit(model(x), y) + reg(model)",
        "",
    ]
    assert _codes(source, pruned, DEFAULT) == _codes(source, None, DEFAULT)


def test_text_pruning_tells_a_comment_ending_in_a_backslash_from_a_continuation() -> None:
    # Blanking drops the comment, so its backslash joins no lines; the code's backslash does.
    source = (
        "import torch\n"
        "def two(x):  # files under C:\\\n"
        "    y = x + \\\n"
        "        1\n"
        "    return y  # C:\\\n"
        "def reg(model):  # C:\\\n"
        "    return sum(p.abs().sum() for p in model.parameters())\n"
        "def train(model):\n"
        "    loss = crit(model(x), y) + reg(model)\n"
    )
    pruned = text_pruned(source)
    assert pruned is not None
    assert pruned.split("\n") == [
        "import torch",
        'def two(): """',
        "",
        "",
        '"""',
        "def reg(model):  # C:\\",
        "    return sum(p.abs().sum() for p in model.parameters())",
        "def train(model):",
        "    loss = crit(model(x), y) + reg(model)",
        "",
    ]
    assert_text_pruning_keeps_what_the_syntax_keeps(source)
    assert _codes(source, pruned, DEFAULT) == _codes(source, None, DEFAULT)
