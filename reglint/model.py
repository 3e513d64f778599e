"""The data every part of reglint speaks: severities, rule metadata, findings and fixes.

`check` and `audit` both produce `Finding` objects; the report formats only ever see these.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional


class Severity(enum.IntEnum):
    INFO = 1
    WARNING = 2
    ERROR = 3

    @classmethod
    def parse(cls, text: str) -> "Severity":
        try:
            return cls[text.strip().upper()]
        except KeyError:
            choices = ", ".join(s.name.lower() for s in cls)
            raise ValueError(f"unknown severity {text!r} (choose from {choices})") from None

    def __str__(self) -> str:
        return self.name.lower()


class Applicability(str, enum.Enum):
    """How safe a fix is: `--fix` applies SAFE ones, `--unsafe-fixes` adds UNSAFE ones."""

    SAFE = "safe"
    UNSAFE = "unsafe"


@dataclass(frozen=True)
class RuleInfo:
    """What a rule is, independent of how it is checked."""

    code: str
    name: str
    severity: Severity
    summary: str
    origin: str = "static"  # "static", "audit" or "engine"
    fix: Optional[Applicability] = None
    default_enabled: bool = True


@dataclass(frozen=True)
class Edit:
    """One text replacement: 1-based line and column, end exclusive (as a Finding's span).

    An empty span (start == end) is an insertion; an empty replacement is a deletion.
    """

    line: int
    column: int
    end_line: int
    end_column: int
    replacement: str
    cell: Optional[int] = None  # in a notebook: the cell, and line/end_line are within it
    # The lines around the edit as the parser rendered them when the edit was computed
    # (engine/source.edit_context): an edit is applied only where the text still reads so.
    # None: not checked (an edit built by hand). Never serialized.
    context: Optional[str] = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
            "replacement": self.replacement,
        }
        if self.cell is not None:
            out["cell"] = self.cell
        return out


@dataclass(frozen=True)
class Fix:
    """A replacement of the finding's source span (line/column to end_line/end_column).

    A fix that needs more than that (an import added beside the call it renames, a statement
    removed) lists its `edits` instead, in the file's coordinates; `replacement` is then the text
    of its main edit, for display. `edits_for` gives the edits either way.
    """

    applicability: Applicability
    description: str
    replacement: str
    edits: tuple[Edit, ...] = ()
    context: Optional[str] = field(default=None, compare=False, repr=False)  # of the span edit: see Edit

    def edits_for(self, finding: "Finding") -> tuple[Edit, ...]:
        """The edits this fix makes to the file `finding` is in."""
        if self.edits:
            return self.edits
        if finding.line is None or finding.column is None:
            return ()
        return (
            Edit(
                finding.line,
                finding.column,
                finding.end_line if finding.end_line is not None else finding.line,
                finding.end_column if finding.end_column is not None else finding.column,
                self.replacement,
                context=self.context,
            ),
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "applicability": self.applicability.value,
            "description": self.description,
            "replacement": self.replacement,
        }
        if self.edits:
            out["edits"] = [edit.to_json() for edit in self.edits]
        return out


@dataclass(frozen=True)
class Note:
    """Something the user should know about how a file was read: not a finding about the code
    (lines reglint could not analyse, fixes it cannot offer), and it changes no exit code."""

    path: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "column": self.column, "message": self.message}


@dataclass(frozen=True)
class Finding:
    code: str
    name: str
    severity: Severity
    message: str
    path: Optional[str] = None
    line: Optional[int] = None
    column: Optional[int] = None
    end_line: Optional[int] = None
    end_column: Optional[int] = None
    fix: Optional[Fix] = None
    param: Optional[str] = None
    data: Mapping[str, Any] = field(default_factory=dict)
    cell: Optional[int] = None

    @property
    def sort_key(self) -> tuple[Any, ...]:
        return (self.path or "", self.cell or 0, self.line or 0, self.column or 0, self.code, self.param or "")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.code,
            "name": self.name,
            "severity": str(self.severity),
            "message": self.message,
        }
        if self.param is not None or self.path is None:
            out["param"] = self.param
        if self.path is not None:
            out.update(
                path=self.path,
                line=self.line,
                column=self.column,
                end_line=self.end_line,
                end_column=self.end_column,
                fix=self.fix.to_json() if self.fix else None,
            )
            if self.cell is not None:
                out["cell"] = self.cell
        out.update(self.data)
        return out
