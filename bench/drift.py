"""Drift scan cost: 2,000 AWS resources across 10 stacks in moto (prints figures).

    python bench/drift.py [--resources 2000] [--stacks 10]

Two estates, each built in a fresh moto server with its state files written as the AWS
provider records them:

- "batched types": instances, security groups (with rules), subnets, VPCs, IAM roles, the
  types whose list calls carry every compared attribute;
- "all nine types": the same plus S3 buckets, SQS queues, SNS topics and DynamoDB tables,
  whose compared attributes AWS only returns per resource (versioning, queue and topic
  attributes, describe_table).

For each, ``orchestrate drift --mode api`` (in-process, default settings) is timed, and
every HTTP request boto3 sends is counted through botocore's ``before-send`` event (retries
included). In the same run, a naive reader making one describe call per resource (16 threads,
like the scan) is timed and counted on the same estate.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402

from orchestrator.clouds import ResolvedTarget  # noqa: E402
from orchestrator.drift.aws import AwsReader  # noqa: E402
from orchestrator.drift.scan import ScanIO, ScanOptions, scan  # noqa: E402
from orchestrator.workspace import Workspace  # noqa: E402
from tests.drift import statefiles as sf  # noqa: E402

REGION = "eu-west-1"
CREDS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": REGION}
POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
BATCHED = {"aws_instance": 50, "aws_security_group": 50, "aws_subnet": 50, "aws_vpc": 10, "aws_iam_role": 40}
ALL_NINE = {
    "aws_instance": 30,
    "aws_security_group": 30,
    "aws_subnet": 30,
    "aws_vpc": 10,
    "aws_iam_role": 30,
    "aws_s3_bucket": 20,
    "aws_sqs_queue": 20,
    "aws_sns_topic": 15,
    "aws_dynamodb_table": 15,
}


@dataclass
class Calls:
    """HTTP requests boto3 sent, by operation (botocore ``before-send``)."""

    by_op: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def hook(self, event_name: str = "before-send.?.?", **kwargs: Any) -> None:
        # The event is named before-send.<service>.<Operation>; it fires once per HTTP attempt.
        _, service, operation = [*event_name.split("."), "?", "?"][:3]
        with self.lock:
            self.by_op[f"{service}.{operation}"] += 1

    @property
    def total(self) -> int:
        return sum(self.by_op.values())

    def session(self) -> Any:
        s = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
        s.events.register("before-send", self.hook)
        return s


def client(endpoint: str, service: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, **CREDS)


def build(endpoint: str, repo: Path, stacks: int, mix: dict[str, int], scale: float) -> int:
    """Create the resources in moto and the stacks' state files; returns the resource count."""
    ec2, iam, s3 = client(endpoint, "ec2"), client(endpoint, "iam"), client(endpoint, "s3")
    sqs, sns, ddb = client(endpoint, "sqs"), client(endpoint, "sns"), client(endpoint, "dynamodb")
    count = {t: max(1, round(n * scale)) for t, n in mix.items()}
    total = 0
    (repo / "orchestrate.yaml").write_text(
        f"version: 1\nclouds:\n  aws-bench: {{provider: aws, region: {REGION}, endpoint: '{endpoint}'}}\n"
    )
    for s in range(stacks):
        sid = f"aws/s{s:02d}"
        d = repo / "stacks" / sid
        d.mkdir(parents=True)
        (d / "stack.yaml").write_text("cloud: aws-bench\n")
        (d / "main.tf").write_text("# resources created by bench/drift.py\n")
        inst: list[sf.Instance] = []
        tags = {"stack": sid, "owner": "bench"}
        tag_list = [{"Key": k, "Value": v} for k, v in tags.items()]
        vpcs = []
        for v in range(count.get("aws_vpc", 1)):
            cidr = f"10.{s * 20 + v}.0.0/16"
            vid = ec2.create_vpc(
                CidrBlock=cidr, TagSpecifications=[{"ResourceType": "vpc", "Tags": tag_list}]
            )["Vpc"]["VpcId"]
            vpcs.append((vid, s * 20 + v))
            if "aws_vpc" in count:
                inst.append(
                    sf.Instance(
                        "aws_vpc", "vpc", sf.vpc(vid, cidr, REGION, tags), index_key=v, schema_version=1
                    )
                )
        subnets = []
        for n in range(max(count.get("aws_subnet", 0), 1)):
            vid, octet = vpcs[n % len(vpcs)]
            cidr = f"10.{octet}.{n}.0/24"
            sn = ec2.create_subnet(
                VpcId=vid, CidrBlock=cidr, AvailabilityZone=f"{REGION}a",
                TagSpecifications=[{"ResourceType": "subnet", "Tags": tag_list}],
            )["Subnet"]["SubnetId"]  # fmt: skip
            subnets.append(sn)
            if "aws_subnet" in count:
                inst.append(
                    sf.Instance(
                        "aws_subnet",
                        "subnet",
                        sf.subnet(sn, vid, cidr, f"{REGION}a", REGION, tags),
                        index_key=n,
                        schema_version=1,
                    )
                )
        for g in range(count.get("aws_security_group", 0)):
            vid = vpcs[g % len(vpcs)][0]
            name = f"bench-{s}-{g}"
            gid = ec2.create_security_group(
                GroupName=name, Description="Managed by Terraform", VpcId=vid,
                TagSpecifications=[{"ResourceType": "security-group", "Tags": tag_list}],
            )["GroupId"]  # fmt: skip
            ec2.authorize_security_group_ingress(
                GroupId=gid,
                IpPermissions=[
                    {
                        "IpProtocol": "tcp",
                        "FromPort": 443,
                        "ToPort": 443,
                        "IpRanges": [{"CidrIp": "10.0.0.0/8"}],
                    }
                ],
            )
            ingress = [sf.sg_rule("tcp", 443, 443, ["10.0.0.0/8"])]
            egress = [sf.sg_rule("-1", 0, 0, ["0.0.0.0/0"])]
            attrs = sf.security_group(
                gid, name, "Managed by Terraform", vid, REGION, ingress=ingress, egress=egress, tags=tags
            )
            inst.append(sf.Instance("aws_security_group", "sg", attrs, index_key=g, schema_version=1))
        if count.get("aws_instance"):
            made = ec2.run_instances(
                ImageId="ami-12c6146b", InstanceType="t3.micro", MinCount=count["aws_instance"], MaxCount=count["aws_instance"],
                SubnetId=subnets[0], TagSpecifications=[{"ResourceType": "instance", "Tags": tag_list}],
            )["Instances"]  # fmt: skip
            for i, m in enumerate(made):
                groups = [g["GroupId"] for g in m.get("SecurityGroups", [])]
                attrs = sf.instance(
                    m["InstanceId"],
                    "ami-12c6146b",
                    "t3.micro",
                    subnets[0],
                    f"{REGION}a",
                    m["PrivateIpAddress"],
                    groups,
                    REGION,
                    tags,
                )
                inst.append(sf.Instance("aws_instance", "vm", attrs, index_key=i, schema_version=1))
        for r in range(count.get("aws_iam_role", 0)):
            name = f"bench-{s}-role-{r}"
            iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(POLICY), Tags=tag_list)
            inst.append(sf.Instance("aws_iam_role", "role", sf.iam_role(name, POLICY, tags), index_key=r))
        for b in range(count.get("aws_s3_bucket", 0)):
            name = f"bench-{s}-bucket-{b}"
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
            s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tag_list})
            inst.append(sf.Instance("aws_s3_bucket", "bucket", sf.s3_bucket(name, REGION, tags), index_key=b))
        for q in range(count.get("aws_sqs_queue", 0)):
            name = f"bench-{s}-queue-{q}"
            url = sqs.create_queue(QueueName=name, tags=tags)["QueueUrl"]
            inst.append(
                sf.Instance("aws_sqs_queue", "queue", sf.sqs_queue(name, url, REGION, tags), index_key=q)
            )
        for t in range(count.get("aws_sns_topic", 0)):
            arn = sns.create_topic(Name=f"bench-{s}-topic-{t}", Tags=tag_list)["TopicArn"]
            policy = sns.get_topic_attributes(TopicArn=arn)["Attributes"]["Policy"]
            inst.append(sf.Instance("aws_sns_topic", "topic", sf.sns_topic(arn, policy, tags), index_key=t))
        for t in range(count.get("aws_dynamodb_table", 0)):
            name = f"bench-{s}-table-{t}"
            ddb.create_table(
                TableName=name, BillingMode="PAY_PER_REQUEST", Tags=tag_list,
                AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            )  # fmt: skip
            inst.append(
                sf.Instance(
                    "aws_dynamodb_table",
                    "table",
                    sf.dynamodb_table(name, REGION, tags),
                    index_key=t,
                    schema_version=1,
                )
            )
        sf.write_state(repo / ".orchestrate" / "state" / sid / "terraform.tfstate", inst)
        total += len(inst)
    return total


