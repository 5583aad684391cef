"""`orchestrate status`: in sync, out of sync, never applied, drifted; the open PRs touching a
stack and the orchestrate/sync commit status (fake GitHub on a bare remote, real terraform)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from orchestrator.controller.driftlog import DRIFT_REF
from tests.conftest import git
from tests.envs.conftest import FAMILY, RemoteRepo, two_envs
from tests.fakes.github import FakeGitHub

pytestmark = pytest.mark.integration


def status(repo: RemoteRepo, *args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    res = repo.run(
        "--repo", str(repo.root), "status", "--format", "json", *args, env={**repo.env, **(env or {})}
    )
    assert res.exit_code in (0, 2), res.output
    data: dict[str, Any] = json.loads(res.stdout)
    return res.exit_code, data


def by_stack(data: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {s["stack"]: (s["sync"], s["drift"]) for s in data["stacks"]}


def test_status_in_sync_out_of_sync_never_applied_and_drift(remote_repo: Callable[..., RemoteRepo]) -> None:
    repo = remote_repo(FAMILY, two_envs(promotion=False))
    code, data = status(repo)
    assert code == 2
    assert by_stack(data) == {
        "dev/app": ("never-applied", "unknown"),
        "prod/app": ("never-applied", "unknown"),
    }

    assert repo.orchestrate("plan").exit_code == 2
    res = repo.orchestrate("apply", "--approved-by", "alice", "--reason", "test")
    assert res.exit_code == 0, res.output
    applied = git(repo.root, "rev-parse", "HEAD")
    res = repo.orchestrate("drift", "--mode", "refresh")
    assert res.exit_code == 0, res.output
    assert git(repo.bare, "rev-parse", DRIFT_REF)  # the scan's result is on the remote

    code, data = status(repo)
    assert code == 0, data
    assert by_stack(data) == {"dev/app": ("in-sync", "clean"), "prod/app": ("in-sync", "clean")}
    assert data["stacks"][0]["applied_commit"] == applied

    # a commit touching only prod: dev stays in sync, prod is out of sync
    (repo.root / "stacks/prod/app/terraform.tfvars").write_text("# prod only\n")
    repo.commit("prod tfvars")
    repo.push()
    code, data = status(repo, "--env", "dev")
    assert code == 0 and by_stack(data) == {"dev/app": ("in-sync", "clean")}
    code, data = status(repo)
    assert code == 2
    assert by_stack(data)["prod/app"] == ("out-of-sync", "clean")
    assert data["summary"]["out_of_sync"] == 1

    # the state cannot be read any more: the scan says error, and status does not call it clean
    state = repo.root / ".orchestrate/state/dev/app/terraform.tfstate"
    state.write_text("{not json")
    assert repo.orchestrate("drift", "--mode", "refresh", "dev/app").exit_code == 1
    code, data = status(repo, "--env", "dev")
    assert code == 2 and by_stack(data) == {"dev/app": ("in-sync", "error")}
    assert data["summary"]["drifted"] == 1
    table = repo.orchestrate("status")
    assert table.exit_code == 2
    assert "out-of-sync" in table.stdout and "error" in table.stdout


def test_status_lists_open_prs_and_sets_the_sync_status(remote_repo: Callable[..., RemoteRepo]) -> None:
    repo = remote_repo(FAMILY, two_envs(promotion=False))
    assert repo.orchestrate("plan").exit_code == 2
    assert repo.orchestrate("apply", "--approved-by", "alice", "--reason", "t").exit_code == 0
    assert repo.orchestrate("drift", "--mode", "refresh").exit_code == 0
    head = git(repo.root, "rev-parse", "HEAD")
    git(repo.root, "checkout", "-q", "-b", "feature")
    (repo.root / "stacks/dev/app/terraform.tfvars").write_text("# a change\n")
    repo.commit("dev change")
    git(repo.root, "push", "-q", "origin", "feature")
    pr_head = git(repo.root, "rev-parse", "HEAD")
    git(repo.root, "checkout", "-q", "main")
    with FakeGitHub(git_dir=repo.bare) as gh:
        gh.add_pull(7, head_sha=pr_head, head_ref="feature", base_sha=head)
        code, data = status(repo, env=gh.env())
        assert code == 0, data  # a pending PR does not make the default branch out of sync
        prs = {s["stack"]: s["pull_requests"] for s in data["stacks"]}
        assert prs == {"dev/app": [7], "prod/app": []}
        assert gh.latest_statuses(head)["orchestrate/sync"]["state"] == "success"
