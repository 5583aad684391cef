"""revert against a local bare remote and the fake GitHub API: git revert on a branch with a PR,
a conflict refused with the files named, a return to the files of a recorded apply."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from orchestrator.envs.records import Record, StackRecord, new_id, now
from orchestrator.envs.store import RecordStore
from tests.conftest import git
from tests.envs.conftest import GitHubRepo

pytestmark = pytest.mark.integration

FILES = {
    ".gitignore": ".orchestrate/\n",
    "orchestrate.yaml": "environments: [dev, prod]\n",
    "modules/m/main.tf": 'output "x" { value = 1 }\n',
    "stacks/dev/app/stack.yaml": "",
    "stacks/dev/app/main.tf": 'module "m" { source = "../../../modules/m" }\nlocals { size = "small" }\n',
    "stacks/prod/app/stack.yaml": "",
    "stacks/prod/app/main.tf": 'module "m" { source = "../../../modules/m" }\nlocals { size = "small" }\n',
}


@pytest.fixture
def env(github_repo: Callable[[dict[str, str]], GitHubRepo]) -> GitHubRepo:
    return github_repo(FILES)


def test_revert_a_commit_through_a_pull_request(env: GitHubRepo) -> None:
    bad = env.change(
        "stacks/prod/app/main.tf", FILES["stacks/prod/app/main.tf"].replace("small", "huge"), "bigger"
    )
    env.change("stacks/dev/app/extra.tf", "# later work\n", "later work elsewhere")
    res = env.run("--json", "revert", bad, "--open-pr")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["branch"] == f"orchestrate/revert/{bad[:12]}" and out["stacks"] == ["prod/app"]
    assert out["pr"]["action"] == "opened"
    assert env.show(out["branch"], "stacks/prod/app/main.tf") == FILES["stacks/prod/app/main.tf"].strip()
    assert env.show(out["branch"], "stacks/dev/app/extra.tf") == "# later work"  # later work kept
    [pr] = env.gh.pulls.values()
    assert pr["title"] == 'Revert "bigger"' and "- `prod/app`" in pr["body"]
    assert "shows what undoing it changes" in pr["body"]
    again = json.loads(env.run("--json", "revert", bad, "--open-pr").stdout)
    assert again["pr"]["action"] == "unchanged" and len(env.gh.pulls) == 1


def test_a_conflict_is_refused_with_the_files_named(env: GitHubRepo) -> None:
    path = "stacks/prod/app/main.tf"
    first = env.change(path, FILES[path].replace("small", "medium"), "medium")
    env.change(path, FILES[path].replace("small", "large"), "large")
    before = git(env.bare, "for-each-ref")
    res = env.run("revert", first, "--open-pr")
    assert res.exit_code == 1, res.output
    assert f"reverting {first[:12]} (medium) conflicts with later changes in: {path}" in res.output
    assert git(env.bare, "for-each-ref") == before and not env.gh.pulls
    assert git(env.root, "status", "--porcelain") == ""
    assert len(git(env.root, "worktree", "list").splitlines()) == 1  # the temporary one is gone


def test_without_open_pr_a_local_branch_and_nothing_to_undo(env: GitHubRepo) -> None:
    bad = env.change("stacks/dev/app/main.tf", FILES["stacks/dev/app/main.tf"] + "# x\n", "x")
    res = env.run("revert", bad)
    assert res.exit_code == 0, res.output
    branch = f"orchestrate/revert/{bad[:12]}"
    assert "dev/app affected" in res.output
    assert (
        git(env.root, "show", f"{branch}:stacks/dev/app/main.tf") == FILES["stacks/dev/app/main.tf"].strip()
    )
    assert git(env.root, "rev-parse", "--abbrev-ref", "HEAD") == "main"  # HEAD did not move
    git(env.root, "merge", "-q", "--ff-only", branch)
    res = env.run("revert", bad)
    assert res.exit_code == 0 and "nothing to undo" in res.output


def test_to_deployment_restores_the_stack_files_of_a_recorded_apply(env: GitHubRepo) -> None:
    applied = git(env.root, "rev-parse", "HEAD")
    rec = Record(
        new_id(),
        "apply",
        now(),
        applied,
        "applied",
        "alice",
        "ci",
        None,
        None,
        "ps-1",
        (StackRecord("prod/app", "applied", "prod", "app", paths=("stacks/prod/app", "modules/m")),),
        deployments={"prod": 4242},
    )
    assert RecordStore(env.root).write(rec).pushed
    env.change("stacks/prod/app/main.tf", FILES["stacks/prod/app/main.tf"].replace("small", "huge"), "huge")
    env.change("stacks/prod/app/new.tf", "# new\n", "new file")
    env.change("modules/m/main.tf", 'output "x" { value = 2 }\n', "module v2")
    env.change("stacks/dev/app/main.tf", FILES["stacks/dev/app/main.tf"] + "# dev\n", "dev work")
    res = env.run("--json", "revert", "--to-deployment", "4242", "--open-pr")  # by the GitHub id
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["branch"] == f"orchestrate/revert/{rec.id}"
    branch = out["branch"]
    assert env.show(branch, "stacks/prod/app/main.tf") == FILES["stacks/prod/app/main.tf"].strip()
    assert env.show(branch, "modules/m/main.tf") == 'output "x" { value = 1 }'
    assert "new.tf" not in git(env.bare, "ls-tree", "--name-only", f"{branch}:stacks/prod/app")
    assert env.show(branch, "stacks/dev/app/main.tf").endswith("# dev")  # other stacks' work kept
    assert sorted(out["stacks"]) == ["dev/app", "prod/app"]  # dev/app uses modules/m too
    [pr] = env.gh.pulls.values()
    assert rec.id in pr["body"] and "as applied by alice" in pr["body"]
    res = env.run("revert", "--to-deployment", "d-nope")
    assert res.exit_code == 1 and "no apply on record with id 'd-nope'" in res.output


def test_bad_arguments(env: GitHubRepo) -> None:
    res = env.run("revert")
    assert res.exit_code == 1 and "give a COMMIT or --to-deployment ID" in res.output
    res = env.run("revert", "no-such-ref")
    assert res.exit_code == 1 and "unknown git revision 'no-such-ref'" in res.output
