"""The README's and the docs' commands work as written.

- `console` blocks: each `$ command` runs in a copy of the fixtures and prints exactly the lines
  shown under it (a command with no lines under it must only run: exit code 0 or 1);
- `sh` blocks: every `reglint ...` line runs in a sandbox (exit 0 or 1, never 2: a usage error
  means the docs name an option that does not exist); lines with an upper-case placeholder
  (`PATHS...`) are skipped;
- `toml` blocks are valid `[tool.reglint]` configuration; the workflow example uses only the
  Action's declared inputs and outputs;
- with the package index (`network`): the install commands (git URL, checkout) and the pre-commit
  configuration, with the repository URL pointing at a local git snapshot of this checkout.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from helpers import FIXTURES, ROOT

from reglint.engine.config import ConfigError, parse_table

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
REPOSITORY = "https://github.com/reglint/reglint"  # where the docs say reglint is installed from
BIN = Path(sys.executable).parent
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)


@dataclass(frozen=True)
class Block:
    path: Path
    lang: str
    text: str

    @property
    def id(self) -> str:
        return f"{self.path.name}:{self.text.splitlines()[0][:60] if self.text else ''}"


def blocks(*langs: str) -> list[Block]:
    out = []
    for path in DOCS:
        for match in BLOCK.finditer(path.read_text(encoding="utf-8")):
            if match.group(1) in langs:
                out.append(Block(path, match.group(1), match.group(2)))
    return out


def shell(command: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run `command` with bash: with this test's `reglint` first on the PATH, or in `env` as given
    (a fresh virtualenv, whose `pip` must not be this one's)."""
    environment = dict(os.environ) if env is None else dict(env)
    if env is None:
        environment["PATH"] = os.pathsep.join([str(BIN), environment.get("PATH", "")])
    environment.update(PYTHONIOENCODING="utf-8", NO_COLOR="1")
    return subprocess.run(
        ["bash", "-c", command], cwd=cwd, env=environment, capture_output=True, text=True, encoding="utf-8", timeout=timeout,
    )


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    """A project with the shipped fixtures, a `src/` of bad scripts, a `train.py` and a `model.py`."""
    shutil.copytree(FIXTURES, tmp_path / "fixtures")
    shutil.copytree(FIXTURES / "bad", tmp_path / "src")
    shutil.copy(FIXTURES / "demo" / "train.py", tmp_path / "train.py")
    shutil.copy(FIXTURES / "audit" / "rl101_penalty_on_bias.py", tmp_path / "model.py")
    return tmp_path


def needs_torch(command: str) -> bool:
    return "reglint audit" in command


def torch_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("torch") is not None


# ---------------------------------------------------------------------------------- console


def console_commands(block: Block) -> list[tuple[str, list[str]]]:
    """(command, the output lines shown under it) for each `$ ` line of a console block."""
    out: list[tuple[str, list[str]]] = []
    for line in block.text.splitlines():
        if line.startswith("$ "):
            out.append((line[2:], []))
        elif out:
            out[-1][1].append(line)
    return out


CONSOLE = blocks("console")


def test_there_are_console_examples() -> None:
    assert len(CONSOLE) >= 3


@pytest.mark.parametrize("block", CONSOLE, ids=[b.id for b in CONSOLE])
def test_console_blocks_print_what_they_show(block: Block, sandbox: Path) -> None:
    for command, shown in console_commands(block):
        if needs_torch(command) and not torch_available():
            pytest.skip("torch is not installed")
        proc = shell(command, sandbox)
        assert proc.returncode in (0, 1), f"{command}\n{proc.stdout}{proc.stderr}"
        if shown:
            assert proc.stdout.splitlines() == shown, f"`{command}` in {block.path.name} prints:\n{proc.stdout}"


# ------------------------------------------------------------------------------- sh commands


PLACEHOLDER = re.compile(r"\b[A-Z]{3,}\b")


