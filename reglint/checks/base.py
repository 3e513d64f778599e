"""What a static rule is: metadata, VALID/INVALID examples, and a predicate over a file's facts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional

import libcst as cst

from reglint.analysis.facts import FileFacts
from reglint.engine.config import Settings
from reglint.model import Fix, RuleInfo
from reglint.registry import register


@dataclass(frozen=True)
class Report:
    """A rule's verdict on one node; the engine turns it into a positioned Finding."""

    node: cst.CSTNode
    message: str
    fix: Optional[Fix] = None


@dataclass(frozen=True)
class CheckContext:
    settings: Settings
    facts: FileFacts


CheckFn = Callable[[CheckContext], Iterable[Report]]


@dataclass(frozen=True)
class StaticRule:
    info: RuleInfo
    check: CheckFn
    valid: tuple[str, ...] = field(default=())
    invalid: tuple[str, ...] = field(default=())


STATIC_RULES: dict[str, StaticRule] = {}


def static_rule(info: RuleInfo, *, valid: Iterable[str] = (), invalid: Iterable[str] = ()) -> Callable[[CheckFn], CheckFn]:
    """Register `check` as the predicate of `info` (the rule's entry in reglint/catalog.py), with
    examples the test suite runs.

    Each INVALID snippet marks the lines it must be reported on with `# expect: CODE`; each VALID
    snippet must produce no finding of this rule.
    """

    def decorate(check: CheckFn) -> CheckFn:
        register(info)
        STATIC_RULES[info.code] = StaticRule(info, check, tuple(valid), tuple(invalid))
        return check

    return decorate
