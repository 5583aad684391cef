"""`plan --comment` and `apply --pr N` against the fake GitHub, with real terraform.

Each refusal: exit 1 (3 for a policy), one sentence naming the rule, nothing applied, the
refusal audited and posted on the PR.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestrator import audit
from orchestrator.github import parse_marker
from tests.conftest import git
from tests.engine.conftest import NULL_STACK, Repo
from tests.fakes.github import FakeGitHub

pytestmark = pytest.mark.integration

DENY_GUARDED = """package main

import rego.v1

deny contains msg if {
  input.orchestrate.stack == "guarded"
  some rc in input.resource_changes
  "create" in rc.change.actions
  msg := sprintf("%s may not be created in the guarded stack", [rc.address])
}
"""

FILES = {
    "stacks/app/stack.yaml": "",
    "stacks/app/main.tf": NULL_STACK,
    "stacks/guarded/stack.yaml": "",
    "stacks/guarded/main.tf": 'resource "null_resource" "g" {}\n',
    "policies/guard.rego": DENY_GUARDED,
}


@dataclass
class Planned:
    repo: Repo
    fake: FakeGitHub
    head: str
    app_set: Path  # plan set of `app` (approvable)
    guarded_set: Path  # plan set of `guarded` (denied by policy)

    def pull(self, number: int, **kwargs: object) -> int:
        """A new PR at the planned head, showing the planned comment of PR 1."""
        self.fake.add_pull(number, head_sha=self.head, base_sha=self.head, author="alice", **kwargs)  # type: ignore[arg-type]
        return number

    def show(self, number: int, source: int) -> None:
        for c in self.fake.issue_comments(source):
            if parse_marker(c["body"]):
                self.fake.add_comment(number, c["body"], user="orchestrate-bot")

    def apply(self, number: int, plan_set: Path | None = None, *extra: str) -> tuple[int, str]:
        res = self.repo.orchestrate(
            "apply", "--plan-set", str(plan_set or self.app_set), "--pr", str(number), *extra
        )
        return res.exit_code, res.output

    def nothing_applied(self) -> bool:
        return self.repo.state("app") is None and self.repo.state("guarded") is None


@pytest.fixture
def planned(pr_repo: Callable[..., Repo], fake_github: FakeGitHub, tmp_path: Path) -> Planned:
    repo = pr_repo(FILES)
    head = git(repo.root, "rev-parse", "HEAD")
    fake_github.add_pull(1, head_sha=head, base_sha=head, author="alice")
    fake_github.add_pull(2, head_sha=head, base_sha=head, author="alice")
    for user in ("bob", "carol"):
        fake_github.grant(user, "write")
    res = repo.orchestrate("plan", "app", "--out", str(tmp_path / "app-set"), "--comment", "--pr", "1")
    assert res.exit_code == 2, res.output
    res = repo.orchestrate(
        "plan", "guarded", "--out", str(tmp_path / "guarded-set"), "--comment", "--pr", "2"
    )
    assert res.exit_code == 3, res.output
    return Planned(repo, fake_github, head, tmp_path / "app-set", tmp_path / "guarded-set")


def test_plan_comment_posts_one_sticky_comment_and_statuses(planned: Planned) -> None:
    comments = planned.fake.issue_comments(1)
    assert len(comments) == 1 and parse_marker(comments[0]["body"]) == ("plan", 1)
    body = comments[0]["body"]
    assert "| `app` |" in body and "null_resource.r will be created" in body
    statuses = planned.fake.latest_statuses(planned.head)
    assert statuses["orchestrate/plan: app"]["state"] == "success"
    assert statuses["orchestrate/plan: guarded"]["state"] == "failure"
    assert "policy denied" in statuses["orchestrate/plan: guarded"]["description"]
    guarded = planned.fake.issue_comments(2)[0]["body"]
    assert "may not be created in the guarded stack" in guarded and "blocked by policy" in guarded


@dataclass(frozen=True)
class Case:
    name: str
    reviews: list[tuple[str, str, str | None]]  # (user, state, commit or None for the head)
    expect: str
    code: int = 1
    head: str | None = None  # move the PR head
    tamper: bool = False
    policy: bool = False


CASES = [
    Case("no approval", [], "pull request #10 has no approving review"),
    Case(
        "approval on an older commit",
        [("bob", "APPROVED", "b" * 40)],
        "the approval by bob (on bbbbbbbbbbbb) is for an older commit",
    ),
    Case(
        "self-approval",
        [("alice", "APPROVED", None)],
        "the author alice cannot approve their own pull request #10",
    ),
    Case(
        "changes requested",
        [("bob", "APPROVED", None), ("carol", "CHANGES_REQUESTED", None)],
        "carol requested changes on pull request #10 and has not approved since",
    ),
    Case(
        "head moved",
        [("bob", "APPROVED", None)],
        "the head of pull request #10 is cccccccccccc",
        head="c" * 40,
    ),
    Case(
        "tampered plan file",
        [("bob", "APPROVED", None)],
        "plan.tfplan of 'app' does not match the sha256",
        tamper=True,
    ),
    Case(
        "policy denied",
        [("bob", "APPROVED", None)],
        "policies deny this plan set (guarded)",
        code=3,
        policy=True,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_apply_pr_refusals(planned: Planned, case: Case, tmp_path: Path) -> None:
    number = planned.pull(10)
    planned.show(10, 2 if case.policy else 1)
    for user, state, commit in case.reviews:
        planned.fake.add_review(10, user, state, commit_id=commit)
    if case.head:
        planned.fake.set_head(10, case.head)
    plan_set = planned.guarded_set if case.policy else planned.app_set
    if case.tamper:
        copy = tmp_path / "tampered"
        shutil.copytree(plan_set, copy)
        (copy / "app" / "plan.tfplan").write_bytes((copy / "app" / "plan.tfplan").read_bytes() + b"\0")
        plan_set = copy
    code, output = planned.apply(number, plan_set)
    assert code == case.code, output
    assert case.expect in output, output
    assert "apply refused:" in output
    assert planned.nothing_applied()
    assert audit.read(planned.repo.root)[-1]["result"] == "refused"
    posted = [c["body"] for c in planned.fake.issue_comments(10) if c["body"].startswith("### 🛑")]
    assert len(posted) == 1 and case.expect.split(" (")[0][:30] in posted[0]
    assert not planned.fake.merges


def test_apply_pr_refuses_a_plan_set_that_was_not_shown(planned: Planned) -> None:
    number = planned.pull(11)
    planned.fake.add_review(11, "bob", "APPROVED")
    code, output = planned.apply(number)
    assert code == 1 and "was never shown on pull request #11" in output
    planned.show(11, 2)  # the comment shows another plan set (guarded's)
    code, output = planned.apply(number)
    assert code == 1 and "is not the one shown on pull request #11" in output
    assert planned.nothing_applied()


def test_apply_pr_refuses_a_fork_unless_allowed(planned: Planned) -> None:
    number = planned.pull(12, head_repo="mallory/infra")
    planned.show(12, 1)
    planned.fake.add_review(12, "bob", "APPROVED")
    code, output = planned.apply(number)
    assert code == 1 and "comes from the fork mallory/infra and approval.allow_forks is false" in output
    assert planned.nothing_applied()


def test_apply_pr_refuses_a_closed_or_merged_pr(planned: Planned) -> None:
    number = planned.pull(13)
    planned.show(13, 1)
    planned.fake.add_review(13, "bob", "APPROVED")
    planned.fake.pulls[13]["state"] = "closed"
    code, output = planned.apply(number)
    assert code == 1 and "pull request #13 is closed" in output
    planned.fake.pulls[13]["merged"] = True
    code, output = planned.apply(number)
    assert code == 1 and "already merged" in output


def test_approved_pr_applies_posts_the_result_and_merges(planned: Planned) -> None:
    number = planned.pull(20)
    planned.show(20, 1)
    planned.fake.add_review(20, "bob", "APPROVED")
    summary = planned.repo.root.parent / "apply-summary.md"
    planned.repo.env["GITHUB_STEP_SUMMARY"] = str(summary)
    code, output = planned.apply(number, None, "--merge", "--merge-method", "squash")
    assert code == 0, output
    assert "| `app` | ✅ applied |" in summary.read_text()
    assert planned.repo.state("app") is not None and planned.repo.state("guarded") is None
    record = audit.read(planned.repo.root)[-1]
    assert record["result"] != "refused" and record["approval"]["source"] == "github"
    assert record["approval"]["approver"] == "bob" and record["approval"]["pr"] == 20
    results = [
        c["body"] for c in planned.fake.issue_comments(20) if c["body"].startswith("### ✅ orchestrate apply")
    ]
    assert len(results) == 1 and "✅ applied" in results[0] and "approved by bob" in results[0]
    assert "Merged pull request #20" in results[0]
    assert planned.fake.merges == [
        {
            "number": 20,
            "sha": planned.head,
            "method": "squash",
            "merge_method": "squash",
            "commit_title": f"Apply plan set {_manifest_id(planned.app_set)} (#20)",
        }
    ]


def _manifest_id(plan_set: Path) -> str:
    from orchestrator.planset import read_manifest

    return read_manifest(plan_set).id


def test_apply_pr_and_approved_by_are_exclusive(planned: Planned) -> None:
    res = planned.repo.orchestrate("apply", "--pr", "1", "--approved-by", "x", "--reason", "y")
    assert res.exit_code == 1 and "cannot be combined" in res.output
    res = planned.repo.orchestrate("apply", "--merge")
    assert res.exit_code == 1 and "--merge needs --pr" in res.output


def test_apply_pr_without_plan_set_takes_the_one_shown_on_the_pr(planned: Planned) -> None:
    repo, fake = planned.repo, planned.fake
    fake.add_pull(30, head_sha=planned.head, base_sha=planned.head, author="alice")
    res = repo.orchestrate("plan", "app", "--comment", "--pr", "30")
    assert res.exit_code == 2, res.output
    shown = repo.latest()
    # A later plan run makes another plan set the newest one under .orchestrate/plans.
    assert repo.orchestrate("plan", "guarded").exit_code == 3
    assert repo.latest() != shown
    fake.add_review(30, "bob", "APPROVED")
    res = repo.orchestrate("apply", "--pr", "30")
    assert res.exit_code == 0, res.output
    assert repo.state("app") is not None and repo.state("guarded") is None
