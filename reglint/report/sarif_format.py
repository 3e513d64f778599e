"""`--format sarif`: a SARIF 2.1.0 log, for GitHub code scanning and other SARIF viewers.

One run, with:

- `tool.driver`: name, version, information URI (the home page in the package metadata, when
  it names one) and the metadata of every rule reglint knows
  (id, name, descriptions, help text and markdown from the rule page in `rules/`, default level
  from the severity); results point at their rule by `ruleId` and `ruleIndex`.
- one result per finding: level (`error`, `warning`, `note` for info), message, and a physical
  location whose URI is relative to the directory reglint ran in (`%SRCROOT%`, forward slashes),
  with the region's 1-based start and end line and column.
- notebook findings: the region covers the `.ipynb` file's lines that hold the reported source
  line (no columns, which would be JSON columns), and the message and properties name the cell.
- audit findings (no source position): a logical location naming the parameter, plus a physical
  location at the audited file when the caller passes `artifact=<path>`.
- a safe or unsafe fix as a SARIF `fix` with the replacement of the finding's span.
"""

from __future__ import annotations

import functools
import json
import posixpath
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional, TextIO
from urllib.parse import quote

from reglint import __version__
from reglint.model import Finding, RuleInfo, Severity

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SRCROOT = "%SRCROOT%"

LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
# GitHub code scanning reads `problem.severity` (error, warning, recommendation) from rule properties.
PROBLEM_SEVERITY = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "recommendation"}


def render(
    findings: Sequence[Finding],
    summary: Any,
    out: TextIO,
    *,
    root: Optional[Path] = None,
    artifact: Optional[str] = None,
    **_: object,
) -> None:
    """Write the SARIF log of `findings`; URIs are made relative to `root` (default: cwd)."""
    json.dump(sarif_log(findings, root=root, artifact=artifact), out, indent=2, ensure_ascii=False)
    out.write("\n")


def sarif_log(findings: Sequence[Finding], *, root: Optional[Path] = None, artifact: Optional[str] = None) -> dict[str, Any]:
    """The SARIF log as a JSON-ready dict."""
    base = (root or Path.cwd()).resolve()
    rules = _rules_for(findings)
    index = {info.code: i for i, info in enumerate(rules)}
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "reglint",
                        "version": __version__,
                        "semanticVersion": __version__,
                        **({"informationUri": home} if (home := information_uri()) else {}),
                        "rules": [rule_descriptor(info) for info in rules],
                    }
                },
                "originalUriBaseIds": {SRCROOT: {"uri": base.as_uri().rstrip("/") + "/"}},
                "invocations": [{"executionSuccessful": True}],
                "columnKind": "unicodeCodePoints",
                "results": [_result(f, index[f.code], base, artifact) for f in findings],
            }
        ],
    }


def failure_log(message: str, *, exit_code: int = 2, root: Optional[Path] = None) -> dict[str, Any]:
    """The SARIF log of a run that could not lint (a usage or configuration error): no results,
    the invocation marked failed with reglint's message, so an upload step still gets a valid file."""
    log = sarif_log([], root=root)
    log["runs"][0]["invocations"] = [
        {
            "executionSuccessful": False,
            "exitCode": exit_code,
            "toolExecutionNotifications": [{"level": "error", "message": {"text": message}}],
        }
    ]
    return log


def write_failure(message: str, out: TextIO, *, exit_code: int = 2) -> None:
    json.dump(failure_log(message, exit_code=exit_code), out, indent=2, ensure_ascii=False)
    out.write("\n")


def _rules_for(findings: Sequence[Finding]) -> list[RuleInfo]:
    """Every registered rule, plus a stand-in for any code a finding uses that is not registered."""
    from reglint.registry import all_rules

    rules = dict(all_rules())
    for finding in findings:
        if finding.code not in rules:
            rules[finding.code] = RuleInfo(finding.code, finding.name, finding.severity, finding.message)
    return [rules[code] for code in sorted(rules)]


