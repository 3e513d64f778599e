"""RL107 penalty-not-applied: a penalty computed in a training step that no loss ever receives.

A penalty computed next to the loss and then forgotten — its addition commented out, a `loss +
reg` whose result is dropped, a sum bound to a name the step never backpropagates — costs a pass
over the parameters each step and regularizes nothing. The loss curve and the code both suggest
regularization that training never sees. Reported instead of the findings about the penalty's
form (RL101, RL102), which would send the reader to the wrong problem. A penalty returned, stored
on the module, logged or passed anywhere else is not reported.
"""

from __future__ import annotations

from typing import Iterator

from reglint.catalog import RL107
from reglint.checks.base import CheckContext, Report, static_rule

INFO = RL107  # code, name, severity, summary: reglint/catalog.py

VALID = (
    # Added to the loss that is backpropagated.
    """
for x, y in loader:
    l1 = sum(p.abs().sum() for p in model.parameters() if p.ndim > 1)
    loss = criterion(model(x), y) + 1e-5 * l1
    loss.backward()
""",
    # Logged, not trained on: a measurement.
    """
for x, y in loader:
    loss = criterion(model(x), y)
    weight_norm = sum(p.pow(2).sum() for p in model.parameters() if p.ndim > 1)
    writer.add_scalar("weight_norm", weight_norm.item(), step)
    loss.backward()
""",
    # Returned to the caller, which decides.
    """
def training_step(self, batch, batch_idx):
    loss = self.criterion(self(batch[0]), batch[1])
    reg = sum(p.pow(2).sum() for p in self.parameters() if p.ndim > 1)
    return {"loss": loss + 1e-4 * reg, "reg": reg}
""",
)

INVALID = (
    # The addition was commented out.
    """
for x, y in loader:
    optimizer.zero_grad()
    loss = criterion(model(x), y)
    l2 = sum(p.pow(2).sum() for p in model.parameters() if p.ndim > 1)  # expect: RL107
    # loss = loss + 1e-4 * l2
    loss.backward()
    optimizer.step()
""",
    # The sum is bound to a name nobody backpropagates.
    """
def training_step(self, batch, batch_idx):
    x, y = batch
    loss = F.cross_entropy(self(x), y)
    l1_norm = sum(p.abs().sum() for p in self.parameters() if p.ndim > 1)  # expect: RL107
    loss_with_l1 = loss + 1e-5 * l1_norm
    self.log("train_loss", loss)
    return loss
""",
    # A `+` whose result is dropped.
    """
for x, y in loader:
    loss = criterion(model(x), y)
    loss + 1e-4 * sum(p.pow(2).sum() for p in model.parameters() if p.ndim > 1)  # expect: RL107
    loss.backward()
""",
)


@static_rule(INFO, valid=VALID, invalid=INVALID)
def check(ctx: CheckContext) -> Iterator[Report]:
    for penalty in ctx.facts.penalties:
        if not penalty.dead or not (penalty.home or penalty.called_at):
            continue  # (another module's penalty: where a step of this file calls its helper)
        for node in penalty.called_at or (penalty.node,):  # (in a step: its call of the helper)
            yield Report(
                node,
                "add this penalty to the loss before backward(), or remove it: it is computed in a "
                "training step but never reaches the loss that is backpropagated",
            )
