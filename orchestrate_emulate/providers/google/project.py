"""google_project: id ("projects/{project_id}"), project_id, name, number, folder_id, org_id,
labels, effective_labels, terraform_labels, skip_delete, auto_create_network.

Labels follow the real provider 5.x: ``labels`` holds only the labels of the configuration,
``terraform_labels`` those plus the provider's ``default_labels``, ``effective_labels`` every
label on the project (including ones set outside Terraform, which are left alone).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tf.schema import Attribute, Schema
from tf.types import Bool, Map, String, Unknown

from orchestrate_emulate.providers._runtime import BaseResource, ProviderError, State

if TYPE_CHECKING:
    from orchestrate_emulate.providers.google import GoogleProvider


def _is_gone(exc: BaseException) -> bool:
    return type(exc).__name__ == "NotFound"


def _parent(state: State) -> str:
    folder, org = state.get("folder_id"), state.get("org_id")
    if folder and org:
        raise ProviderError("only one of folder_id and org_id can be set")
    if folder:
        return f"folders/{str(folder).removeprefix('folders/')}"
    if org:
        return f"organizations/{str(org).removeprefix('organizations/')}"
    return ""


def label_attributes() -> list[Attribute]:
    return [
        Attribute("labels", Map(String()), optional=True),
        Attribute("terraform_labels", Map(String()), computed=True),
        Attribute("effective_labels", Map(String()), computed=True),
    ]


def plan_labels(defaults: dict[str, str], current: State | None, planned: State) -> State:
    labels = planned.get("labels")
    if labels is Unknown:
        planned["terraform_labels"] = planned["effective_labels"] = Unknown
        return planned
    terraform = {**defaults, **(labels or {})}
    planned["terraform_labels"] = terraform
    if current is None:
        planned["effective_labels"] = dict(terraform)
    else:
        # Labels set outside Terraform stay; the managed ones take the configured values.
        managed = set(current.get("terraform_labels") or {}) | set(terraform)
        outside = {k: v for k, v in (current.get("effective_labels") or {}).items() if k not in managed}
        planned["effective_labels"] = {**outside, **terraform}
    return planned


def read_labels(live: dict[str, str], current: State) -> State:
    prior = current.get("labels")
    prior_tf = current.get("terraform_labels")
    return {
        "labels": None if prior is None else {k: live[k] for k in prior if k in live},
        "terraform_labels": {
            k: live[k] for k in (prior_tf if isinstance(prior_tf, dict) else prior or {}) if k in live
        },
        "effective_labels": dict(live),
    }


class Project(BaseResource):
    name = "project"
    display = "Project"

    @property
    def google(self) -> GoogleProvider:
        return self.provider

    @classmethod
    def build_schema(cls) -> Schema:
        return Schema(
            version=0,
            attributes=[
                Attribute("id", String(), computed=True),
                Attribute("project_id", String(), required=True, requires_replace=True),
                Attribute("name", String(), required=True),
                Attribute("number", String(), computed=True),
                Attribute("folder_id", String(), optional=True),
                Attribute("org_id", String(), optional=True),
                Attribute("skip_delete", Bool(), optional=True, computed=True, default=False),
                Attribute("auto_create_network", Bool(), optional=True, computed=True, default=True),
                *label_attributes(),
            ],
        )

    def label(self, state: State | None) -> str:
        return str((state or {}).get("project_id") or "?")

    def do_plan(self, current: State | None, planned: State) -> State:
        return plan_labels(self.google.default_labels, current, planned)

    def do_create(self, planned: State) -> State | None:
        from google.cloud.resourcemanager_v3 import Project as ProjectMessage

        labels = {**self.google.default_labels, **(planned.get("labels") or {})}
        message = ProjectMessage(
            project_id=planned["project_id"],
            display_name=planned["name"],
            parent=_parent(planned),
            labels=labels,
        )
        self.google.client("projects").create_project(project=message).result(timeout=60)
        return self.do_read(planned)

    def do_read(self, current: State) -> State | None:
        project_id = current.get("project_id") or str(current["id"]).removeprefix("projects/")
        try:
            p = self.google.client("projects").get_project(name=f"projects/{project_id}")
        except Exception as exc:
            if _is_gone(exc):
                return None
            raise
        if p.state.name == "DELETE_REQUESTED":
            return None  # as the real provider: a project pending deletion is gone
        folder_id = org_id = None
        if p.parent.startswith("folders/"):
            number = p.parent.removeprefix("folders/")
            folder_id = p.parent if str(current.get("folder_id") or "").startswith("folders/") else number
        elif p.parent.startswith("organizations/"):
            org_id = p.parent.removeprefix("organizations/")
        skip, network = current.get("skip_delete"), current.get("auto_create_network")
        return {
            "id": f"projects/{p.project_id}",
            "project_id": p.project_id,
            "name": p.display_name,
            "number": p.name.removeprefix("projects/"),
            "folder_id": folder_id,
            "org_id": org_id,
            "skip_delete": bool(skip) if skip is not None else False,
            "auto_create_network": bool(network) if network is not None else True,
            **read_labels(dict(p.labels), current),
        }

    def do_update(self, current: State, planned: State) -> State | None:
        from google.cloud.resourcemanager_v3 import Project as ProjectMessage
        from google.protobuf.field_mask_pb2 import FieldMask

        projects = self.google.client("projects")
        name = f"projects/{current['project_id']}"
        parent = _parent(planned)
        if parent and parent != _parent(current):
            projects.move_project(name=name, destination_parent=parent).result(timeout=60)
        paths = []
        if planned["name"] != current.get("name"):
            paths.append("display_name")
        if planned.get("effective_labels") != current.get("effective_labels"):
            paths.append("labels")
        if paths:
            message = ProjectMessage(
                name=name, display_name=planned["name"], labels=planned.get("effective_labels") or {}
            )
            projects.update_project(project=message, update_mask=FieldMask(paths=paths)).result(timeout=60)
        return self.do_read(planned)

    def do_delete(self, current: State) -> None:
        if current.get("skip_delete"):
            return
        try:
            self.google.client("projects").delete_project(name=f"projects/{current['project_id']}").result(
                timeout=60
            )
        except Exception as exc:
            if not _is_gone(exc):
                raise

    def import_state(self, resource_id: str) -> State:
        project_id = resource_id.removeprefix("projects/")
        return {
            "id": f"projects/{project_id}",
            "project_id": project_id,
            "labels": None,
            "terraform_labels": None,
        }