def reglint_lines() -> list[tuple[Path, str]]:
    out = []
    for block in blocks("sh"):
        for line in block.text.splitlines():
            if line.startswith("reglint ") and not PLACEHOLDER.search(line.split("#")[0].replace("RL", "")):
                out.append((block.path, line))
    return out


LINES = reglint_lines()


def test_there_are_commands() -> None:
    assert len(LINES) >= 8


@pytest.mark.parametrize("path,line", LINES, ids=[f"{p.name}:{line[:50]}" for p, line in LINES])
def test_documented_reglint_commands_run(path: Path, line: str, sandbox: Path) -> None:
    command = line.split("  #")[0].strip()
    if needs_torch(command) and not torch_available():
        pytest.skip("torch is not installed")
    proc = shell(command, sandbox)
    assert proc.returncode in (0, 1), f"{path.name}: `{command}` exits {proc.returncode}\n{proc.stdout}{proc.stderr}"


def test_no_block_tells_to_install_what_does_not_exist() -> None:
    for block in blocks("sh", "console", "yaml"):
        # `pip install reglint` (from PyPI, where there is no release yet), not `"reglint @ git+..."`
        assert not re.search(r"pip install ['\"]?reglint(\[[\w,]+\])?(?!\s*@)['\"]?(\s|$)", block.text), block.id
        # no tag of reglint to pin yet (other actions' tags, `actions/checkout@v4`, are fine)
        assert not re.search(r"rev: v\d|reglint@v\d", block.text), block.id


# ---------------------------------------------------------------------- configuration, Action


TOML = [b for b in blocks("toml") if "[tool.reglint" in b.text]


@pytest.mark.parametrize("block", TOML, ids=[b.id for b in TOML])
def test_configuration_examples_are_valid(block: Block, tmp_path: Path) -> None:
    table = tomllib.loads(block.text)["tool"]["reglint"]
    try:
        parse_table(table, tmp_path / "pyproject.toml")
    except ConfigError as exc:  # pragma: no cover - the failure message is the point
        pytest.fail(f"{block.path.name}: {exc}")


def test_workflow_example_uses_the_action_as_declared() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    workflows = [yaml.safe_load(b.text) for b in blocks("yaml") if "jobs:" in b.text]
    assert workflows
    steps = [step for workflow in workflows for job in workflow["jobs"].values() for step in job["steps"]]
    ours = [step for step in steps if str(step.get("uses", "")).startswith("reglint/reglint@")]
    assert ours
    for step in ours:
        assert set(step.get("with", {})) <= set(action["inputs"])
    used = {m for step in steps for m in re.findall(r"steps\.reglint\.outputs\.([\w-]+)", str(step))}
    assert used and used <= set(action["outputs"])
    upload = next(step for step in steps if "upload-sarif" in str(step.get("uses", "")))
    assert upload.get("if") == "always()"  # the report is uploaded even when reglint fails the step


# ---------------------------------------------------------------- install, pre-commit (network)


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository on branch `main` holding a snapshot of this checkout (fixtures included)."""
    from integration_samples import snapshot_package

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = snapshot_package(tmp_path_factory.mktemp("origin") / "reglint")  # `git clone` names the copy `reglint`
    shutil.copytree(FIXTURES, repo / "fixtures")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t.invalid", "-c", "commit.gpgsign=false"]
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "snapshot"]):
        subprocess.run([*git, *args], cwd=repo, check=True, capture_output=True, timeout=60)
    return repo


def local(text: str, repo: Path) -> str:
    """The docs' text with the repository URL pointing at the local snapshot."""
    # `file://localhost/...`: the pip a fresh venv gets rejects a file URL without a host.
    return text.replace(f"git+{REPOSITORY}", f"git+file://localhost{repo.as_posix()}").replace(REPOSITORY, str(repo))


def fresh_venv(where: Path) -> dict[str, str]:
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True, capture_output=True, timeout=300)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = os.pathsep.join([str(where / "bin"), *(p for p in env["PATH"].split(os.pathsep) if ".venv" not in p)])
    env["VIRTUAL_ENV"] = str(where)
    return env


