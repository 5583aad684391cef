"""aws_iam_role: id (the name), name, arn, unique_id, assume_role_policy (JSON, compared as
data), description, path, max_session_duration, force_detach_policies, create_date, tags, tags_all."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from tf.schema import Attribute, Schema
from tf.types import Bool, NormalizedJson, Number, String

from orchestrate_emulate.providers._runtime import ProviderError, State
from orchestrate_emulate.providers.aws._base import (
    AwsResource,
    error_code,
    tag_attributes,
    tag_dict,
    tag_list,
)


def _policy(document: Any) -> Any:
    """boto3 hands policy documents back as dicts; some servers leave them URL-encoded text."""
    if isinstance(document, str):
        text = unquote(document) if document.startswith("%7B") else document
        return json.loads(text)
    return document


class IamRole(AwsResource):
    name = "iam_role"
    display = "IAM Role"

    @classmethod
    def build_schema(cls) -> Schema:
        return Schema(
            version=0,
            attributes=[
                Attribute("id", String(), computed=True),
                Attribute("name", String(), optional=True, computed=True, requires_replace=True),
                Attribute("arn", String(), computed=True),
                Attribute("unique_id", String(), computed=True),
                Attribute("assume_role_policy", NormalizedJson(), required=True),
                Attribute("description", String(), optional=True),
                Attribute("path", String(), optional=True, computed=True, default="/", requires_replace=True),
                Attribute("max_session_duration", Number(), optional=True, computed=True, default=3600),
                Attribute("force_detach_policies", Bool(), optional=True, computed=True, default=False),
                Attribute("create_date", String(), computed=True),
                *tag_attributes(),
            ],
        )

    def do_create(self, planned: State) -> State | None:
        iam = self.client("iam")
        name = planned.get("name")
        if not name:
            raise ProviderError("name is required by this stand-in (name_prefix is not supported)")
        kwargs: dict[str, Any] = {
            "RoleName": name,
            "AssumeRolePolicyDocument": json.dumps(planned["assume_role_policy"]),
            "Path": planned.get("path") or "/",
            "MaxSessionDuration": int(planned.get("max_session_duration") or 3600),
        }
        if planned.get("description"):
            kwargs["Description"] = planned["description"]
        tags = self.desired_tags(planned)
        if tags:
            kwargs["Tags"] = tag_list(tags)
        iam.create_role(**kwargs)
        return self.do_read({**planned, "id": name})

    def do_read(self, current: State) -> State | None:
        iam = self.client("iam")
        try:
            role = iam.get_role(RoleName=current["id"])["Role"]
            tags = tag_dict(iam.list_role_tags(RoleName=current["id"]).get("Tags"))
        except Exception as exc:
            if error_code(exc) == "NoSuchEntity":
                return None
            raise
        force = current.get("force_detach_policies")
        created = role.get("CreateDate")
        return {
            "id": role["RoleName"],
            "name": role["RoleName"],
            "arn": role["Arn"],
            "unique_id": role["RoleId"],
            "assume_role_policy": _policy(role["AssumeRolePolicyDocument"]),
            "description": role.get("Description") or (None if current.get("description") is None else ""),
            "path": role.get("Path", "/"),
            "max_session_duration": int(role.get("MaxSessionDuration", 3600)),
            "force_detach_policies": bool(force) if force is not None else False,
            "create_date": created.strftime("%Y-%m-%dT%H:%M:%SZ")
            if hasattr(created, "strftime")
            else str(created),
            **self.tag_state(tags, current),
        }

    def do_update(self, current: State, planned: State) -> State | None:
        iam = self.client("iam")
        name = current["id"]
        if planned["assume_role_policy"] != current.get("assume_role_policy"):
            iam.update_assume_role_policy(
                RoleName=name, PolicyDocument=json.dumps(planned["assume_role_policy"])
            )
        if (planned.get("description"), planned.get("max_session_duration")) != (
            current.get("description"),
            current.get("max_session_duration"),
        ):
            kwargs: dict[str, Any] = {
                "RoleName": name,
                "MaxSessionDuration": int(planned.get("max_session_duration") or 3600),
            }
            kwargs["Description"] = planned.get("description") or ""
            iam.update_role(**kwargs)
        self.sync_tags(
            planned,
            tag_dict(iam.list_role_tags(RoleName=name).get("Tags")),
            lambda gone: iam.untag_role(RoleName=name, TagKeys=gone),
            lambda want: iam.tag_role(RoleName=name, Tags=tag_list(want)),
        )
        return self.do_read({**planned, "id": name})

    def do_delete(self, current: State) -> None:
        iam = self.client("iam")
        name = current["id"]
        try:
            if current.get("force_detach_policies"):
                for p in iam.list_attached_role_policies(RoleName=name).get("AttachedPolicies", []):
                    iam.detach_role_policy(RoleName=name, PolicyArn=p["PolicyArn"])
                for p in iam.list_role_policies(RoleName=name).get("PolicyNames", []):
                    iam.delete_role_policy(RoleName=name, PolicyName=p)
            iam.delete_role(RoleName=name)
        except Exception as exc:
            if error_code(exc) != "NoSuchEntity":
                raise

    def import_state(self, resource_id: str) -> State:
        return {"id": resource_id, "tags": None, "description": None}
