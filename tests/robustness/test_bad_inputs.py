"""Bad inputs, each with a clear result, through the real CLI in a subprocess (`python -m reglint`):
exit code, message, and never a traceback. Every run has a timeout, so a hang is a failure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

BAD = textwrap.dedent(
    """
    import torch
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    """
).lstrip()


def reglint(args: list[str], cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    try:
        return subprocess.run(
            [sys.executable, "-m", "reglint", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout,
            env=env,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"`reglint {' '.join(args)}` did not finish within {timeout}s")


def no_traceback(proc: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr


def report(proc: subprocess.CompletedProcess[str]) -> dict:
    no_traceback(proc)
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"not a JSON report (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}") from None


def check_json(paths: list[str], cwd: Path, *extra: str, timeout: float = 60) -> tuple[int, dict]:
    proc = reglint(["check", *paths, "--format", "json", "--no-cache", *extra], cwd, timeout)
    return proc.returncode, report(proc)


def test_missing_path_exit_2_names_it(tmp_path: Path) -> None:
    (tmp_path / "real.py").write_text(BAD)
    proc = reglint(["check", "real.py", "does/not/exist.py"], tmp_path)
    assert proc.returncode == 2
    assert "does/not/exist.py" in proc.stdout + proc.stderr
    no_traceback(proc)


def test_directory_without_python_files(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "README.md").write_text("# readme\n")
    (tmp_path / "data" / "weights.bin").write_bytes(b"\x00" * 64)
    (tmp_path / "data" / "train.py.orig").write_text(BAD)
    proc = reglint(["check", "data", "--no-cache"], tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 files" in proc.stdout
    no_traceback(proc)
    code, doc = check_json(["data"], tmp_path)
    assert code == 0 and doc["summary"]["files_checked"] == 0 and doc["findings"] == []


@pytest.mark.parametrize("content", [b"", b"\n", b"   \n\n\t\n", b"# only a comment", b"\xef\xbb\xbf", b"\\\n"])
def test_empty_and_blank_files(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "empty.py").write_bytes(content)
    code, doc = check_json(["empty.py"], tmp_path)
    python_ok = True
    try:
        compile(content, "empty.py", "exec")
    except SyntaxError:
        python_ok = False
    assert doc["summary"]["files_checked"] == 1
    assert code == 0 and doc["findings"] == []  # not Python (`\` at the end) is not parsed: no training code
    # A syntax check of every file (RL000 alone) reports what CPython rejects.
    code, doc = check_json(["empty.py", "--select", "RL000"], tmp_path)
    if python_ok:
        assert code == 0 and doc["findings"] == []
    else:
        assert code == 1 and [f["code"] for f in doc["findings"]] == ["RL000"]


@pytest.mark.parametrize(
    "content",
    [
        bytes(range(256)),
        b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 100,
        b"PK\x03\x04" + os.urandom(200).replace(b"\n", b"") + b"\n",
        b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR",
        b"\x1f\x8b\x08\x00" + b"\xff" * 50,
    ],
    ids=["all-bytes", "elf", "zip", "png", "gzip"],
)
def test_binary_file_named_py(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "blob.py").write_bytes(content)
    (tmp_path / "train.py").write_text(BAD)
    code, doc = check_json(["."], tmp_path)
    assert code == 1
    by_path: dict[str, list[dict]] = {}
    for f in doc["findings"]:
        by_path.setdefault(f["path"], []).append(f)
    assert [f["code"] for f in by_path["blob.py"]] == ["RL000"]
    finding = by_path["blob.py"][0]
    assert finding["line"] >= 1 and finding["column"] >= 1
    assert "RL201" in {f["code"] for f in by_path["train.py"]}, "the run must continue with the other files"
    assert doc["summary"]["files_checked"] == 2


def test_non_utf8_without_cookie(tmp_path: Path) -> None:
    (tmp_path / "latin.py").write_bytes(b"import torch\n\n# caf\xe9\nx = 1\n")
    code, doc = check_json(["latin.py"], tmp_path)
    assert code == 1
    (finding,) = doc["findings"]
    assert finding["code"] == "RL000" and finding["line"] == 3
    assert "utf-8" in finding["message"].lower()


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252", "iso-8859-15", "utf-16"])
def test_non_utf8_with_coding_cookie_is_linted(tmp_path: Path, encoding: str) -> None:
    source = f"# -*- coding: {encoding} -*-\n# caf\u00e9 na\u00efve\n" + BAD
    if encoding == "utf-16":
        # A UTF-16 file cannot carry a cookie CPython reads (the cookie line itself is not ASCII
        # bytes); CPython rejects it, so must reglint: one RL000.
        (tmp_path / "enc.py").write_bytes(source.encode("utf-16"))
        code, doc = check_json(["enc.py"], tmp_path)
        assert code == 1 and [f["code"] for f in doc["findings"]] == ["RL000"]
        return
    (tmp_path / "enc.py").write_bytes(source.encode(encoding))
    code, doc = check_json(["enc.py"], tmp_path)
    assert code == 1
    assert {f["code"] for f in doc["findings"]} == {"RL201", "RL202"}
    assert {f["line"] for f in doc["findings"]} == {4}


def test_wrong_or_unknown_coding_cookie(tmp_path: Path) -> None:
    (tmp_path / "lies.py").write_bytes(b"# -*- coding: utf-8 -*-\nx = '\xe9'\n")
    (tmp_path / "unknown.py").write_bytes(b"# -*- coding: klingon -*-\nx = 1\n")
    code, doc = check_json(["."], tmp_path)
    assert code == 1
    found = {f["path"]: f for f in doc["findings"]}
    assert set(found) == {"lies.py", "unknown.py"}
    assert all(f["code"] == "RL000" for f in found.values())
    assert found["lies.py"]["line"] == 2


def _big_source(lines: int) -> str:
    """A realistic 50,000-line file: many training steps (some with findings) between plain code."""
    step = textwrap.dedent(
        """
        def step_{i}(model, x, y, optimizer):
            out = model(x)
            loss = criterion(out, y)
            reg = sum(p.pow(2).sum() for p in model.parameters())
            loss = loss + 1e-4 * reg
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            return loss.item()

        """
    )
    filler = textwrap.dedent(
        """
        def helper_{i}(values):
            total = 0
            for v in values:
                if v % 3 == 0:
                    total += v * {i}
                elif v % 5 == 0:
                    total -= v
            return {{"total": total, "name": "helper_{i}", "items": [1, 2, 3]}}

        """
    )
    out = ["import torch", "import torch.nn as nn", "criterion = nn.CrossEntropyLoss()", ""]
    count = len(out)
    i = 0
    while count < lines:
        block = (step if i % 10 == 0 else filler).format(i=i)
        out.append(block)
        count += block.count("\n")
        i += 1
    return "".join(line if line.endswith("\n") else line + "\n" for line in out)


def test_fifty_thousand_line_file_bounded_time_and_memory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = _big_source(50_000)
    nlines = source.count("\n")
    assert nlines >= 50_000
    (tmp_path / "huge.py").write_text(source)
    expected_steps = source.count("def step_")
    # Measure in a wrapper process so that the peak RSS is this run's alone.
    wrapper = textwrap.dedent(
        """
        import resource, subprocess, sys, time, json
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "reglint", "check", "huge.py", "--format", "json", "--no-cache"],
                              capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        print(json.dumps({"rc": proc.returncode, "elapsed": elapsed, "peak_kb": peak,
                           "stdout": proc.stdout, "stderr": proc.stderr[-2000:]}))
        """
    )
    try:
        proc = subprocess.run([sys.executable, "-c", wrapper], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        pytest.fail("a 50,000-line file took more than 300s")
    result = json.loads(proc.stdout)
    with capsys.disabled():
        print(
            f"\n[robustness] {nlines}-line file ({len(source) // 1024} KiB, {expected_steps} training steps): "
            f"{result['elapsed']:.1f}s wall, peak RSS {result['peak_kb'] / 1024:.0f} MiB"
        )
    assert "Traceback" not in result["stderr"], result["stderr"]
    assert result["rc"] == 1, result["stderr"]
    doc = json.loads(result["stdout"])
    codes = [f["code"] for f in doc["findings"]]
    assert codes.count("RL101") == expected_steps, "every step's unfiltered penalty is reported"
    # Bounded, not tight: a pre-commit hook on a generated file must not take minutes or gigabytes.
    assert result["peak_kb"] < 4 * 1024 * 1024, "more than 4 GiB for a 50,000-line file"


def test_symlink_loop_terminates(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "train.py").write_text(BAD)
    (pkg / "sub" / "more.py").write_text(BAD)
    os.symlink("..", pkg / "sub" / "up")  # pkg/sub/up -> pkg: a loop
    os.symlink(".", pkg / "self")  # pkg/self -> pkg
    os.symlink("a.py", pkg / "b.py")  # b.py -> a.py -> b.py: a file symlink loop
    os.symlink("b.py", pkg / "a.py")
    os.symlink("nowhere.py", pkg / "dangling.py")
    for target in (["pkg"], ["pkg/sub/up"], ["pkg/self/sub/up/self"]):
        code, doc = check_json(target, tmp_path, timeout=60)
        assert code == 1, (target, doc)
        paths = [f["path"] for f in doc["findings"] if f["code"] == "RL201"]
        assert len(paths) == len(set(paths)) == 2, (target, paths)


def test_symlink_loop_named_explicitly(tmp_path: Path) -> None:
    os.symlink("loop.py", tmp_path / "loop.py")
    proc = reglint(["check", "loop.py", "--no-cache"], tmp_path, timeout=60)
    no_traceback(proc)
    assert proc.returncode in (1, 2), proc.stdout + proc.stderr
    assert "loop.py" in proc.stdout + proc.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
def test_named_pipe_called_py_does_not_hang(tmp_path: Path) -> None:
    """A FIFO named *.py in the tree (nobody writes to it): reading it would block forever."""
    os.mkfifo(tmp_path / "pipe.py")
    (tmp_path / "train.py").write_text(BAD)
    code, doc = check_json(["."], tmp_path, timeout=15)
    assert code == 1 and "RL201" in {f["code"] for f in doc["findings"]}


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can read a chmod 000 file")
def test_unreadable_file(tmp_path: Path) -> None:
    locked = tmp_path / "locked.py"
    locked.write_text(BAD)
    (tmp_path / "train.py").write_text(BAD)
    locked.chmod(0)
    try:
        proc = reglint(["check", ".", "--format", "json", "--no-cache"], tmp_path)
    finally:
        locked.chmod(0o644)
    no_traceback(proc)
    assert proc.returncode in (1, 2)
    assert "locked.py" in proc.stdout + proc.stderr
    if proc.stdout.strip():
        doc = json.loads(proc.stdout)
        assert "RL201" in {f["code"] for f in doc["findings"] if f["path"] == "train.py"}, "the run continues"


@pytest.mark.parametrize(
    "content",
    [
        b"[tool.reglint\nselect = 1",
        b"[tool.reglint]\nselect = [\"RL1\"\n",
        b"\xff\xfe[tool.reglint]\n",
        b"[tool.reglint]\nselect = [\"RL1\"]\nselect = [\"RL2\"]\n",
        b"[tool.reglint]\nfail-level = 3\n",
        b"[tool.reglint]\nselect = [\"RL999\"]\n",
        b"[tool]\nreglint = 3\n",
        b"[tool.reglint]\nexclude = [1]\n",
        b"\x00\x00\x00",
    ],
    ids=["unclosed-table", "unclosed-array", "not-utf8", "duplicate-key", "wrong-type", "unknown-code", "not-a-table",
         "bad-exclude", "nul-bytes"],
)
def test_broken_pyproject_exit_2_without_traceback(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "pyproject.toml").write_bytes(content)
    (tmp_path / "train.py").write_text(BAD)
    proc = reglint(["check", "train.py", "--no-cache"], tmp_path)
    no_traceback(proc)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "pyproject.toml" in proc.stdout + proc.stderr


@pytest.mark.parametrize("args", [["--select", "RL999"], ["--select", "XYZ"], ["--ignore", "RL1O1"], ["--extend-select", "RL9999"]])
def test_unknown_codes_in_options_exit_2(tmp_path: Path, args: list[str]) -> None:
    (tmp_path / "train.py").write_text(BAD)
    proc = reglint(["check", "train.py", "--no-cache", *args], tmp_path)
    no_traceback(proc)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    if args[1]:
        assert args[1] in proc.stdout + proc.stderr


NOTEBOOK_OK = {
    "cells": [{"cell_type": "code", "source": ["import torch\n", "x = 1\n"], "metadata": {}, "outputs": []}],
    "metadata": {},
    "nbformat": 4,
    "nbformat_minor": 5,
}


@pytest.mark.parametrize(
    "content",
    [
        b'{"cells": [',
        b"",
        b"not json at all",
        b"\xff\xfe\x00\x00",
        b"[1, 2, 3]",
        b'{"cells": 3}',
        b'{"cells": [{"cell_type": "code", "source": ["def f(:\\n"]}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}',
    ],
    ids=["truncated-json", "empty", "text", "binary", "json-list", "cells-not-list", "cell-syntax-error"],
)
def test_notebook_with_invalid_content_gives_rl000(tmp_path: Path, content: bytes) -> None:
    if not (Path(__file__).resolve().parents[2] / "reglint" / "engine" / "notebook.py").exists():
        pytest.xfail("notebook support (reglint/engine/notebook.py) not there yet")
    (tmp_path / "nb.ipynb").write_bytes(content)
    (tmp_path / "good.ipynb").write_text(json.dumps(NOTEBOOK_OK))
    (tmp_path / "train.py").write_text(BAD)
    code, doc = check_json(["."], tmp_path)
    assert code == 1
    nb = [f for f in doc["findings"] if f["path"] == "nb.ipynb"]
    assert [f["code"] for f in nb] == ["RL000"], doc["findings"]
    assert nb[0]["line"] >= 1 and nb[0]["column"] >= 1
    assert not [f for f in doc["findings"] if f["path"] == "good.ipynb"]
    assert "RL201" in {f["code"] for f in doc["findings"] if f["path"] == "train.py"}
    assert doc["summary"]["files_checked"] == 3


def test_mixed_tabs_and_spaces_cpython_accepts(tmp_path: Path) -> None:
    """CPython accepts this indentation (a tab then spaces, consistent at tab sizes 1 and 8);
    libcst's tokenizer rejects it ("no matching outer block for dedent"), so reglint reports a
    false RL000 and does not lint a file Python runs. Found by test_mutations' mixed-indent."""
    source = (
        "import torch\n"
        "def f():\n"
        "            a = 1\n"
        "def penalty(model):\n"
        "    for p in model.parameters():\n"
        "\t        reg = p.pow(2).sum()\n"
        "    return reg\n"
        "opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)\n"
    )
    compile(source, "tabs.py", "exec")  # CPython: fine
    (tmp_path / "tabs.py").write_text(source)
    code, doc = check_json(["tabs.py"], tmp_path)
    assert "RL000" not in {f["code"] for f in doc["findings"]}, doc["findings"]
    assert {"RL201", "RL202"} <= {f["code"] for f in doc["findings"]}


