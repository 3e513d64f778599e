"""The audit's report on models shaped like the real ones: one line per group of findings, honest
row labels, the terminal's width, and github/SARIF grouped the same way.

The models are small stand-ins for resnet50 and BERT (same module paths, a few channels), written
here in plain torch. Row and group labels are read back with the independent matcher in
audit_helpers.py: each must match exactly its members among the model's names.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from audit_helpers import label_matches
from click.testing import CliRunner

torch = pytest.importorskip("torch")
nn = torch.nn

from reglint.audit.grouped_formats import grouped_findings  # noqa: E402
from reglint.audit.runner import run_audit  # noqa: E402
from reglint.audit.text_report import render_text  # noqa: E402
from reglint.cli import main  # noqa: E402


class Bottleneck(nn.Module):
    def __init__(self, cin: int, width: int, down: bool) -> None:
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(cin, width, 1, bias=False), nn.BatchNorm2d(width)
        self.conv2, self.bn2 = nn.Conv2d(width, width, 3, bias=False), nn.BatchNorm2d(width)
        self.conv3, self.bn3 = nn.Conv2d(width, 2 * width, 1, bias=False), nn.BatchNorm2d(2 * width)
        self.downsample = nn.Sequential(nn.Conv2d(cin, 2 * width, 1, bias=False), nn.BatchNorm2d(2 * width)) if down else None


class SmallResNet(nn.Module):
    """resnet50's module paths with 2-3 blocks per layer and few channels; layer1's bn3 and
    layer2's bn1/bn2 have the same width (4), as layer1's and layer3's do in resnet50."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, 2, 3, bias=False), nn.BatchNorm2d(2)
        cin = 2
        for i, (width, blocks) in enumerate(((2, 3), (4, 2), (8, 3), (16, 2)), start=1):
            layer = nn.Sequential(*(Bottleneck(cin if b == 0 else 2 * width, width, b == 0) for b in range(blocks)))
            setattr(self, f"layer{i}", layer)
            cin = 2 * width
        self.fc = nn.Linear(cin, 10)


class SmallBert(nn.Module):
    """BERT's module paths with d = 8: attention weights and the pooler have the same shape."""

    def __init__(self, layers: int = 3, d: int = 8) -> None:
        super().__init__()
        self.bert = nn.Module()
        self.bert.embeddings = nn.Module()
        self.bert.embeddings.word_embeddings = nn.Embedding(30, d)
        self.bert.embeddings.LayerNorm = nn.LayerNorm(d)
        self.bert.encoder = nn.Module()
        self.bert.encoder.layer = nn.ModuleList()
        for _ in range(layers):
            block = nn.Module()
            block.attention = nn.Module()
            block.attention.self = nn.Module()
            block.attention.self.query, block.attention.self.key, block.attention.self.value = (nn.Linear(d, d) for _ in range(3))
            block.attention.output = nn.Module()
            block.attention.output.dense, block.attention.output.LayerNorm = nn.Linear(d, d), nn.LayerNorm(d)
            self.bert.encoder.layer.append(block)
        self.bert.pooler = nn.Module()
        self.bert.pooler.dense = nn.Linear(d, d)


STACKED = (
    "import torch\nfrom torch import nn\n"
    "model = nn.Sequential(*(nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4)) for _ in range(4)))\n"
    "def penalty(model):\n    return 1e-4 * sum(torch.norm(p) for p in model.parameters())\n"
    "optimizer = torch.optim.AdamW(model.parameters(), weight_decay=1e-2)\n"
)


def unsquared_norm(model: nn.Module) -> torch.Tensor:
    return 1e-4 * sum(torch.norm(p) for p in model.parameters())  # type: ignore[return-value]


@pytest.fixture(scope="module")
def resnet_report():  # type: ignore[no-untyped-def]
    torch.manual_seed(0)
    model = SmallResNet()
    return run_audit(model, unsquared_norm, torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05))


def text(report, width: int = 100) -> str:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    render_text(report.header, report.rows, report.verdicts, report.names, out, width=width)
    return out.getvalue()


def finding_block(output: str) -> list[str]:
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("findings:"))
    end = next(i for i, line in enumerate(lines) if line.startswith("what to do:"))
    return lines[start + 1:end]


def test_one_line_per_code_and_measurement(resnet_report) -> None:  # type: ignore[no-untyped-def]
    findings = resnet_report.findings
    heads = [line for line in finding_block(text(resnet_report)) if re.match(r"  RL\d{3} \[", line)]
    keys = {(f.code, f.message) for f in findings}
    assert len(heads) == len(keys) < 10 < len(findings)
    assert len([h for h in heads if h.startswith("  RL102")]) == 1
    assert f"({sum(f.code == 'RL102' for f in findings)})\n" in text(resnet_report)
    # each piece of advice once, under the findings
    output = text(resnet_report)
    assert output.count("replace λ·‖w‖ by λ/2·‖w‖²") == 1 and output.count("keep one of the two") == 1


def test_group_labels_name_exactly_their_parameters(resnet_report) -> None:  # type: ignore[no-untyped-def]
    names = resnet_report.names
    for group in resnet_report.groups_json():
        if group["label"] is None:
            continue
        assert group["count"] == len(group["params"])
        for name in names:
            assert label_matches(group["label"], name) == (name in group["params"]), (group["label"], name)


