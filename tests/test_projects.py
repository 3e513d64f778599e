"""Training setups split over files: fixtures/projects/NAME/ with `# expect:` markers in each file.

A project is linted three ways, which must all give the markers: the whole directory (as `reglint
check .`), with and without the prefilter; and each file alone (as pre-commit passes the changed
files), which still reads its neighbours. The cache must notice when a module a file read changes.
"""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import FIXTURES, expected

from reglint.cli import main

PROJECTS = sorted(p for p in (FIXTURES / "projects").iterdir() if p.is_dir())


def _markers(project: Path) -> set[tuple[str, str, int]]:
    out = set()
    for path in sorted(project.rglob("*.py")):
        for code, line in expected(path.read_text(encoding="utf-8")):
            out.add((path.relative_to(project).as_posix(), code, line))
    return out


def _check(paths: list[str], *flags: str, cwd: Path) -> set[tuple[str, str, int]]:
    result = CliRunner().invoke(
        main,
        ["check", "--isolated", "--format", "json", "--select", "ALL", "--exit-zero", *flags, *paths],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    found = set()
    for finding in json.loads(result.output)["findings"]:
        relative = Path(finding["path"]).resolve().relative_to(cwd.resolve()).as_posix()
        found.add((relative, finding["code"], finding["line"]))
    return found


def test_there_are_projects() -> None:
    assert len(PROJECTS) >= 6


@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: p.name)
@pytest.mark.parametrize("flags", [(), ("--no-prefilter",), ("--jobs", "2")], ids=["default", "no-prefilter", "jobs2"])
def test_whole_project(project: Path, flags: tuple[str, ...]) -> None:
    found = _check([str(project)], "--no-cache", *flags, cwd=project)
    want = _markers(project)
    assert found == want, f"missing: {sorted(want - found)}\nunexpected: {sorted(found - want)}"


@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: p.name)
def test_each_file_alone_reads_its_neighbours(project: Path) -> None:
    want = _markers(project)
    for path in sorted(project.rglob("*.py")):
        name = path.relative_to(project).as_posix()
        found = _check([str(path)], "--no-cache", cwd=project)
        mine = {entry for entry in want if entry[0] == name}
        assert found == mine, f"{name}: missing {sorted(mine - found)}, unexpected {sorted(found - mine)}"


def test_cached_findings_follow_the_modules_a_file_read(tmp_path: Path) -> None:
    project = tmp_path / "config_class_decay"
    shutil.copytree(FIXTURES / "projects" / "config_class_decay", project)
    cache = ["--cache-dir", str(tmp_path / "cache")]
    first = _check([str(project)], *cache, cwd=project)
    assert ("main.py", "RL204", 13) in first
    assert _check([str(project)], *cache, cwd=project) == first  # warm, nothing changed
    config = project / "config.py"
    config.write_text(config.read_text().replace("weight_decay = 0.05", "weight_decay = 0.001"))
    after = _check([str(project)], *cache, cwd=project)
    assert ("main.py", "RL204", 13) not in after
    assert ("main.py", "RL201", 13) in after


def test_a_training_script_that_only_calls_an_imported_helper_is_not_ruled_out(tmp_path: Path) -> None:
    (tmp_path / "setup.cfg").write_text("[metadata]\nname = probe\n")
    (tmp_path / "penalties.py").write_text(
        textwrap.dedent(
            """
            def total(model):
                return sum(p.pow(2).sum() for p in model.parameters())
            """
        )
    )
    # Nothing in the script's own text is a parameter source or a penalty term.
    (tmp_path / "run.py").write_text(
        textwrap.dedent(
            """
            import torch
            from penalties import total

            def step(model, params, batch):
                opt = torch.optim.SGD(params, lr=0.1)
                loss = model(batch).mean() + 1e-4 * total(model)
                loss.backward()
                opt.step()
            """
        )
    )
    with_prefilter = _check([str(tmp_path / "run.py")], "--no-cache", cwd=tmp_path)
    without = _check([str(tmp_path / "run.py")], "--no-cache", "--no-prefilter", cwd=tmp_path)
    assert with_prefilter == without == {("run.py", "RL101", 7)}


def test_a_module_that_does_not_train_takes_values_not_code(tmp_path: Path) -> None:
    (tmp_path / "setup.cfg").write_text("[metadata]\nname = probe\n")
    (tmp_path / "helpers.py").write_text("def total(model):\n    return sum(p.pow(2).sum() for p in model.parameters())\n")
    # No optimizer constructed here: the helper's penalty is not this module's to report.
    (tmp_path / "report.py").write_text("from helpers import total\n\ndef describe(model):\n    l2_loss = total(model)\n    return l2_loss\n")
    assert _check([str(tmp_path / "report.py")], "--no-cache", cwd=tmp_path) == set()
    assert _check([str(tmp_path / "report.py")], "--no-cache", "--no-prefilter", cwd=tmp_path) == set()


