"""Code actions: a finding's fix (safe, or unsafe and labelled so), a suppression comment for it,
and "fix all" (what `reglint check --fix` would write).

Planning an action is cheap; working out its edit is not always (a fix is checked to leave the
file parseable, as `--fix` checks it; "fix all" relints until the fixes settle), so the server
sends plans and computes the edit when the client resolves the action (`codeAction/resolve`),
or at once for clients that cannot resolve.

Edits are in reglint's coordinates (reglint.model.Edit: 1-based lines, code-point columns); the
server turns them into LSP text edits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from reglint.engine.suppression import Suppressions, suppression_insert
from reglint.lsp.documents import DocumentLint, DocumentLinter
from reglint.lsp.text import DocumentText
from reglint.model import Applicability, Edit, Finding

QUICKFIX = "quickfix"
FIX_ALL = "source.fixAll.reglint"

FIX, UNSAFE_FIX, IGNORE, FIX_ALL_SAFE = "fix", "unsafe-fix", "ignore", "fix-all"


@dataclass(frozen=True)
class Plan:
    """An action before its edit is computed: what it does, to which finding."""

    what: str  # FIX, UNSAFE_FIX, IGNORE or FIX_ALL_SAFE
    title: str
    kind: str
    index: Optional[int] = None  # the finding's index in the lint (None for FIX_ALL_SAFE)
    preferred: bool = False


def wants(only: Optional[Sequence[str]], kind: str) -> bool:
    """LSP's `only` filter: a kind is asked for when it is, or lies under, one of the listed kinds."""
    if only is None:
        return True
    return any(kind == wanted or kind.startswith(wanted + ".") for wanted in only)


def plan_actions(lint: DocumentLint, first_line: int, last_line: int, only: Optional[Sequence[str]] = None) -> list[Plan]:
    """The actions for the findings on lines `first_line`..`last_line` (1-based, inclusive), and
    "fix all" when some finding of the document has a safe fix."""
    plans: list[Plan] = []
    if wants(only, QUICKFIX):
        for index, finding in enumerate(lint.findings):
            start = finding.line or 1
            end = finding.end_line or start
            if end < first_line or start > last_line:
                continue
            fix = finding.fix
            if fix is not None and fix.applicability is Applicability.SAFE:
                plans.append(Plan(FIX, f"Fix {finding.code}: {fix.description}", QUICKFIX, index, preferred=True))
            elif fix is not None and fix.applicability is Applicability.UNSAFE:
                plans.append(Plan(UNSAFE_FIX, f"Unsafe fix {finding.code}: {fix.description} (changes training)", QUICKFIX, index))
            plans.append(Plan(IGNORE, f"Ignore {finding.code} on this line (# reglint: ignore[{finding.code}])", QUICKFIX, index))
    if wants(only, FIX_ALL) and any(f.fix is not None and f.fix.applicability is Applicability.SAFE for f in lint.findings):
        plans.append(Plan(FIX_ALL_SAFE, "Fix all reglint findings with a safe fix", FIX_ALL))
    return plans


def edits_for(plan: Plan, lint: DocumentLint, linter: DocumentLinter) -> Optional[list[Edit]]:
    """The edits that carry out `plan` on the text `lint` was made from; None when it cannot be
    done (a fix whose result would not parse, a line that cannot take a comment)."""
    if plan.what == FIX_ALL_SAFE:
        fixed = linter.fix_all(lint)
        return [replacement_edit(lint.text, fixed)] if fixed is not None else None
    if plan.index is None or not 0 <= plan.index < len(lint.findings):
        return None
    finding = lint.findings[plan.index]
    if plan.what in (FIX, UNSAFE_FIX):
        return fix_edits(lint.text, finding)
    if plan.what == IGNORE:
        edit = suppression_edit(lint.text, finding)
        return [edit] if edit is not None else None
    return None


def fix_edits(text: str, finding: Finding) -> Optional[list[Edit]]:
    """The finding's own fix, if `--fix` would apply it to this text (it fits and the result parses)."""
    from reglint.engine.fixes import apply_fixes

    if finding.fix is None:
        return None
    _, applied, _ = apply_fixes(text, [finding], unsafe=True)
    if not applied:
        return None
    return list(finding.fix.edits_for(finding))


def suppression_edit(text: str, finding: Finding) -> Optional[Edit]:
    """A `# reglint: ignore[CODE]` that silences the finding: on its first line, or else on its
    last (the comment must be on a line the finding covers, and a line that ends inside a string
    or with a backslash cannot take one)."""
    start = finding.line or 1
    lines = DocumentText(text).lines
    for line in dict.fromkeys((start, finding.end_line or start)):
        if not 1 <= line <= len(lines) or lines[line - 1].rstrip().endswith("\\"):
            continue
        spot = suppression_insert(text, line, finding.code)
        if spot is None:
            continue
        column, end_column, insert = spot
        edit = Edit(line, column + 1, line, end_column + 1, insert)
        if Suppressions(_applied(text, edit)).suppresses(finding.code, (line,)):
            return edit
    return None


def _applied(text: str, edit: Edit) -> str:
    document = DocumentText(text)
    start = document.offset(edit.line, edit.column)
    end = document.offset(edit.end_line, edit.end_column)
    return text[:start] + edit.replacement + text[end:]


def replacement_edit(before: str, after: str) -> Edit:
    """One edit turning `before` into `after`: the span between their common prefix and suffix
    (the editor keeps the cursor and the folds outside it)."""
    limit = min(len(before), len(after))
    prefix = 0
    while prefix < limit and before[prefix] == after[prefix]:
        prefix += 1
    if 0 < prefix < len(before) and before[prefix - 1] == "\r" and before[prefix] == "\n":
        prefix -= 1  # never split a \r\n line break
    suffix = 0
    while suffix < limit - prefix and before[-1 - suffix] == after[-1 - suffix]:
        suffix += 1
    if 0 < suffix < len(before) and before[-suffix] == "\n" and before[-1 - suffix] == "\r":
        suffix -= 1
    document = DocumentText(before)
    line, column = document.at_offset(prefix)
    end_line, end_column = document.at_offset(len(before) - suffix)
    return Edit(line, column, end_line, end_column, after[prefix : len(after) - suffix])
