"""The catalog of rule codes: every check, audit verdict and engine code registers here once."""

from __future__ import annotations

from reglint.model import Applicability, RuleInfo, Severity

_RULES: dict[str, RuleInfo] = {}


def register(info: RuleInfo) -> RuleInfo:
    existing = _RULES.get(info.code)
    if existing is not None and existing != info:
        raise RuntimeError(f"rule code {info.code} registered twice with different metadata")
    _RULES[info.code] = info
    return info


def _load_all() -> None:
    # Importing these registers every rule's metadata; none imports torch or libcst (the static
    # rules' matchers, which import libcst, are in reglint.checks and register the same infos).
    import reglint.audit.codes  # noqa: F401
    import reglint.catalog  # noqa: F401


def all_rules() -> dict[str, RuleInfo]:
    _load_all()
    return dict(sorted(_RULES.items()))


def get_rule(code: str) -> RuleInfo:
    rules = all_rules()
    try:
        return rules[code.upper()]
    except KeyError:
        raise KeyError(code) from None


PARSE_ERROR = register(
    RuleInfo(
        code="RL000",
        name="parse-error",
        severity=Severity.ERROR,
        summary="The file could not be read or parsed, so it was not linted.",
        origin="engine",
    )
)

UNUSED_SUPPRESSION = register(
    RuleInfo(
        code="RL900",
        name="unused-suppression",
        severity=Severity.INFO,
        summary="A `# reglint: ignore[...]` or `# noqa: RL...` comment suppresses nothing.",
        origin="engine",
        fix=Applicability.SAFE,
        default_enabled=False,
    )
)
