"""Policies as code: Rego over Terraform plan JSON, evaluated in-process with regopy.

The interface other parts call::

    from orchestrator.policy import evaluate_plans, PolicyReport
    report = evaluate_plans(ws, [(stack, plan_json), ...])
    report.blocking    # an error, or a deny under blocking enforcement
    report.summary()   # small dict for the plan-set manifest and the PR comment
    report.to_json()   # policy.json

Modules: source (Rego v1 check, lexical), engine (the only regopy caller), loader
(files -> compiled PolicySet), inputs (input.orchestrate), evaluate (findings), report
(data), locate (address -> file:line), sarif (SARIF 2.1.0).
"""

from __future__ import annotations

from orchestrator.policy.evaluate import evaluate_plans, evaluate_stack, load_for
from orchestrator.policy.loader import PolicySet, compile_policy_set, load_policy_set
from orchestrator.policy.report import Finding, Location, PolicyReport, StackResult

__all__ = [
    "Finding",
    "Location",
    "PolicyReport",
    "PolicySet",
    "StackResult",
    "compile_policy_set",
    "evaluate_plans",
    "evaluate_stack",
    "load_for",
    "load_policy_set",
]
