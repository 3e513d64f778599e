"""The GitHub Action: run action.yml's steps as the Actions runner does, on bad and good files.

`run_action` reads action.yml with a YAML parser, evaluates the `${{ ... }}` expressions it uses
(inputs with their defaults, github.action_path, steps.<id>.outputs.<name>), sets the variables
the runner sets (GITHUB_WORKSPACE, GITHUB_OUTPUT per step, GITHUB_PATH, GITHUB_ENV, RUNNER_TEMP,
GITHUB_ACTION_PATH, GITHUB_ACTIONS, CI), and runs each `run:` with `bash --noprofile --norc -eo
pipefail` in the workspace, stopping at the first failing step. The action installs reglint
from its own checkout (a snapshot of this repository) with pip: this needs the package index
for the build backend and dependencies, as the pre-commit tests do.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import ROOT
from integration_samples import BAD, BAD_EXPECTED, BROKEN, GOOD, snapshot_package, write

ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
ANNOTATION = re.compile(r"^::(error|warning|notice) (?P<props>[^:]*)::(?P<message>.*)$")


@dataclass
class ActionRun:
    status: int  # exit status of the last step run (0: the action succeeded)
    outputs: dict[str, str]  # the action's outputs
    stdout: str
    steps_run: list[str] = field(default_factory=list)

    def annotations(self) -> list[tuple[str, dict[str, str], str]]:
        out = []
        for line in self.stdout.splitlines():
            match = ANNOTATION.match(line)
            if match:
                props = dict(p.split("=", 1) for p in match.group("props").split(","))
                out.append((match.group(1), props, match.group("message")))
        return out


def _read_output_file(path: Path) -> dict[str, str]:
    """Parse a GITHUB_OUTPUT file: `name=value` lines and `name<<DELIMITER` blocks."""
    out: dict[str, str] = {}
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, i + 1)
            out[name] = "\n".join(lines[i + 1 : end])
            i = end + 1
            continue
        if "=" in line:
            name, value = line.split("=", 1)
            out[name] = value
        i += 1
    return out


def run_action(action_path: Path, workspace: Path, runner_temp: Path, inputs: dict[str, str]) -> ActionRun:
    declared = ACTION["inputs"]
    unknown = set(inputs) - set(declared)
    assert not unknown, f"inputs not declared in action.yml: {unknown}"
    values = {name: str(inputs.get(name, spec.get("default", ""))) for name, spec in declared.items()}
    step_outputs: dict[str, dict[str, str]] = {}
    github = {"action_path": str(action_path), "workspace": str(workspace)}

    def evaluate(text: str) -> str:
        def replace(match: re.Match[str]) -> str:
            expression = match.group(1)
            parts = expression.split(".")
            if parts[0] == "inputs" and len(parts) == 2:
                return values[parts[1]]
            if parts[0] == "github" and len(parts) == 2:
                return github[parts[1]]
            if parts[0] == "runner" and parts[1:] == ["temp"]:
                return str(runner_temp)
            if parts[0] == "steps" and len(parts) == 4 and parts[2] == "outputs":
                return step_outputs.get(parts[1], {}).get(parts[3], "")
            raise AssertionError(f"expression the test runner does not know: {expression}")

        return EXPRESSION.sub(replace, str(text))

    assert ACTION["runs"]["using"] == "composite"
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_", "INPUT_", "VIRTUAL_ENV"))}
    # The runner's PATH, not this test's virtualenv: the action must bring its own reglint.
    base_env["PATH"] = os.pathsep.join(p for p in base_env.get("PATH", "").split(os.pathsep) if "venv" not in p)
    path_file, env_file = runner_temp / "path.txt", runner_temp / "env.txt"
    base_env.update(
        GITHUB_ACTIONS="true", CI="true", GITHUB_WORKSPACE=str(workspace), GITHUB_ACTION_PATH=str(action_path),
        RUNNER_TEMP=str(runner_temp), RUNNER_OS="Linux", GITHUB_PATH=str(path_file), GITHUB_ENV=str(env_file),
    )
    stdout: list[str] = []
    status = 0
    steps_run = []
    for number, step in enumerate(ACTION["runs"]["steps"]):
        if "uses" in step:
            # actions/cache: restores and saves a directory, which a test's workspace keeps
            # between two runs anyway; what is checked is that it is the one reglint writes.
            assert step["uses"].startswith("actions/cache@"), step
            assert step["if"] == "inputs.cache == 'true'", step
            assert evaluate(step["with"]["path"]) == str(workspace / ".reglint_cache")
            if values["cache"] == "true":
                steps_run.append("cache")
            continue
        assert step.get("shell") == "bash" and "run" in step, step
        assert "if" not in step, "the test runner does not evaluate `if:` on a run step"
        env = dict(base_env)
        extra_path = path_file.read_text(encoding="utf-8").split() if path_file.exists() else []
        env["PATH"] = os.pathsep.join([*reversed(extra_path), env["PATH"]])
        env.update({k: evaluate(v) for k, v in (step.get("env") or {}).items()})
        output_file = runner_temp / f"output-{number}.txt"
        env["GITHUB_OUTPUT"] = str(output_file)
        script = runner_temp / f"step-{number}.sh"
        script.write_text(evaluate(step["run"]), encoding="utf-8")
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=workspace, env=env, capture_output=True, text=True, timeout=600,
        )
        stdout.append(proc.stdout)
        steps_run.append(step.get("id", str(number)))
        if "id" in step:
            step_outputs[step["id"]] = _read_output_file(output_file)
        status = proc.returncode
        if status != 0:
            stdout.append(proc.stderr)
            break
    outputs = {name: evaluate(spec["value"]) for name, spec in ACTION.get("outputs", {}).items()}
    return ActionRun(status, outputs, "".join(stdout), steps_run)


@pytest.fixture(scope="module")
def action_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The action's own checkout, as `uses: owner/reglint@v1` would download it."""
    return snapshot_package(tmp_path_factory.mktemp("reglint-action"))


