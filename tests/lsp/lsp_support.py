"""Driving the real `reglint server` over stdio with pytest-lsp's client (a pygls client).

`start_server` launches `python -m reglint server` as a subprocess and initializes it with the
capabilities of a real editor (pytest-lsp ships recorded ones for VS Code and Neovim). Every
`textDocument/publishDiagnostics` the server sends is kept, with its version, so a test can wait
for the diagnostics of the version it sent. Waits are long (the tests share a slow machine) and
nothing here measures time: latency is benchmarks/lsp_latency.py's job.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any, Callable, Optional

from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

from reglint.lsp.text import DocumentText

WAIT = 120.0  # seconds: generous, for a loaded 2-core machine; a passing test never waits this long
ROOT = Path(__file__).resolve().parents[2]


class RecordingClient(LanguageClient):
    def __init__(self) -> None:
        from pygls.protocol import default_converter

        super().__init__(converter_factory=default_converter)
        self.published: list[types.PublishDiagnosticsParams] = []
        self.registrations: list[types.Registration] = []


def _record_diagnostics(client: RecordingClient, params: types.PublishDiagnosticsParams) -> None:
    client.published.append(params)
    client.diagnostics[params.uri] = params.diagnostics


def _record_registration(client: RecordingClient, params: types.RegistrationParams) -> None:
    client.registrations.extend(params.registrations)


async def start_server(
    capabilities: str | types.ClientCapabilities = "visual-studio-code",
    args: tuple[str, ...] = (),
    root: Optional[Path] = None,
    initialization_options: Any = None,
    cwd: Optional[Path] = None,
    python_code: Optional[str] = None,
) -> RecordingClient:
    """`python_code`: run the server with `python -c CODE` instead of `python -m reglint server`."""
    client = RecordingClient()
    features = dict(DEFAULT_CLIENT_FEATURES)
    features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = _record_diagnostics
    features[types.CLIENT_REGISTER_CAPABILITY] = _record_registration
    register_lsp_features(client, features)
    command = ("-c", python_code) if python_code is not None else ("-m", "reglint", "server", *args)
    await client.start_io(sys.executable, *command, cwd=str(cwd or ROOT))
    caps = client_capabilities(capabilities) if isinstance(capabilities, str) else capabilities
    await client.initialize_session(
        types.InitializeParams(
            capabilities=caps,
            root_uri=root.as_uri() if root is not None else None,
            initialization_options=initialization_options,
        )
    )
    return client


async def stop_server(client: RecordingClient) -> None:
    await client.shutdown_session()
    await client.stop()


async def wait_until(condition: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = condition()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def diagnostics_for(client: RecordingClient, uri: str, version: int) -> list[types.Diagnostic]:
    """The diagnostics the server published for `version` of the document."""

    def find() -> Optional[types.PublishDiagnosticsParams]:
        for params in reversed(client.published):
            if params.uri == uri and params.version == version:
                return params
        return None

    params = await wait_until(find, f"diagnostics of {uri} version {version}")
    return list(params.diagnostics)


def open_document(client: RecordingClient, uri: str, text: str, version: int = 1, language: str = "python") -> None:
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=uri, language_id=language, version=version, text=text))
    )


def replace_document(client: RecordingClient, uri: str, text: str, version: int) -> None:
    """A full-text change (the server also takes incremental ones)."""
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            [types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


def apply_text_edits(text: str, edits: list[types.TextEdit], encoding: str = "utf-16") -> str:
    """Apply LSP text edits as an editor does (all positions refer to the text before the edits)."""
    document = DocumentText(text, encoding)
    spans = []
    for edit in edits:
        start = document.offset(*document.from_lsp(edit.range.start.line, edit.range.start.character))
        end = document.offset(*document.from_lsp(edit.range.end.line, edit.range.end.character))
        spans.append((start, end, edit.new_text))
    for start, end, new_text in sorted(spans, reverse=True):
        text = text[:start] + new_text + text[end:]
    return text


def edits_of(edit: Optional[types.WorkspaceEdit], uri: str) -> list[types.TextEdit]:
    assert edit is not None, "the action carries no edit"
    if edit.document_changes:
        out: list[types.TextEdit] = []
        for change in edit.document_changes:
            assert isinstance(change, types.TextDocumentEdit) and change.text_document.uri == uri
            out.extend(e for e in change.edits if isinstance(e, types.TextEdit))
        return out
    assert edit.changes is not None
    return list(edit.changes[uri])
