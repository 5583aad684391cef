"""orchestrate drift against the GCP Resource Manager and Azure ARM emulators, through the real SDKs."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from orchestrate_emulate.azure_api import AzureEmulator
from orchestrate_emulate.gcp_api import GcpEmulator
from tests.drift import statefiles as sf
from tests.drift.estate import state_path
from tests.fakes.clouds import arm_client as shared_arm_client
from tests.fakes.clouds import gcp_clients

pytestmark = pytest.mark.integration

ORG = "organizations/123456789012"
SUB = "33333333-3333-3333-3333-333333333333"
OTHER_SUB = "44444444-4444-4444-4444-444444444444"
STORAGE_API = "2023-01-01"
ACCOUNT_KEY = "k3y-Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA=="


def arm_client(url: str, subscription: str = SUB) -> Any:
    return shared_arm_client(url, subscription)


@dataclass
class Repo:
    root: Path
    run_cli: Callable[..., Result]
    ids: dict[str, str]

    def drift_json(self, *args: str) -> tuple[int, dict[str, Any], str]:
        result = self.run_cli("--repo", str(self.root), "drift", "--format", "json", *args)
        assert result.stdout.strip(), result.stderr
        return result.exit_code, json.loads(result.stdout), result.stderr


def stacks(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["stack"]: s for s in report["stacks"]}


# ---------------------------------------------------------------- GCP


@pytest.fixture
def gcp_repo(gcp: GcpEmulator, make_repo: Callable[..., Path], cli: Callable[..., Result]) -> Repo:
    from google.cloud.resourcemanager_v3 import Folder, Project

    projects, folders = gcp_clients(gcp.url)
    platform = folders.create_folder(folder=Folder(display_name="platform", parent=ORG)).result().name
    archive = folders.create_folder(folder=Folder(display_name="archive", parent=ORG)).result().name
    made = {}
    for env in ("dev", "prod"):
        p = projects.create_project(
            project=Project(
                project_id=f"acme-{env}", display_name=f"Acme {env}", parent=platform, labels={"env": env}
            )
        ).result()
        made[env] = p
    folder_num = platform.removeprefix("folders/")
    files = {
        "orchestrate.yaml": (
            "version: 1\nclouds:\n"
            f"  gcp-test: {{provider: gcp, project: acme-dev, folder: '{folder_num}', endpoint: '{gcp.url}'}}\n"
        ),
        "stacks/gcp/folder/stack.yaml": "cloud: gcp-test\n",
        "stacks/gcp/folder/main.tf": 'resource "google_folder" "platform" {\n  display_name = "platform"\n}\n',
        "stacks/gcp/projects/stack.yaml": "cloud: gcp-test\n",
        "stacks/gcp/projects/main.tf": 'resource "google_project" "env" {\n  for_each = toset(["dev", "prod"])\n}\n',
    }
    root = make_repo(files)
    sf.write_state(
        state_path(root, "gcp/folder"),
        [
            sf.Instance(
                "google_folder",
                "platform",
                sf.google_folder(platform, "platform", ORG),
                provider=sf.GOOGLE_PROVIDER,
            )
        ],
    )
    sf.write_state(
        state_path(root, "gcp/projects"),
        [
            sf.Instance(
                "google_project",
                "env",
                sf.google_project(
                    f"acme-{env}",
                    f"Acme {env}",
                    p.name.removeprefix("projects/"),
                    folder_id=folder_num,
                    labels={"env": env},
                ),
                index_key=env,
                schema_version=1,
                provider=sf.GOOGLE_PROVIDER,
            )
            for env, p in made.items()
        ],
    )
    return Repo(root, cli, {"platform": platform, "archive": archive})


def test_gcp_untouched_projects_and_folder_are_clean(gcp_repo: Repo) -> None:
    code, report, _ = gcp_repo.drift_json()
    assert code == 0, report
    assert report["summary"]["resources"] == 3
    assert report["unmanaged"] == []


def test_gcp_out_of_band_changes_are_reported_exactly(gcp: GcpEmulator, gcp_repo: Repo) -> None:
    from google.cloud.resourcemanager_v3 import Folder, Project
    from google.protobuf import field_mask_pb2

    projects, folders = gcp_clients(gcp.url)
    projects.update_project(
        project=Project(name=gcp.project("acme-dev")["name"], labels={"env": "test"}),
        update_mask=field_mask_pb2.FieldMask(paths=["labels"]),
    ).result()
    projects.delete_project(name="projects/acme-prod").result()  # DELETE_REQUESTED: counts as missing
    folders.update_folder(
        folder=Folder(name=gcp_repo.ids["platform"], display_name="platform-x"),
        update_mask=field_mask_pb2.FieldMask(paths=["display_name"]),
    ).result()
    projects.create_project(
        project=Project(project_id="acme-shadow", parent=gcp_repo.ids["platform"])
    ).result()

    code, report, _ = gcp_repo.drift_json()
    assert code == 2
    s = stacks(report)
    assert s["gcp/projects"]["changed"] == [
        {
            "address": 'google_project.env["dev"]',
            "type": "google_project",
            "id": "projects/acme-dev",
            "diffs": [{"path": "labels.env", "expected": "dev", "actual": "test"}],
        }
    ]
    assert s["gcp/projects"]["missing"] == [
        {"address": 'google_project.env["prod"]', "type": "google_project", "id": "projects/acme-prod"}
    ]
    assert s["gcp/folder"]["changed"] == [
        {
            "address": "google_folder.platform",
            "type": "google_folder",
            "id": gcp_repo.ids["platform"],
            "diffs": [{"path": "display_name", "expected": "platform", "actual": "platform-x"}],
        }
    ]
    assert report["unmanaged"] == [
        {"type": "google_project", "id": "projects/acme-shadow", "cloud": "gcp-test"}
    ]


def test_gcp_project_moved_to_another_folder_is_a_parent_change(gcp: GcpEmulator, gcp_repo: Repo) -> None:
    projects, _ = gcp_clients(gcp.url)
    projects.move_project(name="projects/acme-dev", destination_parent=gcp_repo.ids["archive"]).result()
    code, report, _ = gcp_repo.drift_json("gcp/projects")
    assert code == 2
    (changed,) = stacks(report)["gcp/projects"]["changed"]
    assert changed["diffs"] == [
        {
            "path": "folder_id",
            "expected": gcp_repo.ids["platform"].removeprefix("folders/"),
            "actual": gcp_repo.ids["archive"].removeprefix("folders/"),
        }
    ]
    assert stacks(report)["gcp/projects"]["missing"] == []


def test_gcp_thirty_percent_faults_still_give_the_right_report(gcp: GcpEmulator, gcp_repo: Repo) -> None:
    from google.cloud.resourcemanager_v3 import Project

    projects, _ = gcp_clients(gcp.url)
    projects.create_project(
        project=Project(project_id="acme-shadow", parent=gcp_repo.ids["platform"])
    ).result()
    projects.delete_project(name="projects/acme-prod").result()
    _, expected, _ = gcp_repo.drift_json()
    gcp.seed(5)
    # Every API the scan uses fails at least once, then 33% of calls at random.
    gcp.add_fault(status=503, count=1, path="^/v3/projects$")
    gcp.add_fault(status=429, count=1, path="^/v3/folders$")
    gcp.add_fault(status=503, fraction=0.15, count=None, path="^/v3/")
    gcp.add_fault(status=429, fraction=0.18, count=None, path="^/v3/")
    gcp.requests.clear()
    code, report, _ = gcp_repo.drift_json()
    assert code == 2
    assert stacks(report) == stacks(expected)
    assert report["unmanaged"] == expected["unmanaged"]
    failed = {r.path for r in gcp.requests if r.status in (429, 503)}
    assert {"/v3/projects", "/v3/folders"} <= failed


def test_gcp_permission_denied_makes_the_stacks_error(gcp: GcpEmulator, gcp_repo: Repo) -> None:
    gcp.add_fault(status=403, count=None, path="^/v3/projects")
    code, report, _ = gcp_repo.drift_json()
    assert code == 1
    s = stacks(report)
    assert s["gcp/projects"]["status"] == "error"
    assert "google_project could not be read" in s["gcp/projects"]["error"]
    assert s["gcp/folder"]["status"] == "clean"


# ---------------------------------------------------------------- Azure


@pytest.fixture
def azure_repo(arm: AzureEmulator, make_repo: Callable[..., Path], cli: Callable[..., Result]) -> Repo:
    from azure.mgmt.resource.resources.models import GenericResource, ResourceGroup, Sku

    client = arm_client(arm.url)
    group = client.resource_groups.create_or_update(
        "acme-hub", ResourceGroup(location="westeurope", tags={"env": "dev"})
    )
    account_id = f"{group.id}/providers/Microsoft.Storage/storageAccounts/acmestore1"
    client.resources.begin_create_or_update_by_id(
        account_id,
        api_version=STORAGE_API,
        parameters=GenericResource(
            location="westeurope",
            sku=Sku(name="Standard_LRS"),
            kind="StorageV2",
            tags={"env": "dev"},
            # As the provider creates it (allow_nested_items_to_be_public defaults to true).
            properties={"allowBlobPublicAccess": True},
        ),
    ).result()
    # A storage account in another subscription: not in this target's listing, read by id.
    other = arm_client(arm.url, OTHER_SUB)
    other_group = other.resource_groups.create_or_update("acme-shared", ResourceGroup(location="northeurope"))
    shared_ids = []
    for name in ("acmeshared1", "acmeshared2"):
        rid = f"{other_group.id}/providers/Microsoft.Storage/storageAccounts/{name}"
        other.resources.begin_create_or_update_by_id(
            rid,
            api_version=STORAGE_API,
            parameters=GenericResource(
                location="northeurope",
                sku=Sku(name="Standard_LRS"),
                kind="StorageV2",
                properties={"allowBlobPublicAccess": True},
            ),
        ).result()
        shared_ids.append(rid)
    files = {
        "orchestrate.yaml": (
            "version: 1\nclouds:\n"
            f"  azure-test: {{provider: azure, subscription_id: {SUB}, endpoint: '{arm.url}'}}\n"
        ),
        "stacks/azure/hub/stack.yaml": "cloud: azure-test\n",
        "stacks/azure/hub/main.tf": 'resource "azurerm_resource_group" "hub" {\n  name = "acme-hub"\n}\n',
    }
    root = make_repo(files)
    instances = [
        # The provider normalises locations, but older states keep what was written.
        sf.Instance(
            "azurerm_resource_group",
            "hub",
            sf.azurerm_resource_group(group.id, "West Europe", {"env": "dev"}),
            provider=sf.AZURERM_PROVIDER,
        ),
        sf.Instance(
            "azurerm_storage_account",
            "store",
            sf.azurerm_storage_account(account_id, "westeurope", ACCOUNT_KEY, {"env": "dev"}),
            schema_version=4,
            sensitive_attributes=sf.storage_account_sensitive(),
            provider=sf.AZURERM_PROVIDER,
        ),
        *[
            sf.Instance(
                "azurerm_storage_account",
                "shared",
                sf.azurerm_storage_account(rid, "northeurope", ACCOUNT_KEY),
                index_key=i,
                schema_version=4,
                sensitive_attributes=sf.storage_account_sensitive(),
                provider=sf.AZURERM_PROVIDER,
            )
            for i, rid in enumerate(shared_ids)
        ],
    ]
    sf.write_state(state_path(root, "azure/hub"), instances)
    return Repo(root, cli, {"group": group.id, "account": account_id, "shared": shared_ids[0]})


def test_azure_untouched_estate_is_clean_and_location_spellings_agree(
    arm: AzureEmulator, azure_repo: Repo
) -> None:
    arm.requests.clear()
    code, report, _ = azure_repo.drift_json()
    assert code == 0, json.dumps([report["stacks"], report["unmanaged"]])
    assert report["summary"]["resources"] == 4
    assert report["unmanaged"] == []
    # One Resource Graph query for the subscription, one by id for the two accounts of the
    # other subscription: nothing read resource by resource.
    graph = [r for r in arm.requests if r.path.lower() == "/providers/microsoft.resourcegraph/resources"]
    assert len(graph) == 2
    assert len(arm.requests) == 2
    assert report["read_paths"] == [
        {"cloud": "azure-test", "type": t, "path": "resource-graph"}
        for t in ("azurerm_resource_group", "azurerm_storage_account")
    ]


def test_azure_out_of_band_changes_are_reported_exactly(arm: AzureEmulator, azure_repo: Repo) -> None:
    from azure.mgmt.resource.resources.models import ResourceGroup, ResourceGroupPatchable

    client = arm_client(arm.url)
    client.resource_groups.update("acme-hub", ResourceGroupPatchable(tags={"env": "prod"}))
    client.resources.begin_delete_by_id(azure_repo.ids["account"], api_version=STORAGE_API).result()
    arm_client(arm.url, OTHER_SUB).resources.begin_delete_by_id(
        azure_repo.ids["shared"], api_version=STORAGE_API
    ).result()
    client.resource_groups.create_or_update("acme-shadow", ResourceGroup(location="westeurope"))
    client.resource_groups.create_or_update("NetworkWatcherRG", ResourceGroup(location="westeurope"))

    code, report, stderr = azure_repo.drift_json()
    assert code == 2
    hub = stacks(report)["azure/hub"]
    assert hub["changed"] == [
        {
            "address": "azurerm_resource_group.hub",
            "type": "azurerm_resource_group",
            "id": azure_repo.ids["group"],
            "diffs": [{"path": "tags.env", "expected": "dev", "actual": "prod"}],
        }
    ]
    assert hub["missing"] == [
        {
            "address": "azurerm_storage_account.shared[0]",
            "type": "azurerm_storage_account",
            "id": azure_repo.ids["shared"],
        },
        {
            "address": "azurerm_storage_account.store",
            "type": "azurerm_storage_account",
            "id": azure_repo.ids["account"],
        },
    ]
    assert report["unmanaged"] == [
        {
            "type": "azurerm_resource_group",
            "id": f"/subscriptions/{SUB}/resourceGroups/acme-shadow",
            "cloud": "azure-test",
        }
    ]
    assert ACCOUNT_KEY not in json.dumps(report) + stderr
    code, strict, _ = azure_repo.drift_json("--strict")
    assert {u["id"].rsplit("/", 1)[-1] for u in strict["unmanaged"]} == {"acme-shadow", "NetworkWatcherRG"}


def test_azure_thirty_percent_faults_still_give_the_right_report(
    arm: AzureEmulator, azure_repo: Repo
) -> None:
    from azure.mgmt.resource.resources.models import ResourceGroup, ResourceGroupPatchable

    client = arm_client(arm.url)
    client.resource_groups.update("acme-hub", ResourceGroupPatchable(tags={"env": "prod"}))
    client.resource_groups.create_or_update("acme-shadow", ResourceGroup(location="westeurope"))
    _, expected, _ = azure_repo.drift_json()
    arm.seed(3)
    arm.add_fault(status=429, count=1, path="resourcegraph")
    arm.add_fault(status=503, count=1, path="resourcegraph")
    arm.add_fault(status=503, fraction=0.15, count=None, path="resourcegraph")
    arm.requests.clear()
    code, report, _ = azure_repo.drift_json()
    assert code == 2
    assert stacks(report) == stacks(expected)
    assert report["unmanaged"] == expected["unmanaged"]
    assert {r.status for r in arm.requests if r.status != 200} == {429, 503}
