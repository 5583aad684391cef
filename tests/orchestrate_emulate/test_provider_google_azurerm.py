"""The stand-in hashicorp/google and hashicorp/azurerm run real Terraform against the local emulators."""

from __future__ import annotations

import stat

import pytest
from azure.mgmt.resource.resources.models import GenericResource, ResourceGroupPatchable
from google.cloud.resourcemanager_v3 import Project
from google.protobuf import field_mask_pb2

from orchestrate_emulate.azure_api import AzureEmulator
from orchestrate_emulate.gcp_api import GcpEmulator
from orchestrate_emulate.mirror import Mirror
from tests.orchestrate_emulate.conftest import (
    SUBSCRIPTION,
    Terraform,
    arm_client,
    changes_of,
    drift_of,
    gcp_clients,
)

pytestmark = pytest.mark.integration

CONFIG = """
terraform {
  required_providers {
    google  = { source = "hashicorp/google" }
    azurerm = { source = "hashicorp/azurerm" }
  }
}
provider "google" {
  default_labels = { managed_by = "terraform" }
}
provider "azurerm" {
  features {}
}
resource "google_folder" "platform" {
  display_name = "platform"
  parent       = "organizations/123456789012"
}
resource "google_project" "main" {
  project_id = "acme-dev"
  name       = "Acme dev"
  folder_id  = google_folder.platform.name
  labels     = { environment = "dev" }
}
resource "azurerm_resource_group" "hub" {
  name     = "acme-dev-hub"
  location = "West Europe"
  tags     = { environment = "dev" }
}
resource "azurerm_storage_account" "logs" {
  name                            = "acmedevlogs"
  resource_group_name             = azurerm_resource_group.hub.name
  location                        = azurerm_resource_group.hub.location
  account_tier                    = "Standard"
  account_replication_type        = "LRS"
  allow_nested_items_to_be_public = false
  min_tls_version                 = "TLS1_2"
  tags                            = { environment = "dev" }
}
output "project_number" { value = google_project.main.number }
output "key" {
  value     = azurerm_storage_account.logs.primary_access_key
  sensitive = true
}
"""
RG_ID = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/acme-dev-hub"
ACCOUNT_ID = f"{RG_ID}/providers/Microsoft.Storage/storageAccounts/acmedevlogs"


def test_apply_drift_restore_recreate_and_destroy(
    tf_newest: Terraform, gcp: GcpEmulator, arm: AzureEmulator
) -> None:
    tf = tf_newest
    tf.write(CONFIG)
    tf("init", "-input=false")
    plan = tf.plan_json()
    assert set(changes_of(plan)) == {
        "google_folder.platform",
        "google_project.main",
        "azurerm_resource_group.hub",
        "azurerm_storage_account.logs",
    }
    project_plan = next(r for r in plan["resource_changes"] if r["address"] == "google_project.main")[
        "change"
    ]
    assert project_plan["after"]["terraform_labels"] == {"environment": "dev", "managed_by": "terraform"}
    account_plan = next(r for r in plan["resource_changes"] if r["address"] == "azurerm_storage_account.logs")
    assert account_plan["change"]["after_sensitive"]["primary_access_key"] is True
    tf("apply", "-input=false", "tfplan")
    assert tf("plan", "-input=false", "-detailed-exitcode").returncode == 0

    project = gcp.project("acme-dev")
    folder = gcp.folder(project["parent"]) if project else None
    assert project and folder and folder["displayName"] == "platform"
    assert project["labels"] == {"environment": "dev", "managed_by": "terraform"}
    assert tf("output", "-raw", "project_number").stdout == project["name"].removeprefix("projects/")
    group = arm.resource_group(SUBSCRIPTION, "acme-dev-hub")
    assert group and (group["location"], group["tags"]) == ("westeurope", {"environment": "dev"})
    account = arm.resource(ACCOUNT_ID)
    assert account and account["properties"]["allowBlobPublicAccess"] is False
    assert account["sku"]["name"] == "Standard_LRS"
    state_text = (tf.cwd / "terraform.tfstate").read_text()
    assert arm.keys[ACCOUNT_ID.lower()][0]["value"] in state_text  # the key is in state, marked sensitive

    # Out of band, through the SDKs: a managed label, a tag, a storage property.
    projects, _ = gcp_clients(gcp.url)
    live = projects.get_project(name="projects/acme-dev")
    live.labels["environment"] = "prod"
    projects.update_project(project=live, update_mask=field_mask_pb2.FieldMask(paths=["labels"])).result()
    azure = arm_client(arm.url)
    azure.resource_groups.update(
        "acme-dev-hub", ResourceGroupPatchable(tags={"environment": "dev", "owner": "x"})
    )
    azure.resources.begin_update_by_id(
        ACCOUNT_ID,
        api_version="2023-01-01",
        parameters=GenericResource(properties={"minimumTlsVersion": "TLS1_0"}),
    ).result()

    drift = tf.plan_json("-refresh-only")
    assert drift_of(drift) == {
        "google_project.main": ["update"],
        "azurerm_resource_group.hub": ["update"],
        "azurerm_storage_account.logs": ["update"],
    }
    restore = tf.plan_json()
    assert changes_of(restore) == {
        "google_project.main": ["update"],
        "azurerm_resource_group.hub": ["update"],
        "azurerm_storage_account.logs": ["update"],
    }
    tf("apply", "-input=false", "tfplan")
    assert tf("plan", "-input=false", "-detailed-exitcode").returncode == 0
    assert (gcp.project("acme-dev") or {})["labels"]["environment"] == "dev"
    assert (arm.resource(ACCOUNT_ID) or {})["properties"]["minimumTlsVersion"] == "TLS1_2"

    # Deleted out of band: the group takes its storage account with it; both are planned again.
    azure.resource_groups.begin_delete("acme-dev-hub").result()
    assert changes_of(tf.plan_json()) == {
        "azurerm_resource_group.hub": ["create"],
        "azurerm_storage_account.logs": ["create"],
    }
    tf("apply", "-input=false", "tfplan")

    tf("destroy", "-auto-approve", "-input=false")
    assert (gcp.project("acme-dev") or {})["state"] == "DELETE_REQUESTED"
    assert arm.resource_group(SUBSCRIPTION, "acme-dev-hub") is None


