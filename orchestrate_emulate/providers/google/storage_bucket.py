"""google_storage_bucket through the emulator's Storage JSON API: id, name, project, location,
storage_class, force_destroy, uniform_bucket_level_access, public_access_prevention, url,
self_link, labels/terraform_labels/effective_labels (as the real provider 5.x), versioning."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tf.blocks import SetNestedBlock
from tf.schema import Attribute, Block, Schema
from tf.types import Bool, String

from orchestrate_emulate.providers._runtime import BaseResource, ProviderError, State
from orchestrate_emulate.providers.google._http import NotFound, call
from orchestrate_emulate.providers.google.project import label_attributes, plan_labels, read_labels

if TYPE_CHECKING:
    from orchestrate_emulate.providers.google import GoogleProvider


class StorageBucket(BaseResource):
    name = "storage_bucket"
    display = "Storage Bucket"

    @property
    def google(self) -> GoogleProvider:
        return self.provider

    @classmethod
    def build_schema(cls) -> Schema:
        return Schema(
            version=1,
            attributes=[
                Attribute("id", String(), computed=True),
                Attribute("name", String(), required=True, requires_replace=True),
                Attribute("project", String(), optional=True, computed=True, requires_replace=True),
                Attribute("location", String(), required=True, requires_replace=True),
                Attribute("storage_class", String(), optional=True, computed=True, default="STANDARD"),
                Attribute("force_destroy", Bool(), optional=True, computed=True, default=False),
                Attribute("uniform_bucket_level_access", Bool(), optional=True, computed=True, default=False),
                Attribute(
                    "public_access_prevention", String(), optional=True, computed=True, default="inherited"
                ),
                Attribute("url", String(), computed=True),
                Attribute("self_link", String(), computed=True),
                *label_attributes(),
            ],
            block_types=[
                SetNestedBlock("versioning", Block(attributes=[Attribute("enabled", Bool(), required=True)]))
            ],
        )

    def label(self, state: State | None) -> str:
        return str((state or {}).get("name") or "?")

    def do_plan(self, current: State | None, planned: State) -> State:
        if not planned.get("project"):
            planned["project"] = self.google.project or None
        return plan_labels(self.google.default_labels, current, planned)

    @staticmethod
    def _body(planned: State) -> dict[str, Any]:
        versioning = planned.get("versioning") or []
        return {
            "storageClass": planned.get("storage_class") or "STANDARD",
            "labels": planned.get("effective_labels") or {},
            "versioning": {"enabled": bool(versioning and versioning[0].get("enabled"))},
            "iamConfiguration": {
                "uniformBucketLevelAccess": {"enabled": bool(planned.get("uniform_bucket_level_access"))},
                "publicAccessPrevention": planned.get("public_access_prevention") or "inherited",
            },
        }

    def do_create(self, planned: State) -> State | None:
        project = planned.get("project") or self.google.project
        if not project:
            raise ProviderError("project: required (in the resource or the provider block)")
        body = {"name": planned["name"], "location": planned["location"], **self._body(planned)}
        call(self.google.endpoint, "POST", f"/storage/v1/b?project={project}", body)
        return self.do_read({**planned, "project": project})

    def do_read(self, current: State) -> State | None:
        name = current.get("name") or current.get("id")
        try:
            b = call(self.google.endpoint, "GET", f"/storage/v1/b/{name}")
        except NotFound:
            return None
        iam = b.get("iamConfiguration") or {}
        prior_versioning = current.get("versioning")
        enabled = bool((b.get("versioning") or {}).get("enabled"))
        return {
            "id": b["name"],
            "name": b["name"],
            "project": current.get("project") or self.google.project,
            "location": str(b.get("location") or "").upper(),
            "storage_class": b.get("storageClass") or "STANDARD",
            "force_destroy": bool(current.get("force_destroy")),
            "uniform_bucket_level_access": bool((iam.get("uniformBucketLevelAccess") or {}).get("enabled")),
            "public_access_prevention": iam.get("publicAccessPrevention") or "inherited",
            "url": f"gs://{b['name']}",
            "self_link": b.get("selfLink") or "",
            "versioning": [{"enabled": enabled}] if (prior_versioning or enabled) else [],
            **read_labels(dict(b.get("labels") or {}), current),
        }

    def do_update(self, current: State, planned: State) -> State | None:
        call(self.google.endpoint, "PATCH", f"/storage/v1/b/{current['name']}", self._body(planned))
        return self.do_read(planned)

    def do_delete(self, current: State) -> None:
        try:
            call(self.google.endpoint, "DELETE", f"/storage/v1/b/{current['name']}")
        except NotFound:
            pass

    def import_state(self, resource_id: str) -> State:
        name = resource_id.rsplit("/", 1)[-1]
        return {"id": name, "name": name, "labels": None, "terraform_labels": None}
