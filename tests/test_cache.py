"""The result cache: reuse while nothing changed, a miss whenever anything did, and no way to break a run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from reglint import model
from reglint.cli import main
from reglint.engine import cache as cache_module
from reglint.engine import parallel
from reglint.engine.config import ConfigResolver, Overrides, Settings
from reglint.engine.session import CheckRun, check_paths
from reglint.model import Applicability, Finding, Fix, Severity

BAD = textwrap.dedent(
    """
    import torch
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    """
).lstrip()
WORSE = BAD + "reg = sum(torch.norm(p) for p in model.parameters())\nloss = loss + 1e-4 * reg\n"
CLEAN = "import os\nprint(os.getcwd())\n"


@pytest.fixture(autouse=True)
def trust_fresh_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files written by a test are seconds old; store their fingerprints anyway (see RACY_SECONDS)."""
    monkeypatch.setattr(parallel, "RACY_SECONDS", 0.0)


def _tree(tmp: Path) -> Path:
    src = tmp / "src"
    src.mkdir()
    for name, text in (("train.py", BAD), ("clean.py", CLEAN), ("other.py", WORSE)):
        (src / name).write_text(text, encoding="utf-8")
    return src


def _check(src: Path, cache_dir: Path | None, **options: object) -> CheckRun:
    return check_paths([src], Overrides(), ConfigResolver(isolated=True), jobs=1, cache_dir=cache_dir, **options)  # type: ignore[arg-type]


def _keys(run: CheckRun) -> list[dict[str, object]]:
    return [f.to_json() for f in run.findings]


def test_finding_json_round_trip() -> None:
    finding = Finding(
        code="RL102", name="unsquared-l2-norm", severity=Severity.WARNING, message="m", path="a.py",
        line=3, column=4, end_line=3, end_column=9, fix=Fix(Applicability.UNSAFE, "square it", "x ** 2"),
        param="layer.bias", data={"coefficient": 0.5}, cell=2,
    )
    data = json.loads(json.dumps(cache_module.finding_to_json(finding)))
    assert "a.py" not in json.dumps(data)
    assert cache_module.finding_from_json(data, "a.py") == finding
    Edit = getattr(model, "Edit", None)
    if Edit is not None:  # multi-edit fixes, where reglint.model has them
        edited = Fix(Applicability.SAFE, "d", "r", edits=(Edit(1, 1, 1, 2, "x"), Edit(3, 1, 3, 1, "import y\n")))  # type: ignore[call-arg]
        rich = Finding(code="RL201", name="n", severity=Severity.INFO, message="m", path="b.py", fix=edited)
        assert cache_module.finding_from_json(json.loads(json.dumps(cache_module.finding_to_json(rich))), "b.py") == rich


def test_only_model_classes_are_rebuilt() -> None:
    for planted in ({"$": "Popen", "f": {}}, {"$e": "Path", "v": "/"}, {"$": "Finding", "f": {"bogus": 1}}):
        with pytest.raises((ValueError, TypeError)):
            cache_module.finding_from_json(planted, "x.py")


def test_warm_run_reuses_without_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = _tree(tmp_path)
    cache_dir = tmp_path / "cache"
    cold = _check(src, cache_dir)
    assert cold.stats.cached == 0 and cold.findings
    assert (cache_dir / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")
    assert (cache_dir / ".gitignore").read_text().strip().endswith("*")

    def no_reading(*_: object) -> None:
        raise AssertionError("a warm run read a file")

    monkeypatch.setattr(parallel, "read_fingerprinted", no_reading)
    monkeypatch.setattr("reglint.engine.session.read_fingerprinted", no_reading)
    warm = _check(src, cache_dir)
    assert warm.stats.cached == 3 and warm.stats.analyzed == 0
    assert _keys(warm) == _keys(cold)
    assert warm.sources.keys() == cold.sources.keys()  # code frames are read again on demand


def test_edit_is_a_miss_and_touch_is_not(tmp_path: Path) -> None:
    src = _tree(tmp_path)
    cache_dir = tmp_path / "cache"
    _check(src, cache_dir)
    target = src / "clean.py"
    target.write_text(BAD, encoding="utf-8")  # same file, new content
    run = _check(src, cache_dir)
    assert run.stats.cached == 2 and run.stats.analyzed == 1
    assert any(f.path == str(target) for f in run.findings)
    os.utime(src / "train.py")  # new mtime, same bytes: hashed, not linted
    run = _check(src, cache_dir)
    assert run.stats.analyzed == 0 and run.stats.cached == 3


@pytest.mark.parametrize("racy_seconds", [2.0, 0.0])
def test_same_size_edit_within_the_same_second_is_seen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, racy_seconds: float) -> None:
    # With the racy window the fresh file's fingerprint is not stored; without it, ctime still differs.
    monkeypatch.setattr(parallel, "RACY_SECONDS", racy_seconds)
    src = tmp_path / "src"
    src.mkdir()
    target = src / "train.py"
    target.write_text(BAD, encoding="utf-8")
    cache_dir = tmp_path / "cache"
    first = _check(src, cache_dir)
    stamp = target.stat().st_mtime_ns
    target.write_text(BAD.replace("1e-4", "0.00"), encoding="utf-8")  # same length
    os.utime(target, ns=(stamp, stamp))  # and the same mtime
    second = _check(src, cache_dir)
    assert second.stats.analyzed == 1
    assert _keys(first) != _keys(second)


