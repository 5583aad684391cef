"""Which recovery target replaces each cloud target (orchestrator/recovery.py), directly: the
--target-cloud checks, the choice per stack, and the refusals, without terraform."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrator.errors import ConfigError
from orchestrator.recovery import TargetArg, check_target_args, map_clouds, recovery_target
from orchestrator.workspace import Workspace

CONFIG = """version: 1
clouds:
  aws-dev:  {provider: aws, region: eu-west-1}
  aws-prod: {provider: aws, region: eu-west-2}
  aws-dr:   {provider: aws, region: eu-central-1}
  aws-dr2:  {provider: aws, region: us-east-1}
  aws-twin: {provider: aws, region: eu-west-1}
  gcp-dev:  {provider: gcp, project: acme-dev}
  gcp-dr:   {provider: gcp, project: acme-dr}
  bad/name: {provider: aws, region: eu-north-1}
"""


@pytest.fixture
def ws(make_repo: Callable[..., Path]) -> Workspace:
    root = make_repo(
        {
            "orchestrate.yaml": CONFIG,
            "stacks/net/stack.yaml": "cloud: aws-dev\n",
            "stacks/app/stack.yaml": "cloud: aws-dev\n",
            "stacks/db/stack.yaml": "cloud: aws-prod\n",
            "stacks/data/stack.yaml": "cloud: gcp-dev\n",
            "stacks/loose/stack.yaml": "environment: dev\n",
        },
        commit=False,
    )
    return Workspace.load(root)


def refused(call: Callable[[], object]) -> str:
    with pytest.raises(ConfigError) as info:
        call()
    assert info.value.message.startswith("recovery refused: ")
    return info.value.message.removeprefix("recovery refused: ")


def test_a_name_replaces_every_target_of_its_provider(ws: Workspace) -> None:
    clouds = ws.config.clouds
    args = [TargetArg("aws-dr"), TargetArg("gcp-dr")]
    assert recovery_target("net", "aws-dev", args, clouds) == "aws-dr"
    assert recovery_target("db", "aws-prod", args, clouds) == "aws-dr"
    assert recovery_target("data", "gcp-dev", args, clouds) == "gcp-dr"


def test_from_equals_name_wins_over_the_providers_name(ws: Workspace) -> None:
    args = [TargetArg("aws-dr"), TargetArg("aws-dr2", "aws-prod")]
    assert recovery_target("db", "aws-prod", args, ws.config.clouds) == "aws-dr2"
    assert recovery_target("net", "aws-dev", args, ws.config.clouds) == "aws-dr"


def test_no_replacement_or_several_are_refused(ws: Workspace) -> None:
    clouds = ws.config.clouds
    assert refused(lambda: recovery_target("data", "gcp-dev", [TargetArg("aws-dr")], clouds)) == (
        "'data' runs on 'gcp-dev' (gcp) and no --target-cloud replaces it"
    )
    two = [TargetArg("aws-dr2"), TargetArg("aws-dr")]
    assert refused(lambda: recovery_target("net", "aws-dev", two, clouds)) == (
        "'net' runs on 'aws-dev' (aws) and more than one (aws-dr, aws-dr2) --target-cloud replaces it"
    )


def test_a_target_of_another_provider_is_refused(ws: Workspace) -> None:
    args = [TargetArg("gcp-dr", "aws-dev")]
    assert refused(lambda: recovery_target("net", "aws-dev", args, ws.config.clouds)) == (
        "'gcp-dr' is a gcp target; 'aws-dev' is aws"
    )


def test_target_args_name_declared_unused_targets(ws: Workspace) -> None:
    used = {"aws-dev", "aws-prod", "gcp-dev"}
    check_target_args(ws, [TargetArg("aws-dr"), TargetArg("aws-dr2", "aws-prod")], used)
    assert refused(lambda: check_target_args(ws, [TargetArg("aws-dr", "aws-nope")], used)).startswith(
        "unknown cloud target 'aws-nope' (known: aws-dev, aws-dr"
    )
    assert refused(lambda: check_target_args(ws, [TargetArg("bad/name")], used)) == (
        "cloud target name 'bad/name' cannot name a directory"
    )
    assert refused(lambda: check_target_args(ws, [TargetArg("aws-dev")], used)) == (
        "'aws-dev' is the cloud target of app, net; a recovery target must be one no stack deploys to"
    )


def test_map_clouds_maps_each_cloud_once(ws: Workspace) -> None:
    stacks = [ws.stacks[s] for s in ("net", "app", "db", "data")]
    args = [TargetArg("aws-dr"), TargetArg("gcp-dr")]
    assert map_clouds(ws, stacks, args, None) == {
        "aws-dev": "aws-dr",
        "aws-prod": "aws-dr",
        "gcp-dev": "gcp-dr",
    }


def test_map_clouds_refuses_a_stack_without_a_cloud_and_a_target_in_the_same_place(ws: Workspace) -> None:
    loose = [ws.stacks["net"], ws.stacks["loose"]]
    assert refused(lambda: map_clouds(ws, loose, [TargetArg("aws-dr")], None)).startswith(
        "'loose' has no cloud target"
    )
    twin = [ws.stacks["net"]]
    assert refused(lambda: map_clouds(ws, twin, [TargetArg("aws-twin")], None)).startswith(
        "'aws-twin' reaches the same place as 'aws-dev'"
    )