def test_many_files_with_one_bad_each_kind(tmp_path: Path) -> None:
    """Every kind of bad file side by side with good ones: one RL000 each, the rest linted, exit 1."""
    (tmp_path / "a_ok.py").write_text(BAD)
    (tmp_path / "b_syntax.py").write_text("loss = crit(out y) + sum(p.pow(2).sum() for p in model.parameters())\n")
    (tmp_path / "b_syntax_not_training_code.py").write_text("def f(:\n    pass\n")  # not parsed: rules/RL000.md
    (tmp_path / "c_binary.py").write_bytes(b"\x00\x01\x02")
    (tmp_path / "d_latin.py").write_bytes(b"x = '\xe9'\n")
    (tmp_path / "e_nb.ipynb").write_bytes(b"{")
    (tmp_path / "f_truncated.py").write_text(BAD[: len(BAD) // 2])
    (tmp_path / "z_ok.py").write_text(BAD)
    start = time.perf_counter()
    code, doc = check_json([".", "--jobs", "2"], tmp_path)
    assert time.perf_counter() - start < 60
    assert code == 1
    rl000 = sorted(f["path"] for f in doc["findings"] if f["code"] == "RL000")
    assert rl000 == ["b_syntax.py", "c_binary.py", "d_latin.py", "e_nb.ipynb", "f_truncated.py"]
    assert {f["path"] for f in doc["findings"] if f["code"] == "RL201"} == {"a_ok.py", "z_ok.py"}
