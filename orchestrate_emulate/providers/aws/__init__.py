"""The stand-in ``hashicorp/aws``: boto3 against moto's server (``AWS_ENDPOINT_URL``).

Resources: aws_s3_bucket, aws_sqs_queue, aws_security_group, aws_iam_role, aws_dynamodb_table.
Data sources: aws_caller_identity, aws_region. The provider block takes the real provider's
common arguments (region, access_key, secret_key, profile, token, the skip_* flags,
s3_use_path_style, ``endpoints {}`` per service, ``default_tags { tags = {...} }``).

It only ever talks to an emulated endpoint: without ``endpoints`` or ``AWS_ENDPOINT_URL`` it
refuses to configure, so it cannot touch a real account by accident.
"""

from __future__ import annotations

import os
import threading
from typing import Any, ClassVar

from tf.blocks import SetNestedBlock
from tf.schema import Attribute, Block, Schema
from tf.types import Bool, Map, String

from orchestrate_emulate.providers._runtime import (
    WARM,
    BaseDataSource,
    BaseProvider,
    BaseResource,
    ProviderError,
)

SERVICES = ("dynamodb", "ec2", "iam", "s3", "sqs", "sts")
DEFAULT_ACCOUNT = "123456789012"


class AwsProvider(BaseProvider):
    name = "aws"

    resources: ClassVar[list[type[BaseResource]]] = []
    data_sources: ClassVar[list[type[BaseDataSource]]] = []

    def __init__(self) -> None:
        super().__init__()
        self.region = ""
        self.default_tags: dict[str, str] = {}
        self._endpoints: dict[str, str] = {}
        self._credentials: dict[str, str] = {}
        self._clients: dict[str, Any] = {}
        self._session: Any = None
        self._lock = threading.Lock()

    def build_schema(self) -> Schema:
        opt_str = ("region", "access_key", "profile", "token", "skip_metadata_api_check")
        opt_bool = (
            "skip_credentials_validation",
            "skip_requesting_account_id",
            "skip_region_validation",
            "s3_use_path_style",
            "insecure",
        )
        return Schema(
            version=0,
            attributes=[
                *(Attribute(n, String(), optional=True) for n in opt_str),
                Attribute("secret_key", String(), optional=True, sensitive=True),
                *(Attribute(n, Bool(), optional=True) for n in opt_bool),
            ],
            block_types=[
                SetNestedBlock(
                    "endpoints", Block(attributes=[Attribute(s, String(), optional=True) for s in SERVICES])
                ),
                SetNestedBlock(
                    "default_tags", Block(attributes=[Attribute("tags", Map(String()), optional=True)])
                ),
            ],
        )

    def configure(self, config: dict[str, Any]) -> None:
        self.region = (
            config.get("region") or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or ""
        )
        if not self.region:
            raise ProviderError(
                "no region: set region in the provider block, or AWS_REGION (orchestrate sets it from the "
                "stack's cloud target)"
            )
        blocks = config.get("endpoints") or []
        configured = {k: v for b in blocks for k, v in (b or {}).items() if v}
        default = os.environ.get("AWS_ENDPOINT_URL", "")
        for service in SERVICES:
            url = configured.get(service) or os.environ.get(f"AWS_ENDPOINT_URL_{service.upper()}") or default
            if url:
                self._endpoints[service] = url
        if not self._endpoints:
            raise ProviderError(
                "this stand-in hashicorp/aws only talks to an emulated AWS and none is set: run "
                "`orchestrate emulate up` and use its environment (AWS_ENDPOINT_URL)"
            )
        self._credentials = {
            "aws_access_key_id": config.get("access_key") or os.environ.get("AWS_ACCESS_KEY_ID") or "testing",
            "aws_secret_access_key": config.get("secret_key")
            or os.environ.get("AWS_SECRET_ACCESS_KEY")
            or "testing",
        }
        token = config.get("token") or os.environ.get("AWS_SESSION_TOKEN")
        if token:
            self._credentials["aws_session_token"] = token
        tags: dict[str, str] = {}
        for b in config.get("default_tags") or []:
            tags.update((b or {}).get("tags") or {})
        self.default_tags = tags

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` on the emulated endpoint (boto3 is imported on first use).

        One botocore session serves every client: it loads the shared endpoint data once, which
        makes the five clients of a plan four times cheaper to create. Terraform reads resources
        in parallel threads, and creating clients is not thread-safe: hence the lock.
        """
        with self._lock:
            if service not in self._clients:
                endpoint = self._endpoints.get(service)
                if not endpoint:
                    raise ProviderError(f"no emulated endpoint for {service}: set AWS_ENDPOINT_URL")
                import boto3
                from botocore.config import Config

                if self._session is None:
                    import botocore.session

                    core = botocore.session.get_session()
                    if "botocore_loader" in WARM:  # service models parsed once, in the zygote
                        core.register_component("data_loader", WARM["botocore_loader"])
                    self._session = boto3.session.Session(botocore_session=core)
                extra: dict[str, Any] = {"retries": {"max_attempts": 5, "mode": "standard"}}
                if service == "s3":
                    extra["s3"] = {"addressing_style": "path"}
                self._clients[service] = self._session.client(
                    service,
                    region_name=self.region,
                    endpoint_url=endpoint,
                    config=Config(**extra),
                    **self._credentials,
                )
            return self._clients[service]


def _register() -> None:
    from orchestrate_emulate.providers.aws.data import CallerIdentity, Region
    from orchestrate_emulate.providers.aws.dynamodb import DynamodbTable
    from orchestrate_emulate.providers.aws.ec2 import SecurityGroup
    from orchestrate_emulate.providers.aws.iam import IamRole
    from orchestrate_emulate.providers.aws.s3 import S3Bucket
    from orchestrate_emulate.providers.aws.sqs import SqsQueue

    AwsProvider.resources = [S3Bucket, SqsQueue, SecurityGroup, IamRole, DynamodbTable]
    AwsProvider.data_sources = [CallerIdentity, Region]


_register()