@pytest.fixture(scope="module")
def runner_temp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Shared across the tests of this module, as reglint's venv in it is (one install, not four).
    return tmp_path_factory.mktemp("runner-temp")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    write(tmp_path, "src/bad.py", BAD)
    write(tmp_path, "src/good.py", GOOD)
    return tmp_path


def load_sarif(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def test_action_definition() -> None:
    assert set(ACTION["inputs"]) >= {"paths", "args", "fail-on-findings", "sarif-file"}
    assert ACTION["inputs"]["paths"]["default"] == "."
    assert ACTION["inputs"]["fail-on-findings"]["default"] == "true"
    assert ACTION["inputs"]["sarif-file"]["default"] == "reglint.sarif"
    assert "sarif-file" in ACTION["outputs"]
    install = ACTION["runs"]["steps"][0]["run"] + str(ACTION["runs"]["steps"][0].get("env"))
    assert "github.action_path" in install and "pip install" in install
    # Inputs reach the scripts through env, never pasted into the script text (script injection).
    for step in ACTION["runs"]["steps"]:
        assert "${{" not in step.get("run", "")
    cache = next(step for step in ACTION["runs"]["steps"] if "uses" in step)
    # Keyed by reglint's version (the install step's output) and the configuration; a key per
    # commit saves each run's results, the restore keys take the newest earlier cache.
    key = cache["with"]["key"]
    assert "steps.install.outputs.version" in key and "hashFiles('**/pyproject.toml')" in key and "github.sha" in key
    restore = cache["with"]["restore-keys"].strip().splitlines()
    assert restore and all(key.startswith(prefix.split("${{ github.sha }}")[0]) for prefix in restore)


@pytest.mark.network
@pytest.mark.slow
def test_findings_annotate_write_sarif_and_fail(action_path: Path, runner_temp: Path, workspace: Path) -> None:
    run = run_action(action_path, workspace, runner_temp, {})
    assert run.status == 1, run.stdout
    assert run.steps_run == [step["id"] for step in ACTION["runs"]["steps"]]
    annotations = run.annotations()
    assert {(props["title"].split()[0], int(props["line"])) for _, props, _ in annotations} == BAD_EXPECTED
    assert {props["file"] for _, props, _ in annotations} == {"src/bad.py"}
    assert {kind for kind, props, _ in annotations if props["title"].startswith("RL206")} == {"notice"}
    assert run.outputs["sarif-file"] == "reglint.sarif"
    assert run.outputs["exit-code"] == "1"
    assert run.outputs["findings"] == str(len(BAD_EXPECTED))
    sarif = load_sarif(workspace / "reglint.sarif")
    results = sarif["runs"][0]["results"]
    assert {(r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in results} == BAD_EXPECTED
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results} == {"src/bad.py"}


@pytest.mark.network
@pytest.mark.slow
def test_inputs_paths_args_sarif_path_and_no_fail(action_path: Path, runner_temp: Path, workspace: Path) -> None:
    run = run_action(action_path, workspace, runner_temp, {
        "paths": "src/good.py src/bad.py", "args": "--select RL102,RL201", "fail-on-findings": "false",
        "sarif-file": "reports/reglint.sarif",
    })
    assert run.status == 0, run.stdout
    assert run.outputs["sarif-file"] == "reports/reglint.sarif"
    assert run.outputs["exit-code"] == "1"
    wanted = {c for c in BAD_EXPECTED if c[0] in ("RL102", "RL201")}
    assert {(p["title"].split()[0], int(p["line"])) for _, p, _ in run.annotations()} == wanted
    results = load_sarif(workspace / "reports" / "reglint.sarif")["runs"][0]["results"]
    assert {(r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in results} == wanted


@pytest.mark.network
@pytest.mark.slow
def test_clean_workspace_passes(action_path: Path, runner_temp: Path, tmp_path: Path) -> None:
    write(tmp_path, "train.py", GOOD)
    run = run_action(action_path, tmp_path, runner_temp, {})
    assert run.status == 0, run.stdout
    assert run.annotations() == []
    assert run.outputs["findings"] == "0" and run.outputs["exit-code"] == "0"
    assert load_sarif(tmp_path / "reglint.sarif")["runs"][0]["results"] == []


@pytest.mark.network
@pytest.mark.slow
@pytest.mark.parametrize(
    "config,args,needle",
    [("", "--no-such-option", "--no-such-option"), ('[tool.reglint]\nselct = ["RL1"]\n', "", "unknown key 'selct'")],
)
def test_usage_or_config_error_fails_with_reglint_message_and_a_valid_sarif(
    action_path: Path, runner_temp: Path, workspace: Path, config: str, args: str, needle: str
) -> None:
    from test_sarif_format import validate

    write(workspace, "broken.py", BROKEN)
    if config:
        write(workspace, "pyproject.toml", config)
    run = run_action(action_path, workspace, runner_temp, {"args": args, "fail-on-findings": "false"})
    assert run.status == 2, run.stdout
    assert run.outputs["exit-code"] == "2"
    errors = [message for kind, props, message in run.annotations() if kind == "error" and props.get("title") == "reglint"]
    assert len(errors) == 1 and needle in errors[0], run.stdout
    log = load_sarif(workspace / "reglint.sarif")  # the upload step that follows gets a valid file
    validate(log)
    assert log["runs"][0]["results"] == []
    assert log["runs"][0]["invocations"][0]["executionSuccessful"] is False
