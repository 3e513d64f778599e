"""The workspace as the server sees it: which documents are open, and with what text.

A finding in one file may come to depend on other files of the project (the cross-file analysis:
module summaries of the files a training script imports). This is where the server keeps what
such an analysis needs, so that it can be plugged in without changing the server:

- `source(path)`: the text of a project file as the editor has it, the unsaved buffer where the
  file is open, else the file on disk; a project analysis reads other modules through this;
- `dependents(path)`: the open documents whose findings may change when `path` changes; the
  server relints them after linting `path` (today none: each document is linted on its own);
- `summaries`: a store that outlives single lints, where module summaries computed once per
  module content can be kept and reused across documents and edits.

Documents are keyed by their file system path; documents without one (an unsaved new buffer)
take part only as themselves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional


class OpenDocuments:
    def __init__(self) -> None:
        self._texts: dict[Path, str] = {}
        self.summaries: dict[Any, Any] = {}

    def update(self, path: Optional[Path], text: str) -> None:
        if path is not None:
            self._texts[path] = text

    def close(self, path: Optional[Path]) -> None:
        if path is not None:
            self._texts.pop(path, None)

    def paths(self) -> list[Path]:
        return list(self._texts)

    def source(self, path: Path) -> Optional[str]:
        """The editor's text of `path` if it is open, else the file's text on disk (None if it
        cannot be read as UTF-8)."""
        if path in self._texts:
            return self._texts[path]
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def dependents(self, path: Path) -> list[Path]:
        """Open documents whose findings depend on `path` besides itself: none while each file is
        linted alone."""
        return []
