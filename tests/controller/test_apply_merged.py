"""`apply --merged` (approval.mode: on-merge) on a bare remote with the fake GitHub and real
terraform: the approved and merged PR is applied; a merge that brought other changes to the same
stack, an unapproved PR, and before-merge mode apply nothing and say why."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestrator.envs.store import NOTES_REF
from orchestrator.planset import read_manifest
from tests.conftest import git
from tests.engine.conftest import NULL_STACK, Repo
from tests.fakes.github import FakeGitHub

pytestmark = pytest.mark.integration

ON_MERGE = "approval:\n  mode: on-merge\n"
FILES = {
    "stacks/app/stack.yaml": "",
    "stacks/app/main.tf": NULL_STACK,
    "stacks/other/stack.yaml": "",
    "stacks/other/main.tf": 'resource "null_resource" "o" {}\n',
}


@dataclass
class Merged:
    repo: Repo
    gh: FakeGitHub
    bare: Path
    head: str  # the PR's approved head

    def merge(self) -> str:
        """Merge the PR branch into main (a merge commit), push, and tell the fake GitHub."""
        git(self.repo.root, "checkout", "-q", "main")
        git(self.repo.root, "merge", "-q", "--no-ff", "-m", "Merge #1", "feature")
        git(self.repo.root, "push", "-q", "origin", "main")
        sha = git(self.repo.root, "rev-parse", "HEAD")
        self.gh.pulls[1].update(
            merged=True, state="closed", merge_commit_sha=sha, merged_at="2026-01-01T00:00:00Z"
        )
        return sha

    def main_commit(self, path: str, text: str) -> None:
        git(self.repo.root, "checkout", "-q", "main")
        (self.repo.root / path).write_text(text)
        git(self.repo.root, "add", path)  # only this file (not what terraform left in the work tree)
        git(self.repo.root, "commit", "-qm", f"direct change to {path}")
        git(self.repo.root, "push", "-q", "origin", "main")

    def apply(self, *args: str) -> tuple[int, str]:
        res = self.repo.orchestrate("apply", "--merged", *args)
        return res.exit_code, res.output

    def comments(self) -> list[str]:
        return [c["body"] for c in self.gh.issue_comments(1)]


def setup(
    pr_repo: Callable[..., Repo],
    gh: FakeGitHub,
    tmp_path: Path,
    config: str = ON_MERGE,
    pr_config: str | None = None,
) -> Merged:
    repo = pr_repo(FILES, config)
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(repo.root, "remote", "add", "origin", str(bare))
    git(repo.root, "push", "-q", "origin", "main")
    base = git(repo.root, "rev-parse", "HEAD")
    git(repo.root, "checkout", "-q", "-b", "feature")
    (repo.root / "stacks/app/main.tf").write_text(NULL_STACK.replace('v = "1"', 'v = "2"'))
    if pr_config is not None:  # the PR also edits orchestrate.yaml
        with (repo.root / "orchestrate.yaml").open("a") as fh:
            fh.write(pr_config)
    repo.commit("change app")
    git(repo.root, "push", "-q", "origin", "feature")
    head = git(repo.root, "rev-parse", "HEAD")
    gh.add_pull(1, head_sha=head, head_ref="feature", base_sha=base, author="alice")
    gh.grant("bob", "write")
    res = repo.orchestrate("plan", "--changed", "--base", base, "--comment", "--pr", "1")
    assert res.exit_code == 2, res.output
    return Merged(repo, gh, bare, head)


def test_an_approved_merged_pr_is_applied_and_recorded_on_the_merge(
    pr_repo: Callable[..., Repo], fake_github: FakeGitHub, tmp_path: Path
) -> None:
    m = setup(pr_repo, fake_github, tmp_path)
    fake_github.add_review(1, "bob", "APPROVED")
    sha = m.merge()
    code, out = m.apply()
    assert code == 0, out
    assert m.repo.state("app") is not None and m.repo.state("other") is None
    assert any("✅ applied" in c and "approved by bob" in c for c in m.comments())
    note = git(m.bare, "notes", "--ref", NOTES_REF, "show", sha)
    assert '"stack":"app"' in note and '"pr":1' in note  # recorded on the merged commit, pushed


def test_a_merge_that_brought_other_changes_to_the_stack_is_not_applied(
    pr_repo: Callable[..., Repo], fake_github: FakeGitHub, tmp_path: Path
) -> None:
    m = setup(pr_repo, fake_github, tmp_path)
    fake_github.add_review(1, "bob", "APPROVED")
    m.main_commit("stacks/app/terraform.tfvars", "# someone else's change\n")
    sha = m.merge()
    code, out = m.apply()
    assert code == 2, out
    assert "needs approval" in out and "differs from the approved commit" in out and "app" in out
    assert m.repo.state("app") is None
    assert any("nothing applied" in c and "differs from the approved commit" in c for c in m.comments())
    assert fake_github.latest_statuses(sha)["orchestrate/apply"]["state"] == "failure"


def test_a_refused_merge_is_planned_again_at_the_merged_commit_and_applied_only_when_approved(
    pr_repo: Callable[..., Repo], fake_github: FakeGitHub, tmp_path: Path
) -> None:
    m = setup(pr_repo, fake_github, tmp_path)
    fake_github.add_review(1, "bob", "APPROVED")
    m.main_commit("stacks/app/terraform.tfvars", "# someone else's change\n")
    sha = m.merge()
    code, out = m.apply()
    assert code == 2, out
    # A normal plan set of the affected stack, at the merged commit; nothing applied.
    replans = [
        read_manifest(d)
        for d in (m.repo.root / ".orchestrate/plans").iterdir()
        if (d / "manifest.json").is_file() and read_manifest(d).commit == sha
    ]
    assert len(replans) == 1, out
    replan = replans[0]
    assert [s.stack for s in replan.stacks] == ["app"] and replan.stacks[0].status == "changes"
    assert replan.pr is None and replan.kind == "plan"
    assert f"planned again at {sha[:12]}" in out and replan.id in out
    assert m.repo.state("app") is None
    body = m.comments()[-1]
    assert "nothing applied" in body and f"Planned again at `{sha[:12]}`" in body and replan.id in body
    assert "| `app` | changes | 1 |" in body and "--approved-by" in body and "follow-up pull request" in body
    assert fake_github.latest_statuses(sha)["orchestrate/apply"]["state"] == "failure"
    # apply --merged never applies the re-plan: it stays refused.
    code, out = m.apply()
    assert code == 2 and m.repo.state("app") is None, out
    # The documented way: a person allowed to approve approves that plan set.
    res = m.repo.orchestrate(
        "apply",
        "--plan-set",
        str(m.repo.root / ".orchestrate/plans" / replan.id),
        "--approved-by",
        "bob",
        "--reason",
        "reviewed the re-plan of #1",
    )
    assert res.exit_code == 0, res.output
    assert m.repo.state("app") is not None


def test_a_merge_whose_stack_state_moved_since_planning_is_planned_again_and_not_applied(
    pr_repo: Callable[..., Repo], fake_github: FakeGitHub, tmp_path: Path
) -> None:
    m = setup(pr_repo, fake_github, tmp_path)
    fake_github.add_review(1, "bob", "APPROVED")
    git(m.repo.root, "checkout", "-q", "main")  # someone applies the stack from main meanwhile
    assert m.repo.orchestrate("plan", "app").exit_code == 2
    res = m.repo.orchestrate("apply", "--approved-by", "carol", "--reason", "hotfix")
    assert res.exit_code == 0, res.output
    serial = (m.repo.state("app") or {})["serial"]
    sha = m.merge()
    code, out = m.apply()
    assert code == 2, out
    assert "needs approval: the state moved since planning" in out and f"planned again at {sha[:12]}" in out
    assert (m.repo.state("app") or {})["serial"] == serial  # nothing applied
    body = m.comments()[-1]
    assert "nothing applied" in body and "the state moved since planning" in body
    assert f"Planned again at `{sha[:12]}`" in body and "| `app` | changes | 0 | 0 | 0 | 1 |" in body
    assert fake_github.latest_statuses(sha)["orchestrate/apply"]["state"] == "failure"


def test_a_refused_merge_without_manual_approval_names_only_the_follow_up_pr(
    pr_repo: Callable[..., Repo], fake_github: FakeGitHub, tmp_path: Path
) -> None:
    m = setup(pr_repo, fake_github, tmp_path, config=ON_MERGE + "  allow_manual: false\n")
    fake_github.add_review(1, "bob", "APPROVED")
    m.main_commit("stacks/app/terraform.tfvars", "# someone else's change\n")
    sha = m.merge()
    code, out = m.apply()
    assert code == 2, out
    body = m.comments()[-1]
    assert f"Planned again at `{sha[:12]}`" in body and "--approved-by" not in body
    assert "follow-up pull request" in body and m.repo.state("app") is None


def test_a_change_to_another_stack_on_main_does_not_block(
    pr_repo: Callable[..., Repo], fake_github: FakeGitHub, tmp_path: Path
) -> None:
    m = setup(pr_repo, fake_github, tmp_path)
    fake_github.add_review(1, "bob", "APPROVED")
    m.main_commit("stacks/other/terraform.tfvars", "# unrelated\n")
    m.merge()
    code, out = m.apply()
    assert code == 0, out
    assert m.repo.state("app") is not None


def test_an_unapproved_merge_applies_nothing(
    pr_repo: Callable[..., Repo], fake_github: FakeGitHub, tmp_path: Path
) -> None:
    m = setup(pr_repo, fake_github, tmp_path)
    fake_github.add_review(1, "mallory", "APPROVED")  # no write access
    sha = m.merge()
    code, out = m.apply()
    assert code == 1, out
    assert "apply refused" in out and m.repo.state("app") is None
    assert fake_github.latest_statuses(sha)["orchestrate/apply"]["state"] == "failure"


def test_before_merge_mode_refuses_apply_merged(
    pr_repo: Callable[..., Repo], fake_github: FakeGitHub, tmp_path: Path
) -> None:
    m = setup(pr_repo, fake_github, tmp_path, config="")
    fake_github.add_review(1, "bob", "APPROVED")
    m.merge()
    code, out = m.apply()
    assert code == 1 and "approval.mode: on-merge" in out, out
    assert m.repo.state("app") is None


def test_a_commit_not_merged_through_a_pr_is_refused(
    pr_repo: Callable[..., Repo], fake_github: FakeGitHub, tmp_path: Path
) -> None:
    m = setup(pr_repo, fake_github, tmp_path)
    m.main_commit("stacks/app/terraform.tfvars", "# pushed directly\n")
    code, out = m.apply()
    assert code == 1 and "no pull request into main was merged as commit" in out, out


def test_a_pr_switching_itself_to_on_merge_is_judged_by_the_base_rules(
    pr_repo: Callable[..., Repo], fake_github: FakeGitHub, tmp_path: Path
) -> None:
    m = setup(pr_repo, fake_github, tmp_path, config="", pr_config=ON_MERGE)
    fake_github.add_review(1, "bob", "APPROVED")
    m.merge()
    code, out = m.apply()
    assert code == 1 and "approval.mode: on-merge" in out, out
    assert m.repo.state("app") is None


def test_the_re_plan_of_an_encrypted_plan_set_is_encrypted_to_its_recipients(
    pr_repo: Callable[..., Repo], fake_github: FakeGitHub, tmp_path: Path
) -> None:
    from pyrage import x25519

    from orchestrator.planset_crypto import IDENTITY_ENV

    identity = x25519.Identity.generate()
    public = str(identity.to_public())
    m = setup(pr_repo, fake_github, tmp_path)
    # the PR's plan again, encrypted on the command line only (no plan_sets rule)
    res = m.repo.orchestrate(
        "plan", "--changed", "--base", "main", "--comment", "--pr", "1", "--encrypt-to", public
    )
    assert res.exit_code == 2, res.output
    fake_github.add_review(1, "bob", "APPROVED")
    m.main_commit("stacks/app/terraform.tfvars", "# someone else's change\n")
    sha = m.merge()
    m.repo.env[IDENTITY_ENV] = str(identity)
    code, out = m.apply()
    assert code == 2, out
    (replan,) = [
        read_manifest(d)
        for d in (m.repo.root / ".orchestrate/plans").iterdir()
        if (d / "manifest.json").is_file() and read_manifest(d).commit == sha
    ]
    assert replan.encryption is not None and replan.encryption.recipients == [public]
