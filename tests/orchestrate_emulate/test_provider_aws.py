"""The stand-in hashicorp/aws runs real Terraform against moto: apply, drift, restore, recreate, destroy."""

from __future__ import annotations

import json

import pytest

from tests.orchestrate_emulate.conftest import Terraform, boto, changes_of, drift_of

pytestmark = pytest.mark.integration

ESTATE = """
terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}
provider "aws" {
  default_tags { tags = { managed_by = "terraform" } }
}
resource "aws_s3_bucket" "logs" {
  bucket        = "acme-logs"
  force_destroy = true
  tags          = { owner = "team-a" }
}
resource "aws_sqs_queue" "jobs" {
  name                      = "acme-jobs"
  message_retention_seconds = 86400
  tags                      = { owner = "team-a" }
}
resource "aws_security_group" "web" {
  name        = "acme-web"
  description = "HTTPS in"
  ingress {
    description = "HTTPS"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["10.0.0.0/8"]
  }
  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
resource "aws_iam_role" "worker" {
  name = "acme-worker"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = "ec2.amazonaws.com" }, Action = "sts:AssumeRole" }]
  })
}
resource "aws_dynamodb_table" "sessions" {
  name         = "acme-sessions"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "id"
  attribute {
    name = "id"
    type = "S"
  }
}
data "aws_caller_identity" "me" {}
output "account" { value = data.aws_caller_identity.me.account_id }
output "queue_url" { value = aws_sqs_queue.jobs.url }
"""


def _attrs(state: dict[str, object], address: str) -> dict[str, object]:
    for r in state["values"]["root_module"]["resources"]:  # type: ignore[index]
        if r["address"] == address:
            return r["values"]  # type: ignore[no-any-return]
    raise AssertionError(f"{address} not in state")


def test_apply_drift_restore_recreate_and_destroy(tf_newest: Terraform) -> None:
    tf = tf_newest
    tf.write(ESTATE)
    tf("init", "-input=false")
    plan = tf.plan_json()
    assert changes_of(plan) == {
        a: ["create"]
        for a in (
            "aws_s3_bucket.logs",
            "aws_sqs_queue.jobs",
            "aws_security_group.web",
            "aws_iam_role.worker",
            "aws_dynamodb_table.sessions",
        )
    }
    bucket_plan = next(r for r in plan["resource_changes"] if r["address"] == "aws_s3_bucket.logs")
    # tags_all is known at plan time, as with the real provider (default tags merged in)
    assert bucket_plan["change"]["after"]["tags_all"] == {"owner": "team-a", "managed_by": "terraform"}
    tf("apply", "-input=false", "tfplan")
    assert tf("plan", "-input=false", "-detailed-exitcode").returncode == 0

    state = tf.state_json()
    bucket = _attrs(state, "aws_s3_bucket.logs")
    assert (bucket["id"], bucket["arn"], bucket["region"]) == (
        "acme-logs",
        "arn:aws:s3:::acme-logs",
        "eu-west-1",
    )
    role = _attrs(state, "aws_iam_role.worker")
    assert str(role["arn"]).endswith(":role/acme-worker") and role["unique_id"]
    assert json.loads(str(role["assume_role_policy"]))["Statement"][0]["Action"] == "sts:AssumeRole"
    sg = _attrs(state, "aws_security_group.web")
    assert [r["from_port"] for r in sg["ingress"]] == [443]  # type: ignore[attr-defined]
    assert json.loads(tf("output", "-json").stdout)["account"]["value"] == "123456789012"

    # The objects really exist in moto, tagged with the default tags too.
    s3 = boto(tf.env, "s3")
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket="acme-logs")["TagSet"]}
    assert tags == {"owner": "team-a", "managed_by": "terraform"}
    ec2 = boto(tf.env, "ec2")
    group = ec2.describe_security_groups(GroupIds=[sg["id"]])["SecurityGroups"][0]
    assert [p.get("FromPort") for p in group["IpPermissions"]] == [443]
    assert [r["CidrIp"] for p in group["IpPermissionsEgress"] for r in p["IpRanges"]] == ["0.0.0.0/0"]

    # Out of band: a tag changes, an ingress rule opens, a table disappears.
    s3.put_bucket_tagging(
        Bucket="acme-logs",
        Tagging={
            "TagSet": [{"Key": "owner", "Value": "team-b"}, {"Key": "managed_by", "Value": "terraform"}]
        },
    )
    ec2.authorize_security_group_ingress(
        GroupId=sg["id"],
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
        ],
    )
    boto(tf.env, "dynamodb").delete_table(TableName="acme-sessions")

    drift = tf.plan_json("-refresh-only")
    assert drift_of(drift) == {
        "aws_s3_bucket.logs": ["update"],
        "aws_security_group.web": ["update"],
        "aws_dynamodb_table.sessions": ["delete"],
    }
    changed = next(r for r in drift["resource_drift"] if r["address"] == "aws_s3_bucket.logs")["change"]
    assert (changed["before"]["tags"]["owner"], changed["after"]["tags"]["owner"]) == ("team-a", "team-b")

    restore = tf.plan_json()
    assert changes_of(restore) == {
        "aws_s3_bucket.logs": ["update"],
        "aws_security_group.web": ["update"],
        "aws_dynamodb_table.sessions": ["create"],
    }
    tf("apply", "-input=false", "tfplan")
    assert tf("plan", "-input=false", "-detailed-exitcode").returncode == 0
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket="acme-logs")["TagSet"]}
    assert tags["owner"] == "team-a"
    group = ec2.describe_security_groups(GroupIds=[sg["id"]])["SecurityGroups"][0]
    assert [p.get("FromPort") for p in group["IpPermissions"]] == [443]

    s3.put_object(Bucket="acme-logs", Key="a.txt", Body=b"x")  # force_destroy empties it
    tf("destroy", "-auto-approve", "-input=false")
    assert s3.list_buckets()["Buckets"] == []
    assert boto(tf.env, "sqs").list_queues().get("QueueUrls", []) == []
    assert boto(tf.env, "iam").list_roles()["Roles"] == []


