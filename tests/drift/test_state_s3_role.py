"""Bug 6 of issue 14: drift reads an S3 backend's state with the backend's role, as terraform does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from orchestrator.drift.aws import s3_state_getter
from orchestrator.drift.state import StateLocation
from tests.conftest import MotoServer

pytestmark = pytest.mark.integration

ROLE = "arn:aws:iam::123456789012:role/state-reader"


@pytest.mark.parametrize(
    "role_config",
    [{"role_arn": ROLE}, {"assume_role": {"role_arn": ROLE, "session_name": "ci"}}],
    ids=["role_arn", "assume_role"],
)
def test_the_backend_role_is_assumed_for_the_state_read(
    moto: MotoServer, tmp_path: Path, role_config: dict[str, Any]
) -> None:
    s3 = boto3.client(
        "s3", endpoint_url=moto.endpoint, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip
    s3.create_bucket(Bucket="other-account-state")
    body = json.dumps({"version": 4, "resources": []}).encode()
    s3.put_object(Bucket="other-account-state", Key="net/terraform.tfstate", Body=body)
    sessions: list[dict[str, Any]] = []

    def session(kwargs: dict[str, Any]) -> Any:
        sessions.append(dict(kwargs))
        return boto3.Session(**kwargs)

    config = {
        "bucket": "other-account-state",
        "key": "net/terraform.tfstate",
        "region": "us-east-1",
        "endpoint": moto.endpoint,
        "access_key": "base-key",
        "secret_key": "base-secret",
        **role_config,
    }
    get = s3_state_getter(session_factory=session)
    assert get(StateLocation("s3", config, tmp_path)) == body
    # first the backend's own credentials (to call STS), then the role's temporary ones
    assert sessions[0]["aws_access_key_id"] == "base-key"
    assert sessions[-1].get("aws_session_token")
    assert sessions[-1]["aws_access_key_id"] != "base-key"
