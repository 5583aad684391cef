"""aws_s3_bucket: id, bucket, arn, bucket_domain_name, bucket_regional_domain_name,
hosted_zone_id, region, force_destroy, tags, tags_all."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tf.schema import Attribute, Schema
from tf.types import Bool, String

from orchestrate_emulate.providers._runtime import ProviderError, State
from orchestrate_emulate.providers.aws._base import (
    AwsResource,
    error_code,
    tag_attributes,
    tag_dict,
    tag_list,
)

# Route 53 hosted zone ids of the S3 website endpoints, as the real provider reports them.
HOSTED_ZONES = {
    "us-east-1": "Z3AQBSTGFYJSTF",
    "us-west-2": "Z3BJ6K6RIION7M",
    "eu-west-1": "Z1BKCTXD74EZPE",
    "eu-central-1": "Z21DNDUVLTQW6Q",
}


class S3Bucket(AwsResource):
    name = "s3_bucket"
    display = "S3 Bucket"

    @classmethod
    def build_schema(cls) -> Schema:
        return Schema(
            version=0,
            attributes=[
                Attribute("id", String(), computed=True),
                Attribute("bucket", String(), optional=True, computed=True, requires_replace=True),
                Attribute("arn", String(), computed=True),
                Attribute("bucket_domain_name", String(), computed=True),
                Attribute("bucket_regional_domain_name", String(), computed=True),
                Attribute("hosted_zone_id", String(), computed=True),
                Attribute("region", String(), computed=True),
                Attribute("force_destroy", Bool(), optional=True, computed=True, default=False),
                *tag_attributes(),
            ],
        )

    def do_create(self, planned: State) -> State | None:
        s3 = self.client("s3")
        name = planned.get("bucket") or "terraform-" + datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
        kwargs: dict[str, Any] = {"Bucket": name}
        if self.aws.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.aws.region}
        s3.create_bucket(**kwargs)
        tags = self.desired_tags(planned)
        if tags:
            s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tag_list(tags)})
        return self.do_read({**planned, "id": name, "bucket": name})

    def do_read(self, current: State) -> State | None:
        s3 = self.client("s3")
        name = current.get("bucket") or current["id"]
        try:
            s3.head_bucket(Bucket=name)
        except Exception as exc:
            if error_code(exc) in ("404", "NoSuchBucket", "NotFound"):
                return None
            raise
        region = s3.get_bucket_location(Bucket=name).get("LocationConstraint") or "us-east-1"
        try:
            live = tag_dict(s3.get_bucket_tagging(Bucket=name).get("TagSet"))
        except Exception as exc:
            if error_code(exc) != "NoSuchTagSet":
                raise
            live = {}
        force = current.get("force_destroy")
        return {
            "id": name,
            "bucket": name,
            "arn": f"arn:aws:s3:::{name}",
            "bucket_domain_name": f"{name}.s3.amazonaws.com",
            "bucket_regional_domain_name": f"{name}.s3.{region}.amazonaws.com",
            "hosted_zone_id": HOSTED_ZONES.get(region, "Z3AQBSTGFYJSTF"),
            "region": region,
            "force_destroy": bool(force) if force is not None else False,
            **self.tag_state(live, current),
        }

    def do_update(self, current: State, planned: State) -> State | None:
        s3 = self.client("s3")
        name = current["id"]
        tags = self.desired_tags(planned)
        if tags:
            s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tag_list(tags)})
        else:
            s3.delete_bucket_tagging(Bucket=name)
        return self.do_read({**planned, "id": name})

    def do_delete(self, current: State) -> None:
        s3 = self.client("s3")
        name = current["id"]
        if current.get("force_destroy"):
            paginator = s3.get_paginator("list_object_versions")
            for page in paginator.paginate(Bucket=name):
                doomed = [
                    {"Key": v["Key"], "VersionId": v["VersionId"]}
                    for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
                ]
                if doomed:
                    s3.delete_objects(Bucket=name, Delete={"Objects": doomed})
        try:
            s3.delete_bucket(Bucket=name)
        except Exception as exc:
            if error_code(exc) == "BucketNotEmpty":
                raise ProviderError(
                    f"BucketNotEmpty: the bucket {name} holds objects; set force_destroy = true to delete them with it"
                ) from exc
            if error_code(exc) not in ("NoSuchBucket", "404"):
                raise

    def import_state(self, resource_id: str) -> State:
        return {"id": resource_id, "bucket": resource_id, "force_destroy": False, "tags": None}
