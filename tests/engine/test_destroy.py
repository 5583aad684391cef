"""destroy: refused while a live dependent is left out; reverse order; the same approval rules."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from orchestrator import audit
from orchestrator.planset import read_manifest
from tests.engine.conftest import NULL_STACK, Repo

pytestmark = pytest.mark.integration

FILES = {
    "stacks/net/stack.yaml": "",
    "stacks/net/main.tf": NULL_STACK,
    "stacks/app/stack.yaml": "inputs:\n  net_id: net.id\n",
    "stacks/app/main.tf": 'variable "net_id" { type = string }\nresource "null_resource" "a" {\n  triggers = { n = var.net_id }\n}\n',
}


def applied(newest_repo: Callable[..., Repo]) -> Repo:
    repo = newest_repo(FILES)
    assert repo.orchestrate("plan").exit_code == 2
    assert repo.orchestrate("apply", "--approved-by", "a", "--reason", "r").exit_code == 0
    return repo


def resources(repo: Repo, stack: str) -> int:
    state = repo.state(stack)
    return 0 if state is None else sum(1 for r in state["resources"] if r["mode"] == "managed")


def test_destroying_a_stack_with_a_live_dependent_is_refused(newest_repo: Callable[..., Repo]) -> None:
    repo = applied(newest_repo)
    res = repo.orchestrate("destroy", "net", "--approved-by", "a", "--reason", "r")
    assert res.exit_code == 1
    flat = " ".join(res.output.split())
    assert "'app' depends on 'net' and still exists (1 resources)" in flat
    assert "orchestrate destroy app net" in flat
    assert resources(repo, "net") == 1


def test_destroy_without_approval_is_refused_and_keeps_the_plan_set(newest_repo: Callable[..., Repo]) -> None:
    repo = applied(newest_repo)
    res = repo.orchestrate("destroy", "app", "net")
    assert res.exit_code == 1 and "destroy refused: no approval" in res.output
    assert read_manifest(repo.latest()).kind == "destroy"
    assert resources(repo, "net") == 1 and resources(repo, "app") == 1


def test_destroy_runs_dependents_first_and_is_audited(newest_repo: Callable[..., Repo]) -> None:
    repo = applied(newest_repo)
    res = repo.orchestrate("destroy", "net", "app", "--approved-by", "alice", "--reason", "decommission")
    assert res.exit_code == 0, res.output
    assert resources(repo, "net") == 0 and resources(repo, "app") == 0
    m = read_manifest(repo.latest())
    assert m.kind == "destroy" and [s.stack for s in m.stacks] == ["app", "net"]
    record = audit.read(repo.root)[-1]
    assert record["kind"] == "destroy" and record["result"] == "applied" and record["who"] == "alice"
    assert [s["stack"] for s in record["stacks"]] == ["app", "net"]
    # Nothing left: a second destroy has nothing to do.
    res = repo.orchestrate("destroy", "net", "app", "--approved-by", "alice", "--reason", "again")
    assert res.exit_code == 0 and "nothing to destroy" in res.output


def test_plan_only_writes_a_destroy_plan_set_that_apply_applies_when_named_and_confirmed(
    newest_repo: Callable[..., Repo],
) -> None:
    repo = applied(newest_repo)
    res = repo.orchestrate("destroy", "app", "--plan-only")
    assert res.exit_code == 2 and "--plan-set" in res.output and "--confirm-destroy" in res.output
    assert resources(repo, "app") == 1
    destroy_set = repo.latest()
    res = repo.orchestrate("apply", "--plan-set", str(destroy_set), "--approved-by", "a", "--reason", "r")
    assert res.exit_code == 1 and "--confirm-destroy" in res.output, res.output
    assert resources(repo, "app") == 1
    res = repo.orchestrate(
        "apply", "--plan-set", str(destroy_set), "--confirm-destroy", "--approved-by", "a", "--reason", "r"
    )
    assert res.exit_code == 0, res.output
    assert resources(repo, "app") == 0 and resources(repo, "net") == 1


def test_a_routine_apply_never_picks_a_destroy_plan_set(newest_repo: Callable[..., Repo]) -> None:
    # The README's main-branch job runs `orchestrate apply` without --plan-set: a destroy plan
    # set written earlier (`destroy --plan-only`) must not be what it applies.
    repo = applied(newest_repo)
    assert repo.orchestrate("destroy", "app", "--plan-only").exit_code == 2
    res = repo.orchestrate("apply", "--approved-by", "a", "--reason", "routine")
    assert resources(repo, "app") == 1 and resources(repo, "net") == 1, res.output
    assert "destroy" not in (audit.read(repo.root)[-1]["kind"])
