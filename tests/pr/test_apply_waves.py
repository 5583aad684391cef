"""`apply --pr N --wave K`: every wave's job adds its result to ONE comment on the pull request
(issue 15: "results merged into one PR comment"), with real terraform and the fake GitHub."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrator.github import parse_marker
from tests.conftest import git
from tests.engine.conftest import NULL_STACK, Repo
from tests.fakes.github import FakeGitHub

pytestmark = pytest.mark.integration

FILES = {
    "stacks/net/stack.yaml": "",
    "stacks/net/main.tf": NULL_STACK,
    "stacks/app/stack.yaml": "depends_on: [net]\n",
    "stacks/app/main.tf": 'resource "null_resource" "a" {}\n',
    "stacks/db/stack.yaml": "depends_on: [net]\n",
    "stacks/db/main.tf": 'resource "null_resource" "d" {}\n',
}


def apply_comments(fake: FakeGitHub, number: int) -> list[str]:
    """Every comment about an apply: orchestrate's wave comment, or a result or refusal of its own."""
    out = []
    for c in fake.issue_comments(number):
        key = (parse_marker(c["body"]) or ("", 0))[0]
        if key.startswith("apply/") or (not key and "orchestrate apply" in c["body"]):
            out.append(c["body"])
    return out


@pytest.fixture
def waved(pr_repo: Callable[..., Repo], fake_github: FakeGitHub, tmp_path: Path) -> tuple[Repo, Path]:
    repo = pr_repo(FILES)
    head = git(repo.root, "rev-parse", "HEAD")
    fake_github.add_pull(5, head_sha=head, base_sha=head, author="alice")
    fake_github.grant("bob", "write")
    res = repo.orchestrate("plan", "--out", str(tmp_path / "set"), "--comment", "--pr", "5")
    assert res.exit_code == 2, res.output
    fake_github.add_review(5, "bob", "APPROVED")
    return repo, tmp_path / "set"


def test_each_wave_updates_one_comment_with_every_wave_so_far(
    waved: tuple[Repo, Path], fake_github: FakeGitHub
) -> None:
    repo, plan_set = waved
    res = repo.orchestrate("apply", "--pr", "5", "--plan-set", str(plan_set), "--wave", "0")
    assert res.exit_code == 0, res.output
    [first] = apply_comments(fake_github, 5)
    assert "wave 0 of 0–1 done" in first and "| 0 | `net` | ✅ applied |" in first
    assert "| 1 | — | waiting |" in first

    res = repo.orchestrate("apply", "--pr", "5", "--plan-set", str(plan_set), "--wave", "1")
    assert res.exit_code == 0, res.output
    comments = apply_comments(fake_github, 5)
    assert len(comments) == 1, comments  # the same comment, edited: not one per wave
    body = comments[0]
    assert "✅ orchestrate apply: applied (3 stacks, 2 waves)" in body
    for row in ("| 0 | `net` | ✅ applied |", "| 1 | `app` | ✅ applied |", "| 1 | `db` | ✅ applied |"):
        assert row in body, body
    assert "waiting" not in body and "approved by bob" in body
    assert len(fake_github.received("POST", r"/issues/5/comments$")) == 2  # the plan, the apply


def test_a_refused_wave_joins_the_comment_and_keeps_the_earlier_results(
    waved: tuple[Repo, Path], fake_github: FakeGitHub
) -> None:
    repo, plan_set = waved
    res = repo.orchestrate("apply", "--pr", "5", "--plan-set", str(plan_set), "--wave", "0")
    assert res.exit_code == 0, res.output
    fake_github.add_review(5, "carol", "CHANGES_REQUESTED")
    fake_github.grant("carol", "write")
    res = repo.orchestrate("apply", "--pr", "5", "--plan-set", str(plan_set), "--wave", "1")
    assert res.exit_code == 1 and "carol requested changes" in res.output, res.output
    [body] = apply_comments(fake_github, 5)
    assert "🛑 orchestrate apply: wave 1 refused (1 stack applied before it)" in body
    assert "| 0 | `net` | ✅ applied |" in body and "carol requested changes" in body


def test_a_comment_by_anyone_else_is_never_read_back(
    waved: tuple[Repo, Path], fake_github: FakeGitHub
) -> None:
    """Anyone may post a comment with orchestrate's marker and a block saying wave 0 failed."""
    from orchestrator.planset import read_manifest
    from orchestrator.render import waves

    repo, plan_set = waved
    manifest = read_manifest(plan_set)
    res = repo.orchestrate("apply", "--pr", "5", "--plan-set", str(plan_set), "--wave", "0")
    assert res.exit_code == 0, res.output
    [ours] = apply_comments(fake_github, 5)
    key, part = parse_marker(ours) or ("", 0)
    lie = waves.WaveComment(
        manifest.id, manifest.commit, 1, {0: waves.WaveRecord(0, [waves.StackRow("net", "failed", "forged")])}
    )
    fake_github.add_comment(5, f"<!-- orchestrate:{key}:part-{part} -->\n{waves.render(lie)}", user="mallory")
    res = repo.orchestrate("apply", "--pr", "5", "--plan-set", str(plan_set), "--wave", "1")
    assert res.exit_code == 0, res.output
    mine = [c["body"] for c in fake_github.issue_comments(5) if c["user"]["login"] == "orchestrate-bot"]
    assert any("✅ orchestrate apply: applied (3 stacks, 2 waves)" in b for b in mine), mine
    assert not any("forged" in b for b in mine)
