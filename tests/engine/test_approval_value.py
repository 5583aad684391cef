"""The plan set is approved as a value (issue 11 item 5): the manifest is read once at the
command's boundary, the approval carries its id and sha256, and no later read of
manifest.json can change what is applied.

The attack: approve plan set A (one stack), then swap the directory's contents for plan set B
(a valid, self-consistent plan set of the same commit with one more stack) before apply runs.
Before this change apply read manifest.json again and applied B under A's approval.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrator import audit
from orchestrator.approval import Approval, manual_approval
from orchestrator.engine.apply import apply_plan_set
from orchestrator.engine.context import Engine
from orchestrator.errors import ApprovalRefused
from orchestrator.planset import load_plan_set
from orchestrator.workspace import Workspace
from tests.engine.conftest import NULL_STACK, Repo

pytestmark = pytest.mark.integration

FILES = {
    "stacks/net/stack.yaml": "",
    "stacks/net/main.tf": NULL_STACK,
    "stacks/web/stack.yaml": "depends_on: [net]\n",
    "stacks/web/main.tf": 'resource "null_resource" "w" {}\n',
}


def two_plan_sets(newest_repo: Callable[..., Repo]) -> tuple[Repo, Path, Path]:
    """A: `plan net`; B: `plan` (net and web), both of the same commit."""
    repo = newest_repo(FILES)
    assert repo.orchestrate("plan", "net").exit_code == 2
    a = repo.latest()
    assert repo.orchestrate("plan").exit_code == 2
    b = repo.latest()
    assert a != b
    return repo, a, b


def engine_for(repo: Repo) -> Engine:
    return Engine.create(Workspace.load(repo.root), base_env={**os.environ, **repo.env})


def test_a_manifest_swapped_after_approval_is_refused(newest_repo: Callable[..., Repo]) -> None:
    repo, a, b = two_plan_sets(newest_repo)
    engine = engine_for(repo)
    loaded = load_plan_set(a)  # the command's boundary reads it once
    approval = manual_approval(engine.config.approval, "alice", "OPS-1").for_plan_set(loaded)
    shutil.copytree(b, a, dirs_exist_ok=True)  # the swap, between approval and apply
    with pytest.raises(ApprovalRefused, match="changed after it was read and approved"):
        apply_plan_set(engine, loaded, approval)
    assert repo.state("net") is None and repo.state("web") is None
    assert audit.read(repo.root)[-1]["result"] == "refused"


def test_an_approval_of_one_plan_set_does_not_apply_another(newest_repo: Callable[..., Repo]) -> None:
    repo, a, b = two_plan_sets(newest_repo)
    engine = engine_for(repo)
    approval = manual_approval(engine.config.approval, "alice", "OPS-1").for_plan_set(load_plan_set(a))
    other = load_plan_set(b)
    with pytest.raises(
        ApprovalRefused, match=f"the approval is for {approval.manifest_id}, not for plan set"
    ):
        apply_plan_set(engine, other, approval)
    assert repo.state("net") is None and repo.state("web") is None


def test_an_approval_bound_to_no_plan_set_applies_nothing(newest_repo: Callable[..., Repo]) -> None:
    repo, a, _ = two_plan_sets(newest_repo)
    engine = engine_for(repo)
    with pytest.raises(ApprovalRefused, match="the approval is for no plan set"):
        apply_plan_set(engine, load_plan_set(a), Approval("manual", "alice", "OPS-1"))
    assert repo.state("net") is None


def test_the_approved_value_applies_what_was_approved(newest_repo: Callable[..., Repo]) -> None:
    repo, a, _ = two_plan_sets(newest_repo)
    engine = engine_for(repo)
    loaded = load_plan_set(a)
    approval = manual_approval(engine.config.approval, "alice", "OPS-1").for_plan_set(loaded)
    run = apply_plan_set(engine, loaded, approval)
    assert run.exit_code == 0
    assert repo.state("net") is not None and repo.state("web") is None
    record = audit.read(repo.root)[-1]
    assert record["approval"]["manifest_id"] == loaded.manifest.id
    assert record["approval"]["manifest_sha256"] == loaded.sha256
