"""Data sources: azurerm_client_config (client_id, tenant_id, subscription_id, object_id, id) and
azurerm_resource_group (name -> id, location, tags, managed_by)."""

from __future__ import annotations

from tf.schema import Attribute, Schema
from tf.types import Map, String

from orchestrate_emulate.providers._runtime import BaseDataSource, ProviderError, State


class ClientConfig(BaseDataSource):
    name = "client_config"
    display = "azurerm_client_config"

    @classmethod
    def build_schema(cls) -> Schema:
        names = ("id", "client_id", "tenant_id", "subscription_id", "object_id")
        return Schema(version=0, attributes=[Attribute(n, String(), computed=True) for n in names])

    def do_read(self, config: State) -> State | None:
        p = self.provider
        return {
            "id": f"clientConfigs/clientId={p.client_id};objectId={p.client_id};subscriptionId="
            f"{p.subscription_id};tenantId={p.tenant_id}",
            "client_id": p.client_id,
            "tenant_id": p.tenant_id,
            "subscription_id": p.subscription_id,
            "object_id": p.client_id,
        }


class ResourceGroupData(BaseDataSource):
    name = "resource_group"
    display = "azurerm_resource_group"

    @classmethod
    def build_schema(cls) -> Schema:
        return Schema(
            version=0,
            attributes=[
                Attribute("name", String(), required=True),
                Attribute("id", String(), computed=True),
                Attribute("location", String(), computed=True),
                Attribute("managed_by", String(), computed=True),
                Attribute("tags", Map(String()), computed=True),
            ],
        )

    def do_read(self, config: State) -> State | None:
        try:
            g = self.provider.client().resource_groups.get(config["name"])
        except Exception as exc:
            if type(exc).__name__ == "ResourceNotFoundError":
                raise ProviderError(f"Resource Group {config['name']!r} was not found") from exc
            raise
        return {
            "name": g.name,
            "id": g.id,
            "location": g.location,
            "managed_by": g.managed_by,
            "tags": g.tags or {},
        }
