"""stacks: rules (issue 14 Build 1): root modules found by rule, targets from path patterns."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from orchestrator.workspace import Workspace
from tests.fakes.estates import estate, expected_ids

Cli = Callable[..., Result]
MakeRepo = Callable[..., Path]


def test_two_hundred_roots_without_stack_yaml_list_and_graph_with_targets(
    make_repo: MakeRepo, cli: Cli
) -> None:
    repo = make_repo(estate())
    res = cli("--repo", str(repo), "list", "--format", "json")
    assert res.exit_code == 0, res.output
    rows = {r["id"]: r for r in json.loads(res.stdout)["stacks"]}
    assert len(rows) == 200
    assert set(rows) == expected_ids()
    assert rows["live/prod/aws/svc03"]["cloud"] == "aws-prod"
    assert rows["live/prod/aws/svc03"]["environment"] == "prod"
    assert rows["live/dev/gcp/svc00"]["cloud"] == "gcp-dev"
    assert rows["live/staging/azure/svc02"]["cloud"] == "azure-staging"  # a provider-only root
    assert rows["global/dns"]["environment"] == "global"
    assert rows["global/dns"]["cloud"] is None
    # modules and their examples are not stacks
    assert not any(i.startswith("modules/") for i in rows)
    res = cli("--repo", str(repo), "graph", "--format", "json")
    assert res.exit_code == 0, res.output
    graph = json.loads(res.stdout)
    assert len(graph["nodes"]) == 200
    # filters work on rule-given targets
    res = cli("--repo", str(repo), "list", "--cloud", "gcp-prod", "--format", "json")
    assert len(json.loads(res.stdout)["stacks"]) == 22


def test_a_directory_used_as_a_module_is_not_a_stack_even_with_a_provider_block(make_repo: MakeRepo) -> None:
    repo = make_repo(
        {
            "orchestrate.yaml": "stacks: {}\n",
            "app/main.tf": 'provider "aws" {}\nmodule "n" {\n  source = "../net"\n}\n',
            "net/main.tf": 'provider "aws" {}\nresource "terraform_data" "x" {}\n',
            "lib/main.tf": 'variable "x" {}\n',
        }
    )
    stacks = Workspace.load(repo).stacks
    assert sorted(stacks) == ["app"]
    assert "provider block" in stacks["app"].found_by


def test_stack_yaml_overrides_rules_and_listed_projects_share_a_directory(make_repo: MakeRepo) -> None:
    repo = make_repo(
        {
            "orchestrate.yaml": (
                "stacks:\n"
                "  targets:\n"
                "    - {match: 'live/{environment}/**', cloud: 'aws-{environment}'}\n"
                "  projects:\n"
                "    - {dir: app, workspace: staging}\n"
                "    - {dir: app, workspace: prod, name: app-prod, depends_on: [app/staging]}\n"
            ),
            "live/dev/net/main.tf": 'terraform {\n  backend "local" {}\n}\n',
            "live/dev/net/stack.yaml": "cloud: aws-special\n",
            "live/dev/db/main.tf": 'terraform {\n  backend "local" {}\n}\n',
            "app/main.tf": 'resource "terraform_data" "x" {}\n',
        }
    )
    ws = Workspace.load(repo)
    stacks = ws.stacks
    assert sorted(stacks) == ["app-prod", "app/staging", "live/dev/db", "live/dev/net"]
    assert stacks["live/dev/net"].cloud == "aws-special"
    assert stacks["live/dev/net"].environment == "dev"
    assert stacks["live/dev/db"].cloud == "aws-dev"
    assert stacks["app/staging"].workspace == "staging"
    assert stacks["app-prod"].path == "app"
    assert ws.graph.order.index("app/staging") < ws.graph.order.index("app-prod")


def test_an_unknown_capture_in_a_target_is_a_clear_error(make_repo: MakeRepo, cli: Cli) -> None:
    repo = make_repo(
        {
            "orchestrate.yaml": "stacks:\n  targets:\n    - {match: 'live/*/**', cloud: 'aws-{env}'}\n",
            "live/a/main.tf": 'terraform {\n  backend "local" {}\n}\n',
        }
    )
    res = cli("--repo", str(repo), "list")
    assert res.exit_code == 1
    assert "orchestrate.yaml:3" in res.output and "{env}" in res.output


def test_remote_state_edges_through_variables_tfvars_locals_path_module_and_for_each(
    make_repo: MakeRepo, cli: Cli
) -> None:
    backend = 'terraform {\n  backend "s3" {\n    bucket = "acme"\n    key = "%s"\n  }\n}\n'
    repo = make_repo(
        {
            "orchestrate.yaml": "stacks: {}\n",
            "net/main.tf": backend % "prod/net.tfstate",
            "dns/main.tf": backend % "prod/dns.tfstate",
            "iam/main.tf": 'terraform {\n  backend "local" {}\n}\n',
            "app/main.tf": backend % "prod/app.tfstate"
            + 'variable "env" {\n  default = "dev"\n}\n'
            + 'locals {\n  prefix = "${var.env}"\n}\n'
            + 'data "terraform_remote_state" "net" {\n  backend = "s3"\n'
            + '  config = { bucket = "acme", key = "${local.prefix}/net.tfstate" }\n}\n'
            + 'data "terraform_remote_state" "each" {\n  for_each = { dns = "dns", n = "net" }\n'
            + '  backend = "s3"\n  config = { bucket = "acme", key = "prod/${each.value}.tfstate" }\n}\n'
            + 'data "terraform_remote_state" "iam" {\n  backend = "local"\n'
            + '  config = { path = "${path.module}/../iam/terraform.tfstate" }\n}\n'
            + 'data "terraform_remote_state" "x" {\n  backend = "s3"\n'
            + '  config = { bucket = "acme", key = format("%s", data.x.y) }\n}\n',
            "app/terraform.tfvars": 'env = "prod"\n',
        }
    )
    graph = Workspace.load(repo).graph
    assert graph.dependencies("app") == ["dns", "iam", "net"]
    names = sorted(r.detail for r in graph.reasons("net", "app"))
    assert names == ['data.terraform_remote_state.each["n"]', "data.terraform_remote_state.net"]
    res = cli("--repo", str(repo), "validate", "--skip-terraform")
    assert res.exit_code == 0, res.output
    assert "app/main.tf:26: data.terraform_remote_state.x" in res.output
    assert "add depends_on" in res.output
    assert "remote state: 4 of 5 reads resolved, 4 to a stack here" in res.output


def test_synthetic_estate_edges_resolve_through_path_module_and_locals(make_repo: MakeRepo) -> None:
    graph = Workspace.load(make_repo(estate(per_group=3))).graph
    assert graph.dependencies("live/prod/aws/svc01") == ["live/prod/aws/svc00"]
