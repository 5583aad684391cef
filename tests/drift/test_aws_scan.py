"""orchestrate drift --mode api against moto: real boto3 calls, real state files, real CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.drift import estate as E
from tests.drift import statefiles as sf
from tests.drift.conftest import AwsRepo, head
from tests.drift.faults import FaultProxy, Request, random_faults

pytestmark = pytest.mark.integration

TAG_EDIT = {
    "address": "module.logs.aws_s3_bucket.this",
    "type": "aws_s3_bucket",
    "id": "acme-logs",
    "diffs": [{"path": "tags.owner", "expected": "team-a", "actual": "team-b"}],
}
DELETED = {"address": "aws_s3_bucket.assets", "type": "aws_s3_bucket", "id": "acme-assets"}
SHADOW = {"type": "aws_s3_bucket", "id": "shadow-bucket", "cloud": "aws-test"}


def ingress_added(sg: str) -> dict[str, Any]:
    return {
        "address": "aws_security_group.web",
        "type": "aws_security_group",
        "id": sg,
        "diffs": [
            {
                "path": "ingress",
                "expected": None,
                "actual": {
                    "protocol": "tcp",
                    "from_port": 22,
                    "to_port": 22,
                    "description": "",
                    "cidr_blocks": ["0.0.0.0/0"],
                    "ipv6_cidr_blocks": [],
                    "prefix_list_ids": [],
                    "security_groups": [],
                    "self": False,
                },
            }
        ],
    }


def by_stack(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["stack"]: s for s in report["stacks"]}


def drift_of(report: dict[str, Any]) -> dict[str, Any]:
    """What was found, without timestamps and digests."""
    return {
        "stacks": {
            s["stack"]: {k: s[k] for k in ("status", "error", "changed", "missing", "resources")}
            for s in report["stacks"]
        },
        "unmanaged": report["unmanaged"],
        "summary": report["summary"],
    }


def test_untouched_estate_is_clean_and_exits_0(aws_repo: Any) -> None:
    repo: AwsRepo = aws_repo()
    code, report = repo.drift_json()
    assert code == 0
    assert report["commit"] == head(repo.root)
    coverage = report["summary"].pop("coverage")
    assert report["summary"] == {
        "stacks": 3,
        "drifted": 0,
        "errors": 0,
        "resources": 10,
        "changed": 0,
        "missing": 0,
        "unmanaged": 0,
        "partial": 0,
    }
    # Every managed resource compared through the API, none left to refresh or unchecked.
    assert (coverage["api"], coverage["refresh"], coverage["none"]) == (10, 0, 0)
    assert sum(t["api"] for t in coverage["by_type"].values()) == 10
    assert {s["stack"]: s["status"] for s in report["stacks"]} == {
        "aws/iam": "clean",
        "aws/network": "clean",
        "aws/storage": "clean",
    }
    # moto's default VPC, its subnets and default security groups are the cloud's own.
    assert report["unmanaged"] == []


def test_four_out_of_band_changes_are_reported_exactly_and_nothing_else(aws_repo: Any) -> None:
    repo: AwsRepo = aws_repo()
    for change in (E.edit_tag, E.add_ingress, E.delete_bucket, E.create_bucket):
        change(repo.estate.endpoint, repo.ids)
    code, report = repo.drift_json()
    assert code == 2
    stacks = by_stack(report)
    assert stacks["aws/storage"]["status"] == "drifted"
    assert stacks["aws/storage"]["changed"] == [TAG_EDIT]
    assert stacks["aws/storage"]["missing"] == [DELETED]
    assert stacks["aws/network"]["status"] == "drifted"
    assert stacks["aws/network"]["changed"] == [ingress_added(repo.ids["sg"])]
    assert stacks["aws/network"]["missing"] == []
    assert stacks["aws/iam"] == {**stacks["aws/iam"], "status": "clean", "changed": [], "missing": []}
    assert report["unmanaged"] == [SHADOW]
    assert {k: v for k, v in report["summary"].items() if k != "coverage"} == {
        "stacks": 3,
        "drifted": 2,
        "errors": 0,
        "resources": 10,
        "changed": 2,
        "missing": 1,
        "unmanaged": 1,
        "partial": 0,
    }


@pytest.mark.parametrize(
    ("change", "expect"),
    [
        (E.edit_tag, {"aws/storage": ([TAG_EDIT], [])}),
        (E.add_ingress, {"aws/network": (["INGRESS"], [])}),
        (E.delete_bucket, {"aws/storage": ([], [DELETED])}),
        (E.create_bucket, {}),
    ],
    ids=["tag-edited", "ingress-added", "bucket-deleted", "bucket-created"],
)
def test_each_change_alone_is_the_only_finding(aws_repo: Any, change: Any, expect: dict[str, Any]) -> None:
    repo: AwsRepo = aws_repo()
    change(repo.estate.endpoint, repo.ids)
    code, report = repo.drift_json()
    assert code == 2
    for sid, stack in by_stack(report).items():
        changed, missing = expect.get(sid, ([], []))
        changed = [ingress_added(repo.ids["sg"]) if c == "INGRESS" else c for c in changed]
        assert (stack["changed"], stack["missing"]) == (changed, missing), sid
    assert report["unmanaged"] == ([SHADOW] if change is E.create_bucket else [])


def test_thirty_percent_throttled_or_503_calls_still_give_the_right_report(
    aws_repo: Any, fault_proxy: FaultProxy
) -> None:
    repo: AwsRepo = aws_repo()
    for change in (E.edit_tag, E.add_ingress, E.delete_bucket, E.create_bucket):
        change(repo.estate.endpoint, repo.ids)
    _, expected = repo.drift_json()
    fault_proxy.rule = random_faults(0.3, seed=11)
    repo.point_at(fault_proxy.endpoint)
    code, report = repo.drift_json()
    assert code == 2
    assert drift_of(report) == drift_of(expected)
    # The faults really happened: at least 30% of all calls, and every operation at least once.
    assert len(fault_proxy.faults) >= 0.3 * len(fault_proxy.calls)
    assert set(fault_proxy.faults) == set(fault_proxy.calls)
    assert len(set(fault_proxy.calls)) >= 14


def test_a_read_that_keeps_failing_makes_its_stacks_error_and_exit_1(
    aws_repo: Any, fault_proxy: FaultProxy
) -> None:
    repo: AwsRepo = aws_repo()

    def deny_sqs(req: Request) -> tuple[int, str] | None:
        return (400, "AccessDenied") if "AmazonSQS" in req.target else None

    fault_proxy.rule = deny_sqs
    repo.point_at(fault_proxy.endpoint)
    code, report = repo.drift_json()
    assert code == 1
    stacks = by_stack(report)
    assert stacks["aws/storage"]["status"] == "error"
    assert "aws_sqs_queue could not be read" in stacks["aws/storage"]["error"]
    assert "AccessDenied" in stacks["aws/storage"]["error"]
    # Stacks that hold no queue are still checked.
    assert stacks["aws/network"]["status"] == "clean"
    assert stacks["aws/iam"]["status"] == "clean"
    assert report["summary"]["errors"] == 1
    assert any("aws_sqs_queue could not be listed" in note for note in report["incomplete"])


def test_an_unreachable_endpoint_errors_every_stack(aws_repo: Any) -> None:
    repo: AwsRepo = aws_repo()
    repo.point_at("http://127.0.0.1:9")
    result = repo.drift("--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert {s["status"] for s in report["stacks"]} == {"error"}
    assert all("cannot reach the AWS endpoint" in s["error"] for s in report["stacks"])
    assert report["summary"]["errors"] == 3


def test_ignore_rules_from_driftignore_and_stack_yaml(aws_repo: Any) -> None:
    repo: AwsRepo = aws_repo(
        extra_files={
            ".driftignore": "# shadow buckets are someone else's\naws_s3_bucket.shadow-*\naws_security_group.*.ingress\n",
            "stacks/aws/storage/stack.yaml": (
                "cloud: aws-test\ndrift:\n  ignore: ['module.logs.aws_s3_bucket.this.tags.owner', 'aws_s3_bucket.acme-assets']\n"
            ),
        }
    )
    for change in (E.edit_tag, E.add_ingress, E.delete_bucket, E.create_bucket):
        change(repo.estate.endpoint, repo.ids)
    code, report = repo.drift_json()
    assert code == 0, report
    assert report["summary"]["resources"] == 9  # the ignored bucket is not checked at all


def test_strict_reports_what_the_cloud_created_itself(aws_repo: Any) -> None:
    repo: AwsRepo = aws_repo()
    code, report = repo.drift_json("--strict")
    assert code == 2
    types = {u["type"] for u in report["unmanaged"]}
    assert types == {"aws_vpc", "aws_subnet", "aws_security_group"}
    assert all(u["cloud"] == "aws-test" for u in report["unmanaged"])


def test_a_stack_never_applied_is_an_error_not_clean(aws_repo: Any) -> None:
    repo: AwsRepo = aws_repo(
        extra_files=E.stack_files("aws/new", "aws-test", 'resource "aws_sqs_queue" "q" {}\n')
    )
    code, report = repo.drift_json()
    assert code == 1
    new = by_stack(report)["aws/new"]
    assert new["status"] == "error"
    assert "has not been applied" in new["error"]
    assert by_stack(report)["aws/storage"]["status"] == "clean"
    assert report["incomplete"] == []  # a stack with no state holds nothing


def test_a_corrupt_state_is_an_error_and_unmanaged_is_not_guessed(aws_repo: Any) -> None:
    repo: AwsRepo = aws_repo()
    E.create_bucket(repo.estate.endpoint, repo.ids)
    E.state_path(repo.root, "aws/iam").write_text('{"version": 4, "resources": [')
    result = repo.drift("--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    iam = by_stack(report)["aws/iam"]
    assert iam["status"] == "error"
    assert "not valid JSON" in iam["error"]
    # Without aws/iam's state, every one of its resources would look unmanaged: nothing is listed.
    assert report["unmanaged"] == []
    assert any("aws/iam" in note for note in report["incomplete"])


def test_an_empty_state_file_is_an_error_and_its_resources_are_not_called_unmanaged(aws_repo: Any) -> None:
    # A truncated state (0 bytes) is not "never applied": its resources are live in the cloud.
    repo: AwsRepo = aws_repo()
    E.state_path(repo.root, "aws/iam").write_text("")
    result = repo.drift("--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    iam = by_stack(report)["aws/iam"]
    assert iam["status"] == "error" and "empty" in iam["error"]
    assert report["unmanaged"] == []
    assert any("aws/iam" in note for note in report["incomplete"])


def test_scanning_one_stack_does_not_call_other_stacks_resources_unmanaged(aws_repo: Any) -> None:
    repo: AwsRepo = aws_repo()
    code, report = repo.drift_json("aws/iam")
    assert code == 0
    assert [s["stack"] for s in report["stacks"]] == ["aws/iam"]
    assert report["unmanaged"] == []


def test_state_in_an_s3_backend_is_read_without_init(aws_repo: Any) -> None:
    backend = "backend:\n  type: s3\n  config: {bucket: acme-tfstate, key: iam/terraform.tfstate, region: eu-west-1}\n"
    repo: AwsRepo = aws_repo(
        extra_files={
            "stacks/aws/iam/stack.yaml": "cloud: aws-test\n" + backend,
            ".driftignore": "aws_s3_bucket.acme-tfstate\n",
        }
    )
    s3 = E.client("s3", repo.estate.endpoint)
    s3.create_bucket(Bucket="acme-tfstate", CreateBucketConfiguration={"LocationConstraint": E.REGION})
    code, report = repo.drift_json("aws/iam")
    assert code == 1
    assert "no state at s3://acme-tfstate/iam/terraform.tfstate" in by_stack(report)["aws/iam"]["error"]
    local = E.state_path(repo.root, "aws/iam")
    s3.put_object(Bucket="acme-tfstate", Key="iam/terraform.tfstate", Body=local.read_bytes())
    local.unlink()
    E.client("iam", repo.estate.endpoint).tag_role(
        RoleName="acme-worker", Tags=[{"Key": "team", "Value": "other"}]
    )
    code, report = repo.drift_json("aws/iam")
    assert code == 2
    assert by_stack(report)["aws/iam"]["changed"][0]["diffs"] == [
        {"path": "tags.team", "expected": "platform", "actual": "other"}
    ]


def test_sensitive_state_values_and_redact_patterns_never_reach_any_output(
    aws_repo: Any, tmp_path: Path
) -> None:
    repo: AwsRepo = aws_repo(redact=r"(?i)secret[^\s\"]*")
    endpoint = repo.estate.endpoint
    # The queue's tag "token" is sensitive in the state (as a sensitive variable makes it).
    states = repo.estate.states
    queue = next(i for i in states["aws/storage"] if i.type == "aws_sqs_queue")
    queue.attributes["tags"] = {"token": "tok-4a7f19e2"}
    queue.attributes["tags_all"] = {"token": "tok-4a7f19e2"}
    queue.sensitive_attributes = [
        [
            {"type": "get_attr", "value": "tags"},
            {"type": "index", "value": {"value": "token", "type": "string"}},
        ]
    ]
    repo.estate.write(repo.root)
    sqs = E.client("sqs", endpoint)
    url = sqs.get_queue_url(QueueName="acme-jobs")["QueueUrl"]
    sqs.tag_queue(QueueUrl=url, Tags={"token": "tok-99b1c3d0"})
    E.client("s3", endpoint).create_bucket(
        Bucket="team-secret-archive", CreateBucketConfiguration={"LocationConstraint": E.REGION}
    )
    outputs = []
    stdout = {}
    for fmt in ("json", "markdown", "table"):
        result = repo.drift("--format", fmt)
        assert result.exit_code == 2
        stdout[fmt] = result.stdout
        outputs.append(result.stdout + result.stderr)
    out = tmp_path / "report.md"
    assert repo.drift("--format", "markdown", "--out", str(out)).exit_code == 2
    outputs.append(out.read_text())
    for text in outputs:
        for secret in ("tok-4a7f19e2", "tok-99b1c3d0", "secret-archive"):
            assert secret not in text
    report = json.loads(stdout["json"])
    storage = by_stack(report)["aws/storage"]
    assert storage["changed"] == [
        {
            "address": "aws_sqs_queue.jobs",
            "type": "aws_sqs_queue",
            "id": url,
            "diffs": [{"path": "tags.token", "expected": "(sensitive)", "actual": "(sensitive)"}],
        }
    ]
    assert report["unmanaged"] == [{"type": "aws_s3_bucket", "id": "team-(sensitive)", "cloud": "aws-test"}]


def test_out_writes_the_report_atomically_and_stdout_stays_empty(aws_repo: Any, tmp_path: Path) -> None:
    repo: AwsRepo = aws_repo()
    E.delete_bucket(repo.estate.endpoint, repo.ids)
    out = tmp_path / "reports" / "drift.json"
    result = repo.drift("--format", "json", "--out", str(out))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "report written to" in result.stderr
    assert json.loads(out.read_text())["summary"]["missing"] == 1
    assert os.listdir(out.parent) == ["drift.json"]
    blocked = tmp_path / "file"
    blocked.write_text("")
    bad = repo.drift("--out", str(blocked / "drift.json"))
    assert bad.exit_code == 1
    assert "cannot write" in bad.stderr


def test_markdown_report_lists_each_finding(aws_repo: Any) -> None:
    repo: AwsRepo = aws_repo()
    for change in (E.edit_tag, E.add_ingress, E.delete_bucket, E.create_bucket):
        change(repo.estate.endpoint, repo.ids)
    result = repo.drift("--format", "markdown")
    assert result.exit_code == 2
    md = result.stdout
    assert "| `module.logs.aws_s3_bucket.this` | `tags.owner` | `team-a` | `team-b` |" in md
    assert "tcp 22 from 0.0.0.0/0" in md
    assert "- `aws_s3_bucket.assets` (aws_s3_bucket `acme-assets`)" in md
    assert "| aws-test | `aws_s3_bucket` | `shadow-bucket` |" in md


def test_role_policy_edited_out_of_band_is_compared_as_data(aws_repo: Any) -> None:
    repo: AwsRepo = aws_repo()
    iam = E.client("iam", repo.estate.endpoint)
    # The same policy, reordered and with single values written as lists: not drift.
    same = {
        "Statement": [
            {"Action": ["sts:AssumeRole"], "Principal": {"Service": ["ec2.amazonaws.com"]}, "Effect": "Allow"}
        ],
        "Version": "2012-10-17",
    }
    iam.update_assume_role_policy(RoleName="acme-worker", PolicyDocument=json.dumps(same))
    code, _ = repo.drift_json("aws/iam")
    assert code == 0
    wider = json.loads(json.dumps(same))
    wider["Statement"][0]["Principal"]["Service"] = ["ec2.amazonaws.com", "lambda.amazonaws.com"]
    iam.update_assume_role_policy(RoleName="acme-worker", PolicyDocument=json.dumps(wider))
    code, report = repo.drift_json("aws/iam")
    assert code == 2
    (diff,) = by_stack(report)["aws/iam"]["changed"][0]["diffs"]
    assert diff["path"] == "assume_role_policy"
    assert diff["expected"] == E.ASSUME_EC2
    assert diff["actual"]["Statement"][0]["Principal"]["Service"] == [
        "ec2.amazonaws.com",
        "lambda.amazonaws.com",
    ]


def test_versioning_and_queue_attributes_changed_out_of_band(aws_repo: Any) -> None:
    repo: AwsRepo = aws_repo()
    endpoint = repo.estate.endpoint
    E.client("s3", endpoint).put_bucket_versioning(
        Bucket="acme-assets", VersioningConfiguration={"Status": "Enabled"}
    )
    sqs = E.client("sqs", endpoint)
    url = sqs.get_queue_url(QueueName="acme-jobs")["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "120"})
    code, report = repo.drift_json("aws/storage")
    assert code == 2
    changed = {c["address"]: c["diffs"] for c in by_stack(report)["aws/storage"]["changed"]}
    assert changed == {
        "aws_s3_bucket.assets": [{"path": "versioning.0.enabled", "expected": False, "actual": True}],
        "aws_sqs_queue.jobs": [{"path": "visibility_timeout_seconds", "expected": 30, "actual": 120}],
    }


def test_tags_all_from_provider_default_tags_are_what_the_cloud_must_hold(aws_repo: Any) -> None:
    repo: AwsRepo = aws_repo()
    # default_tags { tags = { managed-by = "terraform" } }: in tags_all, not in tags.
    table = next(i for i in repo.estate.states["aws/storage"] if i.type == "aws_dynamodb_table")
    table.attributes["tags"] = None
    table.attributes["tags_all"] = {"managed-by": "terraform"}
    repo.estate.write(repo.root)
    ddb = E.client("dynamodb", repo.estate.endpoint)
    arn = ddb.describe_table(TableName="acme-sessions")["Table"]["TableArn"]
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "managed-by", "Value": "terraform"}])
    code, _ = repo.drift_json("aws/storage")
    assert code == 0
    ddb.untag_resource(ResourceArn=arn, TagKeys=["managed-by"])
    code, report = repo.drift_json("aws/storage")
    assert code == 2
    assert by_stack(report)["aws/storage"]["changed"][0]["diffs"] == [
        {"path": "tags.managed-by", "expected": "terraform", "actual": None}
    ]


def test_resources_of_types_the_reader_does_not_know_are_listed_as_unchecked(aws_repo: Any) -> None:
    repo: AwsRepo = aws_repo()
    repo.estate.states["aws/iam"].append(
        sf.Instance(
            "aws_iam_role_policy_attachment", "worker", {"id": "acme-worker-1", "role": "acme-worker"}
        )
    )
    repo.estate.write(repo.root)
    code, report = repo.drift_json("aws/iam")
    assert code == 0
    assert by_stack(report)["aws/iam"]["unchecked"] == ["aws_iam_role_policy_attachment.worker"]


def test_role_arn_is_assumed_and_account_id_is_checked(aws_repo: Any) -> None:
    repo: AwsRepo = aws_repo()
    path = repo.root / "orchestrate.yaml"
    original = path.read_text()
    path.write_text(
        original.replace(
            "provider: aws,", "provider: aws, role_arn: 'arn:aws:iam::123456789012:role/scanner',"
        )
    )
    code, report = repo.drift_json()
    assert code == 0, report
    path.write_text(original.replace("provider: aws,", "provider: aws, account_id: '999999999999',"))
    code, report = repo.drift_json()
    assert code == 1
    assert all("not 999999999999" in s["error"] for s in report["stacks"])
    assert report["incomplete"] and "unmanaged resources not listed" in report["incomplete"][0]


def _scan_in_process(repo: AwsRepo, policy: Any = None, hook: Any = None) -> Any:
    """The scan through its Python API, with a session factory the test controls (no patching)."""
    import boto3

    from orchestrator.drift.aws import AwsReader
    from orchestrator.drift.retry import RetryPolicy
    from orchestrator.drift.scan import ScanIO, ScanOptions, scan
    from orchestrator.workspace import Workspace

    def reader(resolved: Any) -> Any:
        session = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=E.REGION
        )
        if hook is not None:
            session.events.register("before-send", hook)
        return AwsReader(resolved, session, retry=policy or RetryPolicy())

    ws = Workspace.load(repo.root)
    report, _ = scan(ws, list(ws.graph.order), ScanOptions(), ScanIO(readers={"aws": reader}))
    return report


def test_reads_are_batched_one_list_per_type_and_details_only_for_managed(aws_repo: Any) -> None:
    from collections import Counter

    repo: AwsRepo = aws_repo()
    for i in range(5):  # unmanaged candidates must not cost detail calls
        E.client("sqs", repo.estate.endpoint).create_queue(QueueName=f"other-{i}")
    calls: Counter[str] = Counter()

    def count(event_name: str = "", **kwargs: Any) -> None:
        calls[event_name.removeprefix("before-send.")] += 1

    report = _scan_in_process(repo, hook=count)
    assert report.exit_code == 2  # the five queues are unmanaged
    assert calls == {
        "sts.GetCallerIdentity": 1,
        "s3.ListBuckets": 1,
        "ec2.DescribeInstances": 1,
        "ec2.DescribeSecurityGroups": 1,
        "ec2.DescribeVpcs": 1,
        "ec2.DescribeSubnets": 1,
        "iam.GetAccountAuthorizationDetails": 1,
        "dynamodb.ListTables": 1,
        "sqs.ListQueues": 1,
        "sns.ListTopics": 1,
        "resource-groups-tagging-api.GetResources": 1,
        # No AWS Config recorder here (asked once): the per-resource readers below.
        "config-service.DescribeConfigurationRecorderStatus": 1,
        # AWS has no batch read of these: one per managed resource, none for the others.
        "s3.GetBucketVersioning": 2,
        "sqs.GetQueueAttributes": 1,
        "sns.GetTopicAttributes": 1,
        "dynamodb.DescribeTable": 1,
    }


def test_aws_config_recorder_replaces_per_resource_reads(aws_repo: Any) -> None:
    """With a recording AWS Config recorder, SNS topics (and S3 versioning, where the item has
    it) come from BatchGetResourceConfig; moto's S3 items lack BucketVersioningConfiguration,
    so buckets fall back to GetBucketVersioning (a documented moto gap)."""
    from collections import Counter

    repo: AwsRepo = aws_repo()
    config = E.client("config", repo.estate.endpoint)
    config.put_configuration_recorder(
        ConfigurationRecorder={
            "name": "default",
            "roleARN": "arn:aws:iam::123456789012:role/config",
            "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": True},
        }
    )
    config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "acme-logs"})
    config.start_configuration_recorder(ConfigurationRecorderName="default")
    calls: Counter[str] = Counter()

    def count(event_name: str = "", **kwargs: Any) -> None:
        calls[event_name.removeprefix("before-send.")] += 1

    report = _scan_in_process(repo, hook=count)
    assert report.exit_code == 0, report.to_dict()
    assert calls["config-service.BatchGetResourceConfig"] == 2  # buckets, topics: 100 ids a call
    assert calls["sns.GetTopicAttributes"] == 0
    assert calls["s3.GetBucketVersioning"] == 2
    paths = {(t, p) for _, t, p in report.read_paths}
    assert ("aws_sns_topic", "aws-config+tagging-api") in paths
    assert ("aws_s3_bucket", "aws-config+tagging-api") in paths
    assert ("aws_vpc", "list") in paths
    # An out-of-band change is seen through Config too.
    topic = f"arn:aws:sns:{E.REGION}:123456789012:acme-events"
    E.client("sns", repo.estate.endpoint).set_topic_attributes(
        TopicArn=topic, AttributeName="DisplayName", AttributeValue="changed"
    )
    report = _scan_in_process(repo)
    changed = {c.address: c.diffs for s in report.stacks for c in s.changed}
    assert [(d.path_text, d.expected, d.actual) for d in changed["aws_sns_topic.events"]] == [
        ("display_name", "", "changed")
    ]


def test_throttling_that_never_clears_errors_the_stack_after_bounded_retries(
    aws_repo: Any, fault_proxy: FaultProxy
) -> None:
    from orchestrator.drift.retry import RetryPolicy

    repo: AwsRepo = aws_repo()
    fault_proxy.rule = lambda req: (503, "ServiceUnavailable") if "AmazonSQS" in req.target else None
    repo.point_at(fault_proxy.endpoint)
    report = _scan_in_process(repo, policy=RetryPolicy(attempts=4, base=0.01, cap=0.02))
    assert report.exit_code == 1
    storage = {s.stack: s for s in report.stacks}["aws/storage"]
    assert storage.status == "error"
    assert "aws_sqs_queue could not be read" in (storage.error or "")
    assert "run the scan again later" in (storage.error or "")
    assert fault_proxy.faults.count("AmazonSQS.ListQueues") == 4


def test_resources_in_another_region_are_read_there_not_reported_missing(aws_repo: Any) -> None:
    repo: AwsRepo = aws_repo()
    # provider "aws" { alias = "use1", region = "us-east-1" }: the queue lives in us-east-1.
    sqs = E.client("sqs", repo.estate.endpoint, region="us-east-1")
    url = sqs.create_queue(QueueName="acme-edge")["QueueUrl"]
    attrs = sf.sqs_queue("acme-edge", url, "us-east-1")
    attrs["max_message_size"] = int(
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]["MaximumMessageSize"]
    )
    repo.estate.states["aws/storage"].append(sf.Instance("aws_sqs_queue", "edge", attrs))
    repo.estate.write(repo.root)
    E.client("sqs", repo.estate.endpoint, region="us-east-1").create_queue(QueueName="not-ours-elsewhere")
    code, report = repo.drift_json("aws/storage")
    assert code == 0, report  # and us-east-1's other queue is outside the scanned scope
    sqs.delete_queue(QueueUrl=url)
    code, report = repo.drift_json("aws/storage")
    assert code == 2
    assert by_stack(report)["aws/storage"]["missing"] == [
        {"address": "aws_sqs_queue.edge", "type": "aws_sqs_queue", "id": url}
    ]


def test_stacks_with_drift_disabled_are_not_scanned_but_still_own_their_resources(aws_repo: Any) -> None:
    repo: AwsRepo = aws_repo(
        extra_files={"stacks/aws/storage/stack.yaml": "cloud: aws-test\ndrift:\n  enabled: false\n"}
    )
    E.delete_bucket(repo.estate.endpoint, repo.ids)
    result = repo.drift("--format", "json")
    assert result.exit_code == 0, result.stdout
    report = json.loads(result.stdout)
    assert [s["stack"] for s in report["stacks"]] == ["aws/iam", "aws/network"]
    assert report["unmanaged"] == []  # aws/storage's bucket and queue are still its own
    assert "not scanned (drift.enabled: false): aws/storage" in result.stderr
