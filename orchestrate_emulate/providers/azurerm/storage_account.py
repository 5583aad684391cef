"""azurerm_storage_account, written and read generically by id through ARM:
id, name, resource_group_name, location, account_kind, account_tier, account_replication_type,
access_tier, enable_https_traffic_only, min_tls_version, allow_nested_items_to_be_public,
shared_access_key_enabled, public_network_access_enabled, primary_location,
primary_blob_endpoint, primary_access_key, secondary_access_key, primary_connection_string
(the last three sensitive), tags."""

from __future__ import annotations

from typing import Any

from tf.schema import Attribute, Schema
from tf.types import Bool, Map, String

from orchestrate_emulate.providers._runtime import ProviderError, State
from orchestrate_emulate.providers.azurerm._base import AzureResource, is_gone, keep_location, own_tags

API_VERSION = "2023-01-01"
TYPE = "Microsoft.Storage/storageAccounts"

# attribute -> (ARM property, default of azurerm 3.x)
BOOLS: dict[str, tuple[str, bool]] = {
    "enable_https_traffic_only": ("supportsHttpsTrafficOnly", True),
    "allow_nested_items_to_be_public": ("allowBlobPublicAccess", True),
    "shared_access_key_enabled": ("allowSharedKeyAccess", True),
}


class StorageAccount(AzureResource):
    name = "storage_account"
    display = "Storage Account"

    @classmethod
    def build_schema(cls) -> Schema:
        def computed(name: str, sensitive: bool = False) -> Attribute:
            return Attribute(name, String(), computed=True, sensitive=sensitive)

        return Schema(
            version=0,
            attributes=[
                computed("id"),
                Attribute("name", String(), required=True, requires_replace=True),
                Attribute("resource_group_name", String(), required=True, requires_replace=True),
                Attribute("location", String(), required=True, requires_replace=True),
                Attribute("account_kind", String(), optional=True, computed=True, default="StorageV2"),
                Attribute("account_tier", String(), required=True, requires_replace=True),
                Attribute("account_replication_type", String(), required=True),
                Attribute("access_tier", String(), optional=True, computed=True, default="Hot"),
                Attribute("min_tls_version", String(), optional=True, computed=True, default="TLS1_2"),
                *(
                    Attribute(attr, Bool(), optional=True, computed=True, default=default)
                    for attr, (_, default) in BOOLS.items()
                ),
                Attribute(
                    "public_network_access_enabled", Bool(), optional=True, computed=True, default=True
                ),
                computed("primary_location"),
                computed("primary_blob_endpoint"),
                computed("primary_access_key", sensitive=True),
                computed("secondary_access_key", sensitive=True),
                computed("primary_connection_string", sensitive=True),
                Attribute("tags", Map(String()), optional=True),
            ],
        )

    def label(self, state: State | None) -> str:
        return str((state or {}).get("name") or "?")

    def _id(self, state: State) -> str:
        return f"{self.group_id(state['resource_group_name'])}/providers/{TYPE}/{state['name']}"

    @staticmethod
    def _properties(planned: State) -> dict[str, Any]:
        props: dict[str, Any] = {
            "accessTier": planned.get("access_tier") or "Hot",
            "minimumTlsVersion": planned.get("min_tls_version") or "TLS1_2",
            "publicNetworkAccess": "Disabled"
            if planned.get("public_network_access_enabled") is False
            else "Enabled",
        }
        for attr, (prop, default) in BOOLS.items():
            value = planned.get(attr)
            props[prop] = default if value is None else bool(value)
        return props

    @staticmethod
    def _sku(planned: State) -> Any:
        from azure.mgmt.resource.resources.models import Sku

        return Sku(name=f"{planned['account_tier']}_{planned['account_replication_type']}")

    def do_create(self, planned: State) -> State | None:
        from azure.mgmt.resource.resources.models import GenericResource

        client = self.client()
        rid = self._id(planned)
        if client.resources.check_existence_by_id(rid, api_version=API_VERSION):
            raise ProviderError(
                f"a resource with the ID {rid!r} already exists - to be managed via Terraform this resource needs "
                "to be imported into the State"
            )
        body = GenericResource(
            location=planned["location"],
            tags=planned.get("tags") or {},
            sku=self._sku(planned),
            kind=planned.get("account_kind") or "StorageV2",
            properties=self._properties(planned),
        )
        client.resources.begin_create_or_update_by_id(rid, api_version=API_VERSION, parameters=body).result()
        return self.do_read({**planned, "id": rid})

    def _keys(self, rid: str) -> list[str]:
        from azure.core.rest import HttpRequest

        client = self.client()
        response = client.send_request(
            HttpRequest("POST", f"{self.azure.endpoint}{rid}/listKeys?api-version={API_VERSION}")
        )
        response.raise_for_status()
        return [k["value"] for k in response.json().get("keys", [])]

    def do_read(self, current: State) -> State | None:
        rid = current.get("id") or self._id(current)
        try:
            r = self.client().resources.get_by_id(rid, api_version=API_VERSION)
            keys = self._keys(rid)
        except Exception as exc:
            if is_gone(exc):
                return None
            raise
        props = r.properties or {}
        tier, _, replication = (r.sku.name if r.sku else "_").partition("_")
        group = rid.split("/")[4]
        primary = keys[0] if keys else ""
        state: State = {
            "id": r.id,
            "name": r.name,
            "resource_group_name": current.get("resource_group_name") or group,
            "location": keep_location(r.location, current.get("location")),
            "account_kind": r.kind or "StorageV2",
            "account_tier": tier,
            "account_replication_type": replication,
            "access_tier": props.get("accessTier", "Hot"),
            "min_tls_version": props.get("minimumTlsVersion", "TLS1_2"),
            "public_network_access_enabled": props.get("publicNetworkAccess", "Enabled") != "Disabled",
            "primary_location": props.get("primaryLocation", r.location),
            "primary_blob_endpoint": (props.get("primaryEndpoints") or {}).get("blob", ""),
            "primary_access_key": primary,
            "secondary_access_key": keys[1] if len(keys) > 1 else "",
            "primary_connection_string": (
                f"DefaultEndpointsProtocol=https;AccountName={r.name};AccountKey={primary};"
                "EndpointSuffix=core.windows.net"
            ),
            "tags": own_tags(r.tags, current.get("tags")),
        }
        for attr, (prop, default) in BOOLS.items():
            value = props.get(prop)
            state[attr] = default if value is None else bool(value)
        return state

    def do_update(self, current: State, planned: State) -> State | None:
        from azure.mgmt.resource.resources.models import GenericResource

        rid = current["id"]
        patch = GenericResource(
            tags=planned.get("tags") or {}, sku=self._sku(planned), properties=self._properties(planned)
        )
        self.client().resources.begin_update_by_id(rid, api_version=API_VERSION, parameters=patch).result()
        return self.do_read({**planned, "id": rid})

    def do_delete(self, current: State) -> None:
        try:
            self.client().resources.begin_delete_by_id(current["id"], api_version=API_VERSION).result()
        except Exception as exc:
            if not is_gone(exc):
                raise

    def import_state(self, resource_id: str) -> State:
        parts = resource_id.split("/")
        if len(parts) != 9 or parts[6].lower() != "microsoft.storage":
            raise ProviderError(
                f"{resource_id!r} is not a storage account id (/subscriptions/S/resourceGroups/RG/providers/Microsoft.Storage/storageAccounts/NAME)"
            )
        return {
            "id": resource_id,
            "name": parts[8],
            "resource_group_name": parts[4],
            "tags": None,
            "location": None,
        }