def install_lines() -> list[tuple[Path, str]]:
    out = []
    for block in blocks("sh"):
        for line in block.text.splitlines():
            command = line.split("  #")[0].strip()
            if ("pip install" in command or "git clone" in command) and REPOSITORY in command:
                out.append((block.path, command))
    return out


INSTALLS = install_lines()


def test_install_commands_are_documented() -> None:
    assert {p.name for p, _ in INSTALLS} >= {"README.md", "integrations.md"}


@pytest.mark.network
@pytest.mark.slow
@pytest.mark.parametrize("path,command", INSTALLS, ids=[f"{p.name}:{c[:60]}" for p, c in INSTALLS])
def test_install_commands_work(path: Path, command: str, repository: Path, tmp_path: Path) -> None:
    if "[audit]" in command:
        pytest.skip("the audit extra downloads torch (gigabytes); the same URL form is installed without it")
    env = fresh_venv(tmp_path / "venv")
    proc = shell(local(command, repository), tmp_path, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    bad = tmp_path / "bad.py"
    bad.write_text((FIXTURES / "demo" / "train.py").read_text(encoding="utf-8"), encoding="utf-8")
    check = shell("reglint check bad.py --no-cache", tmp_path, env=env)
    assert check.returncode == 1 and "RL201" in check.stdout, check.stdout + check.stderr
    if "flake8" in command:
        flake8 = shell("flake8 --select RL bad.py", tmp_path, env=env)
        assert flake8.returncode == 1 and " RL201 " in flake8.stdout, flake8.stdout + flake8.stderr


@pytest.mark.network
@pytest.mark.slow
def test_readme_try_it_command(repository: Path, tmp_path: Path) -> None:
    block = next(b for b in blocks("sh") if "pip install . && reglint check" in b.text)
    checkout = tmp_path / "checkout"
    subprocess.run(["git", "clone", "-q", str(repository), str(checkout)], check=True, capture_output=True, timeout=120)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if ".venv" not in p)
    proc = shell(block.text.strip(), checkout, env=env, timeout=600)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # "findings make the exit code 1"
    assert "fixtures/demo/train.py:" in proc.stdout


@pytest.mark.network
@pytest.mark.slow
def test_precommit_configuration_and_autoupdate(repository: Path, tmp_path: Path) -> None:
    pytest.importorskip("pre_commit")
    config = next(b for b in blocks("yaml") if ".pre-commit-config.yaml" in b.text)
    project = tmp_path / "project"
    project.mkdir()
    (project / "train.py").write_text((FIXTURES / "demo" / "train.py").read_text(encoding="utf-8"), encoding="utf-8")
    (project / ".pre-commit-config.yaml").write_text(local(config.text, repository), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRE_COMMIT", "GIT_"))}
    env["PRE_COMMIT_HOME"] = str(tmp_path / "home")
    git = "git -c user.name=t -c user.email=t@t.invalid"
    assert shell(f"{git} init -q && {git} add -A", project, env=env).returncode == 0
    precommit = f"{shlex.quote(sys.executable)} -m pre_commit"
    run = shell(f"{precommit} run --all-files --color never", project, env=env, timeout=600)
    assert run.returncode == 1 and "train.py:" in run.stdout, run.stdout + run.stderr
    update = shell(f"{precommit} autoupdate --color never", project, env=env, timeout=600)
    assert update.returncode == 0, update.stdout + update.stderr
    pinned = yaml.safe_load((project / ".pre-commit-config.yaml").read_text(encoding="utf-8"))["repos"][0]["rev"]
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repository, capture_output=True, text=True).stdout.strip()
    assert pinned == head  # no tag: autoupdate pins the latest commit, as the docs say
    trial = shell(f"{precommit} try-repo {shlex.quote(str(repository))} reglint --all-files --color never", project, env=env, timeout=600)
    assert trial.returncode == 1 and "train.py:" in trial.stdout, trial.stdout + trial.stderr

