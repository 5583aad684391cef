"""The stand-in providers with every older Terraform here (1.0.3): one resource per provider,
through apply, refresh-only drift, restore, out-of-band delete and destroy. The newest version runs
the full scenarios in test_provider_*.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrate_emulate.azure_api import AzureEmulator
from orchestrate_emulate.gcp_api import GcpEmulator
from tests.conftest import TERRAFORM_BINARIES, TerraformBinary
from tests.orchestrate_emulate.conftest import SUBSCRIPTION, Terraform, boto, changes_of, drift_of

pytestmark = pytest.mark.integration

OLDER = TERRAFORM_BINARIES[:-1]

CONFIG = """
terraform {
  required_providers {
    aws     = { source = "hashicorp/aws" }
    google  = { source = "hashicorp/google" }
    azurerm = { source = "hashicorp/azurerm" }
  }
}
provider "azurerm" {
  features {}
}
resource "aws_security_group" "web" {
  name = "acme-web"
  ingress {
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["10.0.0.0/8"]
  }
  tags = { owner = "team-a" }
}
resource "google_folder" "platform" {
  display_name = "platform"
  parent       = "organizations/1"
}
resource "azurerm_resource_group" "hub" {
  name     = "acme-hub"
  location = "westeurope"
  tags     = { owner = "team-a" }
}
"""


@pytest.fixture(params=OLDER or [None], ids=lambda b: b.id if b else "no-older-terraform")
def older(request: pytest.FixtureRequest, emulated_env: dict[str, str], tmp_path: Path) -> Terraform:
    binary: TerraformBinary | None = request.param
    if binary is None:
        pytest.skip("only one terraform version on this machine; test_provider_*.py cover it")
    work = tmp_path / "work"
    work.mkdir()
    return Terraform(binary, work, emulated_env)


def test_every_provider_through_the_cycle(older: Terraform, gcp: GcpEmulator, arm: AzureEmulator) -> None:
    tf = older
    tf.write(CONFIG)
    tf("init", "-input=false")
    tf("apply", "-auto-approve", "-input=false")
    assert tf("plan", "-input=false", "-detailed-exitcode").returncode == 0

    ec2 = boto(tf.env, "ec2")
    group_id = ec2.describe_security_groups(GroupNames=["acme-web"])["SecurityGroups"][0]["GroupId"]
    ec2.create_tags(Resources=[group_id], Tags=[{"Key": "owner", "Value": "team-b"}])
    folder_name = next(iter(gcp.folders.values()))["name"]
    with gcp.lock:
        gcp.folders[folder_name.split("/")[1]]["displayName"] = "renamed"
    with arm.lock:
        arm.subscriptions[SUBSCRIPTION]["groups"]["acme-hub"]["tags"] = {"owner": "team-b"}

    drift = tf.plan_json("-refresh-only")
    assert drift_of(drift) == {
        "aws_security_group.web": ["update"],
        "google_folder.platform": ["update"],
        "azurerm_resource_group.hub": ["update"],
    }
    tf("apply", "-input=false", "-auto-approve")
    assert tf("plan", "-input=false", "-detailed-exitcode").returncode == 0

    ec2.delete_security_group(GroupId=group_id)
    assert changes_of(tf.plan_json()) == {"aws_security_group.web": ["create"]}
    tf("destroy", "-auto-approve", "-input=false")
    assert arm.resource_group(SUBSCRIPTION, "acme-hub") is None
