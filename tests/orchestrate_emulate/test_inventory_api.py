"""Cloud Asset Inventory and Resource Graph on the emulators, through the real SDK clients."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from orchestrate_emulate.azure_api import AzureEmulator
from orchestrate_emulate.gcp_api import GcpEmulator
from tests.orchestrate_emulate.conftest import SUBSCRIPTION, arm_client


def _http(url: str, method: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json"})
    with urllib.request.urlopen(req) as resp:
        raw = resp.read()
        return json.loads(raw) if raw else None


def _asset_client(url: str) -> Any:
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import asset_v1

    return asset_v1.AssetServiceClient(
        credentials=AnonymousCredentials(), transport="rest", client_options=ClientOptions(api_endpoint=url)
    )


def _graph_client(url: str) -> Any:
    from azure.core.credentials import AccessToken
    from azure.core.pipeline.policies import SansIOHTTPPolicy
    from azure.mgmt.resourcegraph import ResourceGraphClient

    class Token:
        def get_token(self, *scopes: str, **kw: Any) -> AccessToken:
            return AccessToken("emulated", 4_000_000_000)

    return ResourceGraphClient(Token(), base_url=url, authentication_policy=SansIOHTTPPolicy(), retry_total=0)


def test_list_assets_scopes_types_content_and_pages(gcp: GcpEmulator) -> None:
    from google.cloud import asset_v1

    folder = _http(f"{gcp.url}/v3/folders", "POST", {"displayName": "apps", "parent": "organizations/1"})
    folder_name = folder["response"]["name"]
    for pid, parent in (("acme-one", folder_name), ("acme-two", "organizations/1")):
        _http(f"{gcp.url}/v3/projects", "POST", {"projectId": pid, "parent": parent})
        for i in range(3):
            _http(
                f"{gcp.url}/storage/v1/b?project={pid}",
                "POST",
                {"name": f"{pid}-b{i}", "labels": {"n": str(i)}},
            )
    _http(f"{gcp.url}/compute/v1/projects/acme-one/global/networks", "POST", {"name": "vpc"})
    gcp.set_iam_policy("acme-one", [{"role": "roles/viewer", "members": ["user:a@example.com"]}])
    client = _asset_client(gcp.url)
    request = {
        "parent": folder_name,
        "content_type": asset_v1.ContentType.RESOURCE,
        "asset_types": ["storage.googleapis.com/Bucket", "compute.googleapis.com/Network"],
        "page_size": 2,
    }
    pager = client.list_assets(request=request)
    assets = list(pager)  # the pager follows nextPageToken
    assert sorted(a.name for a in assets) == [
        "//compute.googleapis.com/projects/acme-one/global/networks/vpc",
        "//storage.googleapis.com/acme-one-b0",
        "//storage.googleapis.com/acme-one-b1",
        "//storage.googleapis.com/acme-one-b2",
    ]
    bucket = next(a for a in assets if a.name.endswith("-b1"))
    assert dict(bucket.resource.data["labels"]) == {"n": "1"}
    assert folder_name in list(bucket.ancestors)
    policies = list(
        client.list_assets(
            request={"parent": "projects/acme-one", "content_type": asset_v1.ContentType.IAM_POLICY}
        )
    )
    assert [(b.role, list(b.members)) for p in policies for b in p.iam_policy.bindings] == [
        ("roles/viewer", ["user:a@example.com"])
    ]
    from google.api_core import exceptions

    with pytest.raises(exceptions.NotFound):
        list(
            client.list_assets(
                request={"parent": "projects/nope-nope", "content_type": asset_v1.ContentType.RESOURCE}
            )
        )


def test_resource_graph_pages_filters_by_id_and_refuses_other_queries(arm: AzureEmulator) -> None:
    from azure.mgmt.resource.resources.models import GenericResource, ResourceGroup
    from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

    client = arm_client(arm.url)
    group = client.resource_groups.create_or_update(
        "rg-one", ResourceGroup(location="westeurope", tags={"a": "b"})
    )
    ids = []
    for i in range(5):
        rid = f"{group.id}/providers/Microsoft.Network/virtualNetworks/net{i}"
        client.resources.begin_create_or_update_by_id(
            rid, api_version="2024-01-01",
            parameters=GenericResource(location="westeurope", properties={"addressSpace": {"addressPrefixes": [f"10.{i}.0.0/16"]}}),
        ).result()  # fmt: skip
        ids.append(rid)
    graph = _graph_client(arm.url)
    query = "Resources | project id, type | union (ResourceContainers | where type =~ 'microsoft.resources/subscriptions/resourcegroups')"
    first = graph.resources(
        QueryRequest(subscriptions=[SUBSCRIPTION], query=query, options=QueryRequestOptions(top=4))
    )
    assert (first.total_records, first.count, first.skip_token) == (6, 4, "4")
    rest = graph.resources(
        QueryRequest(
            subscriptions=[SUBSCRIPTION],
            query=query,
            options=QueryRequestOptions(top=4, skip_token=first.skip_token),
        )
    )
    rows = first.data + rest.data
    assert {r["type"] for r in rows} == {
        "microsoft.network/virtualnetworks",
        "microsoft.resources/subscriptions/resourcegroups",
    }
    vnet = next(r for r in rows if r["id"] == ids[2])
    assert vnet["properties"]["addressSpace"]["addressPrefixes"] == ["10.2.0.0/16"]
    assert vnet["resourceGroup"] == "rg-one"
    by_id = graph.resources(
        QueryRequest(
            subscriptions=[SUBSCRIPTION], query=f"Resources | where id in~ ('{ids[1].upper()}') | project id"
        )
    )
    assert [r["id"] for r in by_id.data] == [ids[1]]
    with pytest.raises(HttpResponseError, match="InvalidQuery"):
        graph.resources(QueryRequest(subscriptions=[SUBSCRIPTION], query="SecurityResources | take 1"))