def run_scan(repo: Path) -> tuple[float, Calls, Any]:
    calls = Calls()
    ws = Workspace.load(repo, use_cache=False)

    def reader(resolved: ResolvedTarget) -> Any:
        return AwsReader(resolved, calls.session())

    io = ScanIO(readers={"aws": reader}, commit=lambda root: None)
    started = time.perf_counter()
    report, _ = scan(ws, list(ws.graph.order), ScanOptions(), io)
    return time.perf_counter() - started, calls, report


def naive(repo: Path, endpoint: str) -> tuple[float, Calls]:
    """One describe call per resource in the states (the per-resource approach)."""
    from orchestrator.backends import effective_backend
    from orchestrator.drift.state import locate, read_state

    ws = Workspace.load(repo, use_cache=False)
    calls = Calls()
    session = calls.session()
    clients = {
        s: session.client(s, endpoint_url=endpoint) for s in ("ec2", "iam", "s3", "sqs", "sns", "dynamodb")
    }
    resources = []
    for stack in ws.stacks.values():
        loc = locate(effective_backend(stack, ws.config), stack.dir, ws.root)
        resources += read_state(loc, stack.id).resources
    describe: dict[str, Callable[[Any], Any]] = {
        "aws_instance": lambda r: clients["ec2"].describe_instances(InstanceIds=[r.id]),
        "aws_security_group": lambda r: clients["ec2"].describe_security_groups(GroupIds=[r.id]),
        "aws_subnet": lambda r: clients["ec2"].describe_subnets(SubnetIds=[r.id]),
        "aws_vpc": lambda r: clients["ec2"].describe_vpcs(VpcIds=[r.id]),
        "aws_iam_role": lambda r: clients["iam"].get_role(RoleName=r.id),
        "aws_s3_bucket": lambda r: clients["s3"].get_bucket_tagging(Bucket=r.id),
        "aws_sqs_queue": lambda r: clients["sqs"].get_queue_attributes(QueueUrl=r.id, AttributeNames=["All"]),
        "aws_sns_topic": lambda r: clients["sns"].get_topic_attributes(TopicArn=r.id),
        "aws_dynamodb_table": lambda r: clients["dynamodb"].describe_table(TableName=r.id),
    }
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(lambda r: describe[r.type](r), resources))
    return time.perf_counter() - started, calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=2000)
    parser.add_argument("--stacks", type=int, default=10)
    args = parser.parse_args()
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{server._server.server_port}"
    try:
        for label, mix in (("batched types", BATCHED), ("all nine types", ALL_NINE)):
            urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")).read()
            scale = args.resources / (args.stacks * sum(mix.values()))
            with tempfile.TemporaryDirectory() as tmp:
                repo = Path(tmp) / "repo"
                repo.mkdir()
                t0 = time.perf_counter()
                n = build(endpoint, repo, args.stacks, mix, scale)
                built = time.perf_counter() - t0
                run_scan(repo)  # warm: boto3 models loaded, as in any process after the first scan
                wall, calls, report = run_scan(repo)
                base_wall, base_calls = naive(repo, endpoint)
            s = report.summary()
            print(f"\n== {label}: {n} resources in {args.stacks} stacks (built in {built:.0f} s)")
            print(f"   report: exit {report.exit_code}, {s['resources']} checked, {s['changed']} changed, "
                  f"{s['missing']} missing, {s['unmanaged']} unmanaged")  # fmt: skip
            print(
                f"   drift scan : {wall:6.2f} s  {calls.total:5d} API calls  {calls.total / n:.4f} calls/resource"
            )
            print(
                f"   1 describe : {base_wall:6.2f} s  {base_calls.total:5d} API calls  {base_calls.total / n:.4f} calls/resource"
            )
            print("   scan calls by operation:")
            for op, c in sorted(calls.by_op.items(), key=lambda kv: (-kv[1], kv[0])):
                print(f"     {op:45s} {c:5d}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