def test_a_deleted_project_is_gone_and_its_id_stays_taken(tf_newest: Terraform, gcp: GcpEmulator) -> None:
    tf = tf_newest
    tf.write(
        'terraform {\n  required_providers {\n    google = { source = "hashicorp/google" }\n  }\n}\n'
        'resource "google_project" "p" {\n  project_id = "acme-gone"\n  name = "Gone"\n  org_id = "1"\n}\n'
    )
    tf("init", "-input=false")
    tf("apply", "-auto-approve", "-input=false")
    projects, _ = gcp_clients(gcp.url)
    projects.delete_project(name="projects/acme-gone").result()
    assert changes_of(tf.plan_json()) == {"google_project.p": ["create"]}
    failed = tf("apply", "-input=false", "tfplan", ok=(1,))
    assert "creating Project (acme-gone): Conflict" in failed.stderr
    projects.undelete_project(name="projects/acme-gone").result()
    tf("import", "-input=false", "google_project.p", "acme-gone")  # the failed create left it out of state
    assert tf("plan", "-input=false", "-detailed-exitcode").returncode == 0
    assert isinstance(projects.get_project(name="projects/acme-gone"), Project)


def test_azurerm_needs_features_and_keeps_groups_with_resources(
    tf_newest: Terraform, arm: AzureEmulator
) -> None:
    tf = tf_newest
    base = 'terraform {\n  required_providers {\n    azurerm = { source = "hashicorp/azurerm" }\n  }\n}\n'
    group = 'resource "azurerm_resource_group" "g" {\n  name = "acme-rg"\n  location = "westeurope"\n}\n'
    tf.write(base + 'provider "azurerm" {}\n' + group)
    tf("init", "-input=false")
    assert "features" in tf("plan", "-input=false", ok=(1,)).stderr
    tf.write(base + 'provider "azurerm" {\n  features {}\n}\n' + group)
    tf("apply", "-auto-approve", "-input=false")
    azure = arm_client(arm.url)
    azure.resources.begin_create_or_update_by_id(
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/acme-rg/providers/Microsoft.Storage/storageAccounts/shadow",
        api_version="2023-01-01",
        parameters=GenericResource(location="westeurope", sku={"name": "Standard_LRS"}),
    ).result()
    failed = tf("destroy", "-auto-approve", "-input=false", ok=(1,))
    assert "still contains Resources" in failed.stderr and "shadow" in failed.stderr
    assert arm.resource_group(SUBSCRIPTION, "acme-rg") is not None


def test_providers_run_with_an_unusable_home(tf_newest: Terraform, provider_mirror: Mirror) -> None:
    tf = tf_newest
    tf.env["HOME"] = "/dev/null/home"  # nothing can be created under it, not even by root
    tf.write(
        'terraform {\n  required_providers {\n    google = { source = "hashicorp/google" }\n  }\n}\n'
        'resource "google_folder" "f" {\n  display_name = "f"\n  parent = "organizations/1"\n}\n'
    )
    tf("init", "-input=false")
    tf("apply", "-auto-approve", "-input=false")
    # The launcher gives the providers a private cache for their TLS certificate.
    cert = provider_mirror.cache / "ssl_cert.json"
    assert cert.is_file() and stat.S_IMODE(cert.stat().st_mode) == 0o600
