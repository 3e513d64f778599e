"""`reglint server` driven over stdio by an LSP client, as an editor drives it.

Expectations come from the command line (`reglint check --format json` in a subprocess, or
`--fix` on a copy of the file), not from the functions the server calls, so a server that lints
differently from `check` fails here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from lsp_support import (
    ROOT,
    RecordingClient,
    apply_text_edits,
    diagnostics_for,
    edits_of,
    open_document,
    replace_document,
    start_server,
    stop_server,
    wait_until,
)
from lsprotocol import types
from pytest_lsp import client_capabilities

pytestmark = pytest.mark.asyncio

DEMO = ROOT / "fixtures" / "demo" / "train.py"

TRAIN = textwrap.dedent(
    """\
    import torch
    import torch.nn as nn

    model = nn.Linear(10, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)


    def train(loader, lam=1e-4):
        for x, y in loader:
            loss = nn.functional.cross_entropy(model(x), y)
            reg = torch.tensor(0.)
            for name, p in model.named_parameters():
                if "weight" in name:
                    reg += torch.norm(p)
            loss = loss + lam * reg
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    """
)


def check_json(path: Path, *args: str, cwd: Path = ROOT) -> list[dict[str, Any]]:
    """What `reglint check` reports for a file."""
    done = subprocess.run(
        [sys.executable, "-m", "reglint", "check", str(path), "--format", "json", "--no-cache", *args],
        cwd=cwd, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode in (0, 1), done.stderr
    return list(json.loads(done.stdout)["findings"])


def check_fix(path: Path, *args: str) -> str:
    """The text `reglint check --fix` writes for a file (run on a copy)."""
    done = subprocess.run(
        [sys.executable, "-m", "reglint", "check", str(path), "--fix", "--no-cache", *args],
        cwd=path.parent, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode in (0, 1), done.stderr
    return path.read_text(encoding="utf-8")


def spans(diagnostics: list[types.Diagnostic]) -> list[tuple[Any, ...]]:
    return sorted(
        (str(d.code), d.range.start.line, d.range.start.character, d.range.end.line, d.range.end.character)
        for d in diagnostics
    )


def json_spans(findings: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted(
        (f["code"], f["line"] - 1, f["column"] - 1, f["end_line"] - 1, f["end_column"] - 1) for f in findings
    )


@pytest_asyncio.fixture
async def client():
    client = await start_server()
    yield client
    await stop_server(client)


def write_project(tmp_path: Path, table: str, name: str = "train.py", text: str = TRAIN) -> Path:
    (tmp_path / "pyproject.toml").write_text(f"[project]\nname = 'x'\n\n[tool.reglint]\n{table}\n", encoding="utf-8")
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- diagnostics


async def test_open_publishes_what_check_reports(client: RecordingClient):
    uri = DEMO.as_uri()
    open_document(client, uri, DEMO.read_text(encoding="utf-8"))
    diagnostics = await diagnostics_for(client, uri, 1)
    expected = check_json(DEMO)
    assert len(expected) == 7
    assert spans(diagnostics) == json_spans(expected)
    by_code = {str(d.code): d for d in diagnostics}
    assert by_code["RL105"].severity == types.DiagnosticSeverity.Error
    assert by_code["RL102"].severity == types.DiagnosticSeverity.Warning
    assert by_code["RL206"].severity == types.DiagnosticSeverity.Information
    for diagnostic in diagnostics:
        assert diagnostic.source == "reglint"
        assert diagnostic.message == next(f["message"] for f in expected if f["code"] == diagnostic.code)
        href = diagnostic.code_description.href if diagnostic.code_description else None
        assert href is not None and href.startswith("file:") and href.endswith(f"/{diagnostic.code}.md")
        assert Path(href[len("file://"):]).is_file()


async def test_change_relints_the_new_text(client: RecordingClient, tmp_path: Path):
    path = tmp_path / "train.py"
    uri = path.as_uri()
    open_document(client, uri, TRAIN)
    assert {str(d.code) for d in await diagnostics_for(client, uri, 1)} == {"RL105", "RL102"}
    # An incremental change: square the norm on line 14 (`torch.norm(p)` -> `torch.norm(p) ** 2`).
    line = TRAIN.splitlines().index("                reg += torch.norm(p)")
    end = len("                reg += torch.norm(p)")
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            [types.TextDocumentContentChangePartial(range=types.Range(types.Position(line, end), types.Position(line, end)), text=" ** 2")],
        )
    )
    assert {str(d.code) for d in await diagnostics_for(client, uri, 2)} == {"RL105"}


async def test_rapid_changes_publish_only_the_latest_text_in_order(client: RecordingClient, tmp_path: Path):
    uri = (tmp_path / "train.py").as_uri()
    open_document(client, uri, TRAIN)
    await diagnostics_for(client, uri, 1)
    texts = [TRAIN.replace("torch.norm(p)", f"torch.norm(p) * {k}") for k in range(2, 12)]
    texts.append(TRAIN.replace("torch.tensor(0.)", "0."))
    for version, text in enumerate(texts, start=2):
        replace_document(client, uri, text, version)
    last = len(texts) + 1
    final = await diagnostics_for(client, uri, last)
    assert {str(d.code) for d in final} == {"RL102"}
    versions = [p.version for p in client.published if p.uri == uri]
    assert versions == sorted(versions), "an older version was published after a newer one"
    # Debounced: ten quick changes are not linted ten times (each change resets the delay, and a
    # lint whose document changed meanwhile is dropped). Not a timing assertion: any number of
    # publications below the number of changes passes.
    assert len(versions) < len(texts) + 1


async def test_save_relints_and_close_clears(client: RecordingClient, tmp_path: Path):
    path = tmp_path / "train.py"
    path.write_text(TRAIN, encoding="utf-8")
    uri = path.as_uri()
    open_document(client, uri, TRAIN)
    await diagnostics_for(client, uri, 1)
    count = len(client.published)
    client.text_document_did_save(types.DidSaveTextDocumentParams(types.TextDocumentIdentifier(uri)))
    await wait_until(lambda: len(client.published) > count, "diagnostics after a save")
    assert client.published[-1].uri == uri and len(client.published[-1].diagnostics) == 2
    client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri)))
    await wait_until(lambda: not client.published[-1].diagnostics and client.published[-1].uri == uri, "cleared diagnostics")


async def test_not_python_is_not_linted_and_untitled_is(client: RecordingClient):
    skipped = ["file:///tmp/notes.md", "vscode-notebook-cell:/tmp/train.ipynb#W0sZmlsZQ%3D%3D", "file:///tmp/train.ipynb"]
    open_document(client, skipped[0], TRAIN, language="markdown")
    open_document(client, skipped[1], TRAIN)  # a notebook cell: linted alone it would miss the others
    open_document(client, skipped[2], TRAIN)
    open_document(client, "untitled:Untitled-1", TRAIN)
    diagnostics = await diagnostics_for(client, "untitled:Untitled-1", 1)
    assert {str(d.code) for d in diagnostics} == {"RL105", "RL102"}
    assert not [p for p in client.published if p.uri in skipped]


async def test_syntax_error_is_reported_as_check_reports_it(client: RecordingClient, tmp_path: Path):
    path = tmp_path / "broken.py"
    text = TRAIN.replace("loss = loss + lam * reg", "loss = loss + lam * (reg")
    path.write_text(text, encoding="utf-8")
    open_document(client, path.as_uri(), text)
    diagnostics = await diagnostics_for(client, path.as_uri(), 1)
    assert spans(diagnostics) == json_spans(check_json(path))
    assert [str(d.code) for d in diagnostics] == ["RL000"]


async def test_positions_are_utf16_code_units(client: RecordingClient, tmp_path: Path):
    # A character outside the BMP is two UTF-16 units: the range after it shifts by one more.
    text = TRAIN.replace("reg += torch.norm(p)", '_ = "😀"; reg += torch.norm(p)')
    path = tmp_path / "wide.py"
    path.write_text(text, encoding="utf-8")
    open_document(client, path.as_uri(), text)
    diagnostics = await diagnostics_for(client, path.as_uri(), 1)
    expected = check_json(path)
    line = text.splitlines()
    for finding in expected:
        prefix = line[finding["line"] - 1][: finding["column"] - 1]
        wide = sum(1 for c in prefix if ord(c) > 0xFFFF)
        match = [d for d in diagnostics if d.code == finding["code"] and d.range.start.line == finding["line"] - 1]
        assert match and match[0].range.start.character == finding["column"] - 1 + wide
    assert any(sum(1 for c in line[f["line"] - 1][: f["column"] - 1] if ord(c) > 0xFFFF) for f in expected)


@pytest.mark.parametrize(("encoding", "units"), [("utf-32", lambda c: 1), ("utf-8", lambda c: len(c.encode("utf-8")))])
async def test_positions_in_the_negotiated_encoding(tmp_path: Path, encoding: str, units: Any):
    capabilities = client_capabilities("visual-studio-code")
    capabilities.general = types.GeneralClientCapabilities(position_encodings=[encoding])
    client = await start_server(capabilities)
    try:
        text = TRAIN.replace("reg += torch.norm(p)", '_ = "😀é"; reg += torch.norm(p)')
        path = tmp_path / "wide.py"
        path.write_text(text, encoding="utf-8")
        open_document(client, path.as_uri(), text)
        diagnostics = await diagnostics_for(client, path.as_uri(), 1)
        lines = text.splitlines()
        for finding in check_json(path):
            prefix = lines[finding["line"] - 1][: finding["column"] - 1]
            (match,) = [d for d in diagnostics if d.code == finding["code"]]
            assert match.range.start.character == sum(units(c) for c in prefix)
    finally:
        await stop_server(client)


async def test_an_internal_error_is_shown_on_the_document(tmp_path: Path):
    boom = (
        "from reglint.lsp import documents\n"
        "def lint(*args, **kwargs):\n"
        "    raise RuntimeError('simulated bug')\n"
        "documents.DocumentLinter.lint = lint\n"
        "from reglint.cli import main\n"
        "main(['server'])\n"
    )
    client = await start_server(python_code=boom)
    try:
        uri = (tmp_path / "train.py").as_uri()
        open_document(client, uri, TRAIN)
        (diagnostic,) = await diagnostics_for(client, uri, 1)
        assert diagnostic.severity == types.DiagnosticSeverity.Error
        assert "internal error: RuntimeError: simulated bug" in diagnostic.message
    finally:
        await stop_server(client)


# --------------------------------------------------------------------------- configuration


async def test_project_configuration_applies(client: RecordingClient, tmp_path: Path):
    path = write_project(tmp_path, 'ignore = ["RL105"]\nper-file-ignores = { "skipped/*" = ["RL102"] }')
    other = tmp_path / "skipped" / "run.py"
    other.parent.mkdir()
    other.write_text(TRAIN, encoding="utf-8")
    open_document(client, path.as_uri(), TRAIN)
    open_document(client, other.as_uri(), TRAIN)
    assert spans(await diagnostics_for(client, path.as_uri(), 1)) == json_spans(check_json(path, cwd=tmp_path))
    assert [str(d.code) for d in await diagnostics_for(client, path.as_uri(), 1)] == ["RL102"]
    assert await diagnostics_for(client, other.as_uri(), 1) == []


async def test_excluded_file_is_not_linted(client: RecordingClient, tmp_path: Path):
    # Skipped as `reglint check --force-exclude` (pre-commit's entry) skips a file it is given.
    path = write_project(tmp_path, 'extend-exclude = ["generated_*.py"]', name="generated_train.py")
    kept = tmp_path / "train.py"
    kept.write_text(TRAIN, encoding="utf-8")
    open_document(client, path.as_uri(), TRAIN)
    open_document(client, kept.as_uri(), TRAIN)
    assert await diagnostics_for(client, path.as_uri(), 1) == []
    assert len(await diagnostics_for(client, kept.as_uri(), 1)) == 2


async def test_saving_the_configuration_relints_open_documents(client: RecordingClient, tmp_path: Path):
    path = write_project(tmp_path, "")
    open_document(client, path.as_uri(), TRAIN)
    assert len(await diagnostics_for(client, path.as_uri(), 1)) == 2
    config = tmp_path / "pyproject.toml"
    config.write_text("[tool.reglint]\nignore = ['RL102']\n", encoding="utf-8")
    count = len(client.published)
    client.text_document_did_save(types.DidSaveTextDocumentParams(types.TextDocumentIdentifier(config.as_uri())))
    latest = await wait_until(
        lambda: [p for p in client.published[count:] if p.uri == path.as_uri()], "diagnostics after the config changed"
    )
    assert [str(d.code) for d in latest[-1].diagnostics] == ["RL105"]
    # A change on disk reported by the client's file watcher does the same.
    assert any(r.method == types.WORKSPACE_DID_CHANGE_WATCHED_FILES for r in client.registrations)
    config.write_text("[tool.reglint]\nignore = ['RL105']\n", encoding="utf-8")
    count = len(client.published)
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams([types.FileEvent(config.as_uri(), types.FileChangeType.Changed)])
    )
    latest = await wait_until(
        lambda: [p for p in client.published[count:] if p.uri == path.as_uri()], "diagnostics after the watched change"
    )
    assert [str(d.code) for d in latest[-1].diagnostics] == ["RL102"]


async def test_invalid_configuration_is_shown_not_silent(client: RecordingClient, tmp_path: Path):
    path = write_project(tmp_path, 'selct = ["RL1"]')
    open_document(client, path.as_uri(), TRAIN)
    diagnostics = await diagnostics_for(client, path.as_uri(), 1)
    assert len(diagnostics) == 1 and diagnostics[0].severity == types.DiagnosticSeverity.Error
    assert "unknown key 'selct'" in diagnostics[0].message and str(tmp_path) in diagnostics[0].message
    await wait_until(lambda: any("selct" in m.message for m in client.messages), "the error message shown")


# --------------------------------------------------------------------------- code actions


async def actions_at(client: RecordingClient, uri: str, diagnostic: types.Diagnostic, only: Any = None) -> list[types.CodeAction]:
    result = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri),
            range=diagnostic.range,
            context=types.CodeActionContext(diagnostics=[diagnostic], only=only),
        )
    )
    return [a for a in result or [] if isinstance(a, types.CodeAction)]


async def resolved(client: RecordingClient, action: types.CodeAction) -> types.CodeAction:
    if action.edit is None:
        action = await client.code_action_resolve_async(action)
    return action


def copy_of(path: Path, tmp_path: Path) -> Path:
    target = tmp_path / path.name
    shutil.copyfile(path, target)
    return target


@pytest.mark.parametrize("capabilities", ["visual-studio-code", "neovim"])
async def test_safe_fix_action_makes_the_edit_check_fix_makes(tmp_path: Path, capabilities: str):
    client = await start_server(capabilities)
    try:
        path = copy_of(ROOT / "fixtures" / "bad" / "rl105_tensor_zero_accumulator.py", tmp_path)
        text = path.read_text(encoding="utf-8")
        uri = path.as_uri()
        open_document(client, uri, text)
        (diagnostic,) = [d for d in await diagnostics_for(client, uri, 1) if d.code == "RL105"]
        fixes = [a for a in await actions_at(client, uri, diagnostic) if a.title.startswith("Fix RL105")]
        assert len(fixes) == 1 and fixes[0].kind == types.CodeActionKind.QuickFix and fixes[0].is_preferred
        action = await resolved(client, fixes[0])
        fixed = apply_text_edits(text, edits_of(action.edit, uri))
        assert fixed == check_fix(path)
        assert fixed != text
    finally:
        await stop_server(client)


async def test_unsafe_fix_is_offered_and_labelled(client: RecordingClient, tmp_path: Path):
    path = copy_of(ROOT / "fixtures" / "bad" / "rl102_linalg_norms.py", tmp_path)
    text = path.read_text(encoding="utf-8")
    uri = path.as_uri()
    open_document(client, uri, text)
    diagnostic = next(d for d in await diagnostics_for(client, uri, 1) if d.code == "RL102")
    (unsafe,) = [a for a in await actions_at(client, uri, diagnostic) if a.title.startswith("Unsafe fix RL102")]
    assert not unsafe.is_preferred
    fixed = apply_text_edits(text, edits_of((await resolved(client, unsafe)).edit, uri))
    replace_document(client, uri, fixed, 2)
    after = await diagnostics_for(client, uri, 2)
    assert not [d for d in after if d.code == "RL102" and d.range.start.line == diagnostic.range.start.line]


async def test_ignore_action_silences_the_finding(client: RecordingClient, tmp_path: Path):
    uri = (tmp_path / "train.py").as_uri()
    open_document(client, uri, TRAIN)
    diagnostic = next(d for d in await diagnostics_for(client, uri, 1) if d.code == "RL102")
    (ignore,) = [a for a in await actions_at(client, uri, diagnostic) if a.title.startswith("Ignore RL102")]
    fixed = apply_text_edits(TRAIN, edits_of((await resolved(client, ignore)).edit, uri))
    assert "reg += torch.norm(p)  # reglint: ignore[RL102]\n" in fixed
    replace_document(client, uri, fixed, 2)
    assert [str(d.code) for d in await diagnostics_for(client, uri, 2)] == ["RL105"]
    # A second code joins the same comment.
    text = fixed.replace("reg = torch.tensor(0.)", "reg = torch.tensor(0.)  # reglint: ignore[RL206]")
    replace_document(client, uri, text, 3)
    diagnostic = next(d for d in await diagnostics_for(client, uri, 3) if d.code == "RL105")
    (ignore,) = [a for a in await actions_at(client, uri, diagnostic) if a.title.startswith("Ignore RL105")]
    text = apply_text_edits(text, edits_of((await resolved(client, ignore)).edit, uri))
    assert "reg = torch.tensor(0.)  # reglint: ignore[RL206, RL105]\n" in text


async def test_fix_all_writes_what_check_fix_writes(client: RecordingClient, tmp_path: Path):
    path = copy_of(DEMO, tmp_path)
    text = path.read_text(encoding="utf-8")
    uri = path.as_uri()
    open_document(client, uri, text)
    first = (await diagnostics_for(client, uri, 1))[0]
    (fix_all,) = await actions_at(client, uri, first, only=["source.fixAll"])
    assert fix_all.kind == "source.fixAll.reglint"
    fixed = apply_text_edits(text, edits_of((await resolved(client, fix_all)).edit, uri))
    assert fixed == check_fix(path) != text


async def test_client_without_resolve_gets_edits_at_once(tmp_path: Path):
    capabilities = client_capabilities("visual-studio-code")
    assert capabilities.text_document is not None and capabilities.text_document.code_action is not None
    capabilities.text_document.code_action.resolve_support = None
    capabilities.workspace.workspace_edit.document_changes = False  # type: ignore[union-attr]
    client = await start_server(capabilities)
    try:
        uri = (tmp_path / "train.py").as_uri()
        open_document(client, uri, TRAIN)
        diagnostic = next(d for d in await diagnostics_for(client, uri, 1) if d.code == "RL105")
        found = await actions_at(client, uri, diagnostic)
        assert found and all(a.edit is not None and a.edit.changes for a in found)
        assert not [a for a in found if a.kind == "source.fixAll.reglint"]  # only when asked for by kind
        assert [a.title.split(":")[0] for a in found] == ["Fix RL105", "Ignore RL105 on this line (# reglint"]
    finally:
        await stop_server(client)


async def test_stale_action_gets_no_edit(client: RecordingClient, tmp_path: Path):
    uri = (tmp_path / "train.py").as_uri()
    open_document(client, uri, TRAIN)
    diagnostic = next(d for d in await diagnostics_for(client, uri, 1) if d.code == "RL105")
    (fix,) = [a for a in await actions_at(client, uri, diagnostic) if a.title.startswith("Fix RL105")]
    replace_document(client, uri, "\n" + TRAIN, 2)
    await diagnostics_for(client, uri, 2)
    assert (await client.code_action_resolve_async(fix)).edit is None


# --------------------------------------------------------------------------- hover


async def test_hover_shows_the_rule_page(client: RecordingClient, tmp_path: Path):
    uri = (tmp_path / "train.py").as_uri()
    open_document(client, uri, TRAIN)
    diagnostic = next(d for d in await diagnostics_for(client, uri, 1) if d.code == "RL102")
    inside = types.Position(diagnostic.range.start.line, diagnostic.range.start.character + 3)
    hover = await client.text_document_hover_async(types.HoverParams(types.TextDocumentIdentifier(uri), inside))
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert hover.contents.kind == types.MarkupKind.Markdown
    page = (ROOT / "rules" / "RL102.md").read_text(encoding="utf-8")
    assert page in hover.contents.value
    assert diagnostic.message in hover.contents.value
    assert hover.range == diagnostic.range
    outside = types.Position(0, 0)
    assert await client.text_document_hover_async(types.HoverParams(types.TextDocumentIdentifier(uri), outside)) is None


# --------------------------------------------------------------------------- size


@pytest.mark.parametrize(
    "text",
    [
        "import torch\nloss = crit(model(x), y) + " + " + ".join(f"model.l{i}.weight.pow(2).sum()" for i in range(1000)) + "\nloss.backward()\n",
        "import torch\n" + "".join("    " * i + "if x:\n" for i in range(98)) + "    " * 98 + "reg = p.pow(2).sum()\n",
    ],
    ids=["1000-chained-penalty-terms", "98-nested-ifs"],
)
async def test_deeply_nested_code_lints_as_check_lints_it(client: RecordingClient, tmp_path: Path, text: str):
    path = tmp_path / "deep.py"
    path.write_text(text, encoding="utf-8")
    open_document(client, path.as_uri(), text)
    diagnostics = await diagnostics_for(client, path.as_uri(), 1)
    assert spans(diagnostics) == json_spans(check_json(path))
    assert not [d for d in diagnostics if "internal error" in d.message]


async def test_long_training_file(client: RecordingClient, tmp_path: Path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from training_file import training_file
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    text = training_file(2000)
    path = tmp_path / "train_long.py"
    path.write_text(text, encoding="utf-8")
    open_document(client, path.as_uri(), text)
    diagnostics = await diagnostics_for(client, path.as_uri(), 1)
    assert spans(diagnostics) == json_spans(check_json(path))
    assert len(diagnostics) >= 5
