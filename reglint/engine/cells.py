"""The cells of a Jupyter notebook (`.ipynb`), read from its JSON without parsing any code.

Kept apart from notebook.py (which lints cells with libcst) so that showing a code frame under a
cached notebook finding does not import the parser.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Cell:
    """One notebook cell: `index` is 1-based among all cells; `source` is its text."""

    index: int
    kind: str
    source: str


class NotebookError(ValueError):
    """The file is not a notebook reglint can read; the message says why."""


def read_cells(document: Any) -> list[Cell]:
    """The cells of a parsed notebook (nbformat 4, or nbformat 3's worksheets)."""
    if not isinstance(document, dict):
        raise NotebookError("the top level is not a JSON object")
    raw_cells: list[Any]
    if isinstance(document.get("cells"), list):
        raw_cells = document["cells"]
    elif isinstance(document.get("worksheets"), list):
        raw_cells = [c for w in document["worksheets"] if isinstance(w, dict) for c in w.get("cells") or []]
    else:
        raise NotebookError("it has no list of cells")
    cells = []
    for number, raw in enumerate(raw_cells, start=1):
        if not isinstance(raw, dict):
            cells.append(Cell(number, "unknown", ""))
            continue
        kind = raw.get("cell_type")
        key = "input" if "source" not in raw and "input" in raw else "source"
        cells.append(Cell(number, kind if isinstance(kind, str) else "unknown", _text(raw.get(key))))
    return cells


def load_cell_sources(path: str) -> dict[int, list[str]]:
    """Each cell's source lines (by 1-based cell index) of the notebook file at `path`.

    For showing a code frame under a finding when only the finding is at hand (a cached or
    worker-produced result); empty when the file cannot be read as a notebook.
    """
    try:
        with open(path, "rb") as handle:
            cells = read_cells(json.loads(handle.read().decode("utf-8-sig")))
    except (OSError, ValueError):
        return {}
    return {cell.index: cell.source.splitlines() for cell in cells}


def _text(source: Any) -> str:
    """A cell's `source`: a list of strings (each usually ending in a newline) or one string."""
    if isinstance(source, str):
        return source
    if isinstance(source, list):
        return "".join(part for part in source if isinstance(part, str))
    return ""


