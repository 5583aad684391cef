"""The plan JSON boundary (terraform.planjson): a well-formed plan gets its type, anything
else is one clear error of the caller's class naming the field, never a KeyError later."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from orchestrator.errors import PlanSetError, TerraformError
from orchestrator.planset import read_plan_json
from orchestrator.redact import sensitive_values
from orchestrator.terraform.plan import summarize
from orchestrator.terraform.planjson import load_plan_json, plan_from_terraform, plan_json_of
from tests.engine.conftest import Repo
from tests.pr.planfixtures import PLANS

AWS = json.loads((PLANS / "aws.json").read_text())


def load(doc: Any) -> object:
    return plan_json_of(doc, what="plan.json", where="s", error=PlanSetError)


def test_a_real_plan_fixture_is_accepted_whole() -> None:
    plan = load_plan_json((PLANS / "aws.json").read_bytes(), what="aws.json", where="s", error=PlanSetError)
    assert plan == AWS  # nothing dropped: policies read the whole document
    assert plan["resource_changes"][0]["change"]["actions"]


def test_an_empty_object_is_a_plan_with_nothing_in_it() -> None:
    assert summarize(plan_from_terraform(b"{}", where="net")).counts.total == 0


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(resource_changes={"a": 1}), "resource_changes is an object, expected a list"),
        (lambda d: d["resource_changes"][0].pop("change"), "resource_changes[0].change is missing"),
        (lambda d: d["resource_changes"][1].pop("address"), "resource_changes[1].address is missing"),
        (
            lambda d: d["resource_changes"][0]["change"].update(actions="create"),
            "resource_changes[0].change.actions is a string, expected a list",
        ),
        (
            lambda d: d["resource_changes"][0]["change"].update(actions=[1]),
            "resource_changes[0].change.actions[0] is a number, expected a string",
        ),
        (lambda d: d.update(output_changes={"o": {"after": 1}}), "output_changes.o.actions is missing"),
        (lambda d: d.update(resource_drift=[None]), "resource_drift[0] is null, expected an object"),
        (
            lambda d: d.update(planned_values={"root_module": {"child_modules": [{"resources": [3]}]}}),
            "planned_values.root_module.child_modules[0].resources[0] is a number, expected an object",
        ),
        (
            lambda d: d.update(prior_state={"values": {"outputs": {"o": {"sensitive": "yes"}}}}),
            "prior_state.values.outputs.o.sensitive is a string, expected a boolean",
        ),
        (
            lambda d: d.update(configuration={"root_module": {"variables": {"v": []}}}),
            "configuration.root_module.variables.v is a list, expected an object",
        ),
        (lambda d: d.update(variables={"v": "x"}), "variables.v is a string, expected an object"),
        (lambda d: d.update(format_version=1.2), "format_version is a number, expected a string"),
        (lambda d: d.update(errored="no"), "errored is a string, expected a boolean"),
    ],
)
def test_a_malformed_plan_names_the_field(mutate: Any, message: str) -> None:
    doc = copy.deepcopy(AWS)
    mutate(doc)
    with pytest.raises(PlanSetError) as info:
        load(doc)
    assert info.value.message == f"plan.json is malformed: {message}"
    assert info.value.where == "s"


def test_a_document_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(TerraformError, match="the document is a list, expected an object"):
        plan_from_terraform(b"[]", where="net")


def test_truncated_output_is_one_error_with_where_and_what_to_do() -> None:
    text = (PLANS / "aws.json").read_bytes()
    with pytest.raises(TerraformError) as info:
        plan_from_terraform(text[: len(text) // 2], where="aws/prod/net")
    err = info.value
    assert err.where == "aws/prod/net"
    assert err.message.startswith("`terraform show -json` output is not valid JSON (truncated?)")
    assert err.hint and "terraform.binary" in err.hint


def test_nesting_too_deep_for_the_parser_is_an_error_not_a_crash() -> None:
    with pytest.raises(PlanSetError, match="nested too deeply"):
        load_plan_json("[" * 200_000, what="plan.json", where="s", error=PlanSetError)
    deep: dict[str, Any] = {}
    module = deep
    for _ in range(5000):
        child: dict[str, Any] = {}
        module["child_modules"] = [child]
        module = child
    with pytest.raises(PlanSetError, match="nested too deeply"):
        load({"planned_values": {"root_module": deep}})


def test_the_prior_state_sensitive_values_are_collected() -> None:
    # prior_state is a state representation: its values sit under "values" (they were missed
    # when it was read as if it were a values representation).
    doc = {
        "prior_state": {
            "values": {
                "outputs": {"db": {"sensitive": True, "value": "prior-Pa55word"}},
                "root_module": {
                    "resources": [{"values": {"token": "tok-prior-123"}, "sensitive_values": {"token": True}}]
                },
            }
        }
    }
    assert sensitive_values(plan_from_terraform(json.dumps(doc), where="s")) == {
        "prior-Pa55word",
        "tok-prior-123",
    }


# ---------------------------------------------------------------- real terraform


APP = """
variable "password" {
  type      = string
  sensitive = true
  default   = "s3cr3t-Pa55"
}
variable "v" {
  type    = string
  default = "1"
}
module "child" {
  source = "./child"
  name   = "x"
}
resource "null_resource" "r" {
  triggers = { pw = var.password, v = var.v }
}
output "id" { value = null_resource.r.id }
output "pw" {
  value     = var.password
  sensitive = true
}
"""
CHILD = """
variable "name" { type = string }
resource "null_resource" "c" {
  triggers = { n = var.name }
}
"""
FILES = {"stacks/app/stack.yaml": "", "stacks/app/main.tf": APP, "stacks/app/child/main.tf": CHILD}


@pytest.mark.integration
def test_real_terraform_plans_are_read_through_the_boundary(newest_repo: Callable[..., Repo]) -> None:
    repo = newest_repo(FILES)
    assert repo.orchestrate("plan").exit_code == 2
    plan = read_plan_json(repo.latest(), "app", encrypted=False)
    assert isinstance(plan["format_version"], str) and plan["terraform_version"] == repo.terraform.version
    by_address = {rc["address"]: rc for rc in plan["resource_changes"]}
    child = by_address["module.child.null_resource.c"]
    assert child["module_address"] == "module.child" and child["mode"] == "managed"
    assert child["type"] == "null_resource" and child["provider_name"].endswith("hashicorp/null")
    assert child["change"]["actions"] == ["create"]
    root = plan["configuration"]["root_module"]
    assert root["module_calls"]["child"]["source"] == "./child"
    assert root["variables"]["password"]["sensitive"] is True
    assert root["resources"][0]["expressions"]["triggers"]
    assert plan["planned_values"]["root_module"]["child_modules"][0]["address"] == "module.child"
    assert plan["output_changes"]["pw"]["after_sensitive"] is True
    assert "s3cr3t-Pa55" in sensitive_values(plan)
    assert summarize(plan).counts.add == 2

    assert repo.orchestrate("apply", "--approved-by", "alice", "--reason", "t").exit_code == 0
    (repo.root / "stacks/app/main.tf").write_text(APP.replace('default = "1"', 'default = "2"'))
    repo.commit()
    assert repo.orchestrate("plan").exit_code == 2
    plan = read_plan_json(repo.latest(), "app", encrypted=False)
    replaced = {rc["address"]: rc for rc in plan["resource_changes"]}["null_resource.r"]
    assert replaced["change"]["actions"] == ["delete", "create"]
    assert replaced["action_reason"] == "replace_because_cannot_update"
    assert replaced["change"]["replace_paths"] == [["triggers"]]
    prior = plan["prior_state"]["values"]["root_module"]
    assert {r["address"] for r in prior["resources"]} == {"null_resource.r"}
    assert "s3cr3t-Pa55" in sensitive_values(plan)


def wrapped_terraform(tmp_path: Path, real: Path, show: str) -> Path:
    """A terraform that runs ``real`` but prints ``show`` (a shell pipeline) for ``show -json``."""
    wrapper = tmp_path / "bin" / "terraform"
    wrapper.parent.mkdir()
    wrapper.write_text(
        f'#!/bin/sh\ncase "$*" in\n  *" show -json "*) "{real}" "$@" | {show}; exit 0 ;;\nesac\n'
        f'exec "{real}" "$@"\n'
    )
    wrapper.chmod(0o755)
    return wrapper


@pytest.mark.integration
@pytest.mark.parametrize(
    ("show", "message"),
    [
        ("head -c 300", "`terraform show -json` output is not valid JSON (truncated?)"),
        (
            'sed \'s/"resource_changes":\\[/"resource_changes":5,"x":[/\'',
            "`terraform show -json` output is malformed: resource_changes is a number, expected a list",
        ),
    ],
    ids=["truncated", "malformed"],
)
def test_a_bad_plan_json_from_terraform_fails_the_stack_with_exit_1(
    newest_repo: Callable[..., Repo], tmp_path: Path, show: str, message: str
) -> None:
    probe = newest_repo(FILES)
    wrapper = wrapped_terraform(tmp_path, Path(probe.terraform.path), show)
    repo = newest_repo({**FILES, "orchestrate.yaml": f"terraform:\n  binary: {wrapper}\n"})
    res = repo.orchestrate("plan")
    assert res.exit_code == 1, res.output
    assert message in res.output, res.output
    assert "internal error" not in res.output and "Traceback" not in res.output
    assert repo.statuses() == {"app": "failed"}
