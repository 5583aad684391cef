"""A value terraform marks sensitive never reaches policy findings, numbers included
(issue 12 item 11: a sensitive port reached the findings unmasked)."""

from __future__ import annotations

import json

from orchestrator.policy import compile_policy_set, evaluate_stack
from orchestrator.redact import MASK
from tests.policy.conftest import context

POLICY = """package main

import rego.v1

deny contains result if {
  some rc in input.resource_changes
  port := rc.change.after.from_port
  result := {"msg": sprintf("%s opens port %d to the world", [rc.address, port]), "port": port,
             "ports": [rc.change.after.to_port]}
}
"""


def plan(from_port: int, to_port: int) -> dict[str, object]:
    return {
        "resource_changes": [
            {
                "address": "aws_security_group_rule.admin",
                "mode": "managed",
                "type": "aws_security_group_rule",
                "change": {
                    "actions": ["create"],
                    "before": None,
                    "after": {"from_port": from_port, "to_port": to_port},
                    "after_sensitive": {"from_port": True, "to_port": True},
                    "after_unknown": {},
                },
            }
        ]
    }


def test_a_sensitive_port_is_masked_in_the_message_and_the_metadata() -> None:
    ps = compile_policy_set("policies", [("policies/ports.rego", POLICY)], ["main"], {})
    result = evaluate_stack(ps, plan(8443, 22), context())
    (finding,) = result.findings
    shown = json.dumps(finding.to_json())
    assert "8443" not in shown and finding.metadata["port"] == MASK
    assert finding.metadata["ports"] == [MASK], "a short sensitive number is masked as a whole value"
    assert finding.msg == f"aws_security_group_rule.admin opens port {MASK} to the world"
