"""Which rule codes are on: `select`, `extend-select` and `ignore` take codes or code prefixes."""

from __future__ import annotations

from typing import Iterable, Mapping

from reglint.engine.config import ConfigError, Settings
from reglint.model import RuleInfo


def _matching(selector: str, rules: Mapping[str, RuleInfo]) -> set[str]:
    if selector in ("ALL", "RL"):
        return set(rules)
    matched = {code for code in rules if code.startswith(selector)}
    if not matched:
        by_name = {code for code, info in rules.items() if info.name == selector.lower()}
        if by_name:
            return by_name
        raise ConfigError(f"unknown rule code or prefix {selector!r} (see `reglint rules`)")
    return matched


def _expand(selectors: Iterable[str], rules: Mapping[str, RuleInfo]) -> set[str]:
    out: set[str] = set()
    for selector in selectors:
        out |= _matching(selector, rules)
    return out


def enabled_codes(settings: Settings, rules: Mapping[str, RuleInfo]) -> frozenset[str]:
    try:
        return _enabled_codes(settings, rules)
    except ConfigError as exc:
        if settings.source is not None:
            raise ConfigError(f"{exc} (options from the command line and {settings.source})") from None
        raise


def _enabled_codes(settings: Settings, rules: Mapping[str, RuleInfo]) -> frozenset[str]:
    if settings.select:
        on = _expand(settings.select, rules)
    else:
        on = {code for code, info in rules.items() if info.default_enabled}
    on |= _expand(settings.extend_select, rules)
    on -= _expand(settings.ignore, rules)
    return frozenset(on)


def validate_codes(codes: Iterable[str], rules: Mapping[str, RuleInfo]) -> None:
    _expand(codes, rules)
