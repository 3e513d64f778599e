"""--fix never writes a wrong byte: an edit is applied only where the text still holds the lines it
was computed from, a file whose libcst rendering differs from it gets no fix (and a note that says
why), lines libcst drops are repaired in the copy it reads when CPython sees the same tree, and a
hard-linked file keeps its identity."""

from __future__ import annotations

import difflib
import json
import os
import stat
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import FIXTURES, all_static_codes

from reglint.cli import main
from reglint.engine import fixes
from reglint.engine.config import Settings
from reglint.engine.fixes import MISPLACED, apply_fixes, fix_text
from reglint.engine.runner import lint_text
from reglint.model import Applicability, Finding, Fix, Severity

# The accumulator on line 13 has a safe RL105 fix; line 12 is a statement whose columns 14-30
# hold code that still compiles when "0." is written over them (the garbage edit).
BACKSLASH = """\
import torch
import torch.optim as optim

model = torch.nn.Linear(2, 2)


def step(x, y):
    if x:
        x = 1
{backslash}
    out = model(x)
    opt = 1 + optim.Adam(p,q) + 2
    l2_reg = torch.tensor(0.)
    for param in model.parameters():
        l2_reg += param.pow(2).sum()
    loss = (out - y).pow(2).mean() + 1e-4 * l2_reg
    loss.backward()
"""


def lint(text: str) -> list[Finding]:
    return lint_text(text, "train.py", Settings(), all_static_codes()).findings


def run_fix(tmp_path: Path, name: str, text: str, *args: str) -> tuple[int, str, str]:
    path = tmp_path / name
    path.write_bytes(text.encode())
    result = CliRunner().invoke(main, ["check", str(path), "--no-cache", "--no-show-source", *args])
    return result.exit_code, result.output, path.read_bytes().decode()


def test_a_backslash_line_libcst_drops_is_repaired_and_the_fix_lands_on_its_node(tmp_path: Path) -> None:
    """`    \\` with the block's own indentation: libcst drops the line (every later position one line
    up); the copy it reads has the line blank, CPython reads it as the same tree, so the findings are
    on the right lines and the RL105 fix rewrites the accumulator, not the line above it."""
    text = BACKSLASH.format(backslash="    \\")
    rl105 = next(f for f in lint(text) if f.code == "RL105")
    assert (rl105.line, rl105.column) == (13, 14)
    code, output, after = run_fix(tmp_path, "train.py", text, "--fix")
    assert "Fixed 1 finding" in output
    changed = [(a, b) for a, b in zip(text.splitlines(), after.splitlines()) if a != b]
    assert changed == [("    l2_reg = torch.tensor(0.)", "    l2_reg = 0.")]


def test_a_backslash_line_that_changes_the_structure_gets_no_fix_and_a_note(tmp_path: Path) -> None:
    """`        \\` deeper than the next line: CPython joins them into a statement of the `if` block, so
    blanking it would change the program. libcst's positions are then one line off: the file gets no
    fix (before: `opt = 1 + optim.Adam(p,q) + 2` became `opt = 1 +0. + 2`, "Fixed 1 finding"), the
    findings are still on their own lines, and the user is told why."""
    text = BACKSLASH.format(backslash="        \\")
    for args in (["--fix"], ["--diff"], ["--fix", "--unsafe-fixes"]):
        code, output, after = run_fix(tmp_path, "train.py", text, *args)
        assert after == text, args
        assert "Fixed" not in output and "+0." not in output
        assert "no fix offered for this file" in output and "cannot be trusted" in output
        assert code == 1
    findings = lint(text)
    assert ("RL105", 13) in {(f.code, f.line) for f in findings}
    assert all(f.fix is None for f in findings)


