"""set-var against a local bare remote and the fake GitHub API: in-place edits, one PR per
variable and stack (opened, then updated), "already set", --env, and --all-envs along the
promotion path gated by the records."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from orchestrator.envs.records import Record, StackRecord, new_id, now
from orchestrator.envs.store import RecordStore
from tests.conftest import git
from tests.envs.conftest import GitHubRepo

pytestmark = pytest.mark.integration

MAIN = 'variable "image" { type = string }\nvariable "replicas" { type = number }\n'
TFVARS = '# {env} values\nimage    = "app:1" # set by the release pipeline\nreplicas = 2\n'


def files() -> dict[str, str]:
    out = {"orchestrate.yaml": "environments: [dev, staging, prod]\n"}
    for env in ("dev", "staging", "prod"):
        out[f"stacks/{env}/app/stack.yaml"] = ""
        out[f"stacks/{env}/app/main.tf"] = MAIN
        out[f"stacks/{env}/app/terraform.tfvars"] = TFVARS.format(env=env)
    return out


@pytest.fixture
def env(github_repo: Callable[[dict[str, str]], GitHubRepo]) -> GitHubRepo:
    return github_repo(files())


def test_without_open_pr_the_work_tree_file_is_edited_in_place(env: GitHubRepo) -> None:
    res = env.run("set-var", "dev/app", "image=app:2")
    assert res.exit_code == 0, res.output
    text = (env.root / "stacks/dev/app/terraform.tfvars").read_text()
    assert text == TFVARS.format(env="dev").replace('"app:1"', '"app:2"')
    assert 'dev/app: stacks/dev/app/terraform.tfvars: image = app:2 (was "app:1")' in res.output


def test_open_pr_pushes_a_branch_and_keeps_one_pr_per_variable_and_stack(env: GitHubRepo) -> None:
    head = git(env.root, "rev-parse", "HEAD")
    res = env.run("--json", "set-var", "app", "image=app:2", "--env", "prod", "--open-pr")
    assert res.exit_code == 0, res.output
    pr = json.loads(res.stdout)["pr"]
    assert pr["action"] == "opened" and pr["branch"] == "orchestrate/set-var/prod-app/image"
    assert 'image    = "app:2" # set by the release pipeline' in env.show(
        pr["branch"], "stacks/prod/app/terraform.tfvars"
    )
    assert git(env.bare, "rev-parse", f"{pr['branch']}^") == head  # one commit on the base
    assert git(env.root, "status", "--porcelain") == ""  # the work tree is untouched
    [opened] = env.gh.pulls.values()
    assert opened["title"] == "set-var: prod/app image = app:2" and opened["_base_ref"] == "main"

    again = json.loads(env.run("--json", "set-var", "prod/app", "image=app:2", "--open-pr").stdout)["pr"]
    assert again["action"] == "unchanged" and not again["pushed"]

    res = env.run("--json", "set-var", "prod/app", "image=app:3", "--open-pr")
    third = json.loads(res.stdout)["pr"]
    assert third["action"] == "updated" and third["number"] == pr["number"]
    assert '"app:3"' in env.show(pr["branch"], "stacks/prod/app/terraform.tfvars")
    assert len(env.gh.pulls) == 1 and "image = app:3" in env.gh.pulls[pr["number"]]["title"]

    other = json.loads(env.run("--json", "set-var", "prod/app", "replicas=3", "--open-pr").stdout)["pr"]
    assert other["number"] != pr["number"]  # another variable: another PR
    assert env.show(other["branch"], "stacks/prod/app/terraform.tfvars").endswith("\nreplicas = 3")


def test_already_set_does_nothing(env: GitHubRepo) -> None:
    before = git(env.bare, "for-each-ref")
    res = env.run("set-var", "prod/app", "image=app:1", "--open-pr")
    assert res.exit_code == 0, res.output
    assert 'image is already "app:1"' in res.output and "nothing to do" in res.output
    assert git(env.bare, "for-each-ref") == before and not env.gh.pulls
    res = env.run("set-var", "dev/app", "replicas=2")
    assert res.exit_code == 0 and "already 2" in res.output


def test_all_envs_walks_the_promotion_path_after_each_apply(env: GitHubRepo) -> None:
    res = env.run("--json", "set-var", "app", "image=app:2", "--all-envs", "--open-pr")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert [c["stack"] for c in out["changes"]] == ["dev/app"]  # the first environment only

    dev_file = "stacks/dev/app/terraform.tfvars"
    env.change(dev_file, TFVARS.format(env="dev").replace("app:1", "app:2"), "merged")  # the PR merged
    res = env.run("--json", "set-var", "app", "image=app:2", "--all-envs", "--open-pr")
    out = json.loads(res.stdout)
    assert out["changes"] == [] and "dev/app has image = app:2 but has not applied it yet" in out["waiting"]

    merged = git(env.root, "rev-parse", "HEAD")
    record = Record(
        new_id(),
        "apply",
        now(),
        merged,
        "applied",
        "alice",
        "ci",
        None,
        None,
        "ps-x",
        (StackRecord("dev/app", "applied", "dev", "app"),),
    )
    assert RecordStore(env.root).write(record).pushed
    out = json.loads(env.run("--json", "set-var", "app", "image=app:2", "--all-envs", "--open-pr").stdout)
    assert [c["stack"] for c in out["changes"]] == ["staging/app"]
    assert out["pr"]["branch"] == "orchestrate/set-var/staging-app/image"


def test_bad_input(env: GitHubRepo) -> None:
    res = env.run("set-var", "dev/app", "tag=1")
    assert res.exit_code == 1 and "stack 'dev/app' declares no variable 'tag'" in res.output
    res = env.run("set-var", "dev/app", "image")
    assert res.exit_code == 1 and "'image' is not NAME=VALUE" in res.output
    res = env.run("set-var", "dev/app", "replicas=many")
    assert res.exit_code == 1 and "'many' is not a number" in res.output
    res = env.run("set-var", "app", "image=x", "--env", "qa")
    assert res.exit_code == 1 and "unknown environment 'qa'" in res.output
    res = env.run("set-var", "nope", "image=x")
    assert res.exit_code == 1 and "unknown stack 'nope'" in res.output


def test_a_stack_without_tfvars_gets_terraform_tfvars(
    github_repo: Callable[[dict[str, str]], GitHubRepo],
) -> None:
    env = github_repo({"stacks/solo/stack.yaml": "", "stacks/solo/main.tf": MAIN})
    res = env.run("--json", "set-var", "solo", "replicas=4", "--open-pr")
    assert res.exit_code == 0, res.output
    branch = json.loads(res.stdout)["pr"]["branch"]
    assert env.show(branch, "stacks/solo/terraform.tfvars") == "replicas = 4"
