"""Building plan sets on disk from the real plan JSON fixtures in tests/pr/plans/."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.errors import PlanSetError
from orchestrator.planset import (
    LOG_FILE,
    MANIFEST,
    PLAN_FILE,
    PLAN_JSON,
    POLICY_FILE,
    Counts,
    Manifest,
    StackPlan,
    sha256_file,
)
from orchestrator.terraform.plan import summarize
from orchestrator.terraform.planjson import PlanJSON, load_plan_json

PLANS = Path(__file__).parent / "plans"
GOLDEN = Path(__file__).parent / "golden"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def plan_json(name: str) -> PlanJSON:
    path = PLANS / f"{name}.json"
    return load_plan_json(path.read_bytes(), what=path.name, where=str(path), error=PlanSetError)


@dataclass
class StackSpec:
    stack: str
    status: str = "changes"
    plan: str | dict[str, Any] | None = None  # fixture name or plan JSON
    cloud: str | None = None
    environment: str | None = None
    error: str | None = None
    reason: str | None = None
    log: str | None = None
    provisional_on: list[str] = field(default_factory=list)
    inputs: dict[str, Any] = field(default_factory=dict)


def slug(stack: str) -> str:
    return stack.replace("/", "-")


def write_plan_set(
    directory: Path,
    specs: list[StackSpec],
    *,
    commit: str | None = COMMIT,
    policy: dict[str, Any] | None = None,
    pr: int | None = None,
) -> Manifest:
    """A plan set as `orchestrate plan` writes it (manifest, plan files, plan JSON, logs, policy)."""
    directory.mkdir(parents=True, exist_ok=True)
    plans = []
    for spec in specs:
        sdir = directory / slug(spec.stack)
        sdir.mkdir(exist_ok=True)
        extra: dict[str, Any] = {}
        if spec.plan is not None:
            doc = plan_json(spec.plan) if isinstance(spec.plan, str) else spec.plan
            (sdir / PLAN_JSON).write_text(json.dumps(doc, indent=1))
            (sdir / PLAN_FILE).write_bytes(
                b"PK fake plan " + hashlib.sha256(json.dumps(doc).encode()).digest()
            )
            summary = summarize(doc)
            counts = summary.counts if spec.status in ("changes", "provisional") else Counts()
            extra.update(
                counts=counts,
                resource_changes=summary.resource_changes,
                output_changes=summary.output_changes,
                plan_sha256=sha256_file(sdir / PLAN_FILE),
                plan_json_sha256=sha256_file(sdir / PLAN_JSON),
                lineage="3f6c2e1a-lineage",
                serial=4,
            )
        if spec.log is not None:
            (sdir / LOG_FILE).write_text(spec.log)
        plans.append(
            StackPlan(
                stack=spec.stack,
                slug=slug(spec.stack),
                path=f"stacks/{spec.stack}",
                cloud=spec.cloud,
                environment=spec.environment,
                status=spec.status,  # type: ignore[arg-type]
                error=spec.error,
                reason=spec.reason,
                provisional_on=spec.provisional_on,
                inputs=spec.inputs,
                **extra,
            )
        )
    summary = None
    if policy is not None:
        (directory / POLICY_FILE).write_text(json.dumps(policy, indent=2))
        summary = policy["summary"]
    manifest = Manifest(
        commit=commit,
        created_at="2026-01-02T03:04:05+00:00",
        terraform_version="1.11.4",
        terraform_binary="terraform",
        orchestrate_version="0.1.0",
        pr=pr,
        stacks=plans,
        policy=summary,
    ).with_id()
    (directory / MANIFEST).write_text(manifest.to_json())
    return manifest


def policy_doc(findings: dict[str, list[dict[str, Any]]], enforcement: str = "blocking") -> dict[str, Any]:
    """policy.json as orchestrator.policy writes it."""
    from orchestrator.policy import Finding, PolicyReport, StackResult

    stacks = [
        StackResult(stack, tuple(Finding.from_json({"metadata": {}, **f}) for f in fs))
        for stack, fs in findings.items()
    ]
    report = PolicyReport(enforcement=enforcement, namespaces=["main"], policies=[], stacks=stacks)  # type: ignore[arg-type]
    return report.to_json()


def check_golden(name: str, text: str) -> None:
    """Compare with tests/pr/golden/NAME; UPDATE_GOLDEN=1 rewrites it."""
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1" or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if os.environ.get("UPDATE_GOLDEN") != "1":
            raise AssertionError(f"golden file {path} did not exist: written, review it and run again")
    expected = path.read_text()
    assert text == expected, f"{name} differs from the golden file (UPDATE_GOLDEN=1 to accept)"
