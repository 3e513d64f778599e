"""Bridges from other tools to reglint's engine (flake8). The pre-commit hook and the GitHub Action
call the `reglint` command itself and live at the repository root (`.pre-commit-hooks.yaml`,
`action.yml`)."""
