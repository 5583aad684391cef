"""A provisional stack whose re-plan differs from the approved plan is never applied:
apply stops it with "re-approval needed", writes a new plan set and exits 2."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from orchestrator import audit
from tests.engine.conftest import Repo

pytestmark = pytest.mark.integration

UPSTREAM = 'output "name" {{ value = "{value}" }}\n'
READER = """
data "terraform_remote_state" "up" {
  backend = "local"
  config = { path = "../../.orchestrate/state/up/terraform.tfstate" }
}
resource "null_resource" "r" {
  triggers = { name = data.terraform_remote_state.up.outputs.name }
}
"""


def trigger(repo: Repo) -> str:
    state = repo.state("reader")
    assert state is not None
    managed = [r for r in state["resources"] if r["mode"] == "managed"]
    return str(managed[0]["instances"][0]["attributes"]["triggers"]["name"])


def test_a_reader_planned_against_the_old_upstream_state_needs_reapproval(
    newest_repo: Callable[..., Repo],
) -> None:
    repo = newest_repo(
        {
            "stacks/up/stack.yaml": "",
            "stacks/up/main.tf": UPSTREAM.format(value="alpha"),
            "stacks/reader/stack.yaml": "",
            "stacks/reader/main.tf": READER,
        }
    )
    # Establish both states (the reader needs a second, re-approved apply on a first run).
    repo.orchestrate("plan")
    assert repo.orchestrate("apply", "--approved-by", "a", "--reason", "r").exit_code == 2
    assert repo.orchestrate("apply", "--approved-by", "a", "--reason", "r").exit_code == 0

    (repo.root / "stacks/up/main.tf").write_text(UPSTREAM.format(value="beta"))
    repo.commit("rename")
    assert repo.orchestrate("plan").exit_code == 2
    assert repo.statuses() == {"up": "changes", "reader": "provisional"}
    approved = repo.latest()

    res = repo.orchestrate("--json", "apply", "--approved-by", "a", "--reason", "r")
    assert res.exit_code == 2, res.output
    data = json.loads(res.stdout)
    by = {s["stack"]: s for s in data["stacks"]}
    assert by["up"]["status"] == "applied"
    assert by["reader"]["status"] == "re-approval-needed"
    # Planned against the old state the reader had nothing to do; with the new name it must
    # replace its resource, which nobody approved.
    assert by["reader"]["differences"] == ["null_resource.r: not in the approved plan (delete/create)"]
    # Nothing of the reader was applied: its trigger still holds the old name.
    assert trigger(repo) == "alpha"
    assert data["new_plan_set"] and repo.latest() != approved
    assert repo.statuses() == {"reader": "changes"}
    assert audit.read(repo.root)[-1]["result"] == "re-approval-needed"

    assert repo.orchestrate("apply", "--approved-by", "a", "--reason", "re-approved").exit_code == 0
    assert trigger(repo) == "beta"
