"""A small AWS estate in moto: real resources made through boto3, a repository whose stacks
hold the matching state files (as terraform would have written them after an apply).

Shared by the drift tests and bench/drift.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from tests.drift import statefiles as sf

REGION = "eu-west-1"
AMI = "ami-12c6146b"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
ASSUME_EC2 = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


def client(service: str, endpoint: str, region: str = REGION) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name=region, **CREDENTIALS)


def orchestrate_yaml(endpoint: str, *, extra_clouds: str = "", redact: str = "") -> str:
    text = (
        "version: 1\n"
        "stacks_dir: stacks\n"
        "clouds:\n"
        f"  aws-test: {{provider: aws, region: {REGION}, endpoint: '{endpoint}'}}\n" + extra_clouds
    )
    if redact:
        text += f"redact:\n  - {json.dumps(redact)}\n"
    return text


def stack_files(stack_id: str, cloud: str | None, tf: str, extra_yaml: str = "") -> dict[str, str]:
    yaml = (f"cloud: {cloud}\n" if cloud else "") + extra_yaml
    return {f"stacks/{stack_id}/stack.yaml": yaml, f"stacks/{stack_id}/main.tf": tf}


def state_path(root: Path, stack_id: str) -> Path:
    return root / ".orchestrate" / "state" / stack_id / "terraform.tfstate"


@dataclass
class Estate:
    endpoint: str
    files: dict[str, str]
    states: dict[str, list[sf.Instance]]
    ids: dict[str, str] = field(default_factory=dict)  # handy live ids: sg, vpc, queue url, ...

    def write(self, root: Path) -> None:
        for stack_id, instances in self.states.items():
            sf.write_state(state_path(root, stack_id), instances)


TF_STORAGE = """\
module "logs" {
  source = "../../../modules/bucket"
  name   = "acme-logs"
}

resource "aws_s3_bucket" "assets" {
  bucket = "acme-assets"
  tags   = { owner = "team-a" }
}

resource "aws_sqs_queue" "jobs" {
  name = "acme-jobs"
}

