"""A synthetic "live" repository of the kind found in the wild: many root directories, no
stack.yaml, clouds and environments only in the paths, shared modules (some with provider
blocks), examples, and remote-state edges written through variables and locals."""

from __future__ import annotations

CLOUDS = ("aws", "gcp", "azure")
ENVIRONMENTS = ("dev", "staging", "prod")

CONFIG = """\
version: 1
stacks:
  include: ["live/**", "global/**"]
  exclude: ["**/examples/**"]
  targets:
    - match: "live/{environment}/aws/**"
      cloud: "aws-{environment}"
    - match: "live/{environment}/gcp/**"
      cloud: "gcp-{environment}"
    - match: "live/{environment}/azure/**"
      cloud: "azure-{environment}"
    - match: "global/**"
      environment: global
clouds:
"""

MODULE = """\
provider "aws" {
  region = "eu-west-1"
}
variable "name" {
  type = string
}
resource "terraform_data" "m" {
  input = var.name
}
output "name" { value = terraform_data.m.output }
"""


def plannable(files: dict[str, str]) -> dict[str, str]:
    """The same estate with only the null provider (what an offline terraform 1.0 can plan)."""
    out = {}
    for path, text in files.items():
        if path.endswith(".tf"):
            text = (
                text.replace('provider "aws"', 'provider "null"')
                .replace('provider "google"', 'provider "null"')
                .replace('provider "azurerm"', 'provider "null"')
                .replace('region = "eu-west-1"', "")
                .replace("terraform_data", "null_resource")
                .replace("input = ", "triggers = { v = ")
                .replace("null_resource.m.output", "var.name")
                .replace("null_resource.r.id", '"id"')
            )
            text = "\n".join(
                line + " }" if "triggers = { v = " in line else line for line in text.split("\n")
            )
        out[path] = text
    return out


def _clouds_config() -> str:
    lines = []
    for env in ENVIRONMENTS:
        lines.append(f"  aws-{env}: {{provider: aws, region: eu-west-1}}")
        lines.append(f"  gcp-{env}: {{provider: gcp, project: acme-{env}}}")
        lines.append(f"  azure-{env}: {{provider: azure, subscription_id: sub-{env}}}")
    return "\n".join(lines) + "\n"


def _root(env: str, cloud: str, i: int, *, backend: bool) -> str:
    """A root module: a backend block (or, every third one, only a provider block)."""
    head = (
        'terraform {\n  backend "local" {}\n}\n'
        if backend
        else f'provider "{ {"gcp": "google", "azure": "azurerm"}.get(cloud, cloud) }" {{}}\n'
    )
    body = (
        'module "svc" {\n  source = "../../../../modules/svc"\n  name = "svc"\n}\n'
        f'resource "terraform_data" "r" {{\n  input = "{env}-{cloud}-{i}"\n}}\n'
        'output "id" { value = terraform_data.r.id }\n'
    )
    if i > 0 and backend:
        # an edge to the previous service of the same env/cloud, through a variable and a local
        body += (
            'variable "upstream" {\n'
            f'  default = "svc{i - 1:02d}"\n'
            "}\n"
            "locals {\n"
            f'  state_dir = "${{path.module}}/../${{var.upstream}}"\n'
            "}\n"
            'data "terraform_remote_state" "up" {\n  backend = "local"\n'
            '  config = { path = "${local.state_dir}/terraform.tfstate" }\n}\n'
        )
    return head + body


def estate(per_group: int = 22) -> dict[str, str]:
    """3 environments x 3 clouds x ``per_group`` roots, plus 2 global roots (200 by default)."""
    files = {"orchestrate.yaml": CONFIG + _clouds_config(), "modules/svc/main.tf": MODULE}
    for env in ENVIRONMENTS:
        for cloud in CLOUDS:
            for i in range(per_group):
                backend = i % 3 != 2
                path = f"live/{env}/{cloud}/svc{i:02d}/main.tf"
                files[path] = _root(env, cloud, i, backend=backend)
    files["global/dns/main.tf"] = 'terraform {\n  backend "local" {}\n}\nresource "terraform_data" "d" {}\n'
    files["global/iam/main.tf"] = 'provider "aws" {}\nresource "terraform_data" "i" {}\n'
    # an example of a module is not a stack, nor is a directory only used as a module
    files["modules/svc/examples/basic/main.tf"] = 'provider "aws" {}\nmodule "m" {\n  source = "../.."\n}\n'
    return files


def expected_ids(per_group: int = 22) -> set[str]:
    ids = {
        f"live/{env}/{cloud}/svc{i:02d}" for env in ENVIRONMENTS for cloud in CLOUDS for i in range(per_group)
    }
    return ids | {"global/dns", "global/iam"}
