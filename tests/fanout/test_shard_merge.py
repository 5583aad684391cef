"""shard.py (pure) and planset merge's refusals, on small synthetic plan sets (no terraform)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.errors import OrchestratorError, PlanSetError
from orchestrator.graph import StackGraph
from orchestrator.planset import Encryption, Manifest, StackPlan, read_manifest, write_plan_set
from orchestrator.planset_merge import SHARD_FILE, ShardRecord, merge
from orchestrator.shard import assign, closure, groups, parse_shard, waves


def graph_of(edges: dict[str, list[str]]) -> StackGraph:
    """A StackGraph over ids with ``edges[downstream] = upstreams`` (no Stack objects needed)."""
    import networkx as nx

    g = StackGraph.__new__(StackGraph)
    g.stacks = {}
    g.graph = nx.DiGraph()
    for sid, ups in edges.items():
        g.graph.add_node(sid)
        for up in ups:
            g.graph.add_edge(up, sid)
    g.order = list(nx.lexicographical_topological_sort(g.graph))
    return g


SEALED = Encryption(recipients=["age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"])

# a -> b -> c, d -> e, f, g, h
EDGES = {"a": [], "b": ["a"], "c": ["b"], "d": [], "e": ["d"], "f": [], "g": [], "h": []}


def test_parse_shard() -> None:
    assert (parse_shard("2/4").index, parse_shard("2/4").count) == (2, 4)
    for bad in ("0/3", "4/3", "1/0", "x", "1/", "-1/2"):
        with pytest.raises(OrchestratorError):
            parse_shard(bad)


def test_assign_partitions_the_selection_the_same_way_every_time() -> None:
    g = graph_of(EDGES)
    ids = g.ordered(EDGES)
    for n in (1, 2, 3, 8, 12):
        shards = assign(g, ids, n)
        flat = [s for part in shards for s in part]
        assert sorted(flat) == sorted(ids) and len(flat) == len(ids)
        assert shards == assign(g, list(reversed(ids)), n)
    three = assign(g, ids, 3)
    assert max(map(len, three)) - min(map(len, three)) <= 1
    # groups no larger than a share stay whole: a-b-c together, d-e together
    owner = {s: i for i, part in enumerate(assign(g, ids, 2)) for s in part}
    assert owner["a"] == owner["b"] == owner["c"]
    assert owner["d"] == owner["e"]


def test_a_group_larger_than_a_share_is_split_and_the_closure_brings_its_upstreams() -> None:
    g = graph_of(EDGES)
    ids = ["a", "b", "c"]
    shards = assign(g, ids, 3)
    assert sorted(len(p) for p in shards) == [1, 1, 1]
    assert closure(g, ["c"], ids) == ["a", "b", "c"]
    assert closure(g, ["c"], ["b", "c"]) == ["b", "c"]  # only upstreams inside the selection
    assert groups(g, ids) == [["a", "b", "c"]]


def test_waves_count_upstreams_through_unselected_stacks() -> None:
    g = graph_of(EDGES)
    assert waves(g, ["a", "c", "d", "e"]) == {"a": 0, "c": 1, "d": 0, "e": 1}


def _part(
    tmp: Path, name: str, stacks: list[str], index: int, count: int, selection: list[str], **m: object
) -> Path:
    def populate(d: Path) -> Manifest:
        (d / SHARD_FILE).write_text(
            ShardRecord(index=index, count=count, selection=selection, owned=stacks).model_dump_json()
        )
        return Manifest(
            commit=str(m.get("commit", "c" * 40)),
            created_at="2026-01-01T00:00:00+00:00",
            orchestrate_version="0.1.0",
            stacks=[StackPlan(stack=s, slug=s, path=s, status="no-changes") for s in stacks],
            encryption=m.get("encryption"),
        )

    return write_plan_set(tmp, None, populate, final_dir=tmp / name)[1]


def test_merge_orders_by_the_selection(tmp_path: Path) -> None:
    sel = ["a", "b", "c"]
    p1 = _part(tmp_path, "p1", ["c"], 1, 2, sel)
    p2 = _part(tmp_path, "p2", ["a", "b"], 2, 2, sel)
    merged = merge([p1, p2], plans_root=tmp_path, out=tmp_path / "m")
    assert [s.stack for s in read_manifest(merged.dir).stacks] == sel


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        ([("p1", ["a"], 1, {}), ("p2", ["b", "c"], 2, {"commit": "d" * 40})], "differ in commit"),
        ([("p1", ["a", "b"], 1, {}), ("p2", ["b", "c"], 2, {})], "in two plan sets"),
        ([("p1", ["a"], 1, {}), ("p2", ["b"], 1, {})], "given twice"),
        ([("p1", ["a", "b", "c"], 1, {})], "missing"),
        ([("p1", ["a"], 1, {}), ("p2", ["b", "c"], 2, {"encryption": SEALED})], "differ in encryption"),
    ],
)
def test_merge_refuses_parts_that_do_not_make_one_plan_set(
    tmp_path: Path, parts: list[tuple[str, list[str], int, dict[str, object]]], message: str
) -> None:
    sel = ["a", "b", "c"]
    dirs = [_part(tmp_path, name, stacks, i, 2, sel, **m) for name, stacks, i, m in parts]
    with pytest.raises(PlanSetError, match=message):
        merge(dirs, plans_root=tmp_path, out=tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_merge_refuses_a_plan_set_that_is_not_a_part_or_was_edited(tmp_path: Path) -> None:
    sel = ["a", "b"]
    p1 = _part(tmp_path, "p1", ["a"], 1, 2, sel)
    p2 = _part(tmp_path, "p2", ["b"], 2, 2, sel)
    record = json.loads((p2 / SHARD_FILE).read_text())
    (p2 / SHARD_FILE).write_text(json.dumps({**record, "owned": ["a", "b"]}))
    with pytest.raises(PlanSetError, match="does not match"):
        merge([p1, p2], plans_root=tmp_path, out=tmp_path / "m")
    (p2 / SHARD_FILE).unlink()
    with pytest.raises(PlanSetError, match="not a partial plan set"):
        merge([p1, p2], plans_root=tmp_path, out=tmp_path / "m")
