"""azurerm_resource_group: id, name, location, tags, managed_by."""

from __future__ import annotations

from tf.schema import Attribute, Schema
from tf.types import Map, String

from orchestrate_emulate.providers._runtime import ProviderError, State
from orchestrate_emulate.providers.azurerm._base import AzureResource, is_gone, keep_location, own_tags


class ResourceGroup(AzureResource):
    name = "resource_group"
    display = "Resource Group"

    @classmethod
    def build_schema(cls) -> Schema:
        return Schema(
            version=0,
            attributes=[
                Attribute("id", String(), computed=True),
                Attribute("name", String(), required=True, requires_replace=True),
                Attribute("location", String(), required=True, requires_replace=True),
                Attribute("managed_by", String(), optional=True),
                Attribute("tags", Map(String()), optional=True),
            ],
        )

    def label(self, state: State | None) -> str:
        return str((state or {}).get("name") or "?")

    def do_create(self, planned: State) -> State | None:
        from azure.mgmt.resource.resources.models import ResourceGroup as Model

        if self.client().resource_groups.check_existence(planned["name"]):
            raise ProviderError(
                f"a resource with the ID {self.group_id(planned['name'])!r} already exists - to be managed via "
                "Terraform this resource needs to be imported into the State"
            )
        model = Model(
            location=planned["location"], tags=planned.get("tags") or {}, managed_by=planned.get("managed_by")
        )
        self.client().resource_groups.create_or_update(planned["name"], model)
        return self.do_read({**planned, "id": self.group_id(planned["name"])})

    def do_read(self, current: State) -> State | None:
        name = current.get("name") or str(current["id"]).rstrip("/").rsplit("/", 1)[1]
        try:
            g = self.client().resource_groups.get(name)
        except Exception as exc:
            if is_gone(exc):
                return None
            raise
        return {
            "id": g.id,
            "name": g.name,
            "location": keep_location(g.location, current.get("location")),
            "managed_by": g.managed_by,
            "tags": own_tags(g.tags, current.get("tags")),
        }

    def do_update(self, current: State, planned: State) -> State | None:
        from azure.mgmt.resource.resources.models import ResourceGroupPatchable

        patch = ResourceGroupPatchable(tags=planned.get("tags") or {}, managed_by=planned.get("managed_by"))
        self.client().resource_groups.update(current["name"], patch)
        return self.do_read({**planned, "id": current["id"]})

    def do_delete(self, current: State) -> None:
        client = self.client()
        name = current["name"]
        if self.azure.prevent_deletion_if_contains_resources:
            try:
                left = [r.id for r in client.resources.list_by_resource_group(name)]
            except Exception as exc:
                if is_gone(exc):
                    return
                raise
            if left:
                raise ProviderError(
                    f"the Resource Group {name!r} still contains Resources: {', '.join(left)}. Remove them, or set "
                    "features { resource_group { prevent_deletion_if_contains_resources = false } }"
                )
        try:
            client.resource_groups.begin_delete(name).result()
        except Exception as exc:
            if not is_gone(exc):
                raise

    def import_state(self, resource_id: str) -> State:
        return {
            "id": resource_id,
            "name": resource_id.rstrip("/").rsplit("/", 1)[1],
            "tags": None,
            "location": None,
        }
