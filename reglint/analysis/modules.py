"""A module as the interpreter reads it: its tree, imports, definitions and module-level values.

The linted file is the home module. Project modules it imports are read the same way (their
module-level code run once, for the constants and config values it defines), and their functions
and classes are inlined where the home module calls them; facts built inside them are reported at
the home module's call (see FileAnalyzer.here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import libcst as cst

from reglint.analysis.names import ImportMap
from reglint.analysis.state import Frame

if TYPE_CHECKING:
    from reglint.analysis.classes import ClassInfo


@dataclass(eq=False)
class ModuleContext:
    module: cst.Module
    imports: ImportMap
    frame: Frame
    home: bool
    path: Optional[str] = None  # how messages name the file (None: the linted file itself)
    source: Optional[str] = None
    name: Optional[str] = None  # the dotted module name, where known
    classes: dict[str, "ClassInfo"] = field(default_factory=dict)
    methods: dict[str, list[tuple[str, cst.FunctionDef]]] = field(default_factory=dict)
    argparse_defaults: dict[str, Optional[float]] = field(default_factory=dict)
    loaded: bool = False  # its definitions collected and module-level code run
    file: Optional[Path] = None  # where it is on disk (None: text with no file, e.g. stdin)
    resolved: dict[str, object] = field(default_factory=dict)  # import name -> value (cache)

    @classmethod
    def of(cls, module: cst.Module, home: bool, **kwargs: object) -> "ModuleContext":
        return cls(module, ImportMap.of(module), Frame("<module>", {}, None, code=module), home, **kwargs)  # type: ignore[arg-type]
