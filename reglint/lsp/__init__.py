"""`reglint server`: a language server (LSP over stdio) for editors.

It lints each open Python document as `reglint check` lints a file (the same prefilter, analysis,
rules, `[tool.reglint]` settings and suppression comments), publishes the findings as diagnostics,
offers the fixes and a suppression comment as code actions, and shows a rule's page on hover.

The modules, each with one job:

    text.py         positions: reglint's 1-based code-point columns <-> LSP positions
    documents.py    lint one document's text with the settings that apply to its path
    diagnostics.py  findings -> LSP diagnostics (code, severity, range, link to the rule page)
    actions.py      code actions: safe and unsafe fixes, `# reglint: ignore[CODE]`, fix all
    hover.py        the rule page of the diagnostic under the cursor
    project.py      the open documents of the workspace, where a project-wide analysis plugs in
    server.py       the pygls server: document sync, debouncing, publishing

Only server.py imports pygls and lsprotocol (the `lsp` extra); the others work on reglint's own
types, so they are tested without a client.
"""
