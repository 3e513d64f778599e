from __future__ import annotations

import libcst as cst

from reglint.analysis.facts import FileFacts


class FileAnalyzer:
    def __init__(self, module: cst.Module) -> None:
        self.module = module

    def run(self) -> FileFacts:
        return FileFacts(module=self.module)
