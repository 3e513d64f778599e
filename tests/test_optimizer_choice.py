"""Which optimizer a penalty's message names, when several are stepped on its loss.

RL206 and RL203 name one optimizer. It must be one that trains the penalty's parameters (PPO's
value optimizer for an L2 on the value net, not the policy's), and the same on every run: the
optimizers were once ordered by the memory address of their call nodes, so the line named
changed with the hash seed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from reglint.engine.config import Settings
from reglint.engine.runner import lint_text
from reglint.engine.session import _enabled

PPO = textwrap.dedent(
    """
    import torch

    def update(policy_net, value_net, optimizer_policy, optimizer_value, states, returns, l2_reg):
        value_loss = (value_net(states) - returns).pow(2).mean()
        for param in value_net.parameters():
            value_loss += param.pow(2).sum() * l2_reg
        optimizer_value.zero_grad()
        value_loss.backward()
        optimizer_value.step()
        policy_loss = -policy_net(states).mean()
        optimizer_policy.zero_grad()
        policy_loss.backward()
        optimizer_policy.step()

    policy_net, value_net = Policy(), Value()
    optimizer_policy = torch.optim.Adam(policy_net.parameters(), lr=3e-4)
    optimizer_value = torch.optim.Adam(value_net.parameters(), lr=3e-4)
    for epoch in range(10):
        update(policy_net, value_net, optimizer_policy, optimizer_value, states, returns, 1e-3)
    """
)

TWO_DECAYING = textwrap.dedent(
    """
    import torch

    opt_g = torch.optim.SGD(generator.parameters(), lr=0.1, weight_decay=1e-4)
    opt_d = torch.optim.SGD(discriminator.parameters(), lr=0.1, weight_decay=5e-4)
    for step in range(10):
        d_loss = critic(discriminator, batch)
        d_loss = d_loss + 1e-4 * sum(p.pow(2).sum() for p in discriminator.parameters() if p.ndim > 1)
        opt_g.zero_grad()
        opt_d.zero_grad()
        d_loss.backward()
        opt_g.step()
        opt_d.step()
    """
)


def _messages(text: str, code: str) -> list[str]:
    result = lint_text(text, "train.py", Settings(), _enabled(Settings(select=("ALL",))))
    return [f.message for f in result.findings if f.code == code]


def test_rl206_names_the_optimizer_of_the_penalized_net() -> None:
    (message,) = _messages(PPO, "RL206")
    assert "Adam (line 18)" in message, message  # optimizer_value, not optimizer_policy (17)


def test_rl203_names_the_optimizer_of_the_penalized_net() -> None:
    (message,) = _messages(TWO_DECAYING, "RL203")
    assert "weight_decay=5e-4" in message and "line 5" in message, message


def test_the_message_is_the_same_whatever_the_hash_seed(tmp_path: Path) -> None:
    script = tmp_path / "ppo.py"
    script.write_text(PPO, encoding="utf-8")
    seen = set()
    for seed in ("1", "2", "3", "4"):
        done = subprocess.run(
            [sys.executable, "-m", "reglint", "check", "--isolated", "--no-cache", "--format", "json", str(script)],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
            check=False,
        )
        findings = json.loads(done.stdout)["findings"]
        seen.add(tuple(f["message"] for f in findings if f["code"] == "RL206"))
    assert len(seen) == 1, seen
