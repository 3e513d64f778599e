"""Robustness suite options.

The property tests run a CI-sized budget (a few thousand cases in all, well under a minute on two
cores). A longer run multiplies every budget: `REGLINT_LONG_FUZZ=1 pytest tests/robustness`, or
`pytest tests/robustness --long-fuzz` (the option is only known when pytest starts inside
tests/robustness, because pytest reads options from the conftest files of the paths it is given;
the environment variable works from anywhere). `REGLINT_LONG_FUZZ=N` with N > 1 multiplies by N.

The CI-sized run is derandomized (the same cases every time, so a red CI always means a change
broke something); the long run draws fresh random cases to look for new failures.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

settings.register_profile("reglint-ci", derandomize=True)
settings.register_profile("reglint-long", derandomize=False)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--long-fuzz",
        action="store_true",
        default=False,
        help="reglint robustness: run the property tests with a much larger example budget",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--long-fuzz", default=False) and not os.environ.get("REGLINT_LONG_FUZZ"):
        os.environ["REGLINT_LONG_FUZZ"] = "1"
    long_run = os.environ.get("REGLINT_LONG_FUZZ", "").strip().lower() not in ("", "0", "false", "no")
    settings.load_profile("reglint-long" if long_run else "reglint-ci")
