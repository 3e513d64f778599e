"""The language server: document sync, debounced linting, publishing, code actions and hover.

Timing. A document is linted when it is opened or saved (at once) and after each change, once
the user has paused typing for the debounce delay (0.05 s by default, `--debounce`). Linting runs
in one worker thread, so the server keeps reading messages meanwhile; a lint whose document has
changed since it started is dropped, never published (its positions would be stale), and the
newer text is linted next. Diagnostics carry the document version they belong to.

Configuration. Each document gets the settings of the nearest `pyproject.toml` with a
`[tool.reglint]` table, as `reglint check` would; when a `pyproject.toml` is saved in the editor
or changes on disk (watched where the client can watch files), the settings are read again and
every open document relinted. An invalid configuration is shown once as a message and as an
error diagnostic on the first line of each document it applies to.

Documents. Python documents (`languageId` python, or a `.py` / `.pyi` path) are linted, in any
URI scheme: a file that is not on disk takes the settings of the workspace root. Notebooks are
not: the server does not offer notebook synchronization, and a notebook's cells sent as text
documents (VS Code's `vscode-notebook-cell:` URIs, for a client whose selector lets them through)
or an `.ipynb` file opened as text are skipped, since a cell linted alone would miss the other
cells (`reglint check` lints `.ipynb` files with all their cells together).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from reglint import __version__
from reglint.lsp import actions
from reglint.lsp.diagnostics import finding_range, lsp_range, problem_diagnostic, to_diagnostic
from reglint.lsp.documents import DocumentLint, DocumentLinter
from reglint.lsp.hover import findings_at, hover_markdown
from reglint.lsp.project import OpenDocuments
from reglint.lsp.text import UTF8, UTF16, UTF32, DocumentText

logger = logging.getLogger(__name__)

DEFAULT_DEBOUNCE = 0.05  # seconds without a change before a changed document is linted
PYTHON_SUFFIXES = (".py", ".pyi")
NOTEBOOK_CELL_SCHEMES = ("vscode-notebook-cell:",)  # how VS Code names the cells of an open notebook
CONFIG_FILE = "pyproject.toml"
_ENCODINGS = {"utf-8": UTF8, "utf-16": UTF16, "utf-32": UTF32}  # LSP's PositionEncodingKind values


@dataclass
class Published:
    """The lint behind the diagnostics last published for a document."""

    version: Optional[int]
    lint: DocumentLint


@dataclass
class Session:
    """What the server keeps between messages."""

    linter: DocumentLinter
    debounce: float = DEFAULT_DEBOUNCE
    project: OpenDocuments = field(default_factory=OpenDocuments)
    published: dict[str, Published] = field(default_factory=dict)
    pending: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    shown_problems: set[str] = field(default_factory=set)
    executor: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="reglint-lint"))


def document_path(uri: str) -> Optional[Path]:
    if not uri.startswith("file:"):
        return None
    path = to_fs_path(uri)
    return Path(path) if path else None


def is_python(uri: str, language_id: Optional[str]) -> bool:
    """A document to lint: Python, and not a notebook or one of its cells (a cell linted alone
    misses the other cells: a penalty added to the loss in the next cell would look unused)."""
    location = uri.split("?", 1)[0].split("#", 1)[0].lower()
    if location.startswith(NOTEBOOK_CELL_SCHEMES) or location.endswith(".ipynb"):
        return False
    if language_id is not None and language_id.lower() == "python":
        return True
    return location.endswith(PYTHON_SUFFIXES)


def create_server(linter: DocumentLinter, debounce: float = DEFAULT_DEBOUNCE) -> LanguageServer:
    server = LanguageServer("reglint", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
    session = Session(linter, debounce)
    python_documents: dict[str, bool] = {}

    def encoding() -> str:
        kind = server.workspace.position_encoding
        return _ENCODINGS.get(str(getattr(kind, "value", kind)), UTF16)

    def schedule(uri: str, delay: float) -> None:
        previous = session.pending.pop(uri, None)
        if previous is not None:
            previous.cancel()
        session.pending[uri] = asyncio.ensure_future(lint_later(uri, delay))

    async def lint_later(uri: str, delay: float) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        document = server.workspace.text_documents.get(uri)
        if document is None:
            return
        version, text, path = document.version, document.source, document_path(uri)
        loop = asyncio.get_running_loop()
        try:
            lint = await loop.run_in_executor(session.executor, session.linter.lint, text, path, uri.rsplit("/", 1)[-1], uri)
        except Exception as exc:  # a bug in reglint: say so on the document rather than go quiet
            logger.exception("linting %s failed", uri)
            lint = DocumentLint(text, str(path or uri), problem=f"internal error: {type(exc).__name__}: {exc}")
        current = server.workspace.text_documents.get(uri)
        if current is None or current.version != version:
            return  # changed while linted: the newer text is scheduled already
        if session.pending.get(uri) is asyncio.current_task():
            del session.pending[uri]
        publish(uri, version, lint)

    def publish(uri: str, version: Optional[int], lint: DocumentLint) -> None:
        session.published[uri] = Published(version, lint)
        text = DocumentText(lint.text, encoding())
        diagnostics = [to_diagnostic(text, finding, index) for index, finding in enumerate(lint.findings)]
        if lint.problem is not None:
            diagnostics.insert(0, problem_diagnostic(lint.problem))
            if lint.problem not in session.shown_problems:
                session.shown_problems.add(lint.problem)
                server.window_show_message(types.ShowMessageParams(types.MessageType.Error, f"reglint: {lint.problem}"))
        server.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri, diagnostics, version))

    def relint_all() -> None:
        session.linter.reload_config()
        session.shown_problems.clear()
        for uri, python in python_documents.items():
            if python:
                schedule(uri, 0)

    def is_config(uri: str) -> bool:
        return uri.rstrip("/").endswith("/" + CONFIG_FILE)

    @server.feature(types.INITIALIZE)
    def initialize(params: types.InitializeParams) -> None:
        options = params.initialization_options
        if isinstance(options, dict) and isinstance(options.get("debounce"), (int, float)):
            session.debounce = max(0.0, float(options["debounce"]))
        root = params.root_uri or (params.workspace_folders[0].uri if params.workspace_folders else None)
        if root is not None and session.linter.root is None:
            session.linter.root = document_path(root)

    @server.feature(types.INITIALIZED)
    def initialized(params: types.InitializedParams) -> None:
        watched = server.client_capabilities.workspace
        dynamic = watched is not None and watched.did_change_watched_files is not None and watched.did_change_watched_files.dynamic_registration
        if not dynamic:
            return
        options = types.DidChangeWatchedFilesRegistrationOptions(watchers=[types.FileSystemWatcher(glob_pattern=f"**/{CONFIG_FILE}")])
        registration = types.Registration(id="reglint-config", method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES, register_options=options)
        server.client_register_capability(types.RegistrationParams(registrations=[registration]))

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(params: types.DidOpenTextDocumentParams) -> None:
        uri = params.text_document.uri
        python = is_python(uri, params.text_document.language_id)
        python_documents[uri] = python
        if python:
            session.project.update(uri, document_path(uri), params.text_document.text)
            schedule(uri, 0)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(params: types.DidChangeTextDocumentParams) -> None:
        uri = params.text_document.uri
        if not python_documents.get(uri, False):
            return
        document = server.workspace.text_documents.get(uri)
        if document is not None:
            session.project.update(uri, document_path(uri), document.source)
        schedule(uri, session.debounce)
        for dependent in session.project.dependents(uri):
            schedule(dependent, session.debounce)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(params: types.DidSaveTextDocumentParams) -> None:
        uri = params.text_document.uri
        if is_config(uri):
            relint_all()
        elif python_documents.get(uri, False):
            schedule(uri, 0)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        pending = session.pending.pop(uri, None)
        if pending is not None:
            pending.cancel()
        session.project.close(uri)
        session.published.pop(uri, None)
        session.executor.submit(session.linter.forget, uri)  # in the lint thread: no race with a lint
        if python_documents.pop(uri, False):
            server.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri, []))

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(params: types.DidChangeWatchedFilesParams) -> None:
        if any(is_config(change.uri) for change in params.changes):
            relint_all()

    def current(uri: str) -> Optional[Published]:
        """The published lint, if it is of the document's current text."""
        published = session.published.get(uri)
        document = server.workspace.text_documents.get(uri)
        if published is None or document is None or published.version != document.version:
            return None
        return published

    def resolve_support() -> bool:
        text_document = server.client_capabilities.text_document
        code_action = text_document.code_action if text_document is not None else None
        support = code_action.resolve_support if code_action is not None else None
        return support is not None and "edit" in support.properties

    def workspace_edit(uri: str, version: Optional[int], edits: list[Any], lint: DocumentLint) -> types.WorkspaceEdit:
        text = DocumentText(lint.text, encoding())
        text_edits = [types.TextEdit(lsp_range(text, e.line, e.column, e.end_line, e.end_column), e.replacement) for e in edits]
        workspace = server.client_capabilities.workspace
        versioned = workspace is not None and workspace.workspace_edit is not None and workspace.workspace_edit.document_changes
        if versioned:
            identifier = types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version)
            return types.WorkspaceEdit(document_changes=[types.TextDocumentEdit(identifier, list(text_edits))])
        return types.WorkspaceEdit(changes={uri: text_edits})

    async def planned_edits(plans: list[actions.Plan], lint: DocumentLint) -> list[Optional[list[Any]]]:
        """The plans' edits, worked out in the lint thread: libcst is used from one thread only
        (the runner switches its node validation off while it parses), and the server keeps
        reading messages meanwhile."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(session.executor, lambda: [actions.edits_for(p, lint, session.linter) for p in plans])

    def to_action(uri: str, published: Published, plan: actions.Plan) -> types.CodeAction:
        lint = published.lint
        text = DocumentText(lint.text, encoding())
        related = [to_diagnostic(text, lint.findings[plan.index], plan.index)] if plan.index is not None else None
        return types.CodeAction(title=plan.title, kind=plan.kind, diagnostics=related, is_preferred=plan.preferred or None)

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix, actions.FIX_ALL], resolve_provider=True),
    )
    async def code_action(params: types.CodeActionParams) -> Optional[list[types.CodeAction]]:
        uri = params.text_document.uri
        published = current(uri)
        if published is None:
            return None
        text = DocumentText(published.lint.text, encoding())
        first, _ = text.from_lsp(params.range.start.line, params.range.start.character)
        last, _ = text.from_lsp(params.range.end.line, params.range.end.character)
        only = [str(kind) for kind in params.context.only] if params.context.only else None
        plans = actions.plan_actions(published.lint, first, last, only)
        found = []
        if resolve_support():
            for plan in plans:
                action = to_action(uri, published, plan)
                action.data = {"uri": uri, "version": published.version, "what": plan.what, "index": plan.index}
                found.append(action)
            return found or None
        # Without resolve every edit is computed now: the expensive "fix all" only when asked for by kind.
        plans = [p for p in plans if p.what != actions.FIX_ALL_SAFE or only is not None]
        for plan, edits in zip(plans, await planned_edits(plans, published.lint)):
            if edits is not None:
                action = to_action(uri, published, plan)
                action.edit = workspace_edit(uri, published.version, edits, published.lint)
                found.append(action)
        return found or None

    @server.feature(types.CODE_ACTION_RESOLVE)
    async def resolve_code_action(action: types.CodeAction) -> types.CodeAction:
        data = action.data if isinstance(action.data, dict) else {}
        uri = data.get("uri")
        published = current(uri) if isinstance(uri, str) else None
        if published is None or published.version != data.get("version") or not isinstance(uri, str):
            return action  # the document changed: no edit rather than a stale one
        plan = actions.Plan(str(data.get("what")), action.title, str(action.kind), data.get("index"))
        (edits,) = await planned_edits([plan], published.lint)
        now = current(uri)  # the edits are for this version's text only
        if edits is not None and now is not None and now.version == published.version:
            action.edit = workspace_edit(uri, published.version, edits, published.lint)
        return action

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(params: types.HoverParams) -> Optional[types.Hover]:
        published = current(params.text_document.uri)
        if published is None:
            return None
        text = DocumentText(published.lint.text, encoding())
        line, column = text.from_lsp(params.position.line, params.position.character)
        found = findings_at(published.lint, line, column)
        markdown = hover_markdown(found)
        if markdown is None:
            return None
        return types.Hover(
            contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=markdown),
            range=finding_range(text, found[0]),
        )

    @server.feature(types.SHUTDOWN)
    def shutdown(params: Any = None) -> None:
        for task in session.pending.values():
            task.cancel()
        session.pending.clear()
        session.executor.shutdown(wait=False, cancel_futures=True)

    return server


# The lint thread walks libcst trees recursively, as deep as the code nests (the CLI raises the
# recursion limit for the same reason): give it the stack a main thread has, whatever the platform.
LINT_THREAD_STACK = 64 * 1024 * 1024


def serve(config: Optional[Path] = None, isolated: bool = False, debounce: float = DEFAULT_DEBOUNCE) -> None:
    """Run the server over stdin and stdout until the client says exit."""
    logging.basicConfig(level=logging.WARNING, format="reglint server: %(levelname)s %(message)s")
    threading.stack_size(LINT_THREAD_STACK)
    create_server(DocumentLinter(config=config, isolated=isolated), debounce).start_io()
