"""Policy results as SARIF 2.1.0, for GitHub code scanning (``orchestrate policy --sarif FILE``).

One run, tool ``orchestrate``. Each rule is a policy id (the ``policy`` key of a result
object, such as ``protect-stateful``) or, for plain string results, the queried rule
(``main.deny``). A finding's location is the .tf file and line that declare the resource
(Finding.location), else the stack's stack.yaml, so every result has a physical location
as code scanning requires. URIs are relative to the repository root (``%SRCROOT%``).
Pure: report in, dict out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from orchestrator import __version__
from orchestrator.policy.report import Finding, PolicyReport

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
ERROR_RULE = "orchestrate/policy-error"
_LEVEL = {"deny": "error", "warn": "warning", "error": "error"}
_SECURITY_SEVERITY = {"deny": "8.0", "warn": "4.0", "error": "8.0"}


def _description(report: PolicyReport, rule_id: str, rule: str) -> tuple[str, str]:
    """(short, full) description of a rule from the header comment of its policy file."""
    for policy in report.policies:
        header = str(policy.get("description") or "")
        first = header.partition("\n")[0]
        if first.startswith(f"{rule_id}:"):
            short = first[len(rule_id) + 1 :].strip() or rule_id
            return short, header
    if rule_id == ERROR_RULE:
        return "A policy failed to evaluate", "A policy failed to evaluate; the plan is treated as denied."
    return f"Rego rule {rule}", f"Results of the Rego rule {rule}."


def _rule_id(finding: Finding) -> str:
    return ERROR_RULE if finding.level == "error" else finding.rule_id


def _fingerprint(stack: str, finding: Finding) -> str:
    text = "\x1f".join([stack, _rule_id(finding), finding.resource or "", finding.msg])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _rule(report: PolicyReport, rule_id: str, finding: Finding) -> dict[str, Any]:
    short, full = _description(report, rule_id, finding.rule)
    return {
        "id": rule_id,
        "name": rule_id.replace("/", "-"),
        "shortDescription": {"text": short},
        "fullDescription": {"text": full},
        "defaultConfiguration": {"level": _LEVEL[finding.level]},
        "properties": {
            "tags": ["policy", "terraform"],
            "security-severity": _SECURITY_SEVERITY[finding.level],
        },
    }


def _location(stack: str, finding: Finding, stack_files: Mapping[str, str]) -> dict[str, Any]:
    """Where the finding points: its resource's file and line, else the stack's stack.yaml."""
    if finding.location is not None:
        uri, line = finding.location.file, finding.location.line
    else:
        uri, line = stack_files.get(stack, f"{stack}/stack.yaml"), 1
    location: dict[str, Any] = {
        "physicalLocation": {
            "artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": max(1, line)},
        }
    }
    if finding.resource:
        location["logicalLocations"] = [
            {
                "name": finding.resource,
                "fullyQualifiedName": f"{stack}:{finding.resource}",
                "kind": "resource",
            }
        ]
    return location


def to_sarif(report: PolicyReport, stack_files: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The SARIF log. ``stack_files`` maps a stack id to its stack.yaml (the fallback location)."""
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    results: list[dict[str, Any]] = []
    for stack, finding in report.findings():
        rule_id = _rule_id(finding)
        if rule_id not in index:
            index[rule_id] = len(rules)
            rules.append(_rule(report, rule_id, finding))
        results.append(
            {
                "ruleId": rule_id,
                "ruleIndex": index[rule_id],
                "level": _LEVEL[finding.level],
                "message": {"text": f"[{stack}] {finding.msg}"},
                "locations": [_location(stack, finding, stack_files or {})],
                "partialFingerprints": {"orchestratePolicy/v1": _fingerprint(stack, finding)},
                "properties": {
                    "stack": stack,
                    "rule": finding.rule,
                    "resource": finding.resource,
                    "enforcement": report.enforcement,
                },
            }
        )
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "orchestrate",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": rules,
                    }
                },
                "automationDetails": {"id": "orchestrate/policy/"},
                "invocations": [
                    {
                        "executionSuccessful": report.errors == 0,
                        "properties": {
                            "enforcement": report.enforcement,
                            "blocking": report.blocking,
                            "stacks": len(report.stacks),
                        },
                    }
                ],
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
