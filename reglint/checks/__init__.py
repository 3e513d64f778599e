"""Static rules: importing this package registers every rule module."""

from reglint.checks.base import STATIC_RULES, StaticRule

__all__ = ["STATIC_RULES", "StaticRule"]