@functools.lru_cache(maxsize=1)
def information_uri() -> Optional[str]:
    """The project's home page from the installed metadata (`[project.urls]`), if it names one."""
    try:
        from importlib.metadata import metadata

        meta = metadata("reglint")
        urls: dict[str, str] = {}
        for entry in meta.get_all("Project-URL") or []:
            label, _, url = entry.partition(",")
            urls.setdefault(label.strip().lower(), url.strip())
        for label in ("homepage", "home", "repository", "source", "documentation"):
            if urls.get(label):
                return urls[label]
        for home in meta.get_all("Home-page") or []:
            return str(home)
    except Exception:  # metadata missing or odd: leave the field out
        pass
    return None


def rule_descriptor(info: RuleInfo) -> dict[str, Any]:
    """A SARIF reportingDescriptor for one rule, with help from its page when there is one."""
    page = rule_page(info.code)
    what = _first_paragraph(page.sections.get("what it does", "")) if page else ""
    descriptor: dict[str, Any] = {
        "id": info.code,
        "name": info.name,
        "shortDescription": {"text": info.summary or info.name},
        "fullDescription": {"text": what or info.summary or info.name},
        "defaultConfiguration": {"level": LEVELS[info.severity], "enabled": info.default_enabled},
        "properties": {
            "tags": ["regularization", "pytorch", info.origin],
            "precision": "high" if info.origin == "audit" else "medium",
            "problem.severity": PROBLEM_SEVERITY[info.severity],
            "severity": str(info.severity),
            "origin": info.origin,
            "fix": info.fix.value if info.fix else None,
        },
    }
    if page is not None:
        descriptor["help"] = {"text": page.text, "markdown": page.markdown}
    else:
        descriptor["help"] = {"text": f"{info.code} {info.name}: {info.summary}"}
    return descriptor


class RulePage:
    """A rule page split into its `## ` sections (keys lower-cased)."""

    def __init__(self, markdown: str) -> None:
        self.markdown = markdown
        self.sections: dict[str, str] = {}
        current: Optional[str] = None
        for line in markdown.splitlines():
            if line.startswith("## "):
                current = line[3:].strip().lower()
                self.sections[current] = ""
            elif current is not None:
                self.sections[current] += line + "\n"

    @property
    def text(self) -> str:
        """The page as plain text: headings and code fences unmarked, the rest kept as written."""
        out = []
        for line in self.markdown.splitlines():
            if line.startswith("```"):
                continue
            out.append(re.sub(r"^#+\s*", "", line))
        return "\n".join(out).strip() + "\n"


