"""RL202 decay-on-bias-and-norm: the optimizer decays every parameter, biases and norm gains too.

`AdamW(model.parameters(), weight_decay=0.05)` (and AdamW with its default 1e-2) shrinks biases and
LayerNorm/BatchNorm gains toward 0 every step. The common practice (timm, HF Trainer, nanoGPT) is
two param groups: weight_decay for the weight matrices, 0 for every parameter with ndim < 2.
"""

from __future__ import annotations

from typing import Iterator

import libcst as cst

from reglint.analysis.facts import Number, ParamGroup
from reglint.analysis.filters import VECTORS
from reglint.catalog import RL202
from reglint.checks.base import CheckContext, Report, static_rule
from reglint.checks.optimizer_facts import decay_text, decaying_groups, explicitly_zero_group

INFO = RL202  # code, name, severity, summary: reglint/catalog.py

VALID = (
    "opt = torch.optim.SGD(model.parameters(), lr=0.1)\n",
    # The Hugging Face idiom: names in a no-decay list get weight_decay 0.
    """
no_decay = ["bias", "LayerNorm.weight"]
groups = [
    {"params": [p for n, p in model.named_parameters() if not any(nd in n for nd in no_decay)], "weight_decay": 0.01},
    {"params": [p for n, p in model.named_parameters() if any(nd in n for nd in no_decay)], "weight_decay": 0.0},
]
opt = torch.optim.AdamW(groups, lr=5e-5)
""",
    """
decay = [p for p in model.parameters() if p.ndim >= 2]
no_decay = [p for p in model.parameters() if p.ndim < 2]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}])
""",
)

INVALID = (
    "opt = torch.optim.AdamW(model.parameters(), lr=3e-4)  # expect: RL202\n",
    # Biases get their own group for a larger learning rate, and still inherit the decay.
    """
biases = [p for n, p in model.named_parameters() if n.endswith(".bias")]
others = [p for n, p in model.named_parameters() if not n.endswith(".bias")]
opt = torch.optim.SGD(
    [{"params": others}, {"params": biases, "lr": 0.2}],  # expect: RL202
    lr=0.1, momentum=0.9, weight_decay=5e-4,
)
""",
    # Groups split by layer, every one decaying: the optimizer lacks a no-decay group, reported
    # once at its call.
    """
opt = torch.optim.SGD(  # expect: RL202
    [
        {"params": net.backbone.parameters(), "lr": 1e-3},
        {"params": net.head.parameters()},
    ],
    lr=1e-2, weight_decay=1e-4,
)
""",
    # One group written over several lines: reported where it names its parameters.
    """
param_list = [{
    "params": list(model.parameters()),  # expect: RL202
    "weight_decay": 5e-4,
}]
opt = torch.optim.SGD(param_list, lr=0.1, momentum=0.9)
""",
    # DETR's groups: the backbone's parameters and the rest, chosen by name, both decaying.
    """
param_dicts = [
    {"params": [p for n, p in model.named_parameters() if "backbone" not in n and p.requires_grad]},
    {"params": [p for n, p in model.named_parameters() if "backbone" in n and p.requires_grad], "lr": 1e-5},
]
optimizer = torch.optim.AdamW(param_dicts, lr=1e-4, weight_decay=1e-4)  # expect: RL202
""",
    # The keyword dict's content is unknown, and AdamW decays by default.
    """
class Module(LightningModule):
    def configure_optimizers(self):
        return torch.optim.AdamW(self.parameters(), **self.hparams.optim_kwargs)  # expect: RL202
""",
    """
params = filter(lambda p: p.requires_grad, model.parameters())
opt = torch.optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=5e-4)  # expect: RL202
""",
)


@static_rule(INFO, valid=VALID, invalid=INVALID)
def check(ctx: CheckContext) -> Iterator[Report]:
    for optimizer in ctx.facts.home_optimizers:
        zero_group = explicitly_zero_group(optimizer)
        whole: list[tuple[ParamGroup, Number]] = []
        for group, decay in decaying_groups(optimizer):
            params = group.params
            if params is None:
                continue
            if params.selects == VECTORS:
                inherited = " from the optimizer" if group.weight_decay is None else ""
                yield Report(
                    group.node,
                    f'give this group "weight_decay": 0.0: it holds biases and norm gains '
                    f"(`{params.filter_text}`) and gets {decay_text(decay)}{inherited}",
                )
            elif params.unfiltered and not zero_group and params.has_vectors is not False:
                whole.append((group, decay))
        if len(whole) > 1 and len(whole) == len(optimizer.groups):
            # Every group decays every kind of parameter (a backbone group and a head group, say):
            # the missing no-decay group is the optimizer's, so it is reported once, at its call.
            yield Report(
                optimizer.node,
                f"put ndim < 2 parameters in a weight_decay=0 group: each param group of "
                f"{optimizer.class_name} gets {decay_text(whole[0][1])} and holds biases and norm gains",
            )
            continue
        for group, decay in whole:
            yield Report(
                _params_entry(group.node) if isinstance(group.node, cst.Dict) and not _written_in_call(optimizer.node, group.node) else optimizer.node,
                f"put ndim < 2 parameters in a weight_decay=0 group: {optimizer.class_name}'s "
                f"{decay_text(decay)} also decays biases and norm gains",
            )


def _written_in_call(call: cst.CSTNode, group: cst.CSTNode) -> bool:
    """Is the group dict written in the optimizer's call (`SGD([{"params": base}, {...}], ...)`)?
    Then the call is where the finding goes, as for parameters handed to it directly."""
    if not isinstance(call, cst.Call):
        return False
    return any(
        isinstance(arg.value, (cst.List, cst.Tuple)) and any(element.value is group for element in arg.value.elements)
        for arg in call.args
    )


def _params_entry(node: cst.CSTNode) -> cst.CSTNode:
    """Where a group dict names its parameters (`'params': list(model.parameters()),` on a line of
    its own), else the group itself."""
    if isinstance(node, cst.Dict):
        for element in node.elements:
            key = element.key if isinstance(element, cst.DictElement) else None
            if isinstance(key, cst.SimpleString) and key.evaluated_value == "params":
                return key
    return node
