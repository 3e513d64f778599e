"""Worker processes: what they receive pickles, and any --jobs gives the same results in the same order."""

from __future__ import annotations

import json
import os
import pickle
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import FIXTURES, all_static_codes

from reglint.cli import main
from reglint.engine import parallel
from reglint.engine.config import ConfigResolver, Overrides, Settings, parse_table
from reglint.engine.parallel import Config, Job, run_jobs
from reglint.engine.session import check_paths

SCRIPTS = sorted(str(p) for p in FIXTURES.rglob("*.py") if "audit" not in p.relative_to(FIXTURES).parts)


def _configs() -> list[Config]:
    settings = parse_table({"RL204": {"coupled-max": 0.5}, "per-file-ignores": {"x.py": ["RL101"]}}, FIXTURES / "pyproject.toml")
    return [Config(Settings(), all_static_codes()), Config(settings, all_static_codes(), prefilter=False)]


def test_settings_and_configs_pickle() -> None:
    for config in _configs():
        clone = pickle.loads(pickle.dumps(config))
        assert clone == config
        assert clone.settings.option("RL204", "coupled-max") == config.settings.option("RL204", "coupled-max")


def _jobs(paths: list[str]) -> list[Job]:
    return [Job(i, p, p, i % 2, os.path.getsize(p)) for i, p in enumerate(paths)]


def _summary(outcomes: list[parallel.Outcome]) -> list[tuple[int, str, list[dict[str, object]]]]:
    return [(o.index, o.path, [f.to_json() for f in o.findings]) for o in outcomes]


def test_workers_match_in_process() -> None:
    jobs = _jobs(SCRIPTS)
    serial = run_jobs(jobs, _configs(), workers=1)
    fanned = run_jobs(jobs, _configs(), workers=2)
    assert [o.index for o in fanned] == list(range(len(jobs)))
    assert _summary(serial) == _summary(fanned)
    assert any(o.findings for o in serial)


def test_spawned_workers_register_the_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    # A spawned interpreter starts with an empty rule registry: the initializer must fill it.
    import multiprocessing

    monkeypatch.setattr(parallel, "_context", lambda: multiprocessing.get_context("spawn"))
    jobs = _jobs(SCRIPTS[:12])
    assert _summary(run_jobs(jobs, _configs(), workers=2)) == _summary(run_jobs(jobs, _configs(), workers=1))


def test_chunks_cover_every_job_once() -> None:
    jobs = [Job(i, f"f{i}", f"f{i}", 0, size) for i, size in enumerate([5, 1, 9, 3, 3, 0, 7] * 20)]
    chunks = parallel._chunks(jobs, 2)
    flat = [j.index for chunk in chunks for j in chunk]
    assert sorted(flat) == list(range(len(jobs)))
    assert chunks[0][0].size == 9  # largest first


def test_check_paths_same_for_any_jobs() -> None:
    resolver = ConfigResolver(isolated=True)
    runs = [check_paths([FIXTURES], Overrides(select=("ALL",)), resolver, jobs=jobs) for jobs in (1, 2, 3)]
    keys = [[f.to_json() for f in run.findings] for run in runs]
    assert keys[0] == keys[1] == keys[2]
    assert [r.path for r in runs[0].results] == [r.path for r in runs[1].results]


def test_need_modules_gives_full_results_for_files_with_findings() -> None:
    resolver = ConfigResolver(isolated=True)
    run = check_paths([FIXTURES], Overrides(), resolver, jobs=2, need_modules=True)
    with_findings = [r for r in run.results if r.findings and r.path.endswith(".py")]
    assert with_findings
    assert all(r.module is not None and r.reports for r in with_findings if any(f.code != "RL000" for f in r.findings))


def test_cli_jobs_option(tmp_path: Path) -> None:
    outputs = []
    for jobs in ("1", "2"):
        result = CliRunner().invoke(main, ["check", "--isolated", "--no-cache", "-j", jobs, "--format", "json", str(FIXTURES)])
        assert result.exit_code == 1, result.output
        outputs.append(json.loads(result.output)["findings"])
    assert outputs[0] == outputs[1]


