"""Robustness suite options.

The property tests run a CI-sized budget (a few thousand cases in all, well under a minute on two
cores). A longer run multiplies every budget: `REGLINT_LONG_FUZZ=1 pytest tests/robustness`, or
`pytest tests/robustness --long-fuzz` (the option is only known when pytest starts inside
tests/robustness, because pytest reads options from the conftest files of the paths it is given;
the environment variable works from anywhere). `REGLINT_LONG_FUZZ=N` with N > 1 multiplies by N.
"""

from __future__ import annotations

import os

import pytest


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