def test_json_lists_the_notes(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(BACKSLASH.format(backslash="        \\"))
    result = CliRunner().invoke(main, ["check", str(tmp_path / "train.py"), "--no-cache", "--format", "json"])
    document = json.loads(result.stdout)
    [note] = document["summary"]["notes"]
    assert note["line"] == 10 and "no fix offered" in note["message"]
    assert all(f["fix"] is None for f in document["findings"])


def test_an_edit_whose_lines_changed_is_not_applied() -> None:
    """The check itself: a fix computed where the text read otherwise is dropped, not written."""
    text = "import torch\nreg = torch.tensor(0.)\nreg2 = torch.tensor(0.)\n"
    [finding] = [f for f in lint(text + "for p in model.parameters():\n    reg += p.pow(2).sum()\nloss = loss + reg\n") if f.code == "RL105"]
    assert finding.fix is not None and finding.fix.context == "reg = torch.tensor(0.)"
    moved = replace(finding, line=3, end_line=3, column=8, end_column=24)  # positions one line off
    new_text, applied, dropped = apply_fixes(text, [moved], unsafe=False)
    assert new_text == text and not applied
    assert [d.reason for d in dropped] == [MISPLACED]
    # An edit built by hand (no context) is applied as before.
    bare = Finding("RL105", "n", Severity.ERROR, "m", "t.py", 3, 8, 3, 24, Fix(Applicability.SAFE, "d", "0."))
    assert apply_fixes(text, [bare], unsafe=False)[0].endswith("reg2 = 0.\n")


def test_every_fix_the_engine_offers_carries_its_context() -> None:
    sources = [p for p in sorted(FIXTURES.rglob("*.py")) if "audit" not in p.parts]
    seen = 0
    for path in sources:
        for finding in lint(path.read_text()):
            if finding.fix is None:
                continue
            seen += 1
            edits = finding.fix.edits_for(finding)
            assert edits and all(edit.context is not None for edit in edits), (path, finding)
    assert seen > 10


def test_tabs_libcst_reads_only_expanded_keep_columns_and_refuse_edits_on_those_lines(tmp_path: Path) -> None:
    """libcst rejects this tab/space mix and reads it with the tabs expanded (other columns on those
    lines): findings come back at the file's own columns, and no edit lands on an expanded line."""
    text = (
        "import torch\nimport torch.optim as optim\nmodel = torch.nn.Linear(2, 2)\n"
        "optimizer = optim.Adam(model.parameters(), lr=1e-3)\n"
        "def f():\n            a = 1\ndef step(x, y):\n    for param in model.parameters():\n"
        "\t        l2_reg = torch.tensor(0.)  # starts on the cpu, then grows\n"
        "\t        l2_reg += param.pow(2).sum()\n    loss = 1 + 1e-4 * l2_reg\n    loss.backward()\n"
    )
    compile(text, "tabs.py", "exec")
    rl105 = next(f for f in lint(text) if f.code == "RL105")
    assert (rl105.line, rl105.column, rl105.end_column) == (9, 19, 35)
    code, output, after = run_fix(tmp_path, "tabs.py", text, "--fix")
    assert after == text and "Fixed" not in output


@pytest.mark.parametrize("newline", ["\r", "\r\n"])
def test_old_mac_and_windows_newlines_fix_in_place(tmp_path: Path, newline: str) -> None:
    text = BACKSLASH.format(backslash="").replace("\n\n    out", "\n    out").replace("\n", newline)
    code, output, after = run_fix(tmp_path, "train.py", text, "--fix")
    assert "Fixed 1 finding" in output
    assert after == text.replace("l2_reg = torch.tensor(0.)", "l2_reg = 0.")


# Inserted into a training script: lines CPython ignores or joins, which libcst renders otherwise.
ODD_LINES = ["\\", "    \\", "        \\", "\t\\", "\f", "\f    pass", "    # c\\", "\\\n\\"]


def _changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    out = []
    matcher = difflib.SequenceMatcher(None, before.splitlines(), after.splitlines(), autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            out.append(("\n".join(before.splitlines()[i1:i2]), "\n".join(after.splitlines()[j1:j2])))
    return out


def test_odd_lines_anywhere_never_make_a_fix_write_elsewhere() -> None:
    """Round-trip failures of libcst, inserted before every line of a script with fixes (whose
    lines above the fixable ones still compile when "0." lands on them): whatever is fixed in the
    altered file is a change the clean file's fixes make too, line for line."""
    clean = BACKSLASH.format(backslash="")
    clean_changes = set(_changed_lines(clean, fix_text(clean, "train.py", Settings(), all_static_codes(), unsafe=True).text))
    assert clean_changes
    lines = clean.splitlines(keepends=True)
    tried = 0
    for odd in ODD_LINES:
        for at in range(len(lines) + 1):
            text = "".join(lines[:at]) + odd + "\n" + "".join(lines[at:])
            try:
                compile(text, "t.py", "exec")
            except SyntaxError:
                continue
            tried += 1
            outcome = fix_text(text, "train.py", Settings(), all_static_codes(), unsafe=True)
            for change in _changed_lines(text, outcome.text):
                assert change in clean_changes, (odd, at, change)
    assert tried > 30


def test_a_hard_linked_file_keeps_its_identity(tmp_path: Path) -> None:
    """Before: os.replace gave the fixed path a new inode, and the other link kept the old text."""
    text = BACKSLASH.format(backslash="")
    path = tmp_path / "train.py"
    path.write_text(text)
    os.chmod(path, 0o640)
    other = tmp_path / "link.py"
    os.link(path, other)
    before = os.stat(path)
    code, output, _ = run_fix(tmp_path, "train.py", text, "--fix")
    assert "Fixed 1 finding" in output
    after = os.stat(path)
    assert (after.st_ino, after.st_nlink, stat.S_IMODE(after.st_mode)) == (before.st_ino, 2, 0o640)
    assert other.read_text() == path.read_text() == text.replace("l2_reg = torch.tensor(0.)", "l2_reg = 0.")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".reglint-tmp")]


