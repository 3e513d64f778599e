"""The text-units cut never rules out what the syntax cut keeps, and its pruning keeps every
function the syntax cut keeps, on generated training scripts and on mutants of the fixtures and
rule snippets (see tests/test_textcut.py and tests/test_pruning.py)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from robust_support import examples
from test_generated import program
from test_mutations import mutant
from test_pruning import assert_text_pruning_keeps_what_the_syntax_keeps
from test_textcut import assert_over_approximates

FUZZ = settings(
    max_examples=examples(300),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)


@FUZZ
@given(program())
def test_generated_scripts(source: str) -> None:
    assert_over_approximates(source)
    assert_text_pruning_keeps_what_the_syntax_keeps(source)


@FUZZ
@given(mutant())
def test_mutants(case: tuple[str, bytes]) -> None:
    label, data = case
    try:
        source = data.decode("utf-8")
    except UnicodeDecodeError:
        return
    try:
        assert_over_approximates(source)
        assert_text_pruning_keeps_what_the_syntax_keeps(source)
    except AssertionError as exc:
        raise AssertionError(f"{label}: {exc}\n--- input ---\n{source[:3000]}") from None
