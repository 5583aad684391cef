"""The state JSON boundary (terraform.statejson): a state v4 document or ``terraform output
-json`` gets its type when it has the shape orchestrate reads, else one clear error."""

from __future__ import annotations

import copy
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from orchestrator.engine.moved import moved_from
from orchestrator.engine.state import parse_state, resource_count_of, state_identity_of
from orchestrator.errors import TerraformError
from orchestrator.redact import state_sensitive_values
from orchestrator.terraform.plan import plan_state_identity
from orchestrator.terraform.planjson import plan_from_terraform
from orchestrator.terraform.statejson import outputs_json_of, state_json_of
from tests.drift import statefiles as sf
from tests.engine.conftest import Repo

STATE = sf.state_document(
    [
        sf.Instance("aws_sqs_queue", "q", {"id": "u0"}, index_key=0),
        sf.Instance("aws_iam_role", "r", {"id": "dev"}, index_key="dev", module="module.env"),
    ],
    outputs={"token": {"value": "tok-secret-1", "type": "string", "sensitive": True}},
)


def load(doc: Any) -> object:
    return state_json_of(doc, what="the state", where="net", error=TerraformError)


def test_a_state_document_is_accepted_whole() -> None:
    state = load(copy.deepcopy(STATE))
    assert state == STATE


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(resources={}), "resources is an object, expected a list"),
        (lambda d: d["resources"][0].pop("name"), "resources[0].name is missing"),
        (
            lambda d: d["resources"][1].update(instances=[7]),
            "resources[1].instances[0] is a number, expected an object",
        ),
        (
            lambda d: d["resources"][0]["instances"][0].update(attributes="x"),
            "resources[0].instances[0].attributes is a string, expected an object",
        ),
        (lambda d: d.update(lineage=5), "lineage is a number, expected a string"),
        (lambda d: d.update(serial="3"), "serial is a string, expected an integer"),
        (lambda d: d.update(serial=True), "serial is a boolean, expected an integer"),
        (lambda d: d["outputs"].update(o=[1]), "outputs.o is a list, expected an object"),
    ],
)
def test_a_malformed_state_names_the_field(mutate: Any, message: str) -> None:
    doc = copy.deepcopy(STATE)
    mutate(doc)
    with pytest.raises(TerraformError) as info:
        load(doc)
    assert info.value.message == f"the state is malformed: {message}"


def test_the_engine_reads_identity_and_counts_from_the_typed_state() -> None:
    state = parse_state("net", json.dumps(STATE))
    assert state is not None
    assert state_identity_of(state) == (STATE["lineage"], 3)
    assert resource_count_of(state) == 2
    assert state_sensitive_values(state) == {"tok-secret-1"}


def test_output_json_is_checked_where_it_is_read() -> None:
    outputs = outputs_json_of(
        b'{"id": {"value": "x", "type": "string", "sensitive": false}}', where="net", error=TerraformError
    )
    assert outputs["id"].get("value") == "x"
    assert outputs_json_of(b"", where="net", error=TerraformError) == {}
    with pytest.raises(TerraformError, match="`terraform output -json` output is malformed: id is a string"):
        outputs_json_of(b'{"id": "x"}', where="net", error=TerraformError)
    with pytest.raises(TerraformError, match="`terraform output -json` output is not valid JSON"):
        outputs_json_of(b'{"id": {"value": ', where="net", error=TerraformError)


def test_a_malformed_orphan_state_is_no_evidence_of_a_move(tmp_path: Path) -> None:
    states = tmp_path / ".orchestrate/state"
    (states / "broken").mkdir(parents=True)
    (states / "broken/terraform.tfstate").write_text('{"version": 4, "resources": [{"type": "t"}]}')
    plan = plan_from_terraform(
        json.dumps(
            {
                "resource_changes": [
                    {"address": "aws_sqs_queue.q[0]", "mode": "managed", "change": {"actions": ["create"]}},
                    {
                        "address": 'module.env.aws_iam_role.r["dev"]',
                        "mode": "managed",
                        "change": {"actions": ["create"]},
                    },
                ]
            }
        ),
        where="new",
    )
    assert moved_from(tmp_path, "new", ["new"], plan) is None
    (states / "old").mkdir()
    (states / "old/terraform.tfstate").write_text(json.dumps(STATE))
    moved = moved_from(tmp_path, "new", ["new"], plan)
    assert moved is not None and "state of 'old'" in moved


# ---------------------------------------------------------------- real terraform


STACK = """
variable "token" {
  type      = string
  sensitive = true
  default   = "tok-real-9876"
}
resource "null_resource" "r" {
  count    = 2
  triggers = { i = count.index }
}
output "token" {
  value     = var.token
  sensitive = true
}
"""


@pytest.mark.integration
def test_a_real_state_is_read_through_the_boundary(newest_repo: Callable[..., Repo]) -> None:
    repo = newest_repo({"stacks/net/stack.yaml": "", "stacks/net/main.tf": STACK})
    assert repo.orchestrate("plan").exit_code == 2
    assert repo.orchestrate("apply", "--approved-by", "alice", "--reason", "t").exit_code == 0
    text = (repo.root / ".orchestrate/state/net/terraform.tfstate").read_text()
    state = parse_state("net", text)
    assert state is not None and state.get("version") == 4
    assert state.get("terraform_version") == repo.terraform.version
    lineage, serial = state_identity_of(state)
    assert lineage and isinstance(serial, int)
    assert resource_count_of(state) == 2
    (resource,) = state.get("resources") or []
    assert resource["type"] == "null_resource" and "hashicorp/null" in resource.get("provider", "")
    assert [i.get("index_key") for i in resource.get("instances") or []] == [0, 1]
    assert state_sensitive_values(state) == {"tok-real-9876"}


@pytest.mark.parametrize(
    ("tfstate", "identity"),
    [
        (json.dumps(STATE), (STATE["lineage"], 3)),
        ('{"version": 4, "serial": 3}', (None, None)),  # a first run: no lineage yet
        ("[1]", (None, None)),  # not a state: unreadable, never an internal error
        ('{"lineage": 7}', (None, None)),
    ],
    ids=["state", "no-lineage", "list", "bad-lineage"],
)
def test_the_state_inside_a_plan_file_is_read_through_the_boundary(
    tmp_path: Path, tfstate: str, identity: tuple[str | None, int | None]
) -> None:
    plan_file = tmp_path / "plan.tfplan"
    with zipfile.ZipFile(plan_file, "w") as zf:
        zf.writestr("tfstate", tfstate)
    found = plan_state_identity(plan_file)
    assert (found.lineage, found.serial) == identity
