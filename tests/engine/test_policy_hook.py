"""Policies run on every plan set: a blocking deny makes plan exit 3 and apply refuse."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from orchestrator.planset import read_manifest
from tests.engine.conftest import NULL_STACK, Repo

pytestmark = pytest.mark.integration

DENY = """package main

import rego.v1

deny contains msg if {
  some rc in input.resource_changes
  rc.type == "null_resource"
  "create" in rc.change.actions
  msg := sprintf("%s: null resources are not allowed", [rc.address])
}
"""
FILES = {
    "stacks/net/stack.yaml": "",
    "stacks/net/main.tf": NULL_STACK,
    "stacks/solo/stack.yaml": "",
    "stacks/solo/main.tf": 'output "x" { value = 1 }\n',
    "policies/deny.rego": DENY,
}


def test_a_blocking_deny_exits_3_and_apply_refuses(newest_repo: Callable[..., Repo]) -> None:
    repo = newest_repo(FILES)
    res = repo.orchestrate("plan")
    assert res.exit_code == 3, res.output
    m = read_manifest(repo.latest())
    assert m.policy is not None and m.policy["blocking"] and m.policy["denied"] == 1
    report = json.loads((repo.latest() / "policy.json").read_text())
    assert "null resources are not allowed" in json.dumps(report)
    res = repo.orchestrate("apply", "--approved-by", "alice", "--reason", "try")
    assert res.exit_code == 3 and "policies deny this plan set" in res.output
    assert repo.state("net") is None and repo.state("solo") is None


def test_advisory_enforcement_reports_but_does_not_block(newest_repo: Callable[..., Repo]) -> None:
    repo = newest_repo(FILES, "policies:\n  enforcement: advisory\n")
    assert repo.orchestrate("plan").exit_code == 2
    assert repo.orchestrate("apply", "--approved-by", "alice", "--reason", "ok").exit_code == 0