def test_a_hard_linked_file_that_changed_on_disk_is_not_written(tmp_path: Path) -> None:
    path = tmp_path / "train.py"
    path.write_text("x = 1\n")
    os.link(path, tmp_path / "link.py")
    snapshot = fixes._snapshot(path)
    path.write_text("x = 22\n")
    with pytest.raises(fixes.FileChangedError):
        fixes.write_atomic(path, b"y = 1\n", b"x = 1\n", snapshot)
    assert path.read_text() == "x = 22\n"


def test_an_interrupted_in_place_write_keeps_the_fixed_text_beside_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "train.py"
    path.write_bytes(b"x = 1\n")
    os.link(path, tmp_path / "link.py")

    def disk_full(target: Path, data: bytes) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fixes, "_write_in_place", disk_full)
    with pytest.raises(fixes.FixWriteError, match="the fixed text is in"):
        fixes.write_atomic(path, b"y = 1\n", b"x = 1\n", fixes._snapshot(path))
    [kept] = [p for p in tmp_path.iterdir() if p.name.endswith(".reglint-tmp")]
    assert kept.read_bytes() == b"y = 1\n"


def test_a_file_only_libcst_cannot_read_in_part_is_fixed_elsewhere(tmp_path: Path) -> None:
    text = textwrap.dedent(
        """\
        import torch
        import torch.optim as optim
        model = torch.nn.Linear(2, 2)
        (x): int = 1
        optimizer = optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
        def step():
            l2_reg = torch.tensor(0.)
            for param in model.parameters():
                l2_reg += param.pow(2).sum()
            loss = 1e-4 * l2_reg
            loss.backward()
        """
    )
    code, output, after = run_fix(tmp_path, "train.py", text, "--fix", "--unsafe-fixes")
    assert "RL000" not in output
    assert "train.py:4:1: libcst" in output and "this line not linted" in output
    assert after == text.replace("optim.Adam(", "optim.AdamW(").replace("torch.tensor(0.)", "0.")
