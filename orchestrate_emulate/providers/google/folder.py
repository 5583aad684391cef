"""google_folder: id and name ("folders/N"), folder_id ("N"), display_name, parent,
lifecycle_state, create_time. A parent change moves the folder."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tf.schema import Attribute, Schema
from tf.types import String

from orchestrate_emulate.providers._runtime import BaseResource, State

if TYPE_CHECKING:
    from orchestrate_emulate.providers.google import GoogleProvider


class Folder(BaseResource):
    name = "folder"
    display = "Folder"

    @property
    def google(self) -> GoogleProvider:
        return self.provider

    @classmethod
    def build_schema(cls) -> Schema:
        return Schema(
            version=0,
            attributes=[
                Attribute("id", String(), computed=True),
                Attribute("name", String(), computed=True),
                Attribute("folder_id", String(), computed=True),
                Attribute("display_name", String(), required=True),
                Attribute("parent", String(), required=True),
                Attribute("lifecycle_state", String(), computed=True),
                Attribute("create_time", String(), computed=True),
            ],
        )

    def label(self, state: State | None) -> str:
        state = state or {}
        return str(state.get("name") or state.get("display_name") or "?")

    def do_create(self, planned: State) -> State | None:
        from google.cloud.resourcemanager_v3 import Folder as FolderMessage

        message = FolderMessage(display_name=planned["display_name"], parent=planned["parent"])
        folder = self.google.client("folders").create_folder(folder=message).result(timeout=60)
        return self.do_read({**planned, "id": folder.name})

    def do_read(self, current: State) -> State | None:
        name = str(current["id"])
        if not name.startswith("folders/"):
            name = f"folders/{name}"
        try:
            f = self.google.client("folders").get_folder(name=name)
        except Exception as exc:
            if type(exc).__name__ == "NotFound":
                return None
            raise
        if f.state.name == "DELETE_REQUESTED":
            return None
        return {
            "id": f.name,
            "name": f.name,
            "folder_id": f.name.removeprefix("folders/"),
            "display_name": f.display_name,
            "parent": f.parent,
            "lifecycle_state": f.state.name,
            "create_time": f.create_time.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if f.create_time else "",
        }

    def do_update(self, current: State, planned: State) -> State | None:
        from google.cloud.resourcemanager_v3 import Folder as FolderMessage
        from google.protobuf.field_mask_pb2 import FieldMask

        folders = self.google.client("folders")
        name = current["id"]
        if planned["parent"] != current.get("parent"):
            folders.move_folder(name=name, destination_parent=planned["parent"]).result(timeout=60)
        if planned["display_name"] != current.get("display_name"):
            message = FolderMessage(name=name, display_name=planned["display_name"])
            folders.update_folder(folder=message, update_mask=FieldMask(paths=["display_name"])).result(
                timeout=60
            )
        return self.do_read({**planned, "id": name})

    def do_delete(self, current: State) -> None:
        try:
            self.google.client("folders").delete_folder(name=current["id"]).result(timeout=60)
        except Exception as exc:
            if type(exc).__name__ != "NotFound":
                raise

    def import_state(self, resource_id: str) -> State:
        return {"id": resource_id if resource_id.startswith("folders/") else f"folders/{resource_id}"}
