"""The emulated AWS: a retried lock write of the identical item succeeds, anything else still fails."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from tests.conftest import MotoServer

pytest.importorskip("moto")

import boto3
from botocore.exceptions import ClientError

from orchestrate_emulate.aws_server import AwsServer

TABLE = "locks"


@pytest.fixture
def dynamodb(moto: MotoServer) -> Iterator[object]:
    client = boto3.client(
        "dynamodb",
        endpoint_url=moto.endpoint,
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    yield client


def _lock(client: object, info: str) -> None:
    client.put_item(  # type: ignore[attr-defined]
        TableName=TABLE,
        Item={"LockID": {"S": "state/prod.tfstate"}, "Info": {"S": info}},
        ConditionExpression="attribute_not_exists(LockID)",
    )


def test_the_retry_of_a_stored_lock_write_succeeds(dynamodb: object) -> None:
    _lock(dynamodb, '{"ID":"a1","Who":"ops@ci"}')
    _lock(dynamodb, '{"ID":"a1","Who":"ops@ci"}')  # the SDK's retry after a lost answer


def test_another_writers_lock_is_still_refused(dynamodb: object) -> None:
    _lock(dynamodb, '{"ID":"a1","Who":"ops@ci"}')
    with pytest.raises(ClientError) as raised:
        _lock(dynamodb, '{"ID":"b2","Who":"dev@laptop"}')
    assert raised.value.response["Error"]["Code"] == "ConditionalCheckFailedException"


def test_an_unconditional_condition_failure_is_not_touched(dynamodb: object) -> None:
    item = {"LockID": {"S": "k"}, "Digest": {"S": "d"}}
    dynamodb.put_item(TableName=TABLE, Item=item)  # type: ignore[attr-defined]
    with pytest.raises(ClientError):
        dynamodb.put_item(  # type: ignore[attr-defined]
            TableName=TABLE,
            Item=item,
            ConditionExpression="Digest = :other",
            ExpressionAttributeValues={":other": {"S": "x"}},
        )


def test_server_errors_are_logged_with_their_target() -> None:
    lines: list[str] = []
    server = AwsServer("127.0.0.1", 0, log=lines.append)
    headers = {
        "Content-Type": "application/x-amz-json-1.0",
        "Authorization": "AWS4-HMAC-SHA256 Credential=t/20260101/eu-west-1/dynamodb/aws4_request, "
        "SignedHeaders=host, Signature=x",
    }

    def post(target: str, body: bytes) -> int:
        request = urllib.request.Request(
            server.url + "/", data=body, method="POST", headers={**headers, "X-Amz-Target": target}
        )
        try:
            return int(urllib.request.urlopen(request, timeout=10).status)
        except urllib.error.HTTPError as error:
            return int(error.code)

    try:
        assert post("DynamoDB_20120810.DescribeTable", b'{"TableName": "missing"}') == 400
        assert lines == []  # a client error is the caller's, not the emulator's
        assert post("DynamoDB_20120810.PutItem", b'{"TableName": "t"}') == 500  # moto raises
        assert len(lines) == 1 and "DynamoDB_20120810.PutItem" in lines[0]
    finally:
        server.stop()
