"""The pull-request flow end to end: a repository with a local bare remote, real git pushes,
real terraform, the fake GitHub (its PR head follows the pushed branch)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrator.github import parse_marker
from orchestrator.planset import read_manifest
from orchestrator.render.comment import parse_plan_set_block
from tests.conftest import TerraformBinary, git, write_files
from tests.engine.conftest import Repo, root_config
from tests.fakes.github import FakeGitHub

pytestmark = pytest.mark.integration

MODULE = """variable "name" { type = string }
resource "null_resource" "m" {
  triggers = { name = var.name, version = "1" }
}
output "id" { value = null_resource.m.id }
"""


def stack_using_module(name: str) -> str:
    return f'module "shared" {{\n  source = "../../modules/shared"\n  name   = "{name}"\n}}\n'


ESTATE = {
    "modules/shared/main.tf": MODULE,
    "stacks/alpha/stack.yaml": "environment: prod\n",
    "stacks/alpha/main.tf": stack_using_module("alpha"),
    "stacks/beta/stack.yaml": "environment: prod\n",
    "stacks/beta/main.tf": stack_using_module("beta"),
    "stacks/gamma/stack.yaml": "depends_on: [alpha]\n",
    "stacks/gamma/main.tf": 'resource "null_resource" "g" {}\n',
    "stacks/delta/stack.yaml": "{}\n",
    "stacks/delta/main.tf": 'resource "null_resource" "d" {}\n',
}


@pytest.fixture
def remote_clone(
    tmp_path: Path,
    make_repo: Callable[..., Path],
    newest_terraform: TerraformBinary,
    tf_home: dict[str, str],
    cli: Callable[..., object],
) -> tuple[Repo, Path]:
    seed = make_repo(
        {"orchestrate.yaml": root_config(newest_terraform), ".gitignore": ".orchestrate/\n", **ESTATE}
    )
    bare = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(seed), str(bare))
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(bare), str(clone))
    return Repo(clone, dict(tf_home), cli, newest_terraform), bare  # type: ignore[arg-type]


def push(repo: Path, files: dict[str, str], message: str) -> str:
    write_files(repo, files)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    git(repo, "push", "-q", "origin", "HEAD:refs/heads/feature")
    return git(repo, "rev-parse", "HEAD")


def test_module_change_plans_exactly_its_stacks_and_one_comment_is_edited(
    remote_clone: tuple[Repo, Path], tmp_path: Path
) -> None:
    repo, bare = remote_clone
    git(repo.root, "checkout", "-q", "-b", "feature")
    summary = tmp_path / "summary.md"
    with FakeGitHub(git_dir=bare) as fake:
        first = push(repo.root, {"modules/shared/main.tf": MODULE.replace('"1"', '"2"')}, "module v2")
        fake.add_pull(7, head_ref="feature", track_branch=True, author="alice")
        env = {**repo.env, **fake.env(), "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_EVENT_PATH": ""}

        res = repo.run("--repo", str(repo.root), "plan", "--changed", "--comment", "--pr", "7", env=env)
        assert res.exit_code == 2, res.output
        manifest = read_manifest(repo.latest())
        # the module is used by alpha and beta; gamma depends on alpha; delta is untouched
        assert [s.stack for s in manifest.stacks] == ["alpha", "beta", "gamma"]
        assert manifest.commit == first and manifest.pr == 7
        comments = fake.issue_comments(7)
        assert len(comments) == 1
        body = comments[0]["body"]
        assert parse_marker(body) == ("plan", 1)
        assert parse_plan_set_block(body).id == manifest.id  # type: ignore[union-attr]
        assert "module modules/shared" in body and "dependent of alpha" in body
        assert fake.latest_statuses(first)["orchestrate/plan"]["state"] == "success"
        assert set(fake.latest_statuses(first)) == {
            "orchestrate/plan",
            "orchestrate/plan: alpha",
            "orchestrate/plan: beta",
            "orchestrate/plan: gamma",
        }
        assert "| `alpha` |" in summary.read_text()

        # a second push: the same comment is edited, not duplicated
        second = push(repo.root, {"stacks/beta/extra.tf": 'resource "null_resource" "x" {}\n'}, "beta extra")
        res = repo.run("--repo", str(repo.root), "plan", "--changed", "--comment", "--pr", "7", env=env)
        assert res.exit_code == 2, res.output
        again = fake.issue_comments(7)
        assert len(again) == 1 and again[0]["id"] == comments[0]["id"]
        new_manifest = read_manifest(repo.latest())
        assert new_manifest.commit == second
        assert parse_plan_set_block(again[0]["body"]).id == new_manifest.id != manifest.id  # type: ignore[union-attr]
        assert len(fake.received("POST", r"/issues/7/comments$")) == 1
        assert len(fake.received("PATCH", r"/issues/comments/")) == 1
        assert fake.latest_statuses(second)["orchestrate/plan: beta"]["state"] == "success"

        # a stale run (planned for the first commit) does not overwrite the newer comment
        git(repo.root, "checkout", "-q", first)
        res = repo.run("--repo", str(repo.root), "plan", "--changed", "--comment", "--pr", "7", env=env)
        assert res.exit_code == 2, res.output
        assert "its head moved to" in res.output
        assert parse_plan_set_block(fake.issue_comments(7)[0]["body"]).id == new_manifest.id  # type: ignore[union-attr]


def test_plan_of_a_merge_commit_is_refused_with_the_checkout_hint(remote_clone: tuple[Repo, Path]) -> None:
    repo, bare = remote_clone
    git(repo.root, "checkout", "-q", "-b", "feature")
    with FakeGitHub(git_dir=bare) as fake:
        head = push(repo.root, {"stacks/delta/main.tf": 'resource "null_resource" "d2" {}\n'}, "d2")
        fake.add_pull(8, head_ref="feature", track_branch=True)
        # what actions/checkout does on pull_request: a merge of the head into the base
        git(repo.root, "checkout", "-q", "--detach", "origin/main")
        git(repo.root, "merge", "-q", "--no-ff", "-m", "Merge", head)
        env = {**repo.env, **fake.env(), "GITHUB_EVENT_PATH": "", "GITHUB_STEP_SUMMARY": ""}
        res = repo.run("--repo", str(repo.root), "plan", "--changed", "--comment", "--pr", "8", env=env)
        assert res.exit_code == 1, res.output
        assert "a merge of pull request #8's head" in res.output
        assert "github.event.pull_request.head.sha" in res.output
        assert fake.issue_comments(8) == []


FORK_FILES = {
    "stacks/app/stack.yaml": "{}\n",
    "stacks/app/main.tf": 'variable "token" {\n  type    = string\n  default = "none"\n}\noutput "seen" { value = var.token }\n',
}


def fork_event(path: Path, head_repo: str) -> Path:
    path.write_text(
        json.dumps(
            {
                "action": "opened",
                "number": 9,
                "pull_request": {
                    "number": 9,
                    "user": {"login": "mallory"},
                    "head": {"sha": "f" * 40, "ref": "patch", "repo": {"full_name": head_repo}},
                    "base": {"ref": "main", "repo": {"full_name": "acme/infra"}},
                },
            }
        )
    )
    return path


@pytest.mark.parametrize("allow", [False, True])
def test_a_fork_plans_without_credentials_unless_allowed(
    pr_repo: Callable[..., Repo], tmp_path: Path, allow: bool
) -> None:
    repo = pr_repo(FORK_FILES, f"approval: {{allow_forks: {str(allow).lower()}}}\n")
    event = fork_event(tmp_path / "event.json", "mallory/infra")
    env = {**repo.env, "GITHUB_EVENT_PATH": str(event), "TF_VAR_token": "ci-secret-token-123"}
    res = repo.run("--repo", str(repo.root), "plan", env=env)
    assert res.exit_code == 2, res.output
    plan = json.loads((repo.latest() / "app" / "plan.json").read_text())
    seen = plan["output_changes"]["seen"]["after"]
    if allow:
        assert seen == "ci-secret-token-123"
        assert "without cloud credentials" not in res.output
    else:
        assert seen == "none"  # TF_VAR_* and cloud credentials were withheld
        assert "comes from a fork (mallory/infra): it was planned without cloud credentials" in res.output


def test_a_fork_with_a_read_only_token_still_plans(
    pr_repo: Callable[..., Repo], tmp_path: Path, fake_github: FakeGitHub
) -> None:
    repo = pr_repo(FORK_FILES)
    event = fork_event(tmp_path / "event.json", "mallory/infra")
    fake_github.add_pull(9, head_sha=git(repo.root, "rev-parse", "HEAD"), head_repo="mallory/infra")
    fake_github.fail(403, times=50, method="POST", message="Resource not accessible by integration")
    fake_github.fail(403, times=50, method="PATCH", message="Resource not accessible by integration")
    summary = tmp_path / "summary.md"
    env = {**repo.env, "GITHUB_EVENT_PATH": str(event), "GITHUB_STEP_SUMMARY": str(summary)}
    res = repo.run("--repo", str(repo.root), "plan", "--comment", env=env)
    assert res.exit_code == 2, res.output
    assert "could not post on pull request #9 from a fork" in res.output
    assert "planned without cloud credentials" in summary.read_text()


def test_comment_without_a_pull_request_number_is_a_clear_error(pr_repo: Callable[..., Repo]) -> None:
    repo = pr_repo(FORK_FILES)
    res = repo.orchestrate("plan", "--comment")
    assert res.exit_code == 1 and "--comment needs a pull request: pass --pr N" in res.output


def test_comment_without_a_token_fails_before_planning(pr_repo: Callable[..., Repo]) -> None:
    repo = pr_repo(FORK_FILES)
    res = repo.run(
        "--repo", str(repo.root), "plan", "--comment", "--pr", "3", env={**repo.env, "GITHUB_TOKEN": ""}
    )
    assert res.exit_code == 1 and "GITHUB_TOKEN is not set" in res.output
    assert repo.plan_sets() == []
