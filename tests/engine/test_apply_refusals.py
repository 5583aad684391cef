"""apply refuses, applying nothing, when the plan set cannot be trusted or is not approved."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from click.testing import Result

from orchestrator import audit
from tests.engine.conftest import NULL_STACK, Repo

pytestmark = pytest.mark.integration

FILES = {
    "stacks/net/stack.yaml": "",
    "stacks/net/main.tf": NULL_STACK,
    "stacks/web/stack.yaml": "depends_on: [net]\n",
    "stacks/web/main.tf": 'resource "null_resource" "w" {}\n',
}


def planned(newest_repo: Callable[..., Repo], files: dict[str, str] = FILES, extra: str = "") -> Repo:
    repo = newest_repo(files, extra)
    res = repo.orchestrate("plan")
    assert res.exit_code == 2, res.output
    return repo


def approve(repo: Repo, *args: str) -> Result:
    return repo.orchestrate("apply", *args, "--approved-by", "alice", "--reason", "test")


def nothing_applied(repo: Repo) -> bool:
    return repo.state("net") is None and repo.state("web") is None


def test_a_tampered_plan_file_is_refused(newest_repo: Callable[..., Repo]) -> None:
    repo = planned(newest_repo)
    plan = repo.latest() / "web" / "plan.tfplan"
    plan.write_bytes(plan.read_bytes() + b"\0")
    res = approve(repo)
    assert res.exit_code == 1
    assert "plan.tfplan of 'web' does not match the sha256" in res.output
    assert nothing_applied(repo)
    assert audit.read(repo.root)[-1]["result"] == "refused"


def test_a_tampered_manifest_is_refused(newest_repo: Callable[..., Repo]) -> None:
    repo = planned(newest_repo)
    manifest = repo.latest() / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"add": 1', '"add": 0', 1))
    res = approve(repo)
    assert res.exit_code == 1 and "does not match its id" in res.output
    assert nothing_applied(repo)


def test_another_commit_is_refused(newest_repo: Callable[..., Repo]) -> None:
    repo = planned(newest_repo)
    (repo.root / "README.md").write_text("later\n")
    repo.commit("unrelated")
    res = approve(repo)
    assert res.exit_code == 1 and "but the plan set was made at commit" in res.output
    assert nothing_applied(repo)


def test_uncommitted_changes_to_a_planned_stack_are_refused(newest_repo: Callable[..., Repo]) -> None:
    repo = planned(newest_repo)
    (repo.root / "stacks/web/main.tf").write_text(
        'resource "null_resource" "w" {}\nresource "null_resource" "x" {}\n'
    )
    res = approve(repo)
    assert res.exit_code == 1 and "files of 'web'" in res.output
    assert nothing_applied(repo)


def test_manual_approval_disabled_is_refused(newest_repo: Callable[..., Repo]) -> None:
    repo = planned(newest_repo, extra="approval:\n  allow_manual: false\n")
    res = approve(repo)
    assert res.exit_code == 1 and "allow_manual" in res.output
    assert nothing_applied(repo)


def test_applying_a_plan_set_twice_is_refused_as_stale(newest_repo: Callable[..., Repo]) -> None:
    repo = planned(newest_repo)
    first = repo.latest()
    assert approve(repo).exit_code == 0
    serial = repo.state("net")["serial"]  # type: ignore[index]
    res = approve(repo, "--plan-set", str(first))
    assert res.exit_code == 1 and "state moved since planning" in res.output
    assert repo.state("net")["serial"] == serial  # type: ignore[index]


def test_stacks_that_need_no_approval_apply_without_one(newest_repo: Callable[..., Repo]) -> None:
    files = {**FILES, "stacks/net/stack.yaml": "apply:\n  requires_approval: false\n"}
    files.pop("stacks/web/stack.yaml")
    files.pop("stacks/web/main.tf")
    repo = planned(newest_repo, files)
    res = repo.orchestrate("apply")
    assert res.exit_code == 0, res.output
    assert repo.state("net") is not None


def test_a_failed_stack_skips_its_dependents_and_independents_finish(
    newest_repo: Callable[..., Repo],
) -> None:
    files = {
        **FILES,
        "stacks/bad/stack.yaml": "",
        "stacks/bad/main.tf": 'output "x" { value = null_resource.missing.id }\n',
        "stacks/after/stack.yaml": "depends_on: [bad]\n",
        "stacks/after/main.tf": 'output "y" { value = 1 }\n',
    }
    repo = newest_repo(files)
    res = repo.orchestrate("plan")
    assert res.exit_code == 1
    st = repo.statuses()
    assert st == {"bad": "failed", "net": "changes", "after": "skipped", "web": "changes"}
    log = (repo.latest() / "bad" / "log.txt").read_text()
    assert "Reference to undeclared resource" in log
    # The error names the log inside the plan set, not the temporary directory it was built in.
    error = json.loads((repo.latest() / "manifest.json").read_text())["stacks"][0]["error"]
    assert ".planset-" not in error
    assert "<plan set>/bad/log.txt" in error
    # The plan set is still applicable for the stacks that planned.
    assert approve(repo).exit_code == 0
    assert repo.state("web") is not None


def test_a_plan_set_from_another_terraform_version_is_refused(newest_repo: Callable[..., Repo]) -> None:
    repo = planned(newest_repo)
    # Rewrite the manifest as if made by another version, keeping it self-consistent.
    from orchestrator.planset import read_manifest

    m = read_manifest(repo.latest())
    forged = m.model_copy(update={"terraform_version": "0.99.0"}).with_id()
    (repo.latest() / "manifest.json").write_text(forged.model_dump_json(indent=2))
    res = approve(repo, "--plan-set", str(repo.latest()))
    assert res.exit_code == 1 and "made with terraform 0.99.0" in res.output
    assert nothing_applied(repo)


TARGETED = {
    "stacks/net/stack.yaml": "cloud: aws-prod\n",
    "stacks/net/main.tf": NULL_STACK,
}
CLOUDS = "clouds:\n  aws-prod: {provider: aws, region: eu-west-1}\n"


def test_an_uncommitted_edit_of_the_stacks_cloud_target_is_refused(newest_repo: Callable[..., Repo]) -> None:
    # The region decides where the resources are created: it is part of what was approved.
    repo = planned(newest_repo, TARGETED, CLOUDS)
    config = repo.root / "orchestrate.yaml"
    config.write_text(config.read_text().replace("eu-west-1", "us-east-1"))
    res = approve(repo)
    assert res.exit_code == 1, res.output
    assert "effective configuration of 'net'" in res.output and "target" in res.output
    assert repo.state("net") is None


def test_an_environment_variable_that_sets_a_variable_differently_is_refused(
    newest_repo: Callable[..., Repo],
) -> None:
    repo = planned(newest_repo, TARGETED, CLOUDS)
    repo.env["TF_VAR_region"] = "us-east-1"
    res = approve(repo)
    assert res.exit_code == 1, res.output
    assert "effective configuration of 'net'" in res.output and "environment" in res.output
    assert repo.state("net") is None


def test_any_uncommitted_change_outside_orchestrate_is_refused(newest_repo: Callable[..., Repo]) -> None:
    repo = planned(newest_repo)
    (repo.root / "shared.auto.tfvars").write_text('region = "us-east-1"\n')
    res = approve(repo)
    assert res.exit_code == 1, res.output
    assert "uncommitted" in res.output and "shared.auto.tfvars" in res.output
    assert nothing_applied(repo)


PORT_STACK = """
variable "port" {
  type    = string
  default = "443"
}

