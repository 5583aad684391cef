"""plan and apply with real terraform (every version here): plan sets, provisional stacks,
re-approval, exit codes, the audit log, init skipping."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from orchestrator import audit
from orchestrator.planset import read_manifest
from tests.engine.conftest import NULL_STACK, Repo

pytestmark = pytest.mark.integration

ESTATE = {
    "stacks/net/stack.yaml": "",
    "stacks/net/main.tf": NULL_STACK,
    "stacks/app/stack.yaml": "inputs:\n  net_id: net.id\n  net_name: net.name\n",
    "stacks/app/main.tf": """
variable "net_id" { type = string }
variable "net_name" { type = string }
resource "null_resource" "app" {
  triggers = { net = var.net_id, name = var.net_name }
}
output "token" {
  value     = "tok-${var.net_name}-secretish"
  sensitive = true
}
""",
    "stacks/reader/stack.yaml": "",
    "stacks/reader/main.tf": """
data "terraform_remote_state" "net" {
  backend = "local"
  config = { path = "../../.orchestrate/state/net/terraform.tfstate" }
}
output "seen" { value = data.terraform_remote_state.net.outputs.name }
""",
    "stacks/solo/stack.yaml": "",
    "stacks/solo/main.tf": 'output "hello" { value = "world" }\n',
}


def test_first_run_plans_provisional_stacks_and_apply_finishes_after_reapproval(
    tf_repo: Callable[..., Repo],
) -> None:
    repo = tf_repo(ESTATE)
    res = repo.orchestrate("plan")
    assert res.exit_code == 2, res.output
    first = repo.latest()
    m = read_manifest(first)
    by = {s.stack: s for s in m.stacks}
    assert [s.stack for s in m.stacks] == ["net", "solo", "app", "reader"]
    assert by["net"].status == "changes" and by["net"].counts.add == 1
    assert by["app"].status == "provisional" and by["app"].provisional_on == ["net"]
    assert by["app"].unknown_inputs == ["net_id"] and by["app"].inputs["net_name"] == "net-name"
    assert by["reader"].status == "provisional" and by["reader"].plan_sha256 is None
    assert "reads the state of 'net'" in (by["reader"].reason or "")
    assert "does not exist until it is applied" in (by["reader"].reason or "")
    assert m.commit is not None and not m.dirty and m.terraform_version == repo.terraform.version
    for name in ("plan.tfplan", "plan.json", "plan.txt", "log.txt"):
        assert (first / "net" / name).is_file()
    assert "null_resource.r will be created" in (first / "net" / "plan.txt").read_text()

    # No approval (not a terminal): refused, nothing applied.
    res = repo.orchestrate("apply")
    assert res.exit_code == 1 and "no approval" in res.output
    assert repo.state("net") is None

    res = repo.orchestrate("apply", "--approved-by", "alice", "--reason", "first run")
    assert res.exit_code == 2, res.output
    assert "re-approval needed" in res.output
    assert repo.state("net") is not None and repo.state("app") is not None and repo.state("solo") is not None
    record = audit.read(repo.root)[-1]
    assert record["result"] == "re-approval-needed" and record["who"] == "alice"
    assert record["approval"]["reason"] == "first run" and record["plan_set"] == m.id
    results = {s["stack"]: s for s in record["stacks"]}
    assert results["net"]["status"] == "applied" and results["net"]["plan_sha256"] == by["net"].plan_sha256
    # app was re-planned with the real id; its changes equal the approved ones, so it applied.
    assert results["app"]["status"] == "applied"
    assert results["app"]["applied_sha256"] != by["app"].plan_sha256
    assert results["reader"]["status"] == "re-approval-needed"

    second = repo.latest()
    assert second != first and repo.statuses(second) == {"reader": "changes"}
    res = repo.orchestrate("apply", "--approved-by", "alice", "--reason", "second half")
    assert res.exit_code == 0, res.output
    state = repo.state("reader")
    assert state is not None and state["outputs"]["seen"]["value"] == "net-name"

    res = repo.orchestrate("--json", "plan")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["exit_code"] == 0 and {s["status"] for s in data["stacks"]} == {"no-changes"}
    # Nothing init depends on changed: the last plan ran no init.
    log = (repo.latest() / "net" / "log.txt").read_text()
    assert " init " not in log and "plan -input=false" in log
    # Sensitive outputs never reach the plan set's text files.
    for path in repo.plan_sets()[0].rglob("*.txt"):
        assert "secretish" not in path.read_text()
