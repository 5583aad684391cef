"""Work as data: what a plan, apply or validate will do, one item per stack and action.

A command first builds its ``Work`` (pure: from the graph, the selection or a verified plan
set), then hands it to ``engine.run.run_work``, which turns it into scheduler tasks and
reconciles what did not run. Nothing here runs terraform.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from orchestrator.graph import StackGraph
from orchestrator.planset import StackPlan

Action = Literal["plan", "destroy-plan", "apply", "destroy", "validate"]
Order = Literal["dependencies", "reverse", "none"]


@dataclass(frozen=True)
class WorkItem:
    stack: str
    action: Action
    plan: StackPlan | None = None  # apply/destroy: the approved plan of this stack


@dataclass(frozen=True)
class Work:
    """Items in dependency order; ``order`` says how the scheduler may run them."""

    items: tuple[WorkItem, ...]
    order: Order
    op: str  # the name its durations are recorded under (engine.timings)

    @property
    def ids(self) -> list[str]:
        return [i.stack for i in self.items]

    def by_id(self) -> dict[str, WorkItem]:
        return {i.stack: i for i in self.items}

    def result_order(self) -> list[WorkItem]:
        """The order results are reported in: dependents first when destroying."""
        return list(reversed(self.items)) if self.order == "reverse" else list(self.items)


def plan_work(graph: StackGraph, selection: Sequence[str], *, destroy: bool = False) -> Work:
    """Plan (or plan -destroy) each selected stack, in the graph's order."""
    action: Action = "destroy-plan" if destroy else "plan"
    items = tuple(WorkItem(sid, action) for sid in graph.ordered(selection))
    return Work(items, "reverse" if destroy else "dependencies", "destroy-plan" if destroy else "plan")


def apply_work(graph: StackGraph, to_apply: Sequence[StackPlan], *, destroy: bool = False) -> Work:
    """Apply each approved plan with changes; a destroy plan set runs dependents first."""
    plans = {p.stack: p for p in to_apply}
    action: Action = "destroy" if destroy else "apply"
    items = tuple(WorkItem(sid, action, plans[sid]) for sid in graph.ordered(plans))
    return Work(items, "reverse" if destroy else "dependencies", "apply")


def validate_work(ids: Sequence[str]) -> Work:
    """Validation of one stack does not depend on another: no order."""
    return Work(tuple(WorkItem(sid, "validate") for sid in ids), "none", "validate")
