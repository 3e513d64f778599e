"""Messages between the ranks of an audit, through the launcher's key-value store.

Never through collectives: a rank that failed in the user's code, or that waits in a collective
another rank never reached, would leave a collective of the audit's own hanging or, worse, paired
with the wrong one. The TCPStore that torchrun (or rank 0's `init_process_group`) serves at
MASTER_ADDR:MASTER_PORT answers whatever each rank is doing, and every wait on it has a deadline:
a rank that does not answer in time is reported as not having answered.
"""

from __future__ import annotations

import json
import os
import time
from datetime import timedelta
from typing import Any, Optional

NO_LIMIT = 24 * 3600.0  # --timeout 0: waits still end, after a day


class Exchange:
    """Post a JSON value under a key for this rank; gather every rank's value for a key."""

    def __init__(self, rank: int, world_size: int, timeout: float) -> None:
        import torch.distributed as dist

        self.rank, self.world_size, self.timeout = rank, world_size, timeout
        store = dist.TCPStore(os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]), is_master=False,
                              timeout=timedelta(seconds=timeout))
        run = os.environ.get("TORCHELASTIC_RUN_ID", "manual")
        attempt = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")
        self.store = dist.PrefixStore(f"reglint-audit/{run}/{attempt}", store)

    def post(self, key: str, value: Any) -> None:
        self.store.set(f"{key}/{self.rank}", json.dumps(value))

    def gather(self, key: str, timeout: Optional[float] = None) -> dict[int, Any]:
        """Every rank's value for `key`, waiting at most `timeout` seconds in all (ranks that did not
        post in time are missing from the result)."""
        end = time.monotonic() + (self.timeout if timeout is None else timeout)
        out: dict[int, Any] = {}
        for rank in range(self.world_size):
            name = f"{key}/{rank}"
            try:
                self.store.wait([name], timedelta(seconds=max(0.05, end - time.monotonic())))
                out[rank] = json.loads(self.store.get(name))
            except Exception:  # DistStoreError on timeout, or the store went away with rank 0
                continue
        return out

    def agree(self, stage: str, ok: bool, timeout: Optional[float] = None) -> dict[int, Any]:
        """Say whether this rank got through `stage`; return what every rank said (missing: no answer)."""
        self.post(f"stage/{stage}", ok)
        return self.gather(f"stage/{stage}", timeout)

    def wait_for(self, key: str, timeout: float) -> bool:
        """Wait for rank 0 to post `key`; False if it did not within `timeout` seconds."""
        try:
            self.store.wait([f"{key}/0"], timedelta(seconds=timeout))
            return True
        except Exception:
            return False