@functools.cache
def rule_page(code: str) -> Optional[RulePage]:
    """The parsed page of `code`, or None when it has none (or it cannot be read)."""
    from reglint.rulepages import find_page

    path = find_page(code)
    if path is None:
        return None
    try:
        return RulePage(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None


def _first_paragraph(text: str) -> str:
    paragraph = text.strip().split("\n\n", 1)[0]
    return " ".join(line.strip() for line in paragraph.splitlines()).strip()


def artifact_uri(path: str, root: Path) -> tuple[str, Optional[str]]:
    """(uri, uriBaseId) for a reported path: relative to `root` when it lies under it.

    Relative paths are taken as reglint printed them (relative to the working directory); a path
    outside `root` becomes an absolute `file:` URI with no base.
    """
    candidate = Path(path)
    if not candidate.is_absolute():
        posix = posixpath.normpath(path.replace("\\", "/"))
        try:
            here = Path.cwd().resolve()
        except OSError:
            here = None
        if here == root and posix != ".." and not posix.startswith("../"):
            return _quote(posix), SRCROOT
        candidate = Path.cwd() / path
    try:
        resolved = candidate.resolve()
    except OSError:
        resolved = candidate
    try:
        return _quote(resolved.relative_to(root).as_posix()), SRCROOT
    except ValueError:
        return resolved.as_uri(), None


def _quote(posix: str) -> str:
    return quote(posix, safe="/-._~!$&'()*+,;=@")


def _result(finding: Finding, rule_index: int, root: Path, artifact: Optional[str]) -> dict[str, Any]:
    message = finding.message
    properties: dict[str, Any] = {"severity": str(finding.severity)}
    if finding.cell is not None:
        message = f"cell {finding.cell}, line {finding.line}: {message}"
        properties.update(cell=finding.cell, cellLine=finding.line, cellColumn=finding.column)
    if finding.param is not None:
        properties["param"] = finding.param
    result: dict[str, Any] = {
        "ruleId": finding.code,
        "ruleIndex": rule_index,
        "level": LEVELS[finding.severity],
        "message": {"text": message},
    }
    location: dict[str, Any] = {}
    target = finding.path if finding.path not in (None, "-") else artifact
    if target:
        uri, base = artifact_uri(target, root)
        physical: dict[str, Any] = {"artifactLocation": {"uri": uri, **({"uriBaseId": base} if base else {})}}
        region = _region(finding) if finding.path else None
        if region:
            physical["region"] = region
        location["physicalLocation"] = physical
    if finding.param is not None:
        location["logicalLocations"] = [{"name": finding.param, "fullyQualifiedName": finding.param, "kind": "member"}]
    if location:
        result["locations"] = [location]
    if finding.fix is not None and finding.cell is None and "physicalLocation" in location:
        replacements = _replacements(finding)
        if replacements:
            result["fixes"] = [
                {
                    "description": {"text": f"{finding.fix.description} ({finding.fix.applicability.value} fix)"},
                    "artifactChanges": [
                        {
                            "artifactLocation": location["physicalLocation"]["artifactLocation"],
                            "replacements": replacements,
                        }
                    ],
                }
            ]
    data = {k: v for k, v in finding.data.items() if k not in ("file_line", "file_end_line")}
    if data:
        properties["data"] = _jsonable(data)
    result["properties"] = properties
    return result


def _replacements(finding: Finding) -> list[dict[str, Any]]:
    """The fix's edits as SARIF replacements (an empty region is an insertion point)."""
    assert finding.fix is not None
    edits_for = getattr(finding.fix, "edits_for", None)
    if edits_for is None:
        region = _region(finding)
        return [{"deletedRegion": region, "insertedContent": {"text": finding.fix.replacement}}] if region else []
    out = []
    for edit in edits_for(finding):
        if edit.line < 1 or edit.column < 1 or (edit.end_line, edit.end_column) < (edit.line, edit.column):
            return []  # not a span SARIF can express: leave the fix out rather than mangle it
        region = {"startLine": edit.line, "startColumn": edit.column, "endLine": edit.end_line, "endColumn": edit.end_column}
        out.append({"deletedRegion": region, "insertedContent": {"text": edit.replacement}})
    return out


def _region(finding: Finding) -> Optional[dict[str, int]]:
    """The finding's region; for a notebook, the `.ipynb` file lines holding it (or none)."""
    if finding.cell is not None:
        start, end = finding.data.get("file_line"), finding.data.get("file_end_line")
        if isinstance(start, int) and start >= 1:
            return {"startLine": start, "endLine": end if isinstance(end, int) and end >= start else start}
        return None
    if finding.line is None or finding.line < 1:
        return None
    region = {"startLine": finding.line, "startColumn": max(finding.column or 1, 1)}
    end_line = finding.end_line if finding.end_line and finding.end_line >= finding.line else finding.line
    region["endLine"] = end_line
    if finding.end_column is not None and finding.end_column >= 1:
        end_column = finding.end_column
        if end_line == finding.line:
            end_column = max(end_column, region["startColumn"])
        region["endColumn"] = end_column
    return region


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))
