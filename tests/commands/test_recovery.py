"""Disaster recovery (`plan --env ENV --target-cloud NAME`, orchestrator/recovery.py): an
environment's stacks rebuilt on another cloud target with their own state, inputs read from the
new stacks, the originals' state never touched; and every way it must refuse."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from orchestrator.planset import read_manifest
from tests.conftest import MotoServer, git
from tests.engine.conftest import Repo

CLOUDS = """
clouds:
  aws-dev:  {provider: aws, region: eu-west-1}
  aws-prod: {provider: aws, region: eu-west-2}
  aws-dr:   {provider: aws, region: eu-central-1}
  aws-twin: {provider: aws, region: eu-west-1}
  aws-dr2:  {provider: aws, region: us-east-1}
  gcp-dev:  {provider: gcp, project: acme-dev}
environments: [dev, prod]
"""

BASE = """
resource "null_resource" "base" {}
output "id" { value = null_resource.base.id }
"""
NET = """
variable "base_id" { type = string }
resource "null_resource" "net" {
  triggers = { base = var.base_id }
}
output "id" { value = null_resource.net.id }
"""
APP = """
variable "net_id" { type = string }
resource "null_resource" "app" {
  triggers = { net = var.net_id }
}
"""

ESTATE = {
    "stacks/shared/base/stack.yaml": "cloud: aws-prod\nenvironment: prod\n",
    "stacks/shared/base/main.tf": BASE,
    "stacks/dev/net/stack.yaml": "cloud: aws-dev\nenvironment: dev\ninputs:\n  base_id: shared/base.id\n",
    "stacks/dev/net/main.tf": NET,
    "stacks/dev/app/stack.yaml": "cloud: aws-dev\nenvironment: dev\ninputs:\n  net_id: dev/net.id\n",
    "stacks/dev/app/main.tf": APP,
    "stacks/prod/app/stack.yaml": "cloud: aws-prod\nenvironment: prod\ninputs:\n  net_id: shared/base.id\n",
    "stacks/prod/app/main.tf": APP,
}
DEV_SET = ["dev/app", "dev/net", "shared/base"]


def snapshot(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()
    }


def dr_state(repo: Repo, stack: str, target: str = "aws-dr") -> dict[str, Any]:
    path = repo.root / ".orchestrate/recovery" / target / "state" / stack / "terraform.tfstate"
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def attr(state: dict[str, Any] | None, name: str) -> Any:
    assert state is not None
    res = next(r for r in state["resources"] if r["name"] == name)
    return res["instances"][0]["attributes"]


def recovery_plan_sets(repo: Repo, target: str = "aws-dr") -> list[Path]:
    base = repo.root / ".orchestrate/recovery" / target / "plans"
    sets = [d for d in base.iterdir() if (d / "manifest.json").is_file()] if base.is_dir() else []
    return sorted(sets, key=lambda d: (d / "manifest.json").stat().st_mtime_ns)


@pytest.mark.integration
def test_the_dev_environment_is_rebuilt_on_the_recovery_target_and_the_originals_are_untouched(
    newest_repo: Callable[..., Repo],
) -> None:
    repo = newest_repo(ESTATE, CLOUDS)
    res = repo.orchestrate("plan")
    assert res.exit_code == 2, res.output
    res = repo.orchestrate("apply", "--approved-by", "tester", "--reason", "originals")
    assert res.exit_code == 0, res.output
    original_net = attr(repo.state("dev/net"), "net")["id"]
    states = repo.root / ".orchestrate/state"
    before, work_before = snapshot(states), snapshot(repo.root / ".orchestrate/work")
    normal_sets = repo.plan_sets()

    res = repo.orchestrate("plan", "--env", "dev", "--target-cloud", "aws-dr")
    assert res.exit_code == 2, res.output
    assert "aws-dev -> aws-dr, aws-prod -> aws-dr" in res.output and "shared/base" in res.output
    assert "'aws-dr' has no account_id:, so orchestrate cannot check" in res.output
    [plan_set] = recovery_plan_sets(repo)
    manifest = read_manifest(plan_set)
    assert manifest.recovery is not None and manifest.recovery.environment == "dev"
    assert manifest.recovery.clouds == {"aws-dev": "aws-dr", "aws-prod": "aws-dr"}
    assert sorted(s.stack for s in manifest.stacks) == DEV_SET  # not prod/app
    assert {s.cloud for s in manifest.stacks} == {"aws-dr"}
    assert all(s.status in ("changes", "provisional") for s in manifest.stacks), manifest.stacks
    assert repo.plan_sets() == normal_sets  # nothing beside the originals' plan sets

    # A recovery plan set never applies as an ordinary one, nor onto another mapping.
    res = repo.orchestrate("apply", "--plan-set", str(plan_set), "--approved-by", "tester", "--reason", "x")
    assert res.exit_code == 1 and "applies only there" in res.output, res.output
    res = repo.orchestrate(
        "apply", "--plan-set", str(plan_set), "--target-cloud", "aws-dev=aws-dr",
        "--approved-by", "tester", "--reason", "x",
    )  # fmt: skip
    assert res.exit_code == 1 and "recovery refused" in res.output, res.output
    res = repo.orchestrate(
        "apply", "--plan-set", str(plan_set), "--target-cloud", "aws-dr2",
        "--approved-by", "tester", "--reason", "x",
    )  # fmt: skip
    assert res.exit_code == 1 and "aws-dev -> aws-dr, aws-prod -> aws-dr, not 'dev' with" in res.output, (
        res.output
    )
    assert not (repo.root / ".orchestrate/recovery/aws-dr2/state").exists()
    # An ordinary plan set never applies in a recovery.
    res = repo.orchestrate(
        "apply", "--plan-set", str(normal_sets[-1]), "--target-cloud", "aws-dr",
        "--approved-by", "tester", "--reason", "x",
    )  # fmt: skip
    assert res.exit_code == 1 and "not a recovery plan set" in res.output, res.output

    res = repo.orchestrate("apply", "--target-cloud", "aws-dr", "--approved-by", "tester", "--reason", "dr")
    assert res.exit_code == 0, res.output
    audit = [json.loads(line) for line in (repo.root / ".orchestrate/audit.jsonl").read_text().splitlines()]
    assert audit[-1]["result"] == "applied" and audit[-1]["recovery"]["target"] == "aws-dr", audit[-1]
    assert "recovery" not in audit[0]  # the originals' apply
    # Inputs came from the new stacks' state, never the originals'.
    new_base = attr(dr_state(repo, "shared/base"), "base")["id"]
    new_net = attr(dr_state(repo, "dev/net"), "net")
    assert new_net["triggers"]["base"] == new_base != attr(repo.state("shared/base"), "base")["id"]
    assert attr(dr_state(repo, "dev/app"), "app")["triggers"]["net"] == new_net["id"] != original_net
    assert not (repo.root / ".orchestrate/recovery/aws-dr/state/prod").exists()
    # The originals' state and terraform working data are byte for byte what they were.
    assert snapshot(states) == before
    assert snapshot(repo.root / ".orchestrate/work") == work_before

    res = repo.orchestrate("plan", "--env", "dev", "--target-cloud", "aws-dr")
    assert res.exit_code == 0, res.output  # the recovered estate is what Git says
    res = repo.orchestrate("plan")
    assert res.exit_code == 0, res.output  # and the originals were never changed

    # Failback: the recovered copy is torn down; the originals stay as they are.
    res = repo.orchestrate(
        "destroy",
        "--env",
        "dev",
        "--target-cloud",
        "aws-dr",
        "--approved-by",
        "tester",
        "--reason",
        "failback",
    )
    assert res.exit_code == 0, res.output
    for stack in DEV_SET:
        assert dr_state(repo, stack)["resources"] == []
    assert snapshot(states) == before


# ---------------------------------------------------------------- refusals (no terraform runs)


@pytest.fixture
def estate(
    make_repo: Callable[..., Path], cli: Callable[..., Result]
) -> Callable[..., Callable[..., Result]]:
    def _make(extra: str = "", files: dict[str, str] | None = None) -> Callable[..., Result]:
        root = make_repo(
            {"orchestrate.yaml": CLOUDS + extra, ".gitignore": ".orchestrate/\n", **ESTATE, **(files or {})}
        )

        def run(*args: str) -> Result:
            return cli("--repo", str(root), *args)

        run.root = root  # type: ignore[attr-defined]
        return run

    return _make


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target-cloud", "aws-nope"], "unknown cloud target 'aws-nope'"),
        (["--target-cloud", "aws-prod"], "'aws-prod' is the cloud target of prod/app, shared/base"),
        (
            ["--target-cloud", "gcp-dev"],
            "'dev/net' runs on 'aws-dev' (aws) and no --target-cloud replaces it",
        ),
        (
            ["--target-cloud", "aws-dev=aws-dr"],
            "'shared/base' runs on 'aws-prod' (aws) and no --target-cloud",
        ),
        (["--target-cloud", "aws-dev=gcp-dev", "--target-cloud", "aws-dr"], "'gcp-dev' is a gcp target"),
        (["--target-cloud", "aws-twin"], "'aws-twin' reaches the same place as 'aws-dev'"),
        (["--target-cloud", "=aws-dr"], "neither NAME nor FROM=NAME"),
    ],
)
def test_a_recovery_onto_a_wrong_target_is_refused(
    estate: Callable[..., Callable[..., Result]], args: list[str], message: str
) -> None:
    run = estate()
    res = run("plan", "--env", "dev", *args)
    assert res.exit_code == 1, res.output
    assert message in res.output and "Nothing was planned" in res.output, res.output
    assert not (run.root / ".orchestrate/recovery").exists()  # type: ignore[attr-defined]


S3_TEMPLATE = "backend:\n  type: s3\n  config: {bucket: state, key: '{stack}.tfstate', region: eu-west-1}\n"


@pytest.mark.parametrize(
    ("extra", "files", "message"),
    [
        # remote state and no backend on the target: never beside the originals by itself
        (S3_TEMPLATE, {}, "'dev/net' keeps its state in s3; orchestrate will not put recovered state"),
        (
            "",
            {"stacks/dev/app/reader.tf": 'data "terraform_remote_state" "net" {\n  backend = "local"\n'
             '  config = { path = "../../../.orchestrate/state/dev/net/terraform.tfstate" }\n}\n'},
            "'dev/app' reads state through data.terraform_remote_state.net",
        ),
        ("", {"stacks/dev/tool/stack.yaml": "environment: dev\n", "stacks/dev/tool/main.tf": BASE},
         "'dev/tool' has no cloud target"),
    ],
)  # fmt: skip
def test_a_recovery_that_could_touch_the_originals_state_is_refused(
    estate: Callable[..., Callable[..., Result]], extra: str, files: dict[str, str], message: str
) -> None:
    run = estate(extra, files)
    res = run("plan", "--env", "dev", "--target-cloud", "aws-dr")
    assert res.exit_code == 1 and message in res.output and "Nothing was planned" in res.output, res.output
    assert not (run.root / ".orchestrate/recovery").exists()  # type: ignore[attr-defined]


def test_a_recovery_backend_writing_where_an_original_keeps_its_state_is_refused(
    make_repo: Callable[..., Path], cli: Callable[..., Result]
) -> None:
    same = "{type: s3, config: {bucket: state, key: '{stack}.tfstate', region: eu-west-1}}"
    config = CLOUDS.replace(
        "aws-dr:   {provider: aws, region: eu-central-1}",
        f"aws-dr:   {{provider: aws, region: eu-central-1, backend: {same}}}",
    )
    root = make_repo({"orchestrate.yaml": config + S3_TEMPLATE, **ESTATE})
    res = cli("--repo", str(root), "plan", "--env", "dev", "--target-cloud", "aws-dr")
    assert res.exit_code == 1, res.output
    assert (
        "would keep its recovered state where 'dev/net' keeps its state (s3:state:dev/net.tfstate)"
        in res.output
    )


def test_a_recovery_is_planned_from_a_commit_and_a_whole_environment(
    estate: Callable[..., Callable[..., Result]],
) -> None:
    run = estate()
    root: Path = run.root  # type: ignore[attr-defined]
    (root / "stacks/dev/app/main.tf").write_text(APP + "# not committed\n")
    res = run("plan", "--env", "dev", "--target-cloud", "aws-dr")
    assert res.exit_code == 1 and "uncommitted changes (stacks/dev/app/main.tf)" in res.output, res.output
    git(root, "checkout", "--", ".")
    for args in (["--target-cloud", "aws-dr"], ["--env", "dev", "--env", "prod", "--target-cloud", "aws-dr"],
                 ["dev/app", "--env", "dev", "--target-cloud", "aws-dr"]):  # fmt: skip
        res = run("plan", *args)
        assert res.exit_code == 1 and "--target-cloud" in res.output, res.output  # usage
    res = run("plan", "--env", "dev", "--target-cloud", "aws-dr", "--comment")
    assert res.exit_code == 1 and "never a pull request" in res.output, res.output
    res = run("plan", "--env", "qa", "--target-cloud", "aws-dr")
    assert res.exit_code == 1 and "unknown environment 'qa'" in res.output, res.output
    assert not (root / ".orchestrate/recovery").exists()


def test_a_recovery_is_planned_only_from_the_default_branch(
    estate: Callable[..., Callable[..., Result]], cli: Callable[..., Result], tmp_path: Path
) -> None:
    run = estate()
    seed: Path = run.root  # type: ignore[attr-defined]
    bare = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(seed), str(bare))
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(bare), str(clone))
    # a commit the default branch does not have: say, a target pointing somewhere unreviewed
    git(clone, "checkout", "-q", "-b", "mine")
    with (clone / "orchestrate.yaml").open("a") as fh:
        fh.write("# unreviewed\n")
    git(clone, "commit", "-qam", "not on main")
    res = cli("--repo", str(clone), "plan", "--env", "dev", "--target-cloud", "aws-dr")
    assert res.exit_code == 1 and "is not on the remote's default branch" in res.output, res.output
    assert not (clone / ".orchestrate/recovery").exists()


def test_credentials_of_another_account_than_the_recovery_targets_are_refused(
    make_repo: Callable[..., Path], cli: Callable[..., Result], moto: MotoServer
) -> None:
    """moto answers GetCallerIdentity with its default account 123456789012: the credentials
    around are not the recovery account's."""
    config = CLOUDS.replace(
        "aws-dr:   {provider: aws, region: eu-central-1}",
        f"aws-dr:   {{provider: aws, region: eu-central-1, endpoint: '{moto.endpoint}', account_id: '222222222222'}}",
    )
    root = make_repo({"orchestrate.yaml": config, **ESTATE})
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    res = cli("--repo", str(root), "plan", "--env", "dev", "--target-cloud", "aws-dr", env=env)
    assert res.exit_code == 1, res.output
    assert "the credentials for 'aws-dr' are for AWS account 123456789012, not 222222222222" in res.output
    assert not (root / ".orchestrate/recovery").exists()
