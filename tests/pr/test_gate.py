"""The GitHub gate of `apply --pr N`, one rule at a time (issue 12 item 11).

Each refusal test changes exactly one thing from a case that is accepted, so each one fails
when its rule alone is weakened (the mutations that survived the suite before these tests:
the manifest digest of the shown block ignored, the per-stack plan digest ignored, and the
head-sha rule never checked with an approval on the new head and a plan set from the old one).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from orchestrator.config import RootConfig
from orchestrator.errors import ApprovalRefused
from orchestrator.github import GitHub
from orchestrator.planset import Manifest, StackPlan
from orchestrator.pr.gate import check_shown, github_approval
from orchestrator.render.comment import plan_set_block, plan_set_ref
from tests.fakes.github import FakeGitHub

OLD = "a" * 40
NEW = "b" * 40


def manifest(commit: str = OLD) -> Manifest:
    stacks = [
        StackPlan(stack=s, slug=s, path=f"stacks/{s}", status="changes", plan_sha256=d * 64)
        for s, d in (("app", "1"), ("db", "2"))
    ]
    return Manifest(
        commit=commit, created_at="2026-01-01T00:00:00+00:00", orchestrate_version="0", stacks=stacks
    ).with_id()


def test_the_shown_plan_set_is_accepted() -> None:
    m = manifest()
    check_shown(plan_set_ref(m), m, 1)


def test_the_right_id_with_another_manifest_digest_is_refused() -> None:
    m = manifest()
    ref = replace(plan_set_ref(m), manifest_sha256="f" * 64)
    assert ref.id == m.id
    with pytest.raises(ApprovalRefused, match=f"plan set {m.id} is not the one shown"):
        check_shown(ref, m, 1)


def test_one_stack_plan_digest_differing_from_the_shown_one_is_refused() -> None:
    m = manifest()
    shown = plan_set_ref(m)
    ref = replace(shown, stacks={**shown.stacks, "db": "9" * 64})
    with pytest.raises(ApprovalRefused, match="the plan of 'db' differs from the one shown"):
        check_shown(ref, m, 1)


def test_a_plan_set_never_shown_is_refused() -> None:
    with pytest.raises(ApprovalRefused, match="was never shown on pull request #1"):
        check_shown(None, manifest(), 1)


def shown_on(gh: GitHub, fake: FakeGitHub, number: int, m: Manifest, head: str) -> None:
    fake.add_pull(number, head_sha=head, author="alice")
    gh.upsert_sticky(number, "plan", [f"plan\n\n{plan_set_block(m)}\n"])
    fake.grant("bob", "write")
    fake.add_review(number, "bob", "APPROVED", commit_id=head)


def test_an_approval_on_the_pull_requests_head_applies_the_plan_set_of_that_head(
    gh: GitHub, fake_github: FakeGitHub
) -> None:
    m = manifest(NEW)
    shown_on(gh, fake_github, 5, m, NEW)
    approval = github_approval(gh, 5, m, RootConfig())
    assert approval.approver == "bob"


def test_an_approval_on_the_new_head_does_not_apply_a_plan_set_of_the_old_head(
    gh: GitHub, fake_github: FakeGitHub
) -> None:
    # The reviewer approved the new head, and the old plan set is the one shown on the PR:
    # only the head-sha rule stands between this plan set and the cloud.
    old = manifest(OLD)
    shown_on(gh, fake_github, 6, old, NEW)
    with pytest.raises(ApprovalRefused) as info:
        github_approval(gh, 6, old, RootConfig())
    assert f"the head of pull request #6 is {NEW[:12]} but the plan set was made at commit {OLD[:12]}" in (
        info.value.message
    )
