"""The engine's hook into policies: evaluate plan JSONs when the policy module is installed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestrator.discovery import Stack
from orchestrator.terraform.planjson import PlanJSON
from orchestrator.workspace import Workspace

if TYPE_CHECKING:
    from orchestrator.policy.report import PolicyReport


def policies_present(ws: Workspace) -> bool:
    """Whether a policy may read plan JSON: the policy directory exists (cheap, conservative)."""
    return (ws.root / ws.config.policies.dir).is_dir()


def evaluate_policies(ws: Workspace, plans: list[tuple[Stack, PlanJSON]]) -> PolicyReport | None:
    """Run the policy pack over plan JSONs; None when the policy module is not installed."""
    try:
        from orchestrator.policy import evaluate_plans
    except ImportError:
        return None
    return evaluate_plans(ws, plans)