resource "aws_sns_topic" "events" {
  name = "acme-events"
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
"""

TF_MODULE = """\
variable "name" {
  type = string
}

resource "aws_s3_bucket" "this" {
  bucket = var.name
  tags   = { owner = "team-a", environment = "prod" }
}
"""

TF_NETWORK = """\
resource "aws_vpc" "main" {
  cidr_block = "10.20.0.0/16"
}

resource "aws_subnet" "app" {
  vpc_id     = aws_vpc.main.id
  cidr_block = "10.20.1.0/24"
}

resource "aws_security_group" "web" {
  name   = "acme-web"
  vpc_id = aws_vpc.main.id
}

resource "aws_instance" "app" {
  ami           = "ami-12c6146b"
  instance_type = "t3.micro"
  subnet_id     = aws_subnet.app.id
}
"""

TF_IAM = """\
resource "aws_iam_role" "worker" {
  name               = "acme-worker"
  assume_role_policy = jsonencode({})
}
"""


def build_storage(endpoint: str) -> list[sf.Instance]:
    s3 = client("s3", endpoint)
    location = {"LocationConstraint": REGION}
    s3.create_bucket(Bucket="acme-logs", CreateBucketConfiguration=location)
    logs_tags = {"owner": "team-a", "environment": "prod"}
    s3.put_bucket_tagging(
        Bucket="acme-logs", Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in logs_tags.items()]}
    )
    s3.create_bucket(Bucket="acme-assets", CreateBucketConfiguration=location)
    s3.put_bucket_tagging(Bucket="acme-assets", Tagging={"TagSet": [{"Key": "owner", "Value": "team-a"}]})
    sqs = client("sqs", endpoint)
    url = sqs.create_queue(QueueName="acme-jobs", Attributes={"MessageRetentionPeriod": "345600"})["QueueUrl"]
    sns = client("sns", endpoint)
    topic = sns.create_topic(Name="acme-events")["TopicArn"]
    policy = sns.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"]
    ddb = client("dynamodb", endpoint)
    ddb.create_table(
        TableName="acme-sessions",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    return [
        sf.Instance(
            "aws_s3_bucket", "this", sf.s3_bucket("acme-logs", REGION, logs_tags), module="module.logs"
        ),
        sf.Instance("aws_s3_bucket", "assets", sf.s3_bucket("acme-assets", REGION, {"owner": "team-a"})),
        sf.Instance("aws_sqs_queue", "jobs", sf.sqs_queue("acme-jobs", url, REGION)),
        sf.Instance("aws_sns_topic", "events", sf.sns_topic(topic, policy)),
        sf.Instance(
            "aws_dynamodb_table", "sessions", sf.dynamodb_table("acme-sessions", REGION), schema_version=1
        ),
    ]


def build_network(endpoint: str, ids: dict[str, str]) -> list[sf.Instance]:
    ec2 = client("ec2", endpoint)
    vpc_id = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    az = f"{REGION}a"
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.20.1.0/24", AvailabilityZone=az)["Subnet"][
        "SubnetId"
    ]
    sg_id = ec2.create_security_group(GroupName="acme-web", Description="Managed by Terraform", VpcId=vpc_id)[
        "GroupId"
    ]
    ec2.authorize_security_group_ingress(
        GroupId=sg_id,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "IpRanges": [{"CidrIp": "10.0.0.0/8", "Description": "HTTPS"}],
            }
        ],
    )
    # A new group already allows all egress; terraform's egress block matches it.
    image = AMI  # describe_images would cost moto a second per test
    inst = ec2.run_instances(
        ImageId=image,
        InstanceType="t3.micro",
        MinCount=1,
        MaxCount=1,
        SubnetId=subnet_id,
        SecurityGroupIds=[sg_id],
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "acme-app"}]}],
    )["Instances"][0]
    ids.update(vpc=vpc_id, subnet=subnet_id, sg=sg_id, instance=inst["InstanceId"])
    ingress = [sf.sg_rule("tcp", 443, 443, ["10.0.0.0/8"], "HTTPS")]
    egress = [sf.sg_rule("-1", 0, 0, ["0.0.0.0/0"])]
    return [
        sf.Instance("aws_vpc", "main", sf.vpc(vpc_id, "10.20.0.0/16", REGION), schema_version=1),
        sf.Instance(
            "aws_subnet", "app", sf.subnet(subnet_id, vpc_id, "10.20.1.0/24", az, REGION), schema_version=1
        ),
        sf.Instance(
            "aws_security_group",
            "web",
            sf.security_group(
                sg_id, "acme-web", "Managed by Terraform", vpc_id, REGION, ingress=ingress, egress=egress
            ),
            schema_version=1,
        ),
        sf.Instance(
            "aws_instance",
            "app",
            sf.instance(
                inst["InstanceId"],
                image,
                "t3.micro",
                subnet_id,
                az,
                inst["PrivateIpAddress"],
                [sg_id],
                REGION,
                {"Name": "acme-app"},
            ),
            schema_version=1,
        ),
    ]


def build_iam(endpoint: str) -> list[sf.Instance]:
    iam = client("iam", endpoint)
    tags = {"team": "platform"}
    iam.create_role(
        RoleName="acme-worker",
        AssumeRolePolicyDocument=json.dumps(ASSUME_EC2),
        Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
    )
    return [sf.Instance("aws_iam_role", "worker", sf.iam_role("acme-worker", ASSUME_EC2, tags))]


def build_estate(endpoint: str, *, extra_files: dict[str, str] | None = None, **yaml_kwargs: Any) -> Estate:
    """Three stacks (storage, network, iam) on the target aws-test, all in sync with moto."""
    ids: dict[str, str] = {}
    states = {
        "aws/storage": build_storage(endpoint),
        "aws/network": build_network(endpoint, ids),
        "aws/iam": build_iam(endpoint),
    }
    files = {
        "orchestrate.yaml": orchestrate_yaml(endpoint, **yaml_kwargs),
        "modules/bucket/main.tf": TF_MODULE,
        **stack_files("aws/storage", "aws-test", TF_STORAGE),
        **stack_files("aws/network", "aws-test", TF_NETWORK),
        **stack_files("aws/iam", "aws-test", TF_IAM),
        ".gitignore": ".orchestrate/\n",
        **(extra_files or {}),
    }
    return Estate(endpoint, files, states, ids)


OutOfBand = Callable[[str, dict[str, str]], None]


def edit_tag(endpoint: str, ids: dict[str, str]) -> None:
    del ids
    client("s3", endpoint).put_bucket_tagging(
        Bucket="acme-logs",
        Tagging={"TagSet": [{"Key": "owner", "Value": "team-b"}, {"Key": "environment", "Value": "prod"}]},
    )


def add_ingress(endpoint: str, ids: dict[str, str]) -> None:
    client("ec2", endpoint).authorize_security_group_ingress(
        GroupId=ids["sg"],
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
        ],
    )


def delete_bucket(endpoint: str, ids: dict[str, str]) -> None:
    del ids
    client("s3", endpoint).delete_bucket(Bucket="acme-assets")


def create_bucket(endpoint: str, ids: dict[str, str]) -> None:
    del ids
    client("s3", endpoint).create_bucket(
        Bucket="shadow-bucket", CreateBucketConfiguration={"LocationConstraint": REGION}
    )
