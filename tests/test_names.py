"""Import aliases are read from every import statement of a file, at any depth, in source order."""

from __future__ import annotations

import textwrap

import libcst as cst

from reglint.analysis.names import ImportMap, import_statements

NESTED = textwrap.dedent(
    """\
    import torch as th
    def one_liner(): import torch.optim as optim_a
    class Trainer:
        def build(self):
            if fast:
                from torch.optim import Adam as Opt
            elif slow:
                from torch.optim import SGD as Slow
            else:
                pass
        with ctx:
            from torch import optim
    try:
        import numpy as np
    except ImportError:
        from math import sqrt
    else:
        from torch.nn import functional as F
    finally:
        from torch.linalg import vector_norm
    for _ in range(2):
        pass
    else:
        from torch.optim import *
    while False:
        pass
    else:
        from .local import not_read
    match value:
        case 1:
            import torch.nn as nn
        case _:
            x = lambda: __import__("os")
    """
)


def test_every_import_at_any_depth_in_source_order() -> None:
    module = cst.parse_module(NESTED)
    names = [
        cst.Module([]).code_for_node(statement).split(" import ")[0] + " ..." for statement in import_statements(module.body)
    ]
    assert names == [
        "import torch as th ...",
        "import torch.optim as optim_a ...",
        "from torch.optim ...",
        "from torch.optim ...",
        "from torch ...",
        "import numpy as np ...",
        "from math ...",
        "from torch.nn ...",
        "from torch.linalg ...",
        "from torch.optim ...",
        "from .local ...",
        "import torch.nn as nn ...",
    ]


def test_aliases_of_nested_imports() -> None:
    aliases = ImportMap.of(cst.parse_module(NESTED)).aliases
    assert aliases["th"] == "torch"
    assert aliases["optim_a"] == "torch.optim"
    assert aliases["Opt"] == "torch.optim.Adam"
    assert aliases["Slow"] == "torch.optim.SGD"
    assert aliases["optim"] == "torch.optim"
    assert aliases["F"] == "torch.nn.functional"
    assert aliases["vector_norm"] == "torch.linalg.vector_norm"
    assert aliases["*torch.optim"] == "torch.optim"
    assert aliases["nn"] == "torch.nn"
    assert "not_read" not in aliases  # relative imports name no library
