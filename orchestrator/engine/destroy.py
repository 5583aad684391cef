"""Destroy: refuse when a stack outside the selection still depends on one being destroyed;
otherwise plan ``-destroy`` into a plan set of kind "destroy" (reverse dependency order),
which apply then applies in reverse order under the same approval rules."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from orchestrator.engine.context import Engine
from orchestrator.engine.plan import PlanOptions, PlanRun, plan_stacks
from orchestrator.errors import ApprovalRefused, OrchestratorError


def live_dependents(engine: Engine, ids: Sequence[str]) -> dict[str, int | str]:
    """Stacks outside ``ids`` that depend on one of them and still have resources (or whose
    state cannot be read): id -> resource count or the read error."""
    graph = engine.ws.graph
    outside = sorted(graph.downstream_of(ids) - set(ids))

    def count(sid: str) -> int | str | None:
        try:
            return engine.states.resource_count(sid)
        except OrchestratorError as exc:
            return f"its state cannot be read: {exc.message}"

    if not outside:
        return {}
    with ThreadPoolExecutor(max_workers=max(1, min(engine.parallelism, len(outside)))) as pool:
        counts = dict(zip(outside, pool.map(count, outside), strict=True))
    return {sid: n for sid, n in counts.items() if n}


def check_dependents(engine: Engine, ids: Sequence[str]) -> None:
    live = live_dependents(engine, ids)
    if not live:
        return
    graph = engine.ws.graph
    parts = []
    for sid, n in sorted(live.items()):
        ups = sorted(graph.upstream_of([sid]) & set(ids))
        what = f"{n} resources" if isinstance(n, int) else n
        parts.append(f"'{sid}' depends on {', '.join(repr(u) for u in ups)} and still exists ({what})")
    include = " ".join(sorted(set(ids) | set(live)))
    raise ApprovalRefused(
        "destroy refused: " + "; ".join(parts),
        hint=f"Destroy the dependents first, or include them: orchestrate destroy {include}. Nothing was changed.",
    )


def plan_destroy(
    engine: Engine, ids: Sequence[str], *, out: Path | None = None, fail_fast: bool = False
) -> PlanRun:
    check_dependents(engine, ids)
    return plan_stacks(engine, PlanOptions(stacks=list(ids), kind="destroy", out=out, fail_fast=fail_fast))