resource "null_resource" "rule" {
  triggers = { port = var.port }
}
"""
NO_SSH = """package main

import rego.v1

deny contains msg if {
  some rc in input.resource_changes
  rc.change.after.triggers.port == "22"
  msg := sprintf("%s opens port 22 to the world", [rc.address])
}
"""


def test_a_denied_plan_file_swapped_into_a_harmless_plan_set_is_refused(
    newest_repo: Callable[..., Repo],
) -> None:
    import shutil

    from orchestrator.planset import Manifest, sha256_file

    repo = newest_repo(
        {"stacks/web/stack.yaml": "", "stacks/web/main.tf": PORT_STACK, "policies/ssh.rego": NO_SSH}
    )
    assert repo.orchestrate("plan").exit_code == 2
    harmless = repo.latest()
    repo.env["TF_VAR_port"] = "22"
    assert repo.orchestrate("plan").exit_code == 3  # denied
    denied = repo.latest()
    del repo.env["TF_VAR_port"]
    # The attacker puts the denied plan file into the harmless set and recomputes every digest.
    shutil.copy(denied / "web/plan.tfplan", harmless / "web/plan.tfplan")
    doc = json.loads((harmless / "manifest.json").read_text())
    doc["stacks"][0]["plan_sha256"] = sha256_file(harmless / "web/plan.tfplan")
    forged = Manifest.model_validate(doc).with_id()
    (harmless / "manifest.json").write_text(forged.model_dump_json(indent=2))
    res = approve(repo, "--plan-set", str(harmless))
    assert res.exit_code == 3, res.output
    assert "policies deny" in res.output
    assert repo.state("web") is None


def test_a_plan_file_made_from_other_code_is_refused(newest_repo: Callable[..., Repo]) -> None:
    from orchestrator.planset import Manifest, sha256_file

    repo = newest_repo({"stacks/web/stack.yaml": "", "stacks/web/main.tf": PORT_STACK})
    assert repo.orchestrate("plan").exit_code == 2
    approved = repo.latest()
    main_tf = repo.root / "stacks/web/main.tf"
    main_tf.write_text(PORT_STACK.replace('default = "443"', 'default = "8443"'))
    assert repo.orchestrate("plan").exit_code == 2
    other = repo.latest()
    main_tf.write_text(PORT_STACK)  # the work tree is the approved commit again
    (approved / "web/plan.tfplan").write_bytes((other / "web/plan.tfplan").read_bytes())
    doc = json.loads((approved / "manifest.json").read_text())
    doc["stacks"][0]["plan_sha256"] = sha256_file(approved / "web/plan.tfplan")
    forged = Manifest.model_validate(doc).with_id()
    (approved / "manifest.json").write_text(forged.model_dump_json(indent=2))
    res = approve(repo, "--plan-set", str(approved))
    assert res.exit_code == 1, res.output
    assert "configuration inside the plan file of 'web'" in res.output and "stacks/web/main.tf" in res.output
    assert repo.state("web") is None
