"""Terminal output as a ruff user expects it: colour (NO_COLOR, FORCE_COLOR, --color), the `[*]`
marker on fixable findings, --statistics, -q/--quiet and -s/--silent, the "no Python files"
warning, --output-format, and streams that cannot encode every character."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import FIXTURES, lint
from test_engine_cli import BAD, write

from reglint.cli import main
from reglint.report.style import use_color

ANSI = re.compile(r"\x1b\[[0-9;]*m")
# RL105 (safe fix), RL201 (unsafe fix), RL202, RL203, RL206 (no fix)
FIXABLE = BAD + "reg = torch.tensor(0.)\nfor p in model.parameters():\n    if p.ndim >= 2:\n        reg += p.pow(2).sum()\nloss = loss + 1e-4 * reg\n"


def invoke(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    finally:
        os.chdir(old)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write(tmp_path, "train.py", FIXABLE)
    return tmp_path


# ------------------------------------------------------------------------------------- colour


def test_colour_off_in_a_pipe_and_forced_on(project: Path) -> None:
    _, plain, _ = invoke(project, "check", "train.py", "--no-cache")
    assert not ANSI.search(plain)
    code, forced, _ = invoke(project, "check", "train.py", "--no-cache", "--color", "always")
    assert code == 1
    assert "\x1b[1;31mRL202\x1b[0m" in forced  # the code
    assert "\x1b[1;33m[warning]\x1b[0m" in forced  # the severity
    assert "\x1b[1mtrain.py\x1b[0m" in forced  # the path
    assert ANSI.sub("", forced) == plain  # colour only, same text
    _, by_env, _ = invoke(project, "check", "train.py", "--no-cache", env={"FORCE_COLOR": "1"})
    assert by_env == forced


@pytest.mark.parametrize(
    "env,choice,expected",
    [
        ({}, "auto", True),
        ({"NO_COLOR": "1"}, "auto", False),
        ({"NO_COLOR": ""}, "auto", True),  # empty means unset (no-color.org)
        ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, "auto", False),
        ({"TERM": "dumb"}, "auto", False),
        ({"NO_COLOR": "1"}, "always", True),
        ({"FORCE_COLOR": "1"}, "never", False),
    ],
)
def test_colour_on_a_terminal(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], choice: str, expected: bool) -> None:
    class Terminal:
        def isatty(self) -> bool:
            return True

    for name in ("NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE", "TERM"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert use_color(Terminal(), choice) is expected  # type: ignore[arg-type]


def test_pipe_gets_colour_only_when_forced(monkeypatch: pytest.MonkeyPatch) -> None:
    class Pipe:
        def isatty(self) -> bool:
            return False

    for name in ("NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE"):
        monkeypatch.delenv(name, raising=False)
    assert use_color(Pipe()) is False  # type: ignore[arg-type]
    monkeypatch.setenv("CLICOLOR_FORCE", "1")
    assert use_color(Pipe()) is True  # type: ignore[arg-type]


def test_output_file_never_gets_colour(project: Path) -> None:
    invoke(project, "check", "train.py", "--no-cache", "--color", "always", "-o", "out/report.txt")
    text = (project / "out" / "report.txt").read_text(encoding="utf-8")
    assert "RL202" in text and not ANSI.search(text)


# ------------------------------------------------------------------------------- [*] marker


def test_fixable_marker(project: Path) -> None:
    _, out, _ = invoke(project, "check", "train.py", "--no-cache", "--no-show-source")
    lines = {line.split()[1]: line for line in out.splitlines() if line.startswith("train.py:")}
    assert " RL105 [*] [error] " in lines["RL105"]  # a safe fix: --fix applies it
    assert "[*]" not in lines["RL201"]  # unsafe: not without --unsafe-fixes
    assert "[*]" not in lines["RL202"]  # no fix
    _, out, _ = invoke(project, "check", "train.py", "--no-cache", "--no-show-source", "--unsafe-fixes")
    assert " RL201 [*] [warning] " in out


# ----------------------------------------------------------------------------- --statistics


def test_statistics_text_and_json(project: Path) -> None:
    write(project, "other.py", BAD)
    code, out, _ = invoke(project, "check", ".", "--no-cache", "--statistics")
    assert code == 1
    rows = [line.split("\t") for line in out.splitlines() if "\t" in line]
    assert rows == [
        ["2", "RL201", "[ ] coupled-weight-decay"],
        ["2", "RL202", "[ ] decay-on-bias-and-norm"],
        ["1", "RL105", "[*] accumulator-off-device"],
        ["1", "RL203", "[ ] double-l2"],
        ["1", "RL206", "[ ] l2-with-adaptive-optimizer"],
    ]
    assert "train.py:" not in out  # counts instead of the findings
    assert out.splitlines()[-3:] == [
        "Found 7 findings (1 error, 5 warnings, 1 info) in 2 files checked.",
        "[*] 1 fixable with --fix (2 more with --fix --unsafe-fixes).",
        "Why a rule matters, with the math, and how to fix it: `reglint rule RL202`.",  # the first finding's
    ]
    _, out, _ = invoke(project, "check", ".", "--no-cache", "--statistics", "--format", "json")
    assert json.loads(out)[2] == {"code": "RL105", "name": "accumulator-off-device", "count": 1, "fixable": True}


def test_statistics_in_another_format_is_a_usage_error(project: Path) -> None:
    code, _, err = invoke(project, "check", ".", "--statistics", "--format", "github")
    assert code == 2 and "--statistics needs --format text or json" in err


# --------------------------------------------------------------------------------- -q and -s


def test_quiet_prints_findings_only_and_silent_nothing(project: Path) -> None:
    code, out, _ = invoke(project, "check", "train.py", "--no-cache", "-q", "--no-show-source")
    assert code == 1
    assert len(out.splitlines()) == 5 and all(line.startswith("train.py:") for line in out.splitlines())
    code, out, err = invoke(project, "check", "train.py", "--no-cache", "--silent")
    assert (code, out, err) == (1, "", "")
    write(project, "ok.py", "x = 1\n")
    assert invoke(project, "check", "ok.py", "--no-cache", "-s") == (0, "", "")


def test_silent_still_writes_the_files_asked_for(project: Path) -> None:
    code, out, _ = invoke(project, "check", "train.py", "--no-cache", "-s", "--format", "json", "-o", "r.json")
    assert (code, out) == (1, "")
    assert json.loads((project / "r.json").read_text(encoding="utf-8"))["summary"]["findings"] == 5


def test_no_python_files_is_a_warning(tmp_path: Path) -> None:
    write(tmp_path, "notes.txt", "hello\n")
    code, out, err = invoke(tmp_path, "check", ".")
    assert code == 0
    assert err == "reglint: warning: No Python files found under the given paths\n"
    assert "All checks passed" in out
    assert invoke(tmp_path, "check", ".", "-q") == (0, "", "")


def test_output_format_is_an_alias_of_format(project: Path) -> None:
    _, by_format, _ = invoke(project, "check", "train.py", "--no-cache", "--format", "json")
    _, by_alias, _ = invoke(project, "check", "train.py", "--no-cache", "--output-format", "json")
    assert json.loads(by_alias) == json.loads(by_format)


# --------------------------------------------------------------------- streams and exit codes


@pytest.mark.parametrize("fmt", ["text", "json", "github"])
def test_a_stream_that_cannot_encode_the_message_gets_replacements(tmp_path: Path, fmt: str) -> None:
    # RL102's message holds ‖ and λ, which cp1252 (a Windows console or pipe) cannot encode.
    write(tmp_path, "train.py", (FIXTURES / "demo" / "train.py").read_text(encoding="utf-8"))
    env = dict(os.environ, PYTHONIOENCODING="cp1252")
    proc = subprocess.run(
        [sys.executable, "-m", "reglint", "check", "train.py", "--no-cache", "--format", fmt],
        cwd=tmp_path, capture_output=True, env=env, timeout=120,
    )
    assert proc.returncode == 1, proc.stderr.decode("cp1252")  # findings: 1, not a crash
    assert b"Traceback" not in proc.stderr
    out = proc.stdout.decode("cp1252")
    assert "RL102" in out
    if fmt != "json":  # JSON escapes non-ASCII itself
        assert "is ?w?, whose gradient ?·w/?w? is not weight decay" in out


@pytest.mark.parametrize("source,expected", [(BAD, 1), ("x = 1\n", 0)], ids=["findings", "clean"])
def test_a_reader_that_closes_the_pipe_keeps_the_exit_code(tmp_path: Path, source: str, expected: int) -> None:
    for number in range(40):
        write(tmp_path, f"train_{number:02}.py", source)
    # `true` reads nothing and is gone before reglint writes: every write meets a closed pipe.
    proc = subprocess.run(
        f"{shlex.quote(sys.executable)} -m reglint check . --no-cache | true; exit ${{PIPESTATUS[0]}}",
        shell=True, executable="/bin/bash", cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == expected, proc.stderr
    assert "Traceback" not in proc.stderr and "BrokenPipeError" not in proc.stderr


def test_an_unexpected_error_exits_2_not_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import reglint.engine.session as session

    def boom(*_: object, **__: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(session, "check_paths", boom)
    write(tmp_path, "train.py", BAD)
    code, _, err = invoke(tmp_path, "check", "train.py")
    assert code == 2
    assert "RuntimeError: boom" in err and "internal error" in err


def test_messages_quote_code_on_one_line() -> None:
    """A norm written over several lines, with a comment inside, is quoted as one line of code;
    so is a decay written over several lines."""
    findings = lint(
        """
        import torch
        model = torch.nn.Linear(4, 2)
        optimizer = torch.optim.Adam(
            model.parameters(),
            weight_decay=(  # the strength
                5e-4
            ),
        )
        loss = model(x).sum() + 1e-4 * torch.norm(  # the L2 term
            model.weight,
            p=2,
        )
        """
    )
    messages = {f.code: f.message for f in findings}
    assert "`torch.norm(model.weight, p=2,)`" in messages["RL102"]
    assert "weight_decay=(5e-4) (= 0.0005)" in messages["RL201"]
    assert all("\n" not in message and "#" not in message for message in messages.values())
