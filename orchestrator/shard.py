"""Fan-out over CI jobs (pure): which stacks a shard owns, what it must plan, and apply waves.

``plan --shard I/N`` plans a share of the selected stacks on one of N runners. The share is
assigned so every runner computes the same split without talking to the others: the
selection's connected groups (stacks linked, directly or not, by dependencies inside the
selection) are dealt out largest first to the least loaded shard; a group heavier than an
even share is dealt out stack by stack. Weights are stack counts, never local timings, so two
runners with different histories cannot disagree.

A stack's plan depends on the plans of its upstream stacks in the selection (a changed
upstream makes it provisional, its planned outputs feed its inputs). So a shard also plans
the selected upstreams of what it owns (``closure``) and keeps only what it owns: each owned
stack sees exactly what a single runner would have shown it, and the merged plan set equals a
single-runner plan set.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import networkx as nx

from orchestrator.errors import OrchestratorError
from orchestrator.graph import StackGraph

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
MAX_SHARDS = 256


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> Shard:
    """'2/4' -> Shard(2, 4); anything else is one clear error."""
    m = _SHARD.match(text)
    if not m:
        raise OrchestratorError(
            f"--shard {text!r} is not of the form I/N", hint="For example --shard 2/4: the second of four."
        )
    index, count = int(m.group(1)), int(m.group(2))
    if not 1 <= count <= MAX_SHARDS or not 1 <= index <= count:
        raise OrchestratorError(
            f"--shard {text}: I must be between 1 and N, and N between 1 and {MAX_SHARDS}",
            hint="Shards are numbered from 1: --shard 1/4 ... --shard 4/4.",
        )
    return Shard(index, count)


def groups(graph: StackGraph, selection: Sequence[str]) -> list[list[str]]:
    """The selection's connected groups (through dependencies, also via unselected stacks),
    each in run order, ordered by their first stack's run position."""
    chosen = set(selection)
    und: nx.Graph = nx.Graph()
    und.add_nodes_from(chosen)
    for sid in chosen:
        for up in graph.upstream_of([sid]) & chosen:
            und.add_edge(up, sid)
    position = {sid: i for i, sid in enumerate(graph.ordered(chosen))}
    out = [sorted(c, key=position.__getitem__) for c in nx.connected_components(und)]
    return sorted(out, key=lambda g: position[g[0]])


def assign(graph: StackGraph, selection: Sequence[str], count: int) -> list[list[str]]:
    """The stacks each of ``count`` shards owns (index 0 = shard 1), each list in run order."""
    total = len(set(selection))
    share = total / count if count else total
    units: list[list[str]] = []
    for group in groups(graph, selection):
        if len(group) > share:
            units.extend([sid] for sid in group)
        else:
            units.append(group)
    position = {sid: i for i, sid in enumerate(graph.ordered(set(selection)))}
    units.sort(key=lambda u: (-len(u), position[u[0]]))
    owned: list[list[str]] = [[] for _ in range(count)]
    for unit in units:
        target = min(range(count), key=lambda i: (len(owned[i]), i))
        owned[target].extend(unit)
    return [sorted(ids, key=position.__getitem__) for ids in owned]


def closure(graph: StackGraph, owned: Iterable[str], selection: Iterable[str]) -> list[str]:
    """What a shard plans: what it owns and their upstreams inside the selection, in run order."""
    mine = set(owned)
    return graph.ordered(mine | (graph.upstream_of(mine) & set(selection)))


def waves(graph: StackGraph, ids: Iterable[str]) -> dict[str, int]:
    """Apply waves: 0 for stacks none of ``ids`` lies upstream of (directly or through other
    stacks), else 1 + the highest wave among those upstream. Wave K runs after waves < K."""
    chosen = set(ids)
    wave: dict[str, int] = {}
    for sid in graph.ordered(chosen):
        ups = graph.upstream_of([sid]) & chosen
        wave[sid] = 1 + max(wave[u] for u in ups) if ups else 0
    return wave