def test_rows_are_honest_and_split_by_module_pattern(resnet_report) -> None:  # type: ignore[no-untyped-def]
    names = resnet_report.names
    for row in resnet_report.rows:
        for name in names:
            assert label_matches(row.label, name) == (name in row.names), (row.label, name)
    # layer1's bn3 and layer2's bn1/bn2 share a width: one row whose label says which they are.
    shared = next(r for r in resnet_report.rows if "layer1.0.bn3.weight" in r.names)
    assert "layer2.0.bn1.weight" in shared.names and "layer3.0.bn1.weight" not in shared.names
    assert "layer1.*.bn3.{weight,bias}" in shared.label and "layer2.*.bn{1,2}.{weight,bias}" in shared.label
    assert "more)" not in "".join(r.label for r in resnet_report.rows)


def test_bert_pooler_has_its_own_row() -> None:
    torch.manual_seed(0)
    model = SmallBert()
    report = run_audit(model, None, torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-2))
    pooler = next(r for r in report.rows if "bert.pooler.dense.weight" in r.names)
    assert pooler.names == ["bert.pooler.dense.weight"]
    attention = next(r for r in report.rows if "bert.encoder.layer.0.attention.self.query.weight" in r.names)
    assert attention.label == "bert.encoder.layer.*.attention.self.{query,key,value}.weight"
    # Adam's coupled decay is one RL201 line for every parameter, not one per row.
    output = text(report)
    assert sum(1 for line in finding_block(output) if line.startswith("  RL201")) == 1
    assert "every parameter's name starts with `bert.`" in output
    assert "  encoder.layer.*.attention.self.{query,key,value}.weight (9)" in output


@pytest.mark.parametrize("width", [60, 80, 100, 140])
def test_every_line_fits_the_width(resnet_report, width: int) -> None:  # type: ignore[no-untyped-def]
    output = text(resnet_report, width)
    assert max(len(line) for line in output.splitlines()) <= width
    assert "RL102" in output and "layer{1..4}" in output


def test_width_comes_from_columns(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    src = tmp_path / "setup.py"
    src.write_text(
        "import torch\nfrom torch import nn\n"
        "model = nn.Sequential(*(nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4)) for _ in range(12)))\n"
        "def penalty(model):\n    return 1e-4 * sum(torch.norm(p) for p in model.parameters())\n"
        "optimizer = torch.optim.Adam(model.parameters(), weight_decay=1e-2)\n"
    )
    monkeypatch.setenv("COLUMNS", "72")
    narrow = CliRunner().invoke(main, ["audit", str(src)]).stdout
    monkeypatch.delenv("COLUMNS")
    default = CliRunner().invoke(main, ["audit", str(src)]).stdout  # not a terminal: 100 columns
    assert max(len(line) for line in narrow.splitlines()) <= 72 < max(len(line) for line in default.splitlines()) <= 100


def test_github_and_sarif_are_grouped(resnet_report) -> None:  # type: ignore[no-untyped-def]
    groups = grouped_findings(resnet_report.verdicts, resnet_report.names)
    keys = {(f.code, f.message) for f in resnet_report.findings}
    assert len(groups) == len(keys)
    assert sum(len(members) for _, members in groups) == len(resnet_report.findings)


def test_cli_github_and_sarif_one_result_per_group(tmp_path: Path) -> None:
    src = tmp_path / "resnetish.py"
    src.write_text(STACKED)
    github = CliRunner().invoke(main, ["audit", str(src), "--format", "github"])
    assert github.exit_code == 1, github.output
    annotations = [line for line in github.stdout.splitlines() if line.startswith("::")]
    doc = json.loads(CliRunner().invoke(main, ["audit", str(src), "--format", "json"]).stdout)
    assert len(doc["findings"]) > 2 * len(annotations)  # JSON keeps one finding per parameter
    assert len(annotations) == len(doc["summary"]["audit"]["groups"])
    assert any("(8 parameters)" in a for a in annotations)
    sarif = json.loads(CliRunner().invoke(main, ["audit", str(src), "--format", "sarif"]).stdout)
    results = sarif["runs"][0]["results"]
    assert len(results) == len(annotations)
    listed = [loc["fullyQualifiedName"] for r in results for loc in r["locations"][0].get("logicalLocations", [])]
    assert sorted(listed) == sorted(f["param"] for f in doc["findings"])


def test_header_shows_the_declared_expectation(tmp_path: Path) -> None:
    src = tmp_path / "declared.py"
    src.write_text(
        "import torch\nfrom torch import nn\nREGLINT_EXPECT = 'l2=1e-4'\nmodel = nn.Linear(3, 3)\n"
        "def penalty(model):\n    return 1e-4 / 2 * model.weight.pow(2).sum()\n"
    )
    from_file = CliRunner().invoke(main, ["audit", str(src)]).stdout
    assert "  expect     l2=1e-4 (REGLINT_EXPECT in the file): gradient 1.0e-04·w" in from_file
    from_option = CliRunner().invoke(main, ["audit", str(src), "--expect", "l1=1e-5"]).stdout
    assert "  expect     l1=1e-5 (--expect): gradient 1.0e-05·sign(w)" in from_option
    plain = tmp_path / "plain.py"
    plain.write_text(src.read_text().replace("REGLINT_EXPECT = 'l2=1e-4'\n", ""))
    assert "expect " not in CliRunner().invoke(main, ["audit", str(plain)]).stdout

