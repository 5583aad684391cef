"""azurerm_virtual_network, written and read generically by id through ARM:
id, name, resource_group_name, location, address_space, dns_servers, guid, tags."""

from __future__ import annotations

from typing import Any

from tf.schema import Attribute, Schema
from tf.types import List, Map, String

from orchestrate_emulate.providers._runtime import ProviderError, State
from orchestrate_emulate.providers.azurerm._base import AzureResource, is_gone, keep_location, own_tags

API_VERSION = "2024-01-01"
TYPE = "Microsoft.Network/virtualNetworks"


class VirtualNetwork(AzureResource):
    name = "virtual_network"
    display = "Virtual Network"

    @classmethod
    def build_schema(cls) -> Schema:
        return Schema(
            version=0,
            attributes=[
                Attribute("id", String(), computed=True),
                Attribute("name", String(), required=True, requires_replace=True),
                Attribute("resource_group_name", String(), required=True, requires_replace=True),
                Attribute("location", String(), required=True, requires_replace=True),
                Attribute("address_space", List(String()), required=True),
                Attribute("dns_servers", List(String()), optional=True, computed=True),
                Attribute("guid", String(), computed=True),
                Attribute("tags", Map(String()), optional=True),
            ],
        )

    def label(self, state: State | None) -> str:
        return str((state or {}).get("name") or "?")

    def _id(self, state: State) -> str:
        return f"{self.group_id(state['resource_group_name'])}/providers/{TYPE}/{state['name']}"

    @staticmethod
    def _properties(planned: State) -> dict[str, Any]:
        return {
            "addressSpace": {"addressPrefixes": list(planned.get("address_space") or [])},
            "dhcpOptions": {"dnsServers": list(planned.get("dns_servers") or [])},
        }

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
            location=planned["location"], tags=planned.get("tags") or {}, properties=self._properties(planned)
        )
        client.resources.begin_create_or_update_by_id(rid, api_version=API_VERSION, parameters=body).result()
        return self.do_read({**planned, "id": rid})

    def do_read(self, current: State) -> State | None:
        rid = current.get("id") or self._id(current)
        try:
            r = self.client().resources.get_by_id(rid, api_version=API_VERSION)
        except Exception as exc:
            if is_gone(exc):
                return None
            raise
        props = r.properties or {}
        return {
            "id": r.id,
            "name": r.name,
            "resource_group_name": current.get("resource_group_name") or rid.split("/")[4],
            "location": keep_location(r.location, current.get("location")),
            "address_space": list((props.get("addressSpace") or {}).get("addressPrefixes") or []),
            "dns_servers": list((props.get("dhcpOptions") or {}).get("dnsServers") or []),
            "guid": props.get("resourceGuid") or "",
            "tags": own_tags(r.tags, current.get("tags")),
        }

    def do_update(self, current: State, planned: State) -> State | None:
        from azure.mgmt.resource.resources.models import GenericResource

        rid = current["id"]
        patch = GenericResource(tags=planned.get("tags") or {}, properties=self._properties(planned))
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
        if len(parts) != 9 or parts[7].lower() != "virtualnetworks":
            raise ProviderError(
                f"{resource_id!r} is not a virtual network id "
                "(/subscriptions/S/resourceGroups/RG/providers/Microsoft.Network/virtualNetworks/NAME)"
            )
        return {
            "id": resource_id,
            "name": parts[8],
            "resource_group_name": parts[4],
            "tags": None,
            "location": None,
        }
