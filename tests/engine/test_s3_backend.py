"""The S3 backend with DynamoDB locking on moto's server, for every terraform version."""

from __future__ import annotations

import json
from collections.abc import Callable

import boto3
import pytest

from tests.conftest import MotoServer
from tests.engine.conftest import NULL_STACK, Repo

pytestmark = pytest.mark.integration

BUCKET = "acme-tfstate"
TABLE = "tf-locks"


def s3_repo(tf_repo: Callable[..., Repo], moto: MotoServer, *, lock_timeout: str | None = None) -> Repo:
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    session.client("s3", endpoint_url=moto.endpoint).create_bucket(Bucket=BUCKET)
    session.client("dynamodb", endpoint_url=moto.endpoint).create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    extra = (
        (f"  lock_timeout: {lock_timeout}\n" if lock_timeout else "") + "backend:\n  type: s3\n  config:\n"
        f"    bucket: {BUCKET}\n    key: '{{stack}}/terraform.tfstate'\n    region: us-east-1\n"
        f"    dynamodb_table: {TABLE}\n"
        f"clouds:\n  aws-test: {{provider: aws, region: us-east-1, endpoint: '{moto.endpoint}'}}\n"
    )
    repo = tf_repo({"stacks/net/stack.yaml": "cloud: aws-test\n", "stacks/net/main.tf": NULL_STACK}, extra)
    repo.env.update({k: v for k, v in moto.env.items() if k != "AWS_ENDPOINT_URL"})
    return repo


def test_plan_and_apply_keep_state_in_s3(tf_repo: Callable[..., Repo], moto: MotoServer) -> None:
    repo = s3_repo(tf_repo, moto)
    res = repo.orchestrate("plan")
    assert res.exit_code == 2, res.output
    res = repo.orchestrate("apply", "--approved-by", "alice", "--reason", "s3")
    assert res.exit_code == 0, res.output
    s3 = boto3.client(
        "s3",
        endpoint_url=moto.endpoint,
        aws_access_key_id="t",
        aws_secret_access_key="t",
        region_name="us-east-1",
    )
    state = json.loads(s3.get_object(Bucket=BUCKET, Key="net/terraform.tfstate")["Body"].read())
    assert state["outputs"]["name"]["value"] == "net-name"
    # No local state and nothing generated in the stack directory but the gitignored override.
    assert repo.state("net") is None
    assert repo.orchestrate("plan").exit_code == 0


def lock_info(repo: Repo, lock_id: str, *, who: str, operation: str, created: str) -> dict[str, str]:
    """Terraform's lock record for the ``net`` stack's state."""
    return {
        "ID": lock_id,
        "Operation": operation,
        "Who": who,
        "Version": repo.terraform.version,
        "Created": created,
        "Path": f"{BUCKET}/net/terraform.tfstate",
        "Info": "",
    }


def hold_lock(moto: MotoServer, info: dict[str, str]) -> None:
    """The lock as terraform writes it into the DynamoDB table, held by nobody running."""
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=moto.endpoint,
        aws_access_key_id="t",
        aws_secret_access_key="t",
        region_name="us-east-1",
    )
    dynamodb.put_item(
        TableName=TABLE,
        Item={"LockID": {"S": f"{BUCKET}/net/terraform.tfstate"}, "Info": {"S": json.dumps(info)}},
    )


def test_a_held_state_lock_is_an_error_naming_its_holder(
    tf_repo: Callable[..., Repo], moto: MotoServer
) -> None:
    # A lock nobody releases: after terraform.lock_timeout the error still names its holder.
    repo = s3_repo(tf_repo, moto, lock_timeout="2s")
    info = lock_info(
        repo,
        "11111111-2222-3333-4444-555555555555",
        who="mallory@build-42",
        operation="OperationTypeApply",
        created="2024-05-01T10:00:00Z",
    )
    hold_lock(moto, info)
    res = repo.orchestrate("plan")
    assert res.exit_code == 1, res.output
    manifest = json.loads((repo.latest() / "manifest.json").read_text())
    error = manifest["stacks"][0]["error"]
    assert "held by mallory@build-42" in error and "11111111-2222-3333-4444-555555555555" in error
    assert "force-unlock -force 11111111-2222-3333-4444-555555555555" in error


def test_a_lock_taken_by_this_command_itself_is_named_as_its_own(
    tf_repo: Callable[..., Repo], moto: MotoServer
) -> None:
    # What a retried DynamoDB lock write leaves: a lock by this user@host, created after the
    # command began (here stamped a minute ahead, as the retry's own write would be).
    from datetime import UTC, datetime, timedelta

    from orchestrator.terraform.runner import this_caller

    repo = s3_repo(tf_repo, moto, lock_timeout="2s")
    created = datetime.now(UTC) + timedelta(minutes=1)
    info = lock_info(
        repo,
        "99999999-2222-3333-4444-555555555555",
        who=this_caller(0).who,
        operation="OperationTypePlan",
        created=created.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    )
    hold_lock(moto, info)
    res = repo.orchestrate("plan")
    assert res.exit_code == 1, res.output
    error = json.loads((repo.latest() / "manifest.json").read_text())["stacks"][0]["error"]
    assert "this command's own" in error
    assert "force-unlock -force 99999999-2222-3333-4444-555555555555" in error


def test_bug4_a_partial_backend_block_is_completed_from_the_root_template(
    newest_repo: Callable[..., Repo], moto: MotoServer
) -> None:
    """`backend "s3" {}` in code plus the root template: init gets the template's settings with
    -backend-config instead of failing with "Missing Required Value"."""
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    session.client("s3", endpoint_url=moto.endpoint).create_bucket(Bucket=BUCKET)
    extra = (
        "backend:\n  type: s3\n  config:\n"
        f"    bucket: {BUCKET}\n    key: '{{stack}}/terraform.tfstate'\n    region: us-east-1\n"
        f"clouds:\n  aws-test: {{provider: aws, region: us-east-1, endpoint: '{moto.endpoint}'}}\n"
    )
    main = 'terraform {\n  backend "s3" {}\n}\n' + NULL_STACK
    repo = newest_repo({"stacks/net/stack.yaml": "cloud: aws-test\n", "stacks/net/main.tf": main}, extra)
    repo.env.update({k: v for k, v in moto.env.items() if k != "AWS_ENDPOINT_URL"})
    res = repo.orchestrate("plan")
    assert res.exit_code == 2, res.output
    res = repo.orchestrate("apply", "--approved-by", "alice", "--reason", "partial")
    assert res.exit_code == 0, res.output
    s3 = session.client("s3", endpoint_url=moto.endpoint)
    state = json.loads(s3.get_object(Bucket=BUCKET, Key="net/terraform.tfstate")["Body"].read())
    assert state["outputs"]["name"]["value"] == "net-name"
    assert not (repo.root / "stacks/net/_orchestrate_override.tf.json").exists()
