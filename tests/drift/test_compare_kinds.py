"""compare_attr's comparison per attribute kind, each tested directly."""

from __future__ import annotations

from typing import get_args

from orchestrator.drift.compare import (
    _COMPARE_BY_KIND,
    Attr,
    Kind,
    _compare_objects,
    _compare_rules,
    _compare_set,
    _compare_tags,
    compare_attr,
)
from orchestrator.drift.model import Diff
from tests.drift import statefiles as sf


def test_every_kind_but_tags_has_its_comparison() -> None:
    assert set(_COMPARE_BY_KIND) | {"tags"} == set(get_args(Kind))
    assert "tags" not in _COMPARE_BY_KIND  # tags read the state's tags_all, not one value


def test_an_unset_none_or_empty_expected_value_takes_the_default() -> None:
    attr = Attr("acl", "value", default="private")
    for state in ({}, {"acl": None}, {"acl": []}):
        assert compare_attr(attr, state, {"acl": "private"}) == []
        assert compare_attr(attr, state, {"acl": "public"}) == [Diff(("acl",), "private", "public")]


def test_tags_one_diff_per_key_and_reserved_keys_ignored_on_both_sides() -> None:
    expected = {"env": "prod", "team": "a", "aws:cloudformation:stack": "x"}
    actual = {"env": "dev", "owner": "b", "aws:createdBy": "y"}
    assert _compare_tags("tags", expected, actual) == [
        Diff(("tags", "env"), "prod", "dev"),
        Diff(("tags", "owner"), None, "b"),
        Diff(("tags", "team"), "a", None),
    ]


def test_sets_ignore_order_and_duplicates_and_compare_as_text() -> None:
    attr = Attr("ids", "set")
    assert _compare_set(attr, ["b", "a", "a"], ["a", "b"]) == []
    assert _compare_set(attr, [1, 2], ["2", "1"]) == []
    assert _compare_set(attr, None, []) == []
    assert _compare_set(attr, ["b", "a"], ["c", "a"]) == [Diff(("ids",), ["a", "b"], ["a", "c"])]


def test_objects_ignore_order_and_report_both_sides_sorted() -> None:
    attr = Attr("rules", "objects")
    one, two = {"k": 1, "v": "x"}, {"k": 2, "v": "y"}
    assert _compare_objects(attr, [two, one], [one, two]) == []
    (diff,) = _compare_objects(attr, [two, one], [one, {"k": 2, "v": "z"}])
    assert diff.path == ("rules",)
    assert diff.expected == sorted([one, two], key=lambda o: o["k"])
    assert [o["v"] for o in diff.actual] == ["x", "z"]


def test_rules_report_the_removed_then_the_added() -> None:
    attr = Attr("ingress", "rules")
    ssh = sf.sg_rule("tcp", 22, 22, ["10.0.0.0/8"])
    https = sf.sg_rule("tcp", 443, 443, ["0.0.0.0/0"])
    diffs = _compare_rules(attr, [ssh], [https])
    assert [(d.expected is None, d.actual is None) for d in diffs] == [(False, True), (True, False)]
    assert diffs[0].expected["from_port"] == 22
    assert diffs[1].actual["from_port"] == 443
    assert _compare_rules(attr, [ssh, https], [https, ssh]) == []
