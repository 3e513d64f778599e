"""Compact labels for groups of parameter names must be honest.

A label such as `layer{1..4}.*.bn{1..3}.weight, bn1.weight` must match every member of its group
and no other name of the model. The labels are read back here by a matcher written from the
grammar in grouping.py's docstring (not by the module's own matcher), on real model layouts and on
random name sets (hypothesis).
"""

from __future__ import annotations

import re

from audit_helpers import label_matches
from hypothesis import given, settings
from hypothesis import strategies as st

from reglint.audit.grouping import compact_label, group


def assert_honest(members: list[str], universe: list[str]) -> str:
    label = compact_label(members, universe)
    wanted = set(members)
    for name in set(universe) | wanted:
        assert label_matches(label, name) == (name in wanted), (label, name, name in wanted)
    return label


def resnet50_names() -> list[str]:
    names = ["conv1.weight", "bn1.weight", "bn1.bias"]
    for layer, blocks in ((1, 3), (2, 4), (3, 6), (4, 3)):
        for b in range(blocks):
            for c in (1, 2, 3):
                names += [f"layer{layer}.{b}.conv{c}.weight", f"layer{layer}.{b}.bn{c}.weight", f"layer{layer}.{b}.bn{c}.bias"]
            if b == 0:
                names += [f"layer{layer}.0.downsample.{k}" for k in ("0.weight", "1.weight", "1.bias")]
    return names + ["fc.weight", "fc.bias"]


def test_resnet_norm_weights() -> None:
    names = resnet50_names()
    norm_weights = [n for n in names if n.endswith("weight") and (".bn" in n or n.startswith("bn") or "downsample.1" in n)]
    assert len(norm_weights) == 53
    label = assert_honest(norm_weights, names)
    assert label == "bn1.weight, layer{1..4}.*.bn{1..3}.weight, layer{1..4}.0.downsample.1.weight"


def test_mixed_layers_are_named_not_hidden() -> None:
    # Layer 1 and layer 3 norms together: the label says {1,3}, it does not claim all four layers.
    names = resnet50_names()
    chosen = [n for n in names if re.match(r"layer[13]\.\d+\.bn3\.weight$", n)]
    assert assert_honest(chosen, names) == "layer{1,3}.*.bn3.weight"


def test_gaps_keep_indices() -> None:
    names = resnet50_names()
    chosen = [n for n in names if n.endswith("bn3.weight") and n != "layer4.2.bn3.weight"]
    label = assert_honest(chosen, names)
    assert "layer4.2" not in label and "layer4.{0,1}.bn3.weight" in label


def test_bert_pooler_is_its_own_pattern() -> None:
    attention = [f"bert.encoder.layer.{i}.attention.self.{q}.weight" for i in range(12) for q in ("query", "key", "value")]
    names = attention + ["bert.pooler.dense.weight"]
    assert assert_honest(attention, names) == "bert.encoder.layer.*.attention.self.{query,key,value}.weight"
    assert assert_honest(names, names).endswith(", bert.pooler.dense.weight")


def test_many_alternatives_widen_only_when_honest() -> None:
    heads = [f"heads.task_{k}.weight" for k in "abcdefg"]
    assert assert_honest(heads, heads + ["heads.other.weight"]) == "heads.task_*.weight"
    label = assert_honest(heads, heads + ["heads.task_z.weight"])
    assert "task_z" not in label and label.startswith("heads.task_{")


def test_single_name_and_odd_names() -> None:
    assert compact_label(["fc.weight"], ["fc.weight", "fc.bias"]) == "fc.weight"
    assert assert_honest(["a.{x}", "a.y"], ["a.{x}", "a.y", "a.z"]) == "'a.{x}', a.y"
    assert_honest(["m.x, y", "m.*"], ["m.x, y", "m.*", "m.z"])


SEGMENTS = st.sampled_from(["0", "1", "2", "3", "10", "11", "bn1", "bn2", "conv1", "fc", "weight", "bias", "ln_f", "attn", "h", "layer1", "layer2", "q_proj", "k_proj"])
NAMES = st.lists(SEGMENTS, min_size=1, max_size=4).map(".".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(NAMES, min_size=1, max_size=40, unique=True), st.data())
def test_labels_are_honest_on_random_name_sets(universe: list[str], data: st.DataObject) -> None:
    members = data.draw(st.lists(st.sampled_from(universe), min_size=1, unique=True))
    assert_honest(members, universe)


def test_group_by_key_labels_each_group() -> None:
    names = resnet50_names()
    items = [(n, "RL202" if n.endswith("bias") else "ok") for n in names]
    groups = group(items, key=lambda item: item[1], name=lambda item: item[0], universe=names)
    assert [g.key for g in groups] == ["ok", "RL202"]
    bias = groups[1]
    assert bias.count == len([n for n in names if n.endswith("bias")])
    assert all(label_matches(bias.label or "", n) == n.endswith("bias") for n in names)
    everything = group(items, key=lambda item: "all", name=lambda item: item[0], universe=names)
    assert [g.label for g in everything] == ["every parameter"]
    anonymous = group([("x", None), ("x", None)], key=lambda item: item[0], name=lambda item: item[1], universe=names)
    assert len(anonymous) == 1 and anonymous[0].label is None and anonymous[0].count == 2
