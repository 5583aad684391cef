"""--mode refresh: resource_drift mapped into the report (pure), merged with api results, and the
real thing: terraform plan -refresh-only with the stand-in AWS provider over moto."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from orchestrator.drift.model import Changed, Diff, Missing, StackDrift
from orchestrator.drift.refresh import from_plan, merge
from tests.conftest import MotoServer, TerraformBinary
from tests.drift import estate as E


def drift_entry(address: str, actions: list[str], before: Any, after: Any, **change: Any) -> dict[str, Any]:
    rtype = address.split(".")[-2]
    return {
        "address": address,
        "mode": "managed",
        "type": rtype,
        "name": address.split(".")[-1],
        "change": {"actions": actions, "before": before, "after": after, **change},
    }


def plan(*drift: dict[str, Any], resources: int = 2) -> dict[str, Any]:
    return {
        "format_version": "1.2",
        "prior_state": {
            "values": {
                "root_module": {
                    "resources": [{"mode": "managed"}] * (resources - 1) + [{"mode": "data"}],
                    "child_modules": [{"resources": [{"mode": "managed"}]}],
                }
            }
        },
        "resource_drift": list(drift),
    }


def test_updates_become_changed_and_deletes_missing() -> None:
    before = {
        "id": "q",
        "name": "q",
        "tags": {"owner": "a"},
        "tags_all": {"owner": "a"},
        "visibility_timeout_seconds": 30,
    }
    after = {**before, "tags": {"owner": "b"}, "tags_all": {"owner": "b"}, "visibility_timeout_seconds": 60}
    result = from_plan(
        plan(
            drift_entry("aws_sqs_queue.q", ["update"], before, after),
            drift_entry("module.m.aws_s3_bucket.b", ["delete"], {"id": "bkt"}, None),
        )
    )
    assert result.has_state
    assert result.resources == 2 + 1  # managed in the refreshed state, plus the one found gone
    (changed,) = result.changed
    assert [d.to_dict() for d in changed.diffs] == [
        {"path": "visibility_timeout_seconds", "expected": 30, "actual": 60},
        {"path": "tags.owner", "expected": "a", "actual": "b"},
    ]
    assert result.missing == (Missing("module.m.aws_s3_bucket.b", "aws_s3_bucket", "bkt"),)


def test_unknown_types_get_a_generic_diff_without_tags_all_echo() -> None:
    before = {"id": "x", "size": 1, "tags": {"a": "1"}, "tags_all": {"a": "1"}, "list": [1, 2]}
    after = {**before, "size": 2, "tags": {"a": "2"}, "tags_all": {"a": "2"}, "list": [2, 1]}
    (changed,) = from_plan(plan(drift_entry("foo_thing.x", ["update"], before, after))).changed
    assert [d.path_text for d in changed.diffs] == ["list", "size", "tags.a"]


def test_sensitive_values_in_drift_are_masked_and_collected() -> None:
    before = {"id": "db", "password": "old-pass-1234"}
    after = {"id": "db", "password": "new-pass-5678"}
    result = from_plan(
        plan(
            drift_entry(
                "foo_db.db",
                ["update"],
                before,
                after,
                before_sensitive={"password": True},
                after_sensitive={"password": True},
            )
        )
    )
    (diff,) = result.changed[0].diffs
    assert diff.to_dict() == {"path": "password", "expected": "(sensitive)", "actual": "(sensitive)"}
    assert {"old-pass-1234", "new-pass-5678"} <= result.secrets


def test_no_prior_state_means_never_applied() -> None:
    assert not from_plan({"format_version": "1.2", "resource_drift": []}).has_state


def test_both_merges_by_address() -> None:
    tag = Diff(("tags", "owner"), "a", "b")
    api = StackDrift("s", "api", changed=(Changed("x.a", "x", "1", (tag,)),), resources=3, unchecked=("y.b",))
    refresh = StackDrift(
        "s",
        "refresh",
        changed=(
            Changed("x.a", "x", "1", (tag, Diff(("size",), 1, 2))),
            Changed("y.b", "y", "2", (Diff(("p",), 1, 2),)),
            Changed("z.c", "z", "3", (Diff(("p",), 1, 2),)),
        ),
        missing=(Missing("z.c", "z", "3"),),
        resources=4,
    )
    merged = merge(api, refresh)
    assert merged.mode == "both"
    assert {c.address: [d.path_text for d in c.diffs] for c in merged.changed} == {
        "x.a": ["tags.owner", "size"],
        "y.b": ["p"],
    }
    assert [m.address for m in merged.missing] == ["z.c"]
    assert merged.unchecked == ()  # refresh checked what api could not
    failed = merge(api, StackDrift("s", "refresh", error="terraform failed"))
    assert failed.status == "error"
    assert failed.unchecked == ("y.b",)


# ---------------------------------------------------------------- real terraform


@pytest.fixture(scope="session")
def stand_in_mirror(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from orchestrate_emulate.mirror import build

    return build(tmp_path_factory.mktemp("drift-mirror"))


TF_QUEUE = """\
terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}