def test_settings_and_selection_key_the_cache(tmp_path: Path) -> None:
    src = _tree(tmp_path)
    cache_dir = tmp_path / "cache"
    _check(src, cache_dir)
    narrow = check_paths([src], Overrides(select=("RL201",)), ConfigResolver(isolated=True), jobs=1, cache_dir=cache_dir)
    assert narrow.stats.cached == 0
    assert {f.code for f in narrow.findings} == {"RL201"}
    assert _check(src, cache_dir, prefilter=False).stats.cached == 0
    base = Settings()
    variants = [
        Settings(select=("RL1",)), Settings(ignore=("RL101",)), Settings(extend_select=("RL900",)),
        Settings(per_file_ignores=(("a.py", ("RL101",)),)), Settings(rule_options={"RL204": {"coupled-max": 1.0}}),
        Settings(root=tmp_path),
    ]
    keys = {cache_module.settings_key(s, True) for s in [base, *variants]}
    assert len(keys) == len(variants) + 1
    assert cache_module.settings_key(Settings(fail_level=Severity.ERROR), True) == cache_module.settings_key(base, True)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "wrong-shape", "bad-finding"])
def test_damaged_cache_is_a_miss(tmp_path: Path, damage: str) -> None:
    src = _tree(tmp_path)
    cache_dir = tmp_path / "cache"
    cold = _check(src, cache_dir)
    (shard,) = list(cache_dir.glob("v2/*/*.json"))
    text = shard.read_text()
    if damage == "truncate":
        shard.write_text(text[: len(text) // 2])
    elif damage == "garbage":
        shard.write_bytes(b"\xff\x00not json")
    elif damage == "wrong-shape":
        data = json.loads(text)
        data["files"] = {k: "nonsense" for k in data["files"]}
        shard.write_text(json.dumps(data))
    else:
        data = json.loads(text)
        for entry in data["files"].values():
            entry[3] = [{"code": "RL201"}]  # no severity, no message
        shard.write_text(json.dumps(data))
    run = _check(src, cache_dir)
    assert _keys(run) == _keys(cold)
    assert run.stats.cached == 0
    assert _check(src, cache_dir).stats.cached == 3  # and it was rewritten whole


def test_cache_directory_may_vanish_or_be_unwritable(tmp_path: Path) -> None:
    src = _tree(tmp_path)
    cache_dir = tmp_path / "cache"
    cold = _check(src, cache_dir)
    import shutil

    shutil.rmtree(cache_dir)
    assert _keys(_check(src, cache_dir)) == _keys(cold)
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("")
    assert _keys(_check(src, blocked / "cache")) == _keys(cold)


def test_no_cache_flag_writes_nothing(tmp_path: Path) -> None:
    _tree(tmp_path)
    runner = CliRunner()
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = runner.invoke(main, ["check", "--isolated", "--no-cache", "-j", "1", "src"])
        assert not (tmp_path / ".reglint_cache").exists()
        result2 = runner.invoke(main, ["check", "--isolated", "-j", "1", "src"])
        assert (tmp_path / ".reglint_cache" / "CACHEDIR.TAG").exists()
        custom = runner.invoke(main, ["check", "--isolated", "-j", "1", "--cache-dir", "elsewhere", "src"])
        assert (tmp_path / "elsewhere" / "CACHEDIR.TAG").exists()
    finally:
        os.chdir(old)
    assert result.exit_code == result2.exit_code == custom.exit_code == 1
    assert result.output == result2.output == custom.output


def test_default_cache_dir_is_at_the_config_root(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.reglint]\nselect = ['RL2']\n")
    sub = tmp_path / "pkg" / "sub"
    sub.mkdir(parents=True)
    (sub / "train.py").write_text(BAD)
    old = os.getcwd()
    os.chdir(sub)
    try:
        result = CliRunner().invoke(main, ["check", "-j", "1", "train.py"])
    finally:
        os.chdir(old)
    assert result.exit_code == 1, result.output
    assert (tmp_path / ".reglint_cache" / "CACHEDIR.TAG").exists()
    assert not (sub / ".reglint_cache").exists()


_RUN_TWICE = """
import sys
from pathlib import Path
from reglint.engine.config import ConfigResolver, Overrides
from reglint.engine.session import check_paths
run = check_paths([Path(sys.argv[1])], Overrides(), ConfigResolver(isolated=True), jobs=1, cache_dir=Path(sys.argv[2]))
print(run.stats.cached, len(run.findings), "libcst" in sys.modules)
"""


def test_concurrent_runs_and_a_warm_run_without_libcst(tmp_path: Path) -> None:
    src = _tree(tmp_path)
    for i in range(20):
        (src / f"copy{i}.py").write_text(WORSE if i % 2 else CLEAN, encoding="utf-8")
    time.sleep(parallel.RACY_SECONDS + 2.05)  # the subprocesses keep the real racy window
    cache_dir = tmp_path / "cache"
    command = [sys.executable, "-c", _RUN_TWICE, str(src), str(cache_dir)]
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(4)]
    outputs = [p.communicate(timeout=300)[0].split() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert len({o[1] for o in outputs}) == 1
    warm = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True).stdout.split()
    assert warm == ["23", outputs[0][1], "False"]
