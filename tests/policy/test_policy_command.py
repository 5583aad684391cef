"""`orchestrate policy`: evaluates a plan set, prints results, writes SARIF, exits 0/3/1."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import Result

from tests.policy.conftest import MakePlanSet, plan
from tests.policy.test_sarif_and_locations import validate

Cli = Callable[..., Result]


def estate_plans() -> dict[str, dict[str, Any]]:
    ids = {
        "aws-dev-storage": "aws/dev/storage",
        "aws-prod-data": "aws/prod/data",
        "aws-prod-iam": "aws/prod/iam",
        "aws-prod-network": "aws/prod/network",
        "aws-prod-storage": "aws/prod/storage",
        "azure-dev-hub": "azure/dev/hub",
        "azure-prod-hub": "azure/prod/hub",
        "gcp-dev-project": "gcp/dev/project",
        "gcp-prod-project": "gcp/prod/project",
        "gcp-shared-folder": "gcp/shared/folder",
    }
    return {sid: plan(f"estate/{slug}.json") for slug, sid in ids.items()}


def set_enforcement(root: Path, value: str) -> None:
    path = root / "orchestrate.yaml"
    path.write_text(path.read_text().replace("enforcement: blocking", f"enforcement: {value}"))


def test_a_compliant_plan_set_passes(estate_repo: Path, make_plan_set: MakePlanSet, cli: Cli) -> None:
    make_plan_set(estate_repo, estate_plans())
    res = cli("--repo", str(estate_repo), "policy")
    assert res.exit_code == 0, res.output
    assert "aws/prod/network" in res.stdout and "pass" in res.stdout
    assert "0 denied, 0 warnings, 0 errors in 10 stacks" in res.stdout


def test_deleting_a_bucket_is_denied_and_blocks_with_exit_3(
    estate_repo: Path, make_plan_set: MakePlanSet, cli: Cli
) -> None:
    plans = estate_plans()
    plans["aws/prod/storage"] = plan("protect_stateful/fail_delete_bucket_in_module.json")
    make_plan_set(estate_repo, plans)
    res = cli("--repo", str(estate_repo), "policy")
    assert res.exit_code == 3, res.output
    assert "DENY  aws/prod/storage  protect-stateful" in res.stdout
    assert "module.assets.aws_s3_bucket.this: the plan would delete this aws_s3_bucket" in res.stdout
    assert "blocked" in res.stdout

    res = cli("--repo", str(estate_repo), "--json", "policy")
    assert res.exit_code == 3
    doc = json.loads(res.stdout)
    assert doc["summary"]["denied"] == 1 and doc["summary"]["blocking"] is True
    storage = next(s for s in doc["stacks"] if s["stack"] == "aws/prod/storage")
    assert storage["status"] == "deny"
    assert storage["findings"][0]["policy"] == "protect-stateful"
    assert storage["findings"][0]["resource"] == "module.assets.aws_s3_bucket.this"


def test_advisory_enforcement_reports_but_does_not_block(
    estate_repo: Path, make_plan_set: MakePlanSet, cli: Cli
) -> None:
    set_enforcement(estate_repo, "advisory")
    make_plan_set(
        estate_repo, {"aws/prod/network": plan("no_open_admin_ports/fail_aws_security_group_ssh.json")}
    )
    res = cli("--repo", str(estate_repo), "policy")
    assert res.exit_code == 0, res.output
    assert "DENY  aws/prod/network  no-open-admin-ports" in res.stdout
    assert "advisory only, not blocking" in res.stdout


def test_a_policy_that_errors_exits_1_even_when_advisory(
    estate_repo: Path, make_plan_set: MakePlanSet, cli: Cli
) -> None:
    set_enforcement(estate_repo, "advisory")
    (estate_repo / "policies/broken_at_runtime.rego").write_text(
        'package main\n\ndeny contains msg if {\n\tmsg := concat(", ", input.format_version)\n}\n'
    )
    make_plan_set(estate_repo, estate_plans())
    res = cli("--repo", str(estate_repo), "policy")
    assert res.exit_code == 1, res.output
    assert "ERROR" in res.stdout and "failed to evaluate" in res.stdout
    assert "a policy failed to evaluate" in res.stdout


def test_sarif_is_written_whole_and_valid(estate_repo: Path, make_plan_set: MakePlanSet, cli: Cli) -> None:
    plans = estate_plans()
    plans["aws/prod/storage"] = plan("protect_stateful/fail_delete_protected_queue.json")
    plans["azure/prod/hub"] = plan("no_public_storage/fail_azure_public.json")
    plan_set = make_plan_set(estate_repo, plans)
    out = estate_repo / "reports" / "policy.sarif"
    res = cli("--repo", str(estate_repo), "policy", "--plan-set", str(plan_set), "--sarif", str(out))
    assert res.exit_code == 3, res.output
    log = json.loads(out.read_text())
    validate(log)
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]
    }
    assert "stacks/aws/prod/storage/main.tf" in uris
    assert [p.name for p in out.parent.iterdir()] == ["policy.sarif"]  # no temporary file left


def test_the_newest_plan_set_is_used_and_a_missing_one_is_a_clear_error(
    estate_repo: Path, make_plan_set: MakePlanSet, cli: Cli
) -> None:
    res = cli("--repo", str(estate_repo), "policy")
    assert res.exit_code == 1
    assert "no plan set found" in res.output and "orchestrate plan" in res.output
    res = cli("--repo", str(estate_repo), "policy", "--plan-set", str(estate_repo / "nowhere"))
    assert res.exit_code == 1 and "does not exist" in res.output


def test_a_tampered_plan_json_is_refused(estate_repo: Path, make_plan_set: MakePlanSet, cli: Cli) -> None:
    plan_set = make_plan_set(estate_repo, {"aws/prod/storage": plan("estate/aws-prod-storage.json")})
    path = plan_set / "aws-prod-storage" / "plan.json"
    doc = json.loads(path.read_text())
    doc["resource_changes"] = []
    path.write_text(json.dumps(doc))
    res = cli("--repo", str(estate_repo), "policy", "--plan-set", str(plan_set))
    assert res.exit_code == 1
    assert "differs from the digest in the manifest" in res.output


def test_a_plan_json_that_is_not_a_plan_is_an_error_never_a_pass(
    estate_repo: Path, make_plan_set: MakePlanSet, cli: Cli
) -> None:
    # Hashed into the manifest like any plan.json, but not a plan: a resource change without
    # its change used to reach the policies as an empty plan (and pass).
    doc = {"resource_changes": [{"address": "aws_s3_bucket.assets", "type": "aws_s3_bucket"}]}
    plan_set = make_plan_set(estate_repo, {"aws/prod/storage": doc})
    res = cli("--repo", str(estate_repo), "policy", "--plan-set", str(plan_set))
    assert res.exit_code == 1, res.output
    assert "plan.json is malformed: resource_changes[0].change is missing" in res.output
    assert "plan again" in res.output and "internal error" not in res.output


def test_policy_load_errors_name_the_file_and_line(
    estate_repo: Path, make_plan_set: MakePlanSet, cli: Cli
) -> None:
    make_plan_set(estate_repo, estate_plans())
    (estate_repo / "policies/old_style.rego").write_text('package main\n\ndeny[msg] {\n  msg := "x"\n}\n')
    res = cli("--repo", str(estate_repo), "policy")
    assert res.exit_code == 1
    assert "policies/old_style.rego:3" in res.output and "Rego v0" in res.output
    assert "Traceback" not in res.output
    (estate_repo / "policies/old_style.rego").write_text(
        "package main\n\ndeny contains msg if {\n  msg := \n}\n"
    )
    res = cli("--repo", str(estate_repo), "policy")
    assert res.exit_code == 1
    assert re.search(r"policies/old_style\.rego:\d+: invalid Rego", res.output), res.output


def test_a_stack_gone_from_the_repository_is_still_checked(
    estate_repo: Path, make_plan_set: MakePlanSet, cli: Cli
) -> None:
    make_plan_set(estate_repo, {"aws/retired": plan("protect_stateful/fail_replace_database.json")})
    res = cli("--repo", str(estate_repo), "--json", "policy")
    assert res.exit_code == 3, res.output
    doc = json.loads(res.stdout)
    assert doc["stacks"][0]["stack"] == "aws/retired"
    assert doc["stacks"][0]["findings"][0]["resource"] == "aws_db_instance.main"


def test_secrets_in_policy_messages_are_masked(
    estate_repo: Path, make_plan_set: MakePlanSet, cli: Cli
) -> None:
    (estate_repo / "policies/echo.rego").write_text(
        "package main\n\nwarn contains msg if {\n\tsome rc in input.resource_changes\n"
        '\tmsg := concat(" ", ["password is", rc.change.before.password, "and secret-token-42"])\n}\n'
    )
    make_plan_set(estate_repo, {"aws/prod/data": plan("protect_stateful/fail_replace_database.json")})
    for args in (("policy",), ("--json", "policy")):
        res = cli("--repo", str(estate_repo), *args)
        assert res.exit_code == 3, res.output
        assert "hunter2-Secret-Pa55" not in res.output
        assert "secret-token-42" not in res.output
        assert "password is (sensitive) and (sensitive)" in res.output
