"""The Action's run step (reglint/integrations/github_action.py) without the network: one reglint
run gives annotations and SARIF; inputs split like shell words; on a usage or configuration error
a valid SARIF file (no results, invocation failed) and an `::error` carrying reglint's message.

(test_github_action.py runs the whole action.yml, install included, with the package index.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from integration_samples import BAD, BAD_EXPECTED, GOOD, write
from test_github_action import ANNOTATION
from test_sarif_format import validate


def step(workspace: Path, **inputs: str) -> tuple[int, list[tuple[str, str, str]], dict[str, str], str]:
    """Run the step as action.yml does: (exit status, annotations, outputs, stdout)."""
    output_file = workspace / "github-output.txt"
    output_file.write_text("", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "REGLINT_"))}
    env.update(GITHUB_OUTPUT=str(output_file), GITHUB_WORKSPACE=str(workspace), PYTHONIOENCODING="utf-8")
    env.update({f"REGLINT_{name.upper()}": value for name, value in inputs.items()})
    proc = subprocess.run(
        [sys.executable, "-m", "reglint.integrations.github_action"],
        cwd=workspace, env=env, capture_output=True, text=True, encoding="utf-8", timeout=300,
    )
    annotations = []
    for line in proc.stdout.splitlines():
        match = ANNOTATION.match(line)
        if match:
            annotations.append((match.group(1), match.group("props"), match.group("message")))
    outputs = dict(line.split("=", 1) for line in output_file.read_text(encoding="utf-8").splitlines())
    return proc.returncode, annotations, outputs, proc.stdout + proc.stderr


def sarif(path: Path) -> dict[str, Any]:
    log = json.loads(path.read_text(encoding="utf-8"))
    validate(log)
    return log


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    write(tmp_path, "src/bad.py", BAD)
    write(tmp_path, "src/good.py", GOOD)
    return tmp_path


def test_one_run_annotates_and_writes_sarif(workspace: Path) -> None:
    status, annotations, outputs, log = step(workspace, PATHS="src", ARGS="--no-cache", SARIF="reports/r.sarif")
    assert status == 1, log
    assert {(props.split("title=")[1].split()[0], int(props.split("line=")[1].split(",")[0])) for _, props, _ in annotations} == BAD_EXPECTED
    results = sarif(workspace / "reports" / "r.sarif")["runs"][0]["results"]
    assert len(results) == len(BAD_EXPECTED)
    assert outputs == {"sarif-file": "reports/r.sarif", "findings": str(len(BAD_EXPECTED)), "exit-code": "1"}


def test_fail_on_findings_false_keeps_the_step_green(workspace: Path) -> None:
    status, _, outputs, _ = step(workspace, PATHS="src", ARGS="--no-cache", FAIL="false")
    assert status == 0 and outputs["exit-code"] == "1"


def test_args_and_paths_split_like_shell_words(workspace: Path) -> None:
    write(workspace, "my dir/bad.py", BAD)
    write(workspace, "other dir/bad.py", BAD)
    status, annotations, _, log = step(
        workspace, PATHS="'my dir' \"other dir\"", ARGS='--no-cache --force-exclude --extend-exclude "other dir" --select RL201',
    )
    assert status == 1, log
    assert {props.split("file=")[1].split(",")[0] for _, props, _ in annotations} == {"my dir/bad.py"}
    assert {props.split("title=")[1].split()[0] for _, props, _ in annotations} == {"RL201"}


@pytest.mark.parametrize(
    "config,args,needle",
    [
        ('[tool.reglint]\nselct = ["RL1"]\n', "", "unknown key 'selct'"),
        ("", "--no-such-option", "--no-such-option"),
        ("", "--select RL999", "unknown rule code"),
        ("", "--fail-level fatal", "unknown severity"),
        ("", '--select "RL1', "cannot be split into words"),
        ("", "--no-cache", "no such file or directory"),  # with PATHS naming a missing file below
    ],
)
def test_errors_leave_a_valid_sarif_and_carry_reglint_message(workspace: Path, config: str, args: str, needle: str) -> None:
    if config:
        write(workspace, "pyproject.toml", config)
    paths = "missing.py" if "no such file" in needle else "src"
    status, annotations, outputs, log = step(workspace, PATHS=paths, ARGS=args, FAIL="false")
    assert status == 2, log  # an error fails the step whatever fail-on-findings says
    errors = [(props, message) for kind, props, message in annotations if kind == "error"]
    assert len(errors) == 1 and errors[0][0] == "title=reglint", annotations
    assert needle in errors[0][1], errors
    log_ = sarif(workspace / "reglint.sarif")
    run = log_["runs"][0]
    assert run["results"] == []
    assert run["invocations"][0]["executionSuccessful"] is False
    assert needle in run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"]
    assert outputs == {"sarif-file": "reglint.sarif", "findings": "0", "exit-code": "2"}


def test_a_stale_report_is_not_taken_for_this_run(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (workspace / "reglint.sarif").write_text('{"runs": [{"results": [1, 2, 3]}]}', encoding="utf-8")
    status, _, outputs, _ = step(workspace, PATHS="src/good.py", ARGS="--no-cache")
    assert status == 0 and outputs["findings"] == "0"


def test_the_cache_lives_in_the_workspace_and_a_second_run_reuses_it(workspace: Path) -> None:
    write(workspace, "src/pyproject.toml", "[tool.reglint]\nselect = ['RL1', 'RL2']\n")
    status, annotations, _, log = step(workspace, PATHS="src")
    assert status == 1, log
    shards = list((workspace / ".reglint_cache").glob("v*/*/*.json"))
    assert len(shards) == 1, log
    assert "bad.py" in shards[0].read_text(encoding="utf-8")

    # The next run (a restored cache) takes the findings of an unchanged file from the cache
    # without linting it: a message marked in the stored findings comes back marked.
    assert all("from the cache" not in message for _, _, message in annotations)
    shards[0].write_text(
        shards[0].read_text(encoding="utf-8").replace('"message":"', '"message":"from the cache: '),
        encoding="utf-8",
    )
    again_status, again, _, log = step(workspace, PATHS="src")
    assert again_status == status, log
    assert len(again) == len(annotations) and all("from the cache" in message for _, _, message in again)


def test_the_users_cache_directory_wins(workspace: Path) -> None:
    status, _, _, log = step(workspace, PATHS="src", ARGS="--cache-dir elsewhere")
    assert status == 1, log
    assert list((workspace / "elsewhere").glob("v*/*/*.json"))
    assert not (workspace / ".reglint_cache").exists()


@pytest.mark.parametrize(
    "cache,args,expected",
    [
        ("true", [], ["--cache-dir", str(Path("/ws") / ".reglint_cache")]),
        ("false", [], []),
        ("true", ["--no-cache"], []),
        ("true", ["--cache-dir", "c"], []),
        ("true", ["--cache-dir=c"], []),
    ],
)
def test_cache_arguments(cache: str, args: list[str], expected: list[str]) -> None:
    from reglint.integrations.github_action import cache_arguments

    assert cache_arguments(args, {"REGLINT_CACHE": cache, "GITHUB_WORKSPACE": "/ws"}) == expected
