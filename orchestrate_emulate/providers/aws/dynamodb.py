"""aws_dynamodb_table: id (the name), name, arn, billing_mode, hash_key, range_key, read_capacity,
write_capacity, attribute blocks (name, type), deletion_protection_enabled, tags, tags_all.

Changing the key attributes or the attribute definitions replaces the table (the subset has no
indexes, so every attribute must be a key attribute, as DynamoDB demands).
"""

from __future__ import annotations

from typing import Any

from tf.blocks import SetNestedBlock
from tf.schema import Attribute, Block, Schema
from tf.types import Bool, Number, String

from orchestrate_emulate.providers._runtime import ProviderError, State
from orchestrate_emulate.providers.aws._base import (
    AwsResource,
    error_code,
    tag_attributes,
    tag_dict,
    tag_list,
)


class DynamodbTable(AwsResource):
    name = "dynamodb_table"
    display = "DynamoDB Table"
    replace_blocks = ("attribute",)

    @classmethod
    def build_schema(cls) -> Schema:
        return Schema(
            version=0,
            attributes=[
                Attribute("id", String(), computed=True),
                Attribute("name", String(), required=True, requires_replace=True),
                Attribute("arn", String(), computed=True),
                Attribute("billing_mode", String(), optional=True, computed=True, default="PROVISIONED"),
                Attribute("hash_key", String(), required=True, requires_replace=True),
                Attribute("range_key", String(), optional=True, requires_replace=True),
                Attribute("read_capacity", Number(), optional=True, computed=True),
                Attribute("write_capacity", Number(), optional=True, computed=True),
                Attribute("deletion_protection_enabled", Bool(), optional=True),
                *tag_attributes(),
            ],
            block_types=[
                SetNestedBlock(
                    "attribute",
                    Block(
                        attributes=[
                            Attribute("name", String(), required=True),
                            Attribute("type", String(), required=True),
                        ]
                    ),
                )
            ],
        )

    def do_plan(self, current: State | None, planned: State) -> State:
        planned = super().do_plan(current, planned)
        if planned.get("billing_mode") == "PAY_PER_REQUEST":
            # DynamoDB reports no provisioned capacity for on-demand tables.
            for key in ("read_capacity", "write_capacity"):
                if planned.get(key) is None or current is None:
                    planned[key] = planned.get(key) or 0
        return planned

    def _throughput(self, planned: State) -> dict[str, int]:
        read, write = planned.get("read_capacity"), planned.get("write_capacity")
        if not read or not write:
            raise ProviderError(
                "read_capacity and write_capacity are required when billing_mode is PROVISIONED"
            )
        return {"ReadCapacityUnits": int(read), "WriteCapacityUnits": int(write)}

    def do_create(self, planned: State) -> State | None:
        ddb = self.client("dynamodb")
        keys = [{"AttributeName": planned["hash_key"], "KeyType": "HASH"}]
        if planned.get("range_key"):
            keys.append({"AttributeName": planned["range_key"], "KeyType": "RANGE"})
        defined = {a["name"] for a in planned.get("attribute") or []}
        missing = [k["AttributeName"] for k in keys if k["AttributeName"] not in defined]
        if missing:
            raise ProviderError(f"the key attribute(s) {', '.join(missing)} need an attribute block")
        kwargs: dict[str, Any] = {
            "TableName": planned["name"],
            "KeySchema": keys,
            "AttributeDefinitions": [
                {"AttributeName": a["name"], "AttributeType": a["type"]}
                for a in planned.get("attribute") or []
            ],
            "BillingMode": planned.get("billing_mode") or "PROVISIONED",
        }
        if kwargs["BillingMode"] == "PROVISIONED":
            kwargs["ProvisionedThroughput"] = self._throughput(planned)
        if planned.get("deletion_protection_enabled"):
            kwargs["DeletionProtectionEnabled"] = True
        tags = self.desired_tags(planned)
        if tags:
            kwargs["Tags"] = tag_list(tags)
        ddb.create_table(**kwargs)
        ddb.get_waiter("table_exists").wait(
            TableName=planned["name"], WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )
        return self.do_read({**planned, "id": planned["name"]})

    def do_read(self, current: State) -> State | None:
        ddb = self.client("dynamodb")
        try:
            table = ddb.describe_table(TableName=current["id"])["Table"]
            tags = tag_dict(ddb.list_tags_of_resource(ResourceArn=table["TableArn"]).get("Tags"))
        except Exception as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return None
            raise
        keys = {k["KeyType"]: k["AttributeName"] for k in table.get("KeySchema", [])}
        throughput = table.get("ProvisionedThroughput") or {}
        protection = table.get("DeletionProtectionEnabled")
        return {
            "id": table["TableName"],
            "name": table["TableName"],
            "arn": table["TableArn"],
            "billing_mode": (table.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED"),
            "hash_key": keys.get("HASH"),
            "range_key": keys.get("RANGE"),
            "read_capacity": int(throughput.get("ReadCapacityUnits", 0)),
            "write_capacity": int(throughput.get("WriteCapacityUnits", 0)),
            "deletion_protection_enabled": bool(protection)
            if protection or current.get("deletion_protection_enabled") is not None
            else None,
            "attribute": [
                {"name": a["AttributeName"], "type": a["AttributeType"]}
                for a in table.get("AttributeDefinitions", [])
            ],
            **self.tag_state(tags, current),
        }

    def do_update(self, current: State, planned: State) -> State | None:
        ddb = self.client("dynamodb")
        name = current["id"]
        kwargs: dict[str, Any] = {}
        mode = planned.get("billing_mode") or "PROVISIONED"
        if mode != current.get("billing_mode"):
            kwargs["BillingMode"] = mode
        if mode == "PROVISIONED" and (
            planned.get("read_capacity") != current.get("read_capacity")
            or planned.get("write_capacity") != current.get("write_capacity")
            or "BillingMode" in kwargs
        ):
            kwargs["ProvisionedThroughput"] = self._throughput(planned)
        if bool(planned.get("deletion_protection_enabled")) != bool(
            current.get("deletion_protection_enabled")
        ):
            kwargs["DeletionProtectionEnabled"] = bool(planned.get("deletion_protection_enabled"))
        if kwargs:
            ddb.update_table(TableName=name, **kwargs)
        arn = current["arn"]
        self.sync_tags(
            planned,
            tag_dict(ddb.list_tags_of_resource(ResourceArn=arn).get("Tags")),
            lambda gone: ddb.untag_resource(ResourceArn=arn, TagKeys=gone),
            lambda want: ddb.tag_resource(ResourceArn=arn, Tags=tag_list(want)),
        )
        return self.do_read({**planned, "id": name})

    def do_delete(self, current: State) -> None:
        try:
            self.client("dynamodb").delete_table(TableName=current["id"])
        except Exception as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise

    def import_state(self, resource_id: str) -> State:
        return {"id": resource_id, "tags": None, "deletion_protection_enabled": None}
