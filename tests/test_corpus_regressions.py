"""scripts/corpus.py without the network: its two ways of linting a directory work and agree.

The corpora themselves (transformers, timm, pytorch-lightning, torchvision) need a download and are
not linted in CI; the shapes found in them are pinned as fixtures under fixtures/corpus/, which
tests/test_fixtures.py checks against their `# expect:` markers. Here the script's own code paths
are run on that directory so that it keeps working between the (manual) corpus runs.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from helpers import FIXTURES, ROOT

CORPUS_FIXTURES = FIXTURES / "corpus"


@pytest.fixture(scope="module")
def corpus_script():
    spec = importlib.util.spec_from_file_location("reglint_corpus_script", ROOT / "scripts" / "corpus.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def _keys(findings: list[dict]) -> set[tuple[str, str, int]]:
    return {(f["code"], Path(f["path"]).name, int(f.get("line") or 0)) for f in findings}


def test_cli_run_over_corpus_fixtures(corpus_script) -> None:
    flags = corpus_script._check_flags()
    assert "--isolated" in flags
    result = corpus_script.lint_subprocess("fixtures", CORPUS_FIXTURES, flags)
    assert result.internal_errors == []
    assert result.exit_code == 0
    assert result.files == len(list(CORPUS_FIXTURES.glob("*.py")))
    assert result.parse_errors == 0


def test_in_process_fallback_agrees_with_cli(corpus_script) -> None:
    cli = corpus_script.lint_subprocess("fixtures", CORPUS_FIXTURES, corpus_script._check_flags())
    direct = corpus_script.lint_in_process("fixtures", CORPUS_FIXTURES)
    assert direct.internal_errors == []
    assert direct.files == cli.files
    assert _keys(direct.findings) == _keys(cli.findings)


def test_pins_name_a_version_and_an_unpack_directory(corpus_script) -> None:
    assert set(corpus_script.PINS) == {"transformers", "timm", "pytorch-lightning", "torchvision"}
    for spec, _extra in corpus_script.PINS.values():
        name, _, version = spec.partition("==")
        assert name and version, spec
    assert corpus_script.CORPORA == ROOT / ".corpora"
