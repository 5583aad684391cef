"""The AWS reader's pure parts: regions, keys, rule shapes, error classification and messages."""

from __future__ import annotations

from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

from orchestrator.drift.aws import classify, resource_region, sg_rules, state_key, translate
from orchestrator.drift.model import Resource


def res(rtype: str, attrs: dict[str, object], rid: str | None = None) -> Resource:
    return Resource(f"{rtype}.x", rtype, "x", None, None, rid, attrs)


def client_error(code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op"
    )


def test_resource_region_from_region_arn_or_zone() -> None:
    assert (
        resource_region(res("aws_s3_bucket", {"region": "us-east-1", "arn": "arn:aws:s3:::b"})) == "us-east-1"
    )
    assert resource_region(res("aws_sqs_queue", {"arn": "arn:aws:sqs:ap-south-1:1:q"})) == "ap-south-1"
    assert resource_region(res("aws_iam_role", {"arn": "arn:aws:iam::1:role/r"})) is None
    assert resource_region(res("aws_subnet", {"availability_zone": "us-west-2-lax-1a"})) == "us-west-2"
    assert resource_region(res("aws_subnet", {"availability_zone": "us-gov-west-1b"})) == "us-gov-west-1"
    assert resource_region(res("aws_vpc", {})) is None


def test_state_keys() -> None:
    assert (
        state_key(res("aws_sqs_queue", {"name": "jobs", "url": "https://x/1/jobs"}, "https://x/1/jobs"))
        == "jobs"
    )
    assert state_key(res("aws_sqs_queue", {}, "https://sqs.eu-west-1.amazonaws.com/1/jobs")) == "jobs"
    assert state_key(res("aws_s3_bucket", {"bucket": "b"}, "b")) == "b"
    assert state_key(res("aws_instance", {}, "i-1")) == "i-1"
    assert state_key(res("aws_instance", {}, None)) is None


def test_ip_permissions_become_provider_rules() -> None:
    rules = sg_rules(
        [
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "IpRanges": [{"CidrIp": "10.0.0.0/8", "Description": "ssh"}],
                "Ipv6Ranges": [{"CidrIpv6": "::/0"}],
                "UserIdGroupPairs": [{"GroupId": "sg-2"}],
            },
            {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
        ]
    )
    assert [(r["protocol"], r["from_port"], r["to_port"], r["description"]) for r in rules] == [
        ("tcp", 22, 22, "ssh"),
        ("tcp", 22, 22, ""),
        ("tcp", 22, 22, ""),
        ("-1", 0, 0, ""),
    ]
    assert (rules[1]["ipv6_cidr_blocks"], rules[2]["security_groups"]) == (["::/0"], ["sg-2"])


def test_errors_are_classified_for_retry() -> None:
    assert classify(client_error("Throttling", 400)) == "transient"
    assert classify(client_error("RequestLimitExceeded", 503)) == "transient"
    assert classify(client_error("Whatever", 500)) == "transient"
    assert classify(client_error("AccessDenied", 403)) is None
    assert classify(EndpointConnectionError(endpoint_url="http://x")) == "connect"
    assert classify(ValueError("x")) is None


def test_errors_are_translated_with_a_hint() -> None:
    denied = translate(client_error("AccessDenied", 403), "sqs list_queues", "aws-prod", None)
    assert denied.where == "aws-prod"
    assert "AccessDenied" in denied.message
    assert denied.hint and "read access" in denied.hint
    assert "no AWS credentials" in translate(NoCredentialsError(), "x", "t", None).message
    unreachable = translate(
        EndpointConnectionError(endpoint_url="http://127.0.0.1:9"), "x", "t", "http://127.0.0.1:9"
    )
    assert "cannot reach" in unreachable.message
    throttled = translate(client_error("Throttling", 400), "x", "t", None)
    assert throttled.hint and "again later" in throttled.hint
