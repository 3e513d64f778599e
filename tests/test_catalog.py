"""The static rules' metadata lives in reglint/catalog.py, apart from the matchers, so that
`reglint check` can decide what is enabled, and rule files out on their text, without libcst."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import reglint.catalog as catalog
from reglint.checks import STATIC_RULES
from reglint.model import RuleInfo


def _catalog_entries() -> dict[str, RuleInfo]:
    return {name: value for name, value in vars(catalog).items() if isinstance(value, RuleInfo)}


def test_every_rule_takes_its_info_from_the_catalog_and_every_entry_has_a_rule() -> None:
    entries = _catalog_entries()
    assert set(entries) == set(STATIC_RULES)
    for code, rule in STATIC_RULES.items():
        assert rule.info is entries[code], code  # the same object, not a copy that could drift
        assert rule.info.code == code


def _run_isolated(code: str, cwd: Path) -> str:
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_rule_metadata_loads_without_libcst(tmp_path: Path) -> None:
    out = _run_isolated(
        """
        import sys
        from reglint.registry import all_rules
        codes = sorted(code for code, info in all_rules().items() if info.origin == "static")
        print(len(codes), "libcst" in sys.modules, "reglint.checks" in sys.modules)
        """,
        tmp_path,
    )
    assert out.split() == [str(len(STATIC_RULES)), "False", "False"]


CHECK_AND_REPORT = """
    import sys
    from reglint.cli import main
    sys.argv = ["reglint", "check", "--no-cache", *{files!r}]
    try:
        main()
    except SystemExit as exit:
        code = exit.code
    print("RESULT", code, "libcst" in sys.modules)
"""


def test_a_run_over_files_without_training_code_never_imports_libcst(tmp_path: Path) -> None:
    # What pre-commit does on most commits: a few changed files, none of them training code.
    (tmp_path / "utils.py").write_text("import os\n\ndef home():\n    return os.path.expanduser('~')\n", encoding="utf-8")
    (tmp_path / "model.py").write_text("import torch\nlayer = torch.nn.Linear(3, 3)\nprint(layer.weight.shape)\n", encoding="utf-8")
    out = _run_isolated(CHECK_AND_REPORT.format(files=["utils.py", "model.py"]), tmp_path)
    assert out.split()[-3:] == ["RESULT", "0", "False"]


def test_a_run_over_training_code_still_parses_and_reports(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(
        "import torch\nopt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)\n", encoding="utf-8"
    )
    out = _run_isolated(CHECK_AND_REPORT.format(files=["train.py"]), tmp_path)
    assert "RL201" in out
    assert out.split()[-3:] == ["RESULT", "1", "True"]
