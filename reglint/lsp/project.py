"""The workspace as the server sees it: which documents are open, and with what text.

A finding in one file may come to depend on other files of the project (the cross-file analysis:
module summaries of the files a training script imports). This is where the server keeps what
such an analysis needs, so that it can be plugged in without changing the server:

- `source(path)`: the text of a project file as the editor has it, the unsaved buffer where the
  file is open, else the file on disk; a project analysis reads other modules through this;
- `dependents(uri)`: the open documents whose findings may change when that one changes; the
  server relints them too (today none: each document is linted on its own);
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
        self._paths: dict[str, Optional[Path]] = {}  # open document URI -> its file, if it has one
        self._texts: dict[Path, str] = {}
        self.summaries: dict[Any, Any] = {}

    def update(self, uri: str, path: Optional[Path], text: str) -> None:
        self._paths[uri] = path
        if path is not None:
            self._texts[path] = text

    def close(self, uri: str) -> None:
        path = self._paths.pop(uri, None)
        if path is not None:
            self._texts.pop(path, None)

    def source(self, path: Path) -> Optional[str]:
        """The editor's text of `path` if it is open, else the file's text on disk (None if it
        cannot be read as UTF-8)."""
        if path in self._texts:
            return self._texts[path]
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def dependents(self, uri: str) -> list[str]:
        """The open documents (URIs, as the client spells them) whose findings depend on the
        document `uri` besides itself: none while each file is linted alone."""
        return []