@pytest.mark.parametrize(
    ("code", "wires"),
    [
        ("optimizer = build_optimizer(model)\ntrain_one_epoch(model, optimizer, reg)\n", True),
        ("opt=build_optimizer(model)\n", True),
        ("g_optim = build_optimizer(model)\n", True),
        # No optimizer held and no backward(): a report, an evaluation, a library's module.
        ("adopt = 3\ncan_optimize = True\nx: Optional[int] = None\n", False),
        ("if optimizer == other:\n    pass\n", False),
        # A subclass of the project's trainer (engine.py calls backward()) runs the base's code.
        ("import engine\nclass Finetune(engine.Trainer):\n    def compute_loss(self, m):\n        return l2_penalty(m)\n", True),
        ("import engine\nclass Finetune(Mixin, engine.BaseTrainer, object):\n    reg_weight = 1e-4\n", True),
        # One that adds no penalty (its code names none; a comment does not count).
        ("import engine\nclass Generating(engine.Trainer):  # see #L1183\n    pass\n", False),
        # A subclass of a trainer of a module that does not train, of a class not named like a
        # trainer, or in a comment.
        ("import factory\nclass Probe(factory.Trainer):\n    pass\n", False),
        ("import engine\nclass Probe(engine.Model):\n    pass\n", False),
        ("import engine\n# class Finetune(engine.Trainer):\n", False),
    ],
)
def test_a_module_wiring_a_run_from_project_modules_runs_their_code(tmp_path: Path, code: str, wires: bool) -> None:
    from reglint.analysis.project import reads_project_code

    (tmp_path / "setup.cfg").write_text("[metadata]\nname = probe\n")
    (tmp_path / "factory.py").write_text("import torch\n\ndef build_optimizer(model):\n    return torch.optim.Adam(model.parameters())\n")
    (tmp_path / "engine.py").write_text("def train_one_epoch(model, optimizer, reg):\n    reg(model).backward()\n    optimizer.step()\n")
    text = "from factory import build_optimizer\nfrom engine import train_one_epoch\n" + code
    (tmp_path / "run.py").write_text(text)
    assert reads_project_code(text, tmp_path / "run.py")[0] is wires


def test_messages_name_the_other_file() -> None:
    project = FIXTURES / "projects" / "optimizer_factory"
    result = CliRunner().invoke(main, ["check", "--isolated", "--no-cache", "--format", "json", str(project / "train.py")])
    messages = [f["message"] for f in json.loads(result.output)["findings"] if f["code"] == "RL203"]
    assert messages and all("SGD" in message and "(utils.py:7)" in message for message in messages), messages


@pytest.mark.parametrize(
    ("imports", "runs"),
    [
        ("from losses import l2_regularization\n", True),  # a helper named like a penalty
        ("import regularizers as regs\n", True),
        ("from losses import token_nll\n", False),  # a loss helper: the step's own text decides
    ],
)
def test_a_step_given_its_optimizer_runs_the_penalty_helpers_it_imports(tmp_path: Path, imports: str, runs: bool) -> None:
    from reglint.analysis.project import reads_project_code

    (tmp_path / "setup.cfg").write_text("[metadata]\nname = probe\n")
    (tmp_path / "losses.py").write_text("def l2_regularization(ps):\n    return sum(p.pow(2).sum() for p in ps)\n\ndef token_nll(x):\n    return x.mean()\n")
    (tmp_path / "regularizers.py").write_text("def l2(ps):\n    return sum(p.pow(2).sum() for p in ps)\n")
    text = imports + "\ndef step(model, batch, optimizer):\n    loss = model(batch).mean()\n    loss.backward()\n    optimizer.step()\n"
    (tmp_path / "engine.py").write_text(text)
    follows, consulted = reads_project_code(text, tmp_path / "engine.py")
    assert follows is runs
    if runs:
        assert consulted  # the helper modules read: the answer holds while they are unchanged


def test_the_trainer_follows_the_script_that_wires_it(tmp_path: Path) -> None:
    """engine.py's findings come from train.py's code: the cache notices when the script changes."""
    project = tmp_path / "engine_adds_the_models_penalty"
    shutil.copytree(FIXTURES / "projects" / "engine_adds_the_models_penalty", project)
    cache = ["--cache-dir", str(tmp_path / "cache")]
    first = _check([str(project)], *cache, cwd=project)
    assert {("engine.py", "RL203", 18), ("engine.py", "RL206", 18)} <= first
    script = project / "train.py"
    script.write_text(script.read_text().replace("torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.05)", "torch.optim.SGD(model.parameters(), lr=args.lr)"))
    after = _check([str(project)], *cache, cwd=project)
    assert not {entry for entry in after if entry[0] == "engine.py"}


def test_tests_and_scripts_elsewhere_do_not_wire_a_trainer(tmp_path: Path) -> None:
    """A test that builds the trainer with a decaying Adam is not a script of the project; a script
    in tools/ is (mmdetection's layout), and one in an unrelated folder is not looked for."""
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "engine.py").write_text(textwrap.dedent(
        """
        import torch.nn.functional as F


        class Engine:
            def __init__(self, model, optimizer):
                self.model = model
                self.optimizer = optimizer

            def step(self, x, y):
                loss = F.mse_loss(self.model(x), y) + 1e-4 * self.model.l2_penalty()
                self.optimizer.zero_grad()
                loss.backward()
                self.optimizer.step()
        """
    ))
    (tmp_path / "model.py").write_text(textwrap.dedent(
        """
        import torch.nn as nn


        class Net(nn.Linear):
            def l2_penalty(self):
                return self.weight.pow(2).sum()
        """
    ))
    wiring = textwrap.dedent(
        """
        import torch

        from engine import Engine
        from model import Net


        def run(x, y):
            model = Net(4, 1)
            engine = Engine(model, torch.optim.Adam(model.parameters(), lr=1e-3))
            engine.step(x, y)
        """
    )
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_engine.py").write_text(wiring)
    (tmp_path / "test_engine.py").write_text(wiring)
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "train.py").write_text(wiring)
    with_tools = tmp_path.parent / (tmp_path.name + "_tools")
    shutil.copytree(tmp_path, with_tools)
    (with_tools / "tools").mkdir()
    (with_tools / "tools" / "train.py").write_text(wiring)
    assert not _check([str(tmp_path / "engine.py")], "--no-cache", cwd=tmp_path)
    assert _check([str(with_tools / "engine.py")], "--no-cache", cwd=with_tools) == {("engine.py", "RL206", 11)}
