"""Evaluate the policies on plans: the entry point `plan`, `apply` and `orchestrate policy` call.

Per stack: build the input (plan JSON + ``input.orchestrate``), run every queried rule,
turn the values into Findings (conftest conventions), redact them with the plan's
sensitive values and the ``redact:`` patterns, and locate each resource in the stack's
files. A rule that fails to evaluate is an ``error`` finding, never a pass.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from orchestrator.discovery import Stack
from orchestrator.errors import PlanSetError
from orchestrator.planset import PLAN_JSON, Manifest, StackPlan, read_manifest, read_plan_json, sha256_file
from orchestrator.policy.engine import EntryResult
from orchestrator.policy.inputs import policy_input, stack_context
from orchestrator.policy.loader import PolicySet, RuleRef, compile_policy_set, load_policy_set
from orchestrator.policy.locate import address_in_text, addresses_in_plan, locate
from orchestrator.policy.report import Finding, Level, PolicyReport, StackResult
from orchestrator.redact import Redactor, sensitive_values
from orchestrator.terraform.planjson import PlanJSON
from orchestrator.workspace import Workspace

_ID_KEYS = ("policy", "id", "rule")
_RESOURCE_KEYS = ("resource", "address")
_MAX_MSG = 2000


def load_for(ws: Workspace) -> PolicySet:
    """The workspace's policy set (compiled once per process for the same files and data).

    In a pull request the ``.rego`` files come from its base commit (``ws.rules``), never from
    the work tree the PR checked out."""
    settings = ws.config.policies
    if ws.rules is not None:
        return compile_policy_set(
            settings.dir, list(ws.rules.policy_files), settings.namespaces, settings.data
        )
    explicit = "policies" in ws.config.model_fields_set and "dir" in settings.model_fields_set
    return load_policy_set(ws.root, settings, explicit=explicit)


def evaluate_plans(
    ws: Workspace,
    plans: Sequence[tuple[Stack, PlanJSON]],
    *,
    policy_set: PolicySet | None = None,
) -> PolicyReport:
    """Evaluate the workspace's policies on each (stack, ``terraform show -json`` plan).

    Raises PolicyError when the policies cannot be loaded (syntax, Rego v0, unknown
    function); an error while evaluating one stack is reported in that stack's results.
    """
    started = time.perf_counter()
    ps = policy_set or load_for(ws)
    results = [
        evaluate_stack(ps, plan, stack_context(ws.config, stack), ws.config.redact, stack=stack)
        for stack, plan in plans
    ]
    return PolicyReport(
        enforcement=ws.config.policies.enforcement,
        namespaces=list(ps.namespaces),
        policies=ps.describe(),
        stacks=results,
        warnings=list(ps.warnings),
        duration_ms=(time.perf_counter() - started) * 1000,
    )


def evaluate_stack(
    ps: PolicySet,
    plan: PlanJSON,
    context: dict[str, Any],
    redact_patterns: Iterable[str] = (),
    *,
    stack: Stack | None = None,
) -> StackResult:
    """Evaluate one plan with ``context`` as ``input.orchestrate``."""
    started = time.perf_counter()
    stack_id = str(context.get("stack") or "")
    untrusted: object = plan  # read from disk: not necessarily what the type says
    if not isinstance(untrusted, dict):
        finding = Finding("error", "orchestrate.input", "the plan JSON is not an object; plan again")
        return StackResult(stack_id, (finding,))
    redactor = Redactor(redact_patterns, sensitive_values(plan, min_length=1))
    raw = ps.program.evaluate(policy_input(plan, context))
    addresses = addresses_in_plan(plan)
    findings: list[Finding] = []
    for entry in raw:
        rule = ps.rule(entry.entrypoint)
        for finding in _findings(rule, entry, redactor):
            resource = finding.resource or address_in_text(finding.msg, addresses)
            location = locate(stack, resource) if (stack is not None and resource) else None
            findings.append(
                Finding(
                    finding.level,
                    finding.rule,
                    finding.msg,
                    finding.policy,
                    resource,
                    finding.metadata,
                    location,
                )
            )
    findings.sort(key=Finding.sort_key)
    return StackResult(stack_id, tuple(findings), (time.perf_counter() - started) * 1000)


def _findings(rule: RuleRef, entry: EntryResult, redactor: Redactor) -> list[Finding]:
    if entry.error is not None:
        return [Finding("error", rule.id, redactor.text(f"{rule.id} failed to evaluate: {entry.error}"))]
    if not entry.defined:
        return []
    level: Level = rule.severity
    value = entry.value
    items: list[Any]
    if isinstance(value, list):
        items = value
    elif isinstance(value, dict) and "msg" not in value:
        # A ref-head rule (deny.storage contains ...): one level of grouping.
        items = []
        for group in value.values():
            items.extend(group if isinstance(group, list) else [group])
    elif value is False or value is None:
        items = []
    elif value is True:
        items = [f"{rule.id} is true"]
    else:
        items = [value]
    return [_finding(rule, level, item, redactor) for item in items]


def _finding(rule: RuleRef, level: Level, item: Any, redactor: Redactor) -> Finding:
    if isinstance(item, str):
        return Finding(level, rule.id, _clip(redactor.text(item)))
    if isinstance(item, dict):
        msg = item.get("msg")
        if not isinstance(msg, str):
            text = json.dumps(item, sort_keys=True)[:300]
            return Finding(
                "error",
                rule.id,
                redactor.text(f"{rule.id} returned an object without a string `msg`: {text}"),
            )
        policy = next((item[k] for k in _ID_KEYS if isinstance(item.get(k), str)), None)
        resource = next((item[k] for k in _RESOURCE_KEYS if isinstance(item.get(k), str)), None)
        used = {"msg", *(k for k in _ID_KEYS if k in item and item[k] == policy)}
        used |= {k for k in _RESOURCE_KEYS if k in item and item[k] == resource}
        metadata = redactor.data({k: v for k, v in item.items() if k not in used})
        return Finding(
            level,
            rule.id,
            _clip(redactor.text(msg)),
            redactor.text(policy) if policy else None,
            redactor.text(resource) if resource else None,
            metadata if isinstance(metadata, dict) else {},
        )
    return Finding(level, rule.id, _clip(redactor.text(json.dumps(item, sort_keys=True))))


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_MSG else text[: _MAX_MSG - 1] + "…"


def evaluate_plan_set(ws: Workspace, plan_set: Path) -> tuple[Manifest, PolicyReport]:
    """Evaluate the workspace's policies on every plan JSON of a plan set.

    Each plan.json is checked against the digest in the manifest first. A stack the
    repository no longer has is still evaluated, with the context the manifest recorded.
    """
    manifest = read_manifest(plan_set)
    ps = load_for(ws)
    started = time.perf_counter()
    results: list[StackResult] = []
    for sp in manifest.stacks:
        if sp.plan_json_sha256 is None:
            continue  # failed, skipped, or provisional without a plan: nothing to check
        path = plan_set / sp.slug / PLAN_JSON
        if not path.is_file() or sha256_file(path) != sp.plan_json_sha256:
            raise PlanSetError(
                f"{PLAN_JSON} of '{sp.stack}' is missing or differs from the digest in the manifest",
                where=str(path),
                hint="Plan again; never edit a plan set by hand.",
            )
        plan = read_plan_json(plan_set, sp.slug, encrypted=manifest.encrypted)
        stack = ws.stacks.get(sp.stack)
        context = stack_context(ws.config, stack) if stack is not None else manifest_context(ws, sp)
        results.append(evaluate_stack(ps, plan, context, ws.config.redact, stack=stack))
    report = PolicyReport(
        enforcement=ws.config.policies.enforcement,
        namespaces=list(ps.namespaces),
        policies=ps.describe(),
        stacks=results,
        warnings=list(ps.warnings),
        duration_ms=(time.perf_counter() - started) * 1000,
    )
    return manifest, report


def manifest_context(ws: Workspace, sp: StackPlan) -> dict[str, Any]:
    """input.orchestrate for a planned stack that is gone from the repository."""
    from orchestrator.config import StackConfig
    from orchestrator.discovery import Stack as _Stack
    from orchestrator.hcl import TerraformInfo

    config = StackConfig(cloud=sp.cloud, environment=sp.environment)
    ghost = _Stack(sp.stack, sp.path, ws.root / sp.path, config, f"{sp.path}/stack.yaml", TerraformInfo(), ())
    return stack_context(ws.config, ghost)
