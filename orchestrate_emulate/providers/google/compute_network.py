"""google_compute_network through the emulator's Compute API: id
("projects/P/global/networks/N"), name, project, description, auto_create_subnetworks,
routing_mode, mtu, self_link."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tf.schema import Attribute, Schema
from tf.types import Bool, Number, String

from orchestrate_emulate.providers._runtime import BaseResource, ProviderError, State
from orchestrate_emulate.providers.google._http import NotFound, call

if TYPE_CHECKING:
    from orchestrate_emulate.providers.google import GoogleProvider


class ComputeNetwork(BaseResource):
    name = "compute_network"
    display = "Compute Network"

    @property
    def google(self) -> GoogleProvider:
        return self.provider

    @classmethod
    def build_schema(cls) -> Schema:
        return Schema(
            version=0,
            attributes=[
                Attribute("id", String(), computed=True),
                Attribute("name", String(), required=True, requires_replace=True),
                Attribute("project", String(), optional=True, computed=True, requires_replace=True),
                Attribute("description", String(), optional=True, requires_replace=True),
                Attribute(
                    "auto_create_subnetworks",
                    Bool(),
                    optional=True,
                    computed=True,
                    default=True,
                    requires_replace=True,
                ),
                Attribute("routing_mode", String(), optional=True, computed=True, default="REGIONAL"),
                Attribute("mtu", Number(), optional=True, computed=True),
                Attribute("self_link", String(), computed=True),
            ],
        )

    def label(self, state: State | None) -> str:
        return str((state or {}).get("name") or "?")

    def do_plan(self, current: State | None, planned: State) -> State:
        if not planned.get("project"):
            planned["project"] = self.google.project or None
        return planned

    def _path(self, state: State) -> str:
        project = state.get("project") or self.google.project
        if not project:
            raise ProviderError("project: required (in the resource or the provider block)")
        return f"/compute/v1/projects/{project}/global/networks"

    def do_create(self, planned: State) -> State | None:
        body: dict[str, Any] = {
            "name": planned["name"],
            "description": planned.get("description") or "",
            "autoCreateSubnetworks": planned.get("auto_create_subnetworks") is not False,
            "routingConfig": {"routingMode": planned.get("routing_mode") or "REGIONAL"},
        }
        if planned.get("mtu"):
            body["mtu"] = int(planned["mtu"])
        call(self.google.endpoint, "POST", self._path(planned), body)
        return self.do_read(planned)

    def do_read(self, current: State) -> State | None:
        try:
            n = call(self.google.endpoint, "GET", f"{self._path(current)}/{current['name']}")
        except NotFound:
            return None
        project = current.get("project") or self.google.project
        return {
            "id": f"projects/{project}/global/networks/{n['name']}",
            "name": n["name"],
            "project": project,
            "description": n.get("description") or None,
            "auto_create_subnetworks": bool(n.get("autoCreateSubnetworks")),
            "routing_mode": (n.get("routingConfig") or {}).get("routingMode") or "REGIONAL",
            "mtu": int(n.get("mtu") or 1460),
            "self_link": n.get("selfLink") or "",
        }

    def do_update(self, current: State, planned: State) -> State | None:
        body = {"routingConfig": {"routingMode": planned.get("routing_mode") or "REGIONAL"}}
        if planned.get("mtu"):
            body["mtu"] = int(planned["mtu"])  # type: ignore[assignment]
        call(self.google.endpoint, "PATCH", f"{self._path(current)}/{current['name']}", body)
        return self.do_read(planned)

    def do_delete(self, current: State) -> None:
        try:
            call(self.google.endpoint, "DELETE", f"{self._path(current)}/{current['name']}")
        except NotFound:
            pass

    def import_state(self, resource_id: str) -> State:
        parts = resource_id.split("/")
        if len(parts) != 5 or parts[0] != "projects" or parts[3] != "networks":
            raise ProviderError(f"{resource_id!r} is not a network id (projects/P/global/networks/N)")
        return {"id": resource_id, "name": parts[4], "project": parts[1]}
