"""The server's parts that need no client: positions, suppression comments, edits, action plans."""

from __future__ import annotations

import subprocess
import sys

import pytest

from reglint.engine.suppression import Suppressions, suppression_insert
from reglint.lsp.actions import FIX_ALL, QUICKFIX, replacement_edit, suppression_edit, wants
from reglint.lsp.project import OpenDocuments
from reglint.lsp.text import UTF8, UTF16, UTF32, DocumentText
from reglint.model import Edit, Finding, Severity


def finding(line: int, end_line: int | None = None, code: str = "RL102") -> Finding:
    return Finding(code, "unsquared-l2-norm", Severity.WARNING, "m", "x.py", line, 1, end_line or line, 5)


@pytest.mark.parametrize(("encoding", "character"), [(UTF16, 9), (UTF8, 12), (UTF32, 8)])
def test_positions_count_the_encodings_units(encoding: str, character: int):
    text = DocumentText('a = 1\nx = "😀é" + y\n', encoding)
    # Column 9 (1-based, in code points) of line 2 follows `x = "😀é"`: 😀 is 2 UTF-16 units and
    # 4 UTF-8 bytes, é one UTF-16 unit and 2 bytes.
    assert text.to_lsp(2, 9) == (1, character)
    assert text.from_lsp(1, character) == (2, 9)
    if encoding == UTF16:
        assert text.from_lsp(1, 6) == (2, 7)  # inside the surrogate pair: the next character


def test_line_breaks_are_pythons_only():
    text = DocumentText("a\r\nb\rc\x0cd\ne")
    assert text.lines == ["a", "b", "c\x0cd", "e"]
    assert text.to_lsp(3, 3) == (2, 2)
    assert text.offset(3, 3) == len("a\r\nb\rc\x0c")
    assert text.at_offset(len("a\r\nb\rc\x0c")) == (3, 3)
    assert text.to_lsp(9, 1) == (4, 0)  # past the end: the line after the last
    assert text.from_lsp(1, 99) == (2, 2)  # past the end of a line: its end


def test_suppression_insert_appends_or_extends():
    source = "a = f(w)\nb = g(w)  # reglint: ignore[RL101]\nc = h(w)  # noqa: E501\n"
    assert suppression_insert(source, 1, "RL102") == (8, 8, "  # reglint: ignore[RL102]")
    column, end, text = suppression_insert(source, 2, "RL102")  # type: ignore[misc]
    line = source.splitlines()[1]
    assert line[:column] + text + line[end:] == "b = g(w)  # reglint: ignore[RL101, RL102]"
    assert suppression_insert(source, 2, "RL101") is None
    assert suppression_insert(source, 3, "RL102") == (22, 22, "  # reglint: ignore[RL102]")
    assert suppression_insert(source, 7, "RL102") is None


def test_suppression_edit_avoids_lines_that_cannot_take_a_comment():
    source = 'x = torch.norm(w) + \\\n    torch.norm(v)\ny = f("""a\nb""", torch.norm(w))\n'
    edit = suppression_edit(source, finding(1, 2))
    assert edit == Edit(2, 18, 2, 18, "  # reglint: ignore[RL102]")
    # Line 3 ends inside a string: the comment goes on the finding's last line.
    edit = suppression_edit(source, finding(3, 4))
    assert edit is not None and edit.line == 4
    applied = source.splitlines()[3] + edit.replacement
    assert applied == 'b""", torch.norm(w))  # reglint: ignore[RL102]'
    # A finding on one line that cannot take a comment gets no action rather than a broken one.
    assert suppression_edit('y = f("""a\nb""")\n', finding(1)) is None


def test_suppression_edit_result_is_recognized():
    source = "loss = loss + lam * torch.norm(w)\n"
    edit = suppression_edit(source, finding(1))
    assert edit is not None
    new = source[: edit.column - 1] + edit.replacement + source[edit.end_column - 1 :]
    assert Suppressions(new).suppresses("RL102", (1,))


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("a\nb\nc\n", "a\nB\nc\n"),
        ("a\r\nb\r\n", "a\r\nx\r\nb\r\n"),
        ("abc", "abc\n"),
        ("same", "same"),
        ("x = 1\n", ""),
    ],
)
def test_replacement_edit_turns_one_text_into_the_other(before: str, after: str):
    edit = replacement_edit(before, after)
    text = DocumentText(before)
    start, end = text.offset(edit.line, edit.column), text.offset(edit.end_line, edit.end_column)
    assert before[:start] + edit.replacement + before[end:] == after
    assert "\r" not in before[start - 1 : start + 1] or before[start - 1 : start + 1] != "\r\n"


def test_only_filter_follows_kind_hierarchy():
    assert wants(None, QUICKFIX) and wants(["quickfix"], QUICKFIX)
    assert wants(["source"], FIX_ALL) and wants(["source.fixAll"], FIX_ALL)
    assert not wants(["source.organizeImports"], FIX_ALL) and not wants(["source"], QUICKFIX)


def test_server_without_the_extra_says_what_to_install():
    code = "import sys; sys.modules['pygls'] = None; from reglint.cli import main; main(['server'])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "pip install 'reglint[lsp]'" in done.stderr
    assert done.stdout == ""


def test_open_documents_give_the_editors_text_else_the_disks(tmp_path):
    on_disk = tmp_path / "model.py"
    on_disk.write_text("saved = 1\n", encoding="utf-8")
    documents = OpenDocuments()
    assert documents.source(on_disk) == "saved = 1\n"
    documents.update(on_disk.as_uri(), on_disk, "unsaved = 2\n")
    documents.update("untitled:1", None, "x = 3\n")
    assert documents.source(on_disk) == "unsaved = 2\n"
    documents.close(on_disk.as_uri())
    assert documents.source(on_disk) == "saved = 1\n"
    assert documents.source(tmp_path / "missing.py") is None
    assert documents.dependents(on_disk.as_uri()) == []
