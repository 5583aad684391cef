"""envs diff: a planted inconsistency is found in every output format (exit 2); consistent
environments, whose only differences are variable values, are reported clean (exit 0)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

MAIN = """terraform {
  required_version = ">= 1.0"
  required_providers {
    aws = { source = "hashicorp/aws", version = "~> 5.0" }
  }
}
variable "environment" { type = string }
variable "replicas" {
  type    = number
  default = 1
}
module "vpc" {
  source  = "terraform-aws-modules/vpc/aws"
  version = "5.1.0"
  name    = "acme-${var.environment}"
}
module "labels" {
  source = "../../../modules/labels"
}
"""
LOCK = """provider "registry.terraform.io/hashicorp/aws" {
  version     = "5.31.0"
  constraints = "~> 5.0"
  hashes = ["h1:abc"]
}
"""


def estate(envs: tuple[str, ...] = ("dev", "staging", "prod")) -> dict[str, str]:
    files = {
        "orchestrate.yaml": f"environments: [{', '.join(envs)}]\n",
        "modules/labels/main.tf": 'output "tags" { value = {} }\n',
    }
    for env in envs:
        files[f"stacks/{env}/net/stack.yaml"] = ""  # environment from the path segment
        files[f"stacks/{env}/net/main.tf"] = MAIN
        files[f"stacks/{env}/net/.terraform.lock.hcl"] = LOCK
        files[f"stacks/{env}/net/terraform.tfvars"] = f'environment = "{env}" # the only difference\n'
    files["stacks/prod/audit/stack.yaml"] = ""  # a prod-only family: listed, not a difference
    files["stacks/prod/audit/main.tf"] = ""
    return files


def run(cli: Callable[..., Result], root: Path, *args: str) -> Result:
    return cli("--repo", str(root), "envs", "diff", *args)


def test_consistent_environments_are_clean(
    make_repo: Callable[..., Path], cli: Callable[..., Result]
) -> None:
    root = make_repo(estate())
    res = run(cli, root)
    assert res.exit_code == 0, res.output
    assert "consistent: 1 families compared across dev, staging, prod" in res.stdout
    assert "note: audit is only in prod" in res.stdout
    data = json.loads(run(cli, root, "--format", "json").stdout)
    assert data["consistent"] is True and data["families"] == {
        "net": {"dev": "dev/net", "staging": "staging/net", "prod": "prod/net"}
    }
    assert run(cli, root, "dev", "prod", "--format", "markdown").stdout.startswith(
        "### Environments: dev → prod\n\n✅ Consistent"
    )


def test_a_planted_inconsistency_is_found(make_repo: Callable[..., Path], cli: Callable[..., Result]) -> None:
    files = estate()
    files["stacks/prod/net/main.tf"] = MAIN.replace('version = "5.1.0"', 'version = "5.0.2"')
    files["stacks/staging/net/.terraform.lock.hcl"] = LOCK.replace("5.31.0", "5.30.0")
    files["stacks/dev/net/terraform.tfvars"] += "replicas = 3\n"
    root = make_repo(files)
    res = run(cli, root, "--format", "json")
    assert res.exit_code == 2, res.output
    found = {(d["kind"], d["subject"]): d["values"] for d in json.loads(res.stdout)["differences"]}
    assert found[("module", "vpc")] == {
        "dev": "terraform-aws-modules/vpc/aws@5.1.0",
        "staging": "terraform-aws-modules/vpc/aws@5.1.0",
        "prod": "terraform-aws-modules/vpc/aws@5.0.2",
    }
    assert found[("lock", "registry.terraform.io/hashicorp/aws")]["staging"] == "5.30.0"
    assert found[("variables", "replicas")] == {"dev": "sets", "staging": "-", "prod": "-"}
    assert found[("file", "main.tf")]["prod"] == "differs"
    assert ("variables", "environment") not in found  # values differ: that is what they are for
    table = run(cli, root, "dev", "prod")
    assert table.exit_code == 2
    assert '-  version = "5.1.0"\n+  version = "5.0.2"' in table.stdout
    assert "staging" not in table.stdout  # only the two named
    md = run(cli, root, "--format", "markdown").stdout
    assert "| `net` | `module` | `vpc` |" in md


def test_provider_constraint_and_module_source_differences(
    make_repo: Callable[..., Path], cli: Callable[..., Result]
) -> None:
    files = estate(("dev", "prod"))
    files["stacks/dev/net/main.tf"] = MAIN.replace("~> 5.0", "~> 5.2").replace(
        "../../../modules/labels", "../../../modules/labels-v2"
    )
    files["modules/labels-v2/main.tf"] = 'output "tags" { value = {} }\n'
    root = make_repo(files)
    data = json.loads(run(cli, root, "--format", "json").stdout)
    found = {(d["kind"], d["subject"]): d["values"] for d in data["differences"]}
    assert found[("provider", "aws")] == {"dev": "hashicorp/aws ~> 5.2", "prod": "hashicorp/aws ~> 5.0"}
    assert found[("module", "labels")] == {"dev": "modules/labels-v2", "prod": "modules/labels"}


def test_explicit_family_and_bad_arguments(
    make_repo: Callable[..., Path], cli: Callable[..., Result]
) -> None:
    files = estate(("dev", "prod"))
    files["stacks/prod/net/stack.yaml"] = "family: network\n"
    root = make_repo(files)
    data = json.loads(run(cli, root, "--format", "json").stdout)
    assert data["families"] == {}  # net (dev) and network (prod) are different families now
    assert sorted(data["only_in"]) == ["audit", "net", "network"]
    res = run(cli, root, "dev", "qa")
    assert res.exit_code == 1 and "unknown environment 'qa'" in res.output
    res = run(cli, root, "dev")
    assert res.exit_code == 1 and "give two environments" in res.output
    files["stacks/prod/other/stack.yaml"] = "family: network\n"
    files["stacks/prod/other/main.tf"] = ""
    res = run(cli, make_repo(files))
    assert res.exit_code == 1 and "are both the 'prod' stack of family 'network'" in res.output
