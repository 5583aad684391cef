"""The Azure emulator speaks ARM: the real azure-mgmt-resource client runs on it."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.core.rest import HttpRequest
from azure.mgmt.resource.resources.models import GenericResource, ResourceGroup, ResourceGroupPatchable, Sku

from orchestrate_emulate.azure_api import AzureEmulator
from tests.orchestrate_emulate.conftest import SUBSCRIPTION, arm_client

STORAGE = "2023-01-01"


def _account(client: object, rg_id: str, name: str, **props: object) -> GenericResource:
    rid = f"{rg_id}/providers/Microsoft.Storage/storageAccounts/{name}"
    body = GenericResource(
        location="westeurope", sku=Sku(name="Standard_LRS"), kind="StorageV2", properties=props
    )
    return client.resources.begin_create_or_update_by_id(rid, api_version=STORAGE, parameters=body).result()  # type: ignore[attr-defined]


def test_resource_groups_are_created_read_tagged_and_deleted(arm: AzureEmulator) -> None:
    c = arm_client(arm.url)
    g = c.resource_groups.create_or_update(
        "acme-dev-hub", ResourceGroup(location="West Europe", tags={"env": "dev"})
    )
    assert g.id == f"/subscriptions/{SUBSCRIPTION}/resourceGroups/acme-dev-hub"
    assert (g.location, g.tags, g.properties.provisioning_state) == (
        "westeurope",
        {"env": "dev"},
        "Succeeded",
    )
    assert c.resource_groups.check_existence("ACME-DEV-HUB")  # ARM names are case-insensitive
    assert not c.resource_groups.check_existence("other")
    c.resource_groups.update("acme-dev-hub", ResourceGroupPatchable(tags={"env": "prod"}))
    assert c.resource_groups.get("acme-dev-hub").tags == {"env": "prod"}
    assert [x.name for x in c.resource_groups.list()] == ["acme-dev-hub"]
    c.resource_groups.begin_delete("acme-dev-hub").result()
    with pytest.raises(ResourceNotFoundError):
        c.resource_groups.get("acme-dev-hub")


def test_not_found_uses_arms_error_shape(arm: AzureEmulator) -> None:
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(
            f"{arm.url}/subscriptions/{SUBSCRIPTION}/resourcegroups/nope?api-version=2021-04-01"
        )
    assert err.value.code == 404
    assert json.loads(err.value.read()) == {
        "error": {"code": "ResourceGroupNotFound", "message": "Resource group 'nope' could not be found."}
    }
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{arm.url}/subscriptions/{SUBSCRIPTION}/resourcegroups/nope")
    assert json.loads(err.value.read())["error"]["code"] == "MissingApiVersionParameter"


def test_a_group_keeps_its_location(arm: AzureEmulator) -> None:
    c = arm_client(arm.url)
    c.resource_groups.create_or_update("rg", ResourceGroup(location="westeurope"))
    with pytest.raises(HttpResponseError, match="InvalidResourceGroupLocation"):
        c.resource_groups.create_or_update("rg", ResourceGroup(location="northeurope"))
    with pytest.raises(HttpResponseError, match="not available"):
        c.resource_groups.create_or_update("rg2", ResourceGroup(location="atlantis"))


def test_storage_accounts_get_arms_computed_properties_and_keys(arm: AzureEmulator) -> None:
    c = arm_client(arm.url)
    g = c.resource_groups.create_or_update("acme-dev-hub", ResourceGroup(location="westeurope"))
    acct = _account(c, g.id, "acmedevlogs", minimumTlsVersion="TLS1_2", allowBlobPublicAccess=False)
    assert acct.id == f"{g.id}/providers/Microsoft.Storage/storageAccounts/acmedevlogs"
    assert acct.type == "Microsoft.Storage/storageAccounts"
    assert acct.sku.name == "Standard_LRS" and acct.sku.tier == "Standard"
    props = c.resources.get_by_id(acct.id, api_version=STORAGE).properties
    assert props["provisioningState"] == "Succeeded"
    assert props["primaryEndpoints"]["blob"] == "https://acmedevlogs.blob.core.windows.net/"
    assert (props["minimumTlsVersion"], props["supportsHttpsTrafficOnly"], props["accessTier"]) == (
        "TLS1_2",
        True,
        "Hot",
    )
    keys = c.send_request(HttpRequest("POST", f"{arm.url}{acct.id}/listKeys?api-version={STORAGE}")).json()[
        "keys"
    ]
    assert [k["keyName"] for k in keys] == ["key1", "key2"] and len(keys[0]["value"]) == 88


def test_storage_account_names_are_checked_and_unique(arm: AzureEmulator) -> None:
    c = arm_client(arm.url)
    g = c.resource_groups.create_or_update("rg", ResourceGroup(location="westeurope"))
    g2 = c.resource_groups.create_or_update("rg2", ResourceGroup(location="westeurope"))
    _account(c, g.id, "acmelogs")
    with pytest.raises(HttpResponseError, match="StorageAccountAlreadyTaken"):
        _account(c, g2.id, "acmelogs")
    with pytest.raises(HttpResponseError, match="AccountNameInvalid"):
        _account(c, g.id, "Acme-Logs")


def test_resources_need_a_supported_api_version_and_a_known_type(arm: AzureEmulator) -> None:
    c = arm_client(arm.url)
    g = c.resource_groups.create_or_update("rg", ResourceGroup(location="westeurope"))
    rid = f"{g.id}/providers/Microsoft.Storage/storageAccounts/acmelogs"
    with pytest.raises(HttpResponseError, match="NoRegisteredProviderFound") as err:
        c.resources.get_by_id(rid, api_version="2015-01-01")
    assert "2023-01-01" in str(err.value)
    with pytest.raises(HttpResponseError, match="InvalidResourceType"):
        c.resources.get_by_id(f"{g.id}/providers/Microsoft.Storage/buckets/x", api_version=STORAGE)
    with pytest.raises(ResourceNotFoundError, match="ResourceNotFound"):
        c.resources.get_by_id(rid, api_version=STORAGE)
    with pytest.raises(ResourceNotFoundError, match="ResourceGroupNotFound"):
        c.resources.get_by_id(rid.replace("/rg/", "/other/"), api_version=STORAGE)


def test_provider_lists_resource_types_with_api_versions(arm: AzureEmulator) -> None:
    c = arm_client(arm.url)
    p = c.providers.get("Microsoft.Storage")
    assert p.registration_state == "Registered"
    types = {t.resource_type: t.api_versions for t in p.resource_types}
    assert STORAGE in types["storageAccounts"]
    assert "Microsoft.Network" in [x.namespace for x in c.providers.list()]
    with pytest.raises(ResourceNotFoundError):
        c.providers.get("Microsoft.Nothing")


def test_resource_lists_filter_page_and_leave_properties_out(arm: AzureEmulator) -> None:
    c = arm_client(arm.url)
    g = c.resource_groups.create_or_update("rg", ResourceGroup(location="westeurope"))
    other = c.resource_groups.create_or_update("other", ResourceGroup(location="westeurope"))
    for i in range(3):
        _account(c, g.id, f"acme{i}")
    _account(c, other.id, "elsewhere")
    c.resources.begin_update_by_id(
        f"{g.id}/providers/Microsoft.Storage/storageAccounts/acme1",
        api_version=STORAGE,
        parameters=GenericResource(tags={"team": "a"}),
    ).result()
    arm.requests.clear()
    everything = list(c.resources.list(top=2))
    assert sorted(r.name for r in everything) == ["acme0", "acme1", "acme2", "elsewhere"]
    assert len(arm.requests) == 2  # nextLink paging
    assert all(r.properties is None for r in everything)
    assert [r.name for r in c.resources.list_by_resource_group("other")] == ["elsewhere"]
    assert [r.name for r in c.resources.list(filter="tagName eq 'team' and tagValue eq 'a'")] == ["acme1"]
    typed = c.resources.list(
        filter="resourceType eq 'Microsoft.Storage/storageAccounts' and resourceGroup eq 'rg'"
    )
    assert len(list(typed)) == 3
    with pytest.raises(HttpResponseError, match="InvalidFilterInQueryString"):
        list(c.resources.list(filter="color eq 'red'"))


def test_deleting_a_group_deletes_its_resources(arm: AzureEmulator) -> None:
    c = arm_client(arm.url)
    g = c.resource_groups.create_or_update("rg", ResourceGroup(location="westeurope"))
    _account(c, g.id, "acmelogs")
    c.resource_groups.begin_delete("rg").result()
    assert list(c.resources.list()) == []


def test_tags_api_merges_and_replaces(arm: AzureEmulator) -> None:
    c = arm_client(arm.url)
    g = c.resource_groups.create_or_update("rg", ResourceGroup(location="westeurope", tags={"a": "1"}))
    acct = _account(c, g.id, "acmelogs")
    from azure.mgmt.resource.resources.models import Tags, TagsPatchResource

    def patch(scope: str, operation: str, tags: dict[str, str]) -> None:
        c.tags.begin_update_at_scope(
            scope, TagsPatchResource(operation=operation, properties=Tags(tags=tags))
        ).result()

    patch(acct.id, "Merge", {"owner": "x"})
    assert c.resources.get_by_id(acct.id, api_version=STORAGE).tags == {"owner": "x"}
    patch(g.id, "Merge", {"b": "2"})
    assert c.resource_groups.get("rg").tags == {"a": "1", "b": "2"}
    patch(g.id, "Delete", {"a": "1"})
    assert c.resource_groups.get("rg").tags == {"b": "2"}
    patch(g.id, "Replace", {"c": "3"})
    assert c.tags.get_at_scope(g.id).properties.tags == {"c": "3"}


def test_faults_throttle_once_then_fail_a_path_for_good(arm: AzureEmulator) -> None:
    c = arm_client(arm.url)
    c.resource_groups.create_or_update("rg", ResourceGroup(location="westeurope"))
    arm.requests.clear()
    arm.add_fault(status=429, count=1, retry_after=0)
    assert c.resource_groups.get("rg").name == "rg"
    assert [r.status for r in arm.requests] == [429, 200]
    arm.add_fault(status=403, count=None, path="/resourcegroups/rg$", message="AuthorizationFailed")
    for _ in range(2):
        with pytest.raises(HttpResponseError, match="AuthorizationFailed"):
            c.resource_groups.get("rg")
    assert [x.name for x in c.resource_groups.list()] == ["rg"]  # other paths still answer


def test_state_survives_a_restart_through_the_data_file(tmp_path: Path) -> None:
    data = tmp_path / "azure.json"
    with AzureEmulator(data_file=data) as first:
        c = arm_client(first.url)
        g = c.resource_groups.create_or_update("rg", ResourceGroup(location="westeurope"))
        _account(c, g.id, "acmelogs")
    with AzureEmulator(data_file=data) as second:
        c = arm_client(second.url)
        assert (
            c.resources.get_by_id(
                f"{g.id}/providers/Microsoft.Storage/storageAccounts/acmelogs", api_version=STORAGE
            ).name
            == "acmelogs"
        )
