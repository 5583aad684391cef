"""`show -json` is skipped only where nothing reads the plan JSON (real terraform).

A stack without changes gets no plan.json unless a policy or a stack planned in the same run
reads it: a policy still judges plans without changes, and a stack reading an upstream's outputs
still gets them (planned outputs when the upstream changes them)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from orchestrator.planset import read_manifest
from tests.engine.conftest import NULL_STACK, Repo

pytestmark = pytest.mark.integration

FILES = {
    "stacks/net/stack.yaml": "",
    "stacks/net/main.tf": NULL_STACK,
    "stacks/app/stack.yaml": "inputs:\n  net_name: net.name\n",
    "stacks/app/main.tf": """
variable "net_name" { type = string }
resource "null_resource" "app" {
  triggers = { name = var.net_name }
}
""",
    "stacks/solo/stack.yaml": "",
    "stacks/solo/main.tf": 'output "hello" { value = "world" }\n',
}

DENY_EXISTING = """package main

import rego.v1

deny contains msg if {
  some r in input.planned_values.root_module.resources
  r.type == "null_resource"
  msg := sprintf("%s: null resources are not allowed", [r.address])
}
"""


def apply_everything(repo: Repo) -> None:
    for _ in range(3):
        if repo.orchestrate("plan").exit_code == 0:
            return
        res = repo.orchestrate("apply", "--approved-by", "alice", "--reason", "setup")
        assert res.exit_code in (0, 2), res.output
    raise AssertionError("the estate still has changes after three applies")


def test_no_plan_json_where_nothing_reads_it(newest_repo: Callable[..., Repo]) -> None:
    repo = newest_repo(FILES)
    apply_everything(repo)
    res = repo.orchestrate("plan", "net", "solo")  # app, which reads net, is not selected
    assert res.exit_code == 0, res.output
    m = read_manifest(repo.latest())
    for sp in m.stacks:
        assert sp.status == "no-changes" and sp.plan_json_sha256 is None, sp
        assert not (repo.latest() / sp.slug / "plan.json").exists()
        assert (repo.latest() / sp.slug / "plan.tfplan").is_file()


def test_an_upstream_read_in_the_run_keeps_its_plan_json(newest_repo: Callable[..., Repo]) -> None:
    repo = newest_repo(FILES)
    apply_everything(repo)
    res = repo.orchestrate("plan")
    assert res.exit_code == 0, res.output
    by = {s.stack: s for s in read_manifest(repo.latest()).stacks}
    assert by["net"].status == "no-changes" and by["net"].plan_json_sha256 is not None
    assert (repo.latest() / "net" / "plan.json").is_file()
    assert by["app"].status == "no-changes" and by["app"].provisional_on == []
    assert by["app"].inputs == {"net_name": "net-name"}
    assert by["solo"].plan_json_sha256 is None  # nobody reads solo

    # The upstream changes the output the reader takes: the reader gets the planned value.
    (repo.root / "stacks/net/main.tf").write_text(NULL_STACK.replace('"net-name"', '"net-name-2"'))
    repo.commit("rename")
    res = repo.orchestrate("plan")
    assert res.exit_code == 2, res.output
    by = {s.stack: s for s in read_manifest(repo.latest()).stacks}
    assert by["net"].status == "changes"
    assert by["app"].status == "provisional" and by["app"].provisional_on == ["net"]
    assert by["app"].inputs == {"net_name": "net-name-2"}


def test_a_policy_judges_plans_without_changes(newest_repo: Callable[..., Repo]) -> None:
    repo = newest_repo(FILES)
    apply_everything(repo)
    (repo.root / "policies").mkdir()
    (repo.root / "policies/deny.rego").write_text(DENY_EXISTING)
    repo.commit("policy")
    res = repo.orchestrate("plan", "net", "solo")
    assert res.exit_code == 3, res.output
    m = read_manifest(repo.latest())
    assert {s.stack: s.status for s in m.stacks} == {"net": "no-changes", "solo": "no-changes"}
    assert all(s.plan_json_sha256 is not None for s in m.stacks)
    assert m.policy is not None and m.policy["denied"] == 1
    assert "null_resource.r: null resources are not allowed" in (repo.latest() / "policy.json").read_text()