def test_unreadable_file_reported_like_in_process(tmp_path: Path) -> None:
    missing = tmp_path / "gone.py"
    config = Config(replace(Settings()), all_static_codes())
    outcome = parallel.lint_job(Job(0, str(missing), str(missing), 0), config)
    assert [f.code for f in outcome.findings] == ["RL000"]
    assert outcome.digest is None


def test_internal_error_is_reported_with_exit_2_and_not_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug in reglint met on one file (an exception in the analysis) is reported on stderr with
    exit code 2, in a worker or in-process, and never cached as a clean result."""
    import reglint.engine.runner as runner

    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("analysis bug")

    monkeypatch.setattr(runner, "analyze_module", broken)
    for index in range(10):
        (tmp_path / f"train_{index}.py").write_text(
            "import torch\nreg = sum(p.abs().sum() for p in model.parameters())\nloss = crit(out, y) + reg\n"
        )
    cache = tmp_path / "cache"
    for jobs in ("1", "2"):
        result = CliRunner().invoke(main, ["check", str(tmp_path), "-j", jobs, "--cache-dir", str(cache)])
        assert result.exit_code == 2, (jobs, result.output)
        assert "internal error on" in result.output and "ZeroDivisionError: analysis bug" in result.output


BAD_OPTIMIZER = "import torch\nopt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)\n"


def _dies_on(monkeypatch: pytest.MonkeyPatch, name: str, how: str = "exit") -> None:
    """Workers (forked, so they inherit the patch) die on the file called `name`."""
    import signal

    real = parallel.lint_job

    def dies_on_one_file(job: parallel.Job, config: parallel.Config) -> parallel.Outcome:
        if job.display.endswith(name):
            if how == "segfault":
                os.kill(os.getpid(), signal.SIGSEGV)  # as libcst's native parser did on deep nesting
            os._exit(9)  # as the OOM killer would end it
        return real(job, config)

    monkeypatch.setattr(parallel, "lint_job", dies_on_one_file)


@pytest.mark.parametrize("how", ["exit", "segfault"])
def test_a_worker_that_dies_costs_only_its_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    """One file that kills its worker: every other file keeps its findings, the one file is an
    internal error (exit code 2) that names it and how the process died."""
    _dies_on(monkeypatch, "crash.py", how)
    for index in range(12):
        (tmp_path / f"ok_{index:02}.py").write_text(BAD_OPTIMIZER)
    (tmp_path / "crash.py").write_text(BAD_OPTIMIZER)
    result = CliRunner().invoke(main, ["check", str(tmp_path), "-j", "2", "--no-cache", "--format", "json"])
    assert result.exit_code == 2, result.output
    assert "internal error on" in result.output and "crash.py" in result.output
    assert ("SIGSEGV" if how == "segfault" else "exit code 9") in result.output
    document = json.loads(result.stdout)
    paths = {Path(f["path"]).name for f in document["findings"] if f["code"] == "RL201"}
    assert paths == {f"ok_{index:02}.py" for index in range(12)}


def test_run_jobs_reruns_the_files_a_dead_worker_left(monkeypatch: pytest.MonkeyPatch) -> None:
    """The outcomes of every other job equal those of a run without the crash, in job order."""
    jobs = _jobs(SCRIPTS[:20])
    clean = run_jobs(jobs, _configs(), workers=1)
    victim = jobs[3].display
    _dies_on(monkeypatch, victim)
    outcomes = run_jobs(jobs, _configs(), workers=2)
    assert [o.index for o in outcomes] == list(range(len(jobs)))
    assert outcomes[3].internal_error and "exit code 9" in outcomes[3].internal_error
    assert _summary(outcomes[:3] + outcomes[4:]) == _summary(clean[:3] + clean[4:])