def test_rename_replaces_and_import_adopts(tf_newest: Terraform) -> None:
    tf = tf_newest
    tf.write(
        'terraform {\n  required_providers {\n    aws = { source = "hashicorp/aws" }\n  }\n}\n'
        'resource "aws_sqs_queue" "q" {\n  name = "acme-one"\n}\n'
        'resource "aws_s3_bucket" "b" {\n  bucket = "acme-adopted"\n}\n'
    )
    tf("init", "-input=false")
    boto(tf.env, "s3").create_bucket(
        Bucket="acme-adopted", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    tf("import", "-input=false", "aws_s3_bucket.b", "acme-adopted")
    plan = tf.plan_json()
    assert changes_of(plan) == {"aws_sqs_queue.q": ["create"]}  # the imported bucket matches its config
    tf("apply", "-input=false", "tfplan")
    tf.write((tf.cwd / "main.tf").read_text().replace("acme-one", "acme-two"))
    assert changes_of(tf.plan_json()) == {"aws_sqs_queue.q": ["delete", "create"]}
    tf("apply", "-input=false", "tfplan")
    urls = boto(tf.env, "sqs").list_queues()["QueueUrls"]
    assert [u.rsplit("/", 1)[1] for u in urls] == ["acme-two"]


def test_cloud_errors_become_terraform_diagnostics(tf_newest: Terraform) -> None:
    tf = tf_newest
    tf.write(
        'terraform {\n  required_providers {\n    aws = { source = "hashicorp/aws" }\n  }\n}\n'
        'resource "aws_s3_bucket" "b" {\n  bucket = "x"\n}\n'
    )
    tf("init", "-input=false")
    failed = tf("apply", "-auto-approve", "-input=false", ok=(1,))
    assert "creating S3 Bucket (x): InvalidBucketName" in failed.stderr
    assert "Traceback" not in failed.stderr


def test_refuses_to_run_without_an_emulated_endpoint(tf_newest: Terraform) -> None:
    tf = tf_newest
    del tf.env["AWS_ENDPOINT_URL"]
    tf.write(
        'terraform {\n  required_providers {\n    aws = { source = "hashicorp/aws" }\n  }\n}\n'
        'resource "aws_sqs_queue" "q" {\n  name = "acme-one"\n}\n'
    )
    tf("init", "-input=false")
    failed = tf("plan", "-input=false", ok=(1,))
    assert "only talks to an emulated AWS" in failed.stderr
