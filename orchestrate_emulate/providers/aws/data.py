"""Data sources: aws_caller_identity (account_id, arn, user_id, id) and aws_region (name, id,
description, endpoint)."""

from __future__ import annotations

from tf.schema import Attribute, Schema
from tf.types import String

from orchestrate_emulate.providers._runtime import BaseDataSource, State


class CallerIdentity(BaseDataSource):
    name = "caller_identity"
    display = "aws_caller_identity"

    @classmethod
    def build_schema(cls) -> Schema:
        return Schema(
            version=0,
            attributes=[
                Attribute(n, String(), computed=True) for n in ("id", "account_id", "arn", "user_id")
            ],
        )

    def do_read(self, config: State) -> State | None:
        ident = self.provider.client("sts").get_caller_identity()
        return {
            "id": ident["Account"],
            "account_id": ident["Account"],
            "arn": ident["Arn"],
            "user_id": ident["UserId"],
        }


class Region(BaseDataSource):
    name = "region"
    display = "aws_region"

    @classmethod
    def build_schema(cls) -> Schema:
        return Schema(
            version=0,
            attributes=[
                Attribute("name", String(), optional=True, computed=True),
                Attribute("id", String(), computed=True),
                Attribute("description", String(), computed=True),
                Attribute("endpoint", String(), computed=True),
            ],
        )

    def do_read(self, config: State) -> State | None:
        region = config.get("name") or self.provider.region
        return {
            "name": region,
            "id": region,
            "description": region,
            "endpoint": f"ec2.{region}.amazonaws.com",
        }
