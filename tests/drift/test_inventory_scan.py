"""Drift on GCP and Azure beyond projects and groups: Cloud Asset Inventory and Resource Graph.

The real SDK clients (google-cloud-asset over REST, azure-mgmt-resourcegraph) read the local
emulators; the estates are written in the providers' state shapes. Each test checks the same
report fields as AWS (changed with paths, missing, unmanaged), the coverage figures, and that
one scope costs one paged inventory call.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from orchestrate_emulate.azure_api import AzureEmulator
from orchestrate_emulate.gcp_api import GcpEmulator
from tests.drift import statefiles as sf
from tests.drift.estate import state_path
from tests.drift.test_gcp_azure_scan import Repo, arm_client, stacks
from tests.fakes.clouds import gcp_clients

pytestmark = pytest.mark.integration

SUB = "33333333-3333-3333-3333-333333333333"
PROJECT = "acme-dev"


def http(url: str, method: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json"})
    with urllib.request.urlopen(req) as resp:
        raw = resp.read()
        return json.loads(raw) if raw else None


# ---------------------------------------------------------------- GCP


@pytest.fixture
def gcp_estate(gcp: GcpEmulator, make_repo: Callable[..., Path], cli: Callable[..., Result]) -> Repo:
    from google.cloud.resourcemanager_v3 import Project

    projects, _ = gcp_clients(gcp.url)
    projects.create_project(project=Project(project_id=PROJECT, display_name="Acme dev")).result()
    for name, labels in (("acme-logs", {"env": "dev"}), ("acme-assets", {})):
        http(
            f"{gcp.url}/storage/v1/b?project={PROJECT}",
            "POST",
            {"name": name, "location": "EU", "labels": labels},
        )
    for name in ("vpc", "default"):
        http(
            f"{gcp.url}/compute/v1/projects/{PROJECT}/global/networks",
            "POST",
            {
                "name": name,
                "autoCreateSubnetworks": name == "default",
                "routingConfig": {"routingMode": "REGIONAL"},
            },
        )
    files = {
        "orchestrate.yaml": (
            f"version: 1\nclouds:\n  gcp-test: {{provider: gcp, project: {PROJECT}, endpoint: '{gcp.url}'}}\n"
        ),
        "stacks/gcp/base/stack.yaml": "cloud: gcp-test\n",
        "stacks/gcp/base/main.tf": "# resources managed here\n",
    }
    root = make_repo(files)
    g = sf.GOOGLE_PROVIDER
    sf.write_state(
        state_path(root, "gcp/base"),
        [
            sf.Instance(
                "google_storage_bucket",
                "logs",
                sf.google_storage_bucket("acme-logs", PROJECT, "EU", {"env": "dev"}),
                schema_version=1,
                provider=g,
            ),
            sf.Instance(
                "google_storage_bucket",
                "assets",
                sf.google_storage_bucket("acme-assets", PROJECT, "EU", {}),
                schema_version=1,
                provider=g,
            ),
            sf.Instance(
                "google_compute_network", "vpc", sf.google_compute_network(PROJECT, "vpc"), provider=g
            ),
            # A type no reader knows: never compared in api mode, never counted clean.
            sf.Instance(
                "google_dns_managed_zone",
                "zone",
                {"id": f"projects/{PROJECT}/managedZones/zone", "name": "zone", "project": PROJECT},
                provider=g,
            ),
        ],
    )
    return Repo(root, cli, {})


def test_gcp_untouched_buckets_and_network_are_clean_with_one_inventory_call(
    gcp: GcpEmulator, gcp_estate: Repo
) -> None:
    gcp.requests.clear()
    code, report, _ = gcp_estate.drift_json()
    assert code == 0, json.dumps(report["stacks"])
    base = stacks(report)["gcp/base"]
    assert base["status"] == "clean"
    assert base["complete"] is False  # the DNS zone was not compared
    assert base["unchecked"] == ["google_dns_managed_zone.zone"]
    assert base["coverage"]["by_type"] == {
        "google_compute_network": {"api": 1, "refresh": 0, "none": 0},
        "google_dns_managed_zone": {"api": 0, "refresh": 0, "none": 1},
        "google_storage_bucket": {"api": 2, "refresh": 0, "none": 0},
    }
    assert report["summary"]["coverage"]["none"] == 1
    assert report["summary"]["partial"] == 1
    # The "default" network is the cloud's own: not unmanaged.
    assert report["unmanaged"] == []
    assert [r.path for r in gcp.requests] == [f"/v1/projects/{PROJECT}/assets"]
    assert {p["path"] for p in report["read_paths"]} == {"cloud-asset-inventory"}


def test_gcp_out_of_band_changes_are_reported(gcp: GcpEmulator, gcp_estate: Repo) -> None:
    http(
        f"{gcp.url}/storage/v1/b/acme-logs",
        "PATCH",
        {"labels": {"env": "prod"}, "versioning": {"enabled": True}},
    )
    http(f"{gcp.url}/compute/v1/projects/{PROJECT}/global/networks/vpc", "DELETE")
    http(f"{gcp.url}/storage/v1/b?project={PROJECT}", "POST", {"name": "acme-shadow", "location": "EU"})
    code, report, _ = gcp_estate.drift_json()
    assert code == 2
    base = stacks(report)["gcp/base"]
    assert base["status"] == "drifted"
    assert base["changed"] == [
        {
            "address": "google_storage_bucket.logs",
            "type": "google_storage_bucket",
            "id": "acme-logs",
            "diffs": [
                {"path": "labels.env", "expected": "dev", "actual": "prod"},
                {"path": "versioning.0.enabled", "expected": False, "actual": True},
            ],
        }
    ]
    assert base["missing"] == [
        {
            "address": "google_compute_network.vpc",
            "type": "google_compute_network",
            "id": f"projects/{PROJECT}/global/networks/vpc",
        }
    ]
    assert report["unmanaged"] == [
        {"type": "google_storage_bucket", "id": "acme-shadow", "cloud": "gcp-test"}
    ]
    code, strict, _ = gcp_estate.drift_json("--strict")
    assert {u["id"] for u in strict["unmanaged"]} == {
        "acme-shadow",
        f"projects/{PROJECT}/global/networks/default",
    }


def test_gcp_inventory_pages_and_faults_give_the_same_report(gcp: GcpEmulator, gcp_estate: Repo) -> None:
    for i in range(1200):
        http(f"{gcp.url}/storage/v1/b?project={PROJECT}", "POST", {"name": f"bulk-{i:04d}", "location": "EU"})
    _, expected, _ = gcp_estate.drift_json()
    assert len(expected["unmanaged"]) == 1200
    gcp.add_fault(status=503, count=1, path="/assets$")
    gcp.add_fault(status=429, fraction=0.3, count=None, path="/assets$")
    gcp.requests.clear()
    code, report, _ = gcp_estate.drift_json()
    assert code == 2
    assert stacks(report) == stacks(expected)
    assert report["unmanaged"] == expected["unmanaged"]
    ok = [r for r in gcp.requests if r.status == 200]
    assert len(ok) == 2  # 1,205 assets: two pages of 1,000


def test_gcp_permission_denied_on_the_inventory_is_an_error_not_clean(
    gcp: GcpEmulator, gcp_estate: Repo
) -> None:
    gcp.add_fault(status=403, count=None, path="/assets$")
    code, report, _ = gcp_estate.drift_json()
    assert code == 1
    base = stacks(report)["gcp/base"]
    assert base["status"] == "error"
    assert "google_storage_bucket could not be read" in base["error"]
    assert "cloudasset" in base["error"]
    assert base["coverage"]["api"] == 0


# ---------------------------------------------------------------- Azure


@pytest.fixture
def azure_estate(arm: AzureEmulator, make_repo: Callable[..., Path], cli: Callable[..., Result]) -> Repo:
    from azure.mgmt.resource.resources.models import GenericResource, ResourceGroup, Sku

    client = arm_client(arm.url)
    group = client.resource_groups.create_or_update("acme-net", ResourceGroup(location="westeurope"))
    vnet_id = f"{group.id}/providers/Microsoft.Network/virtualNetworks/hub"
    client.resources.begin_create_or_update_by_id(
        vnet_id,
        api_version="2024-01-01",
        parameters=GenericResource(
            location="westeurope",
            tags={"env": "dev"},
            properties={"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}},
        ),
    ).result()
    account_id = f"{group.id}/providers/Microsoft.Storage/storageAccounts/acmenet1"
    client.resources.begin_create_or_update_by_id(
        account_id,
        api_version="2023-01-01",
        parameters=GenericResource(
            location="westeurope",
            sku=Sku(name="Standard_LRS"),
            kind="StorageV2",
            tags={"team": "net"},
            properties={"allowBlobPublicAccess": True},
        ),
    ).result()
    files = {
        "orchestrate.yaml": f"version: 1\nclouds:\n  azure-test: {{provider: azure, subscription_id: {SUB}, endpoint: '{arm.url}'}}\n",
        "stacks/azure/net/stack.yaml": "cloud: azure-test\n",
        "stacks/azure/net/main.tf": "# resources managed here\n",
    }
    root = make_repo(files)
    a = sf.AZURERM_PROVIDER
    sf.write_state(
        state_path(root, "azure/net"),
        [
            sf.Instance(
                "azurerm_resource_group", "net", sf.azurerm_resource_group(group.id, "westeurope"), provider=a
            ),
            sf.Instance(
                "azurerm_virtual_network",
                "hub",
                sf.azurerm_virtual_network(vnet_id, "westeurope", ["10.0.0.0/16"], {"env": "dev"}),
                provider=a,
            ),
            sf.Instance(
                "azurerm_storage_account",
                "net",
                sf.azurerm_storage_account(
                    account_id, "westeurope", "k3y-Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA==", {"team": "net"}
                ),
                schema_version=4,
                sensitive_attributes=sf.storage_account_sensitive(),
                provider=a,
            ),
        ],
    )
    return Repo(root, cli, {"group": group.id, "vnet": vnet_id, "account": account_id})


def test_azure_vnet_and_storage_clean_with_one_graph_query(arm: AzureEmulator, azure_estate: Repo) -> None:
    arm.requests.clear()
    code, report, _ = azure_estate.drift_json()
    assert code == 0, json.dumps(report["stacks"])
    net = stacks(report)["azure/net"]
    assert (net["status"], net["complete"], net["coverage"]["api"]) == ("clean", True, 3)
    assert [r.path.lower() for r in arm.requests] == ["/providers/microsoft.resourcegraph/resources"]


def test_azure_property_tag_changes_and_unmanaged_of_any_type(arm: AzureEmulator, azure_estate: Repo) -> None:
    from azure.mgmt.resource.resources.models import GenericResource

    client = arm_client(arm.url)
    client.resources.begin_update_by_id(
        azure_estate.ids["vnet"],
        api_version="2024-01-01",
        parameters=GenericResource(
            tags={"env": "prod"},
            properties={"addressSpace": {"addressPrefixes": ["10.0.0.0/16", "10.9.0.0/16"]}},
        ),
    ).result()
    client.resources.begin_update_by_id(
        azure_estate.ids["account"],
        api_version="2023-01-01",
        parameters=GenericResource(properties={"minimumTlsVersion": "TLS1_0"}),
    ).result()
    site = azure_estate.ids["group"] + "/providers/Microsoft.Web/sites/shadow-app"
    client.resources.begin_create_or_update_by_id(
        site, api_version="2023-01-01", parameters=GenericResource(location="westeurope")
    ).result()
    code, report, _ = azure_estate.drift_json()
    assert code == 2
    changed = {c["address"]: c["diffs"] for c in stacks(report)["azure/net"]["changed"]}
    assert changed == {
        "azurerm_storage_account.net": [
            {"path": "min_tls_version", "expected": "TLS1_2", "actual": "TLS1_0"}
        ],
        "azurerm_virtual_network.hub": [
            {"path": "address_space", "expected": ["10.0.0.0/16"], "actual": ["10.0.0.0/16", "10.9.0.0/16"]},
            {"path": "tags.env", "expected": "dev", "actual": "prod"},
        ],
    }
    # A type orchestrate has no Terraform name for is still unmanaged, under its ARM type.
    assert report["unmanaged"] == [{"type": "microsoft.web/sites", "id": site, "cloud": "azure-test"}]


def test_mode_both_refreshes_only_what_the_api_did_not_compare(gcp_estate: Repo) -> None:
    """The refresh edge gets exactly the uncompared addresses; none at all when api covered all."""
    from orchestrator.discovery import Stack
    from orchestrator.drift.gcp import GcpReader
    from orchestrator.drift.refresh import RefreshResult
    from orchestrator.drift.scan import ScanIO, ScanOptions, scan
    from orchestrator.workspace import Workspace

    asked: list[tuple[str, tuple[str, ...]]] = []

    def refresh(stack: Stack, targets: Any) -> RefreshResult:
        asked.append((stack.id, tuple(targets)))
        return RefreshResult((), (), len(targets), True, types={"google_dns_managed_zone": len(targets)})

    ws = Workspace.load(gcp_estate.root)
    io = ScanIO(readers={"gcp": lambda r: GcpReader(r)}, refresh=refresh, commit=lambda root: None)
    report, _ = scan(ws, ["gcp/base"], ScanOptions(mode="both"), io)
    assert asked == [("gcp/base", ("google_dns_managed_zone.zone",))]
    base = report.to_dict()["stacks"][0]
    assert (base["status"], base["complete"], base["mode"]) == ("clean", True, "both")
    assert base["coverage"]["by_type"]["google_dns_managed_zone"] == {"api": 0, "refresh": 1, "none": 0}
    assert (base["coverage"]["api"], base["coverage"]["refresh"]) == (3, 1)

    # Without the unknown type, nothing is left to refresh: terraform is not run.
    state = state_path(gcp_estate.root, "gcp/base")
    doc = json.loads(state.read_text())
    doc["resources"] = [r for r in doc["resources"] if r["type"] != "google_dns_managed_zone"]
    state.write_text(json.dumps(doc))
    asked.clear()
    report, _ = scan(ws, ["gcp/base"], ScanOptions(mode="both"), io)
    assert asked == []
    assert report.stacks[0].mode == "both" and report.stacks[0].complete


def test_gcp_project_iam_bindings_from_the_iam_policy_listing(gcp: GcpEmulator, gcp_estate: Repo) -> None:
    viewers = ["user:ann@example.com", "user:bob@example.com"]
    gcp.set_iam_policy(PROJECT, [{"role": "roles/viewer", "members": viewers}])
    state = state_path(gcp_estate.root, "gcp/base")
    doc = json.loads(state.read_text())
    g = sf.GOOGLE_PROVIDER
    extra = sf.state_document(
        [
            sf.Instance(
                "google_project_iam_binding",
                "viewers",
                {
                    "id": f"{PROJECT}/roles/viewer",
                    "project": PROJECT,
                    "role": "roles/viewer",
                    "members": viewers,
                    "condition": [],
                    "etag": "x",
                },
                provider=g,
            ),
            sf.Instance(
                "google_project_iam_member",
                "ann",
                {
                    "id": f"{PROJECT}/roles/viewer/user:ann@example.com",
                    "project": PROJECT,
                    "role": "roles/viewer",
                    "member": "user:ann@example.com",
                    "condition": [],
                    "etag": "x",
                },
                provider=g,
            ),
        ]
    )
    doc["resources"] += extra["resources"]
    state.write_text(json.dumps(doc))
    code, report, _ = gcp_estate.drift_json()
    assert code == 0, json.dumps(report["stacks"])
    assert stacks(report)["gcp/base"]["coverage"]["by_type"]["google_project_iam_binding"]["api"] == 1
    # Out of band: bob leaves, eve joins; ann's membership is gone too.
    gcp.set_iam_policy(PROJECT, [{"role": "roles/viewer", "members": ["user:eve@example.com"]}])
    code, report, _ = gcp_estate.drift_json()
    assert code == 2
    base = stacks(report)["gcp/base"]
    assert base["changed"] == [
        {
            "address": "google_project_iam_binding.viewers",
            "type": "google_project_iam_binding",
            "id": f"{PROJECT}/roles/viewer",
            "diffs": [{"path": "members", "expected": viewers, "actual": ["user:eve@example.com"]}],
        }
    ]
    assert [m["address"] for m in base["missing"]] == ["google_project_iam_member.ann"]
    assert report["unmanaged"] == []  # bindings are parts of a policy, never unmanaged
