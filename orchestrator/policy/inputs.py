"""What a policy sees: the plan JSON plus ``input.orchestrate``, the stack's context.

``input.orchestrate`` (documented in docs/policies.md)::

    stack          the stack id                      "aws/prod/storage"
    path           the stack directory               "stacks/aws/prod/storage"
    cloud          the cloud target name or null     "aws-prod"
    environment    free text or null                 "prod"
    provider       aws | gcp | azure | null          "aws"
    region         AWS region, GCP region, Azure location of the target, or null
    project        GCP project of the target, or null
    subscription_id  Azure subscription of the target, or null
    allow_destroy  stack.yaml policy.allow_destroy   ["aws_s3_bucket.old"] or ["*"]
    params         stack.yaml policy.params          {}
    tags           stack.yaml tags                   []

Pure: config and stack in, dicts out.
"""

from __future__ import annotations

from typing import Any

from orchestrator.config import AwsTarget, AzureTarget, GcpTarget, RootConfig
from orchestrator.discovery import Stack
from orchestrator.terraform.planjson import PlanJSON


def stack_context(config: RootConfig, stack: Stack) -> dict[str, Any]:
    """``input.orchestrate`` for one stack."""
    target = config.clouds.get(stack.cloud) if stack.cloud else None
    provider: str | None = None
    region: str | None = None
    project: str | None = None
    subscription: str | None = None
    if isinstance(target, AwsTarget):
        provider, region = "aws", target.region
    elif isinstance(target, GcpTarget):
        provider, region, project = "gcp", target.region, target.project
    elif isinstance(target, AzureTarget):
        provider, region, subscription = "azure", target.location, target.subscription_id
    return {
        "stack": stack.id,
        "path": stack.path,
        "cloud": stack.cloud,
        "environment": stack.environment,
        "provider": provider,
        "region": region,
        "project": project,
        "subscription_id": subscription,
        "allow_destroy": list(stack.config.policy.allow_destroy),
        "params": dict(stack.config.policy.params),
        "tags": list(stack.config.tags),
    }


def policy_input(plan: PlanJSON, context: dict[str, Any]) -> dict[str, object]:
    """The plan JSON with ``orchestrate`` added (a shallow copy: the plan is not modified)."""
    value: dict[str, object] = dict(plan)
    value["orchestrate"] = context
    return value