provider "aws" {}

resource "aws_sqs_queue" "jobs" {
  name = "acme-jobs"
  tags = { owner = "team-a" }
}

resource "aws_s3_bucket" "logs" {
  bucket = "acme-refresh-logs"
  tags   = { owner = "team-a" }
}
"""


@pytest.mark.integration
def test_refresh_and_both_modes_with_real_terraform(
    aws_credentials: MotoServer,
    newest_terraform: TerraformBinary,
    stand_in_mirror: Any,
    make_repo: Callable[..., Path],
    cli: Callable[..., Result],
    tmp_path: Path,
) -> None:
    endpoint = aws_credentials.endpoint
    yaml = (
        f"version: 1\nterraform: {{binary: '{newest_terraform.path}'}}\n"
        f"clouds:\n  aws-test: {{provider: aws, region: {E.REGION}, endpoint: '{endpoint}'}}\n"
    )
    root = make_repo(
        {
            "orchestrate.yaml": yaml,
            **E.stack_files("aws/queue", "aws-test", TF_QUEUE),
            # No cloud target: even in api mode this stack is refreshed through terraform.
            **E.stack_files("plain/none", None, 'output "x" {\n  value = 1\n}\n'),
            ".gitignore": ".orchestrate/\n",
        }
    )
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "HOME": str(home),
        "TF_CLI_CONFIG_FILE": str(stand_in_mirror.cli_config),
        "CHECKPOINT_DISABLE": "1",
    }

    def run(*args: str) -> Result:
        return cli("--repo", str(root), *args, env=env)

    def drift(*args: str) -> tuple[int, dict[str, Any]]:
        r = run("drift", "--format", "json", *args)
        assert r.stdout.strip(), r.stderr
        return r.exit_code, json.loads(r.stdout)

    code, before_apply = drift("aws/queue", "--mode", "refresh")
    assert code == 1
    assert "has not been applied" in before_apply["stacks"][0]["error"]

    assert run("plan").exit_code == 2
    applied = run("apply", "--approved-by", "tester", "--reason", "drift test")
    assert applied.exit_code == 0, applied.stderr

    code, report = drift("--mode", "refresh")
    assert code == 0, report
    modes = {s["stack"]: (s["mode"], s["status"], s["resources"]) for s in report["stacks"]}
    assert modes == {"aws/queue": ("refresh", "clean", 2), "plain/none": ("refresh", "clean", 0)}

    sqs = E.client("sqs", endpoint)
    url = sqs.get_queue_url(QueueName="acme-jobs")["QueueUrl"]
    sqs.tag_queue(QueueUrl=url, Tags={"owner": "team-b"})
    E.client("s3", endpoint).delete_bucket(Bucket="acme-refresh-logs")

    expected_changed = [
        {
            "address": "aws_sqs_queue.jobs",
            "type": "aws_sqs_queue",
            "id": url,
            "diffs": [{"path": "tags.owner", "expected": "team-a", "actual": "team-b"}],
        }
    ]
    expected_missing = [{"address": "aws_s3_bucket.logs", "type": "aws_s3_bucket", "id": "acme-refresh-logs"}]
    for mode in ("refresh", "both", "api"):
        code, report = drift("aws/queue", "--mode", mode)
        assert code == 2, (mode, report)
        (stack,) = report["stacks"]
        assert stack["mode"] == mode
        assert stack["changed"] == expected_changed, mode
        assert stack["missing"] == expected_missing, mode
