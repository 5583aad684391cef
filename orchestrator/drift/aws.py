"""AWS live reader (boto3): batched lists per type, account and region; nothing else talks to AWS.

One list call (paginated) per type and scope; attributes the list carries are used as they
are (EC2 and IAM return everything compared). Where AWS offers no batch read, the missing
attributes are read per managed resource only (S3 versioning, SQS/SNS attributes, DynamoDB
describe), concurrently; tags of those types come in one batch from the Resource Groups
Tagging API. Unmanaged detection needs the lists alone.

SDK retries are off: every call goes through orchestrator.drift.retry (throttling, 5xx and
dropped connections, exponential backoff with full jitter), and a call that still fails
becomes a CloudError here, at the boundary.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

from orchestrator.clouds import ResolvedTarget
from orchestrator.config import AwsTarget
from orchestrator.drift.model import LiveResource, Resource
from orchestrator.drift.retry import AttemptBudget, RetryPolicy, call_with_retries
from orchestrator.drift.state import StateLocation
from orchestrator.errors import CloudError

AWS_TYPES = (
    "aws_s3_bucket",
    "aws_instance",
    "aws_security_group",
    "aws_vpc",
    "aws_subnet",
    "aws_iam_role",
    "aws_dynamodb_table",
    "aws_sqs_queue",
    "aws_sns_topic",
)
# Types whose per-resource reads AWS Config replaces where a recorder records them
# (BatchGetResourceConfig, 100 a call); tags still come from the Tagging API.
CONFIG_TYPES = {"aws_s3_bucket": "AWS::S3::Bucket", "aws_sns_topic": "AWS::SNS::Topic"}
CONFIG_BATCH = 100
# Types listed once per account rather than per region.
GLOBAL_TYPES = frozenset({"aws_iam_role"})
# Types whose tags come from the Resource Groups Tagging API, with its resource type filter.
TAGGED_VIA_API = {
    "aws_s3_bucket": "s3",
    "aws_dynamodb_table": "dynamodb:table",
    "aws_sqs_queue": "sqs",
    "aws_sns_topic": "sns",
}

THROTTLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "EC2ThrottledException",
        "PriorRequestNotComplete",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
# Service-linked and AWS-reserved roles, and the roles AWS Organizations and Control Tower create.
_AWS_ROLE_PATHS = ("/aws-service-role/", "/aws-reserved/")
_AWS_ROLE_NAMES = ("OrganizationAccountAccessRole", "AWSControlTowerExecution")

SessionFactory = Callable[[ResolvedTarget], Any]  # -> boto3.Session


def classify(exc: BaseException) -> Literal["transient", "connect"] | None:
    """Whether an error from boto3 is worth retrying, and how hard."""
    from botocore.exceptions import (
        ClientError,
        ConnectionClosedError,
        ConnectTimeoutError,
        EndpointConnectionError,
        ReadTimeoutError,
    )

    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if code in THROTTLE_CODES or status == 429 or status >= 500:
            return "transient"
        return None
    if isinstance(exc, ConnectionClosedError | ReadTimeoutError):
        return "transient"
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError):
        return "connect"
    return None


def translate(exc: BaseException, what: str, where: str, endpoint: str | None) -> CloudError:
    """A botocore error as a CloudError: what failed, where, and what to do."""
    from botocore.exceptions import (
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
        ProfileNotFound,
    )

    if isinstance(exc, CloudError):
        return exc
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return CloudError(
            "no AWS credentials",
            where=where,
            hint="Set AWS credentials (environment, profile: in the cloud target, or an instance role).",
        )
    if isinstance(exc, ProfileNotFound):
        return CloudError(
            f"AWS profile not found: {exc}",
            where=where,
            hint="Fix profile: in the cloud target of orchestrate.yaml.",
        )
    if isinstance(exc, NoRegionError):
        return CloudError("no AWS region", where=where, hint="Set region: in the cloud target.")
    if isinstance(exc, EndpointConnectionError):
        return CloudError(
            f"cannot reach the AWS endpoint {endpoint or exc.kwargs.get('endpoint_url', '')} for {what}",
            where=where,
            hint="Check endpoint: in the cloud target and the network (or run `orchestrate emulate up`).",
        )
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code", "")) or str(
            exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "")
        )
        message = str(err.get("Message", "")).strip()
        detail = f"{code}: {message}" if message else code
        if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError"):
            hint = "Grant the scanning identity read access (the permissions are listed in docs/drift.md)."
        elif code in (
            "InvalidClientTokenId",
            "SignatureDoesNotMatch",
            "ExpiredToken",
            "UnrecognizedClientException",
        ):
            hint = "The AWS credentials are invalid or expired; refresh them."
        elif classify(exc) == "transient":
            hint = "AWS kept throttling or failing after retries; run the scan again later."
        else:
            hint = "Check the cloud target's account, region and permissions."
        return CloudError(f"{what} failed ({detail})", where=where, hint=hint)
    return CloudError(
        f"{what} failed: {type(exc).__name__}: {exc}", where=where, hint="Run again with -v for details."
    )


def default_session(resolved: ResolvedTarget, env: Mapping[str, str] | None = None) -> Any:
    """A boto3 session for a target: its profile, else the environment (emulated credentials first)."""
    import boto3

    target = resolved.target
    assert isinstance(target, AwsTarget)
    env = env or {}
    kwargs: dict[str, Any] = {"region_name": target.region}
    if target.profile:
        kwargs["profile_name"] = target.profile
    elif env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
        kwargs["aws_access_key_id"] = env["AWS_ACCESS_KEY_ID"]
        kwargs["aws_secret_access_key"] = env["AWS_SECRET_ACCESS_KEY"]
        if env.get("AWS_SESSION_TOKEN"):
            kwargs["aws_session_token"] = env["AWS_SESSION_TOKEN"]
    try:
        session = boto3.Session(**kwargs)
    except Exception as exc:
        raise translate(exc, "creating an AWS session", resolved.name, resolved.endpoint) from exc
    if not target.role_arn:
        return session
    # role_arn: read with the role's temporary credentials (valid an hour, longer than a scan).
    try:
        sts = session.client("sts", region_name=target.region, endpoint_url=resolved.endpoint)
        creds = sts.assume_role(RoleArn=target.role_arn, RoleSessionName="orchestrate-drift")["Credentials"]
        return boto3.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=target.region,
        )
    except Exception as exc:
        raise translate(
            exc, f"assuming the role {target.role_arn}", resolved.name, resolved.endpoint
        ) from exc


def _tags(tag_list: Iterable[Mapping[str, Any]] | None) -> dict[str, str]:
    return {str(t["Key"]): str(t.get("Value", "")) for t in tag_list or []}


def _bool(value: Any, default: bool = False) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).lower() == "true"


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _json_text(value: Any) -> str:
    """botocore decodes IAM policy documents into data; the provider stores JSON text."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


_REGION = re.compile(r"^[a-z]{2}(?:-gov|-iso[a-z]*)?-[a-z]+-\d+")


def resource_region(resource: Resource) -> str | None:
    """The region a state instance lives in: ``region`` (S3, provider v6), its ARN, its zone."""
    attrs = resource.attributes
    region = attrs.get("region")
    if isinstance(region, str) and region:
        return region
    arn = attrs.get("arn")
    if isinstance(arn, str) and arn.startswith("arn:"):
        parts = arn.split(":")
        if len(parts) > 3 and parts[3]:
            return parts[3]
    zone = attrs.get("availability_zone")
    if isinstance(zone, str) and (m := _REGION.match(zone)):
        return m.group(0)
    return None


def state_key(resource: Resource) -> str | None:
    """What a state instance is matched on in the live listing."""
    attrs = resource.attributes
    if resource.type == "aws_sqs_queue":
        name = attrs.get("name")
        if isinstance(name, str) and name:
            return name
        url = attrs.get("url") or resource.id or ""
        return str(url).rstrip("/").rsplit("/", 1)[-1] or None
    if resource.type == "aws_iam_role":
        return str(attrs.get("name") or resource.id or "") or None
    if resource.type in ("aws_s3_bucket", "aws_dynamodb_table"):
        return str(attrs.get("bucket") or attrs.get("name") or resource.id or "") or None
    return resource.id


def _sg_rule(protocol: str, lo: int, hi: int, kind: str, value: str, description: Any) -> dict[str, Any]:
    return {
        "protocol": protocol,
        "from_port": lo,
        "to_port": hi,
        "description": str(description or ""),
        "cidr_blocks": [value] if kind == "cidr_blocks" else [],
        "ipv6_cidr_blocks": [value] if kind == "ipv6_cidr_blocks" else [],
        "prefix_list_ids": [value] if kind == "prefix_list_ids" else [],
        "security_groups": [value] if kind == "security_groups" else [],
        "self": False,
    }


_SG_SOURCES = (
    ("IpRanges", "CidrIp", "cidr_blocks"),
    ("Ipv6Ranges", "CidrIpv6", "ipv6_cidr_blocks"),
    ("PrefixListIds", "PrefixListId", "prefix_list_ids"),
    ("UserIdGroupPairs", "GroupId", "security_groups"),
)


def sg_rules(permissions: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """EC2 IpPermissions in the provider's ingress/egress shape, one rule per source."""
    rules: list[dict[str, Any]] = []
    for perm in permissions or []:
        protocol = str(perm.get("IpProtocol", "-1"))
        lo, hi = (0, 0) if protocol == "-1" else (_int(perm.get("FromPort")), _int(perm.get("ToPort")))
        for list_key, value_key, kind in _SG_SOURCES:
            for r in perm.get(list_key) or []:
                rules.append(
                    _sg_rule(protocol, lo, hi, kind, str(r.get(value_key, "")), r.get("Description"))
                )
    return rules


def _mark_self(rules: list[dict[str, Any]], group_id: str) -> list[dict[str, Any]]:
    """A rule naming the group itself is the provider's ``self = true``."""
    for r in rules:
        if r["security_groups"] == [group_id]:
            r["security_groups"] = []
            r["self"] = True
    return rules


class AwsReader:
    """Reads one AWS scope (an account and region reached through one cloud target)."""

    def __init__(
        self,
        resolved: ResolvedTarget,
        session: Any,
        *,
        retry: RetryPolicy | None = None,
        workers: int = 16,
        on_retry: Callable[[str, BaseException], None] | None = None,
        region: str | None = None,
        account: str | None = None,
    ) -> None:
        target = resolved.target
        assert isinstance(target, AwsTarget)
        self.resolved = resolved
        self.target = target
        self.region = region or target.region
        self.where = resolved.name
        self.session = session
        self.retry = retry or RetryPolicy()
        self.workers = workers
        self._on_retry = on_retry
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._tag_map: dict[str, dict[str, str]] | None = None
        self._tag_types: set[str] = set()
        self._tag_lock = threading.Lock()
        self._account: str | None = account
        self._siblings: dict[str, AwsReader] = {}
        self._config: frozenset[str] | None = None  # AWS::* types a Config recorder records here
        self._config_lock = threading.Lock()
        self._paths: dict[str, str] = {}  # type -> how it was read (the report's read_paths)

    # -------------------------------------------------------------- plumbing

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                from botocore.config import Config

                config = Config(
                    retries={"total_max_attempts": 1, "mode": "standard"},
                    connect_timeout=10,
                    read_timeout=60,
                    max_pool_connections=max(10, self.workers * 2),
                    s3={"addressing_style": "path"} if self.resolved.endpoint else None,
                )
                try:
                    self._clients[service] = self.session.client(
                        service, region_name=self.region, endpoint_url=self.resolved.endpoint, config=config
                    )
                except Exception as exc:
                    raise translate(
                        exc, f"creating the {service} client", self.where, self.resolved.endpoint
                    ) from exc
            return self._clients[service]

    def call(self, service: str, operation: str, **kwargs: Any) -> Any:
        """One API call with retries; failures translated into CloudError."""
        method = getattr(self.client(service), operation)

        def report(exc: BaseException, retry: int) -> None:
            del retry
            if self._on_retry is not None:
                self._on_retry(f"{service}.{operation}", exc)

        try:
            return call_with_retries(
                lambda: method(**kwargs),
                policy=self.retry,
                retryable=AttemptBudget(classify, self.retry),
                on_retry=report,
            )
        except Exception as exc:
            if _error_code(exc) in _NOT_FOUND:
                raise
            raise translate(exc, f"{service} {operation}", self.where, self.resolved.endpoint) from exc

    def _map(self, fn: Callable[[str], LiveResource | None], keys: Iterable[str]) -> dict[str, LiveResource]:
        keys = sorted(set(keys))
        if not keys:
            return {}
        with ThreadPoolExecutor(max_workers=min(self.workers, len(keys))) as pool:
            results = list(pool.map(fn, keys))
        return {k: r for k, r in zip(keys, results, strict=True) if r is not None}

    # -------------------------------------------------------------- scope

    def account_id(self) -> str:
        if self._account is None:
            ident = self.call("sts", "get_caller_identity")
            account = str(ident.get("Account", ""))
            if self.target.account_id and account != self.target.account_id:
                raise CloudError(
                    f"the credentials are for AWS account {account}, not {self.target.account_id}",
                    where=self.where,
                    hint="Use credentials for the target's account, or fix account_id: in orchestrate.yaml.",
                )
            self._account = account
        return self._account

    def prepare_tags(self, types: Iterable[str]) -> None:
        """Declare which types will need batched tags, so one Tagging API pass serves them all."""
        self._tag_types |= {t for t in types if t in TAGGED_VIA_API}

    def tags_by_arn(self) -> dict[str, dict[str, str]]:
        with self._tag_lock:
            if self._tag_map is None:
                filters = sorted({TAGGED_VIA_API[t] for t in self._tag_types}) or sorted(
                    set(TAGGED_VIA_API.values())
                )
                tag_map: dict[str, dict[str, str]] = {}
                token = ""
                while True:
                    kwargs: dict[str, Any] = {"ResourceTypeFilters": filters, "ResourcesPerPage": 100}
                    if token:
                        kwargs["PaginationToken"] = token
                    page = self.call("resourcegroupstaggingapi", "get_resources", **kwargs)
                    for item in page.get("ResourceTagMappingList", []):
                        tag_map[str(item["ResourceARN"])] = _tags(item.get("Tags"))
                    token = page.get("PaginationToken") or ""
                    if not token:
                        break
                self._tag_map = tag_map
            return self._tag_map

    def config_recorded(self) -> frozenset[str]:
        """The CloudFormation types a running AWS Config recorder records in this region.

        Without Config (no recorder, not recording, or no permission to ask) this is empty and
        the per-resource readers are used: Config is an accelerator, never a requirement.
        """
        with self._config_lock:
            if self._config is None:
                types: set[str] = set()
                try:
                    status = self.call("config", "describe_configuration_recorder_status")
                    running = {
                        str(s.get("name"))
                        for s in status.get("ConfigurationRecordersStatus", [])
                        if s.get("recording")
                    }
                    if running:
                        recorders = self.call("config", "describe_configuration_recorders")
                        for rec in recorders.get("ConfigurationRecorders", []):
                            if rec.get("name") not in running:
                                continue
                            group = rec.get("recordingGroup") or {}
                            excluded = set(
                                (group.get("exclusionByResourceTypes") or {}).get("resourceTypes") or []
                            )
                            if group.get("allSupported"):
                                types |= set(CONFIG_TYPES.values()) - excluded
                            else:
                                types |= set(group.get("resourceTypes") or []) - excluded
                except CloudError:
                    types = set()
                self._config = frozenset(types)
            return self._config

    def config_items(self, cfn_type: str, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Current configuration items by resource id (BatchGetResourceConfig, 100 ids a call)."""
        keys = sorted(set(ids))
        out: dict[str, dict[str, Any]] = {}
        for start in range(0, len(keys), CONFIG_BATCH):
            chunk = keys[start : start + CONFIG_BATCH]
            page = self.call(
                "config",
                "batch_get_resource_config",
                resourceKeys=[{"resourceType": cfn_type, "resourceId": k} for k in chunk],
            )
            for item in page.get("baseConfigurationItems", []):
                if str(item.get("configurationItemStatus", "")).startswith("ResourceDeleted"):
                    continue
                out[str(item.get("resourceId"))] = item
        return out

    def _via_config(self, rtype: str, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        cfn = CONFIG_TYPES.get(rtype)
        if cfn is None or cfn not in self.config_recorded():
            self._paths[rtype] = "list+describe"
            return {}
        self._paths[rtype] = "aws-config"
        return self.config_items(cfn, ids)

    def read_path(self, rtype: str) -> str:
        path = self._paths.get(rtype, "list")
        return f"{path}+tagging-api" if rtype in TAGGED_VIA_API else path

    # -------------------------------------------------------------- per type

    # -------------------------------------------------------------- the scan's interface

    provider = "aws"

    def scope_id(self) -> tuple[str, ...]:
        """The account and region this target reaches (one STS call)."""
        return ("aws", self.resolved.endpoint or "", self.account_id(), self.region)

    def read_id(self, rtype: str) -> tuple[str, ...]:
        """Reads with equal ids return the same resources: IAM is per account, the rest per region."""
        scope = self.scope_id()
        return (*scope[:3], "global") if rtype in GLOBAL_TYPES else scope

    def supports(self, rtype: str) -> bool:
        return rtype in AWS_TYPES

    def route(self, resource: Resource) -> AwsReader:
        """The reader for a resource's own region (a provider alias may put it in another)."""
        region = resource_region(resource)
        if region is None or region == self.region or resource.type in GLOBAL_TYPES:
            return self
        with self._lock:
            sibling = self._siblings.get(region)
            if sibling is None:
                sibling = AwsReader(
                    self.resolved,
                    self.session,
                    retry=self.retry,
                    workers=self.workers,
                    on_retry=self._on_retry,
                    region=region,
                    account=self._account,
                )
                self._siblings[region] = sibling
            return sibling

    def listed_types(self) -> tuple[str, ...]:
        return AWS_TYPES

    def state_key(self, resource: Resource) -> str | None:
        return state_key(resource)

    def read(self, rtype: str, want: Mapping[str, Mapping[str, Any]]) -> dict[str, LiveResource]:
        """Every live resource of ``rtype`` in this scope, keyed as ``state_key`` keys state.

        Resources in ``want`` (managed ones, key -> state attributes) get every compared
        attribute; the others carry what the list returns (enough for unmanaged detection).
        """
        reader = getattr(self, "_read_" + rtype.removeprefix("aws_"))
        try:
            result: dict[str, LiveResource] = reader(set(want))
        except CloudError:
            raise
        except Exception as exc:
            raise translate(exc, f"listing {rtype}", self.where, self.resolved.endpoint) from exc
        return result

    def _read_s3_bucket(self, want: set[str]) -> dict[str, LiveResource]:
        names: list[str] = []
        token = ""
        while True:
            # MaxBuckets makes ListBuckets paginate (10,000 a page); BucketRegion scopes it.
            kwargs: dict[str, Any] = {"BucketRegion": self.region, "MaxBuckets": 10000}
            if token:
                kwargs["ContinuationToken"] = token
            page = self.call("s3", "list_buckets", **kwargs)
            names += [str(b["Name"]) for b in page.get("Buckets", [])]
            token = page.get("ContinuationToken") or ""
            if not token:
                break
        managed = want & set(names)
        tags = self.tags_by_arn() if managed else {}
        recorded = self._via_config("aws_s3_bucket", managed) if managed else {}

        def detail(name: str) -> LiveResource | None:
            item = recorded.get(name)
            raw = (item or {}).get("supplementaryConfiguration", {}).get("BucketVersioningConfiguration")
            if raw:
                # Config's item: {"status": "Enabled"|"Suspended"|"Off", "isMfaDeleteEnabled": ...}.
                conf = json.loads(raw) if isinstance(raw, str) else raw
                versioning = [
                    {
                        "enabled": conf.get("status") == "Enabled",
                        "mfa_delete": bool(conf.get("isMfaDeleteEnabled")),
                    }
                ]
                attrs = {
                    "bucket": name,
                    "tags": tags.get(f"arn:aws:s3:::{name}", {}),
                    "versioning": versioning,
                }
                return LiveResource("aws_s3_bucket", name, name, attrs)
            try:
                v = self.call("s3", "get_bucket_versioning", Bucket=name)
            except Exception as exc:
                if _error_code(exc) in _NOT_FOUND:
                    return None  # deleted between the list and now
                raise
            versioning = [
                {"enabled": v.get("Status") == "Enabled", "mfa_delete": v.get("MFADelete") == "Enabled"}
            ]
            attrs = {"bucket": name, "tags": tags.get(f"arn:aws:s3:::{name}", {}), "versioning": versioning}
            return LiveResource("aws_s3_bucket", name, name, attrs)

        live = {n: LiveResource("aws_s3_bucket", n, n, {"bucket": n}) for n in names if n not in managed}
        live.update(self._map(detail, managed))
        return live

    def _ec2_pages(self, operation: str, key: str, **kwargs: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        token = ""
        while True:
            args = {"MaxResults": 1000, **kwargs}
            if token:
                args["NextToken"] = token
            page = self.call("ec2", operation, **args)
            if key == "Reservations":
                for reservation in page.get(key, []):
                    items += reservation.get("Instances", [])
            else:
                items += page.get(key, [])
            token = page.get("NextToken") or ""
            if not token:
                return items

    def _read_instance(self, want: set[str]) -> dict[str, LiveResource]:
        del want
        live: dict[str, LiveResource] = {}
        states = ["pending", "running", "stopping", "stopped"]
        for inst in self._ec2_pages(
            "describe_instances", "Reservations", Filters=[{"Name": "instance-state-name", "Values": states}]
        ):
            iid = str(inst["InstanceId"])
            attrs = {
                "ami": inst.get("ImageId"),
                "instance_type": inst.get("InstanceType"),
                "subnet_id": inst.get("SubnetId") or "",
                "availability_zone": (inst.get("Placement") or {}).get("AvailabilityZone"),
                "key_name": inst.get("KeyName") or "",
                "vpc_security_group_ids": sorted(g["GroupId"] for g in inst.get("SecurityGroups") or []),
                "source_dest_check": _bool(inst.get("SourceDestCheck"), True),
                "monitoring": (inst.get("Monitoring") or {}).get("State") in ("enabled", "pending"),
                "ebs_optimized": _bool(inst.get("EbsOptimized")),
                "private_ip": inst.get("PrivateIpAddress") or "",
                "instance_state": (inst.get("State") or {}).get("Name"),
                "tags": _tags(inst.get("Tags")),
            }
            live[iid] = LiveResource("aws_instance", iid, iid, attrs)
        return live

    def _read_security_group(self, want: set[str]) -> dict[str, LiveResource]:
        del want
        live: dict[str, LiveResource] = {}
        for sg in self._ec2_pages("describe_security_groups", "SecurityGroups"):
            gid = str(sg["GroupId"])
            attrs = {
                "name": sg.get("GroupName"),
                "description": sg.get("Description"),
                "vpc_id": sg.get("VpcId") or "",
                "ingress": _mark_self(sg_rules(sg.get("IpPermissions") or []), gid),
                "egress": _mark_self(sg_rules(sg.get("IpPermissionsEgress") or []), gid),
                "tags": _tags(sg.get("Tags")),
            }
            live[gid] = LiveResource("aws_security_group", gid, gid, attrs, sg.get("GroupName") == "default")
        return live

    def _read_vpc(self, want: set[str]) -> dict[str, LiveResource]:
        del want
        live: dict[str, LiveResource] = {}
        for vpc in self._ec2_pages("describe_vpcs", "Vpcs"):
            vid = str(vpc["VpcId"])
            attrs = {
                "cidr_block": vpc.get("CidrBlock"),
                "instance_tenancy": vpc.get("InstanceTenancy") or "default",
                "tags": _tags(vpc.get("Tags")),
            }
            live[vid] = LiveResource("aws_vpc", vid, vid, attrs, bool(vpc.get("IsDefault")))
        return live

    def _read_subnet(self, want: set[str]) -> dict[str, LiveResource]:
        del want
        live: dict[str, LiveResource] = {}
        for sn in self._ec2_pages("describe_subnets", "Subnets"):
            sid = str(sn["SubnetId"])
            attrs = {
                "vpc_id": sn.get("VpcId"),
                "cidr_block": sn.get("CidrBlock"),
                "availability_zone": sn.get("AvailabilityZone"),
                "map_public_ip_on_launch": _bool(sn.get("MapPublicIpOnLaunch")),
                "assign_ipv6_address_on_creation": _bool(sn.get("AssignIpv6AddressOnCreation")),
                "tags": _tags(sn.get("Tags")),
            }
            live[sid] = LiveResource("aws_subnet", sid, sid, attrs, bool(sn.get("DefaultForAz")))
        return live

    def _read_iam_role(self, want: set[str]) -> dict[str, LiveResource]:
        del want
        live: dict[str, LiveResource] = {}
        marker = ""
        while True:
            kwargs: dict[str, Any] = {"Filter": ["Role"], "MaxItems": 1000}
            if marker:
                kwargs["Marker"] = marker
            page = self.call("iam", "get_account_authorization_details", **kwargs)
            for role in page.get("RoleDetailList", []):
                name = str(role["RoleName"])
                path = str(role.get("Path") or "/")
                boundary = (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn") or ""
                attrs = {
                    "name": name,
                    "path": path,
                    "assume_role_policy": _json_text(role.get("AssumeRolePolicyDocument")),
                    "permissions_boundary": boundary,
                    "managed_policy_arns": sorted(
                        p["PolicyArn"] for p in role.get("AttachedManagedPolicies") or []
                    ),
                    "inline_policy": [
                        {"name": p["PolicyName"], "policy": _json_text(p.get("PolicyDocument"))}
                        for p in role.get("RolePolicyList") or []
                    ],
                    "tags": _tags(role.get("Tags")),
                }
                aws_owned = path.startswith(_AWS_ROLE_PATHS) or name in _AWS_ROLE_NAMES
                live[name] = LiveResource("aws_iam_role", name, name, attrs, aws_owned)
            if not page.get("IsTruncated") or not page.get("Marker"):
                return live
            marker = str(page["Marker"])

    def _read_dynamodb_table(self, want: set[str]) -> dict[str, LiveResource]:
        names: list[str] = []
        start = ""
        while True:
            kwargs: dict[str, Any] = {"Limit": 100}
            if start:
                kwargs["ExclusiveStartTableName"] = start
            page = self.call("dynamodb", "list_tables", **kwargs)
            names += [str(n) for n in page.get("TableNames", [])]
            start = page.get("LastEvaluatedTableName") or ""
            if not start:
                break
        managed = want & set(names)
        tags = self.tags_by_arn() if managed else {}

        def detail(name: str) -> LiveResource | None:
            try:
                table = self.call("dynamodb", "describe_table", TableName=name)["Table"]
            except Exception as exc:
                if _error_code(exc) in _NOT_FOUND:
                    return None
                raise
            keys = {k["KeyType"]: k["AttributeName"] for k in table.get("KeySchema") or []}
            throughput = table.get("ProvisionedThroughput") or {}
            stream = table.get("StreamSpecification") or {}
            attrs = {
                "name": name,
                "billing_mode": (table.get("BillingModeSummary") or {}).get("BillingMode") or "PROVISIONED",
                "hash_key": keys.get("HASH"),
                "range_key": keys.get("RANGE") or "",
                "attribute": sorted(
                    (
                        {"name": a["AttributeName"], "type": a["AttributeType"]}
                        for a in table.get("AttributeDefinitions") or []
                    ),
                    key=lambda a: a["name"],
                ),
                "read_capacity": _int(throughput.get("ReadCapacityUnits")),
                "write_capacity": _int(throughput.get("WriteCapacityUnits")),
                "stream_enabled": _bool(stream.get("StreamEnabled")),
                "stream_view_type": stream.get("StreamViewType") or "",
                "table_class": (table.get("TableClassSummary") or {}).get("TableClass") or "STANDARD",
                "deletion_protection_enabled": _bool(table.get("DeletionProtectionEnabled")),
                "tags": tags.get(str(table.get("TableArn")), {}),
            }
            return LiveResource("aws_dynamodb_table", name, name, attrs)

        live = {n: LiveResource("aws_dynamodb_table", n, n, {"name": n}) for n in names if n not in managed}
        live.update(self._map(detail, managed))
        return live

    def _read_sqs_queue(self, want: set[str]) -> dict[str, LiveResource]:
        urls: dict[str, str] = {}
        token = ""
        while True:
            kwargs: dict[str, Any] = {"MaxResults": 1000}
            if token:
                kwargs["NextToken"] = token
            page = self.call("sqs", "list_queues", **kwargs)
            for url in page.get("QueueUrls", []):
                urls[str(url).rstrip("/").rsplit("/", 1)[-1]] = str(url)
            token = page.get("NextToken") or ""
            if not token:
                break
        managed = want & set(urls)
        tags = self.tags_by_arn() if managed else {}

        def detail(name: str) -> LiveResource | None:
            url = urls[name]
            try:
                a = self.call("sqs", "get_queue_attributes", QueueUrl=url, AttributeNames=["All"])[
                    "Attributes"
                ]
            except Exception as exc:
                if _error_code(exc) in _NOT_FOUND:
                    return None
                raise
            attrs = {
                "name": name,
                "url": url,
                "delay_seconds": _int(a.get("DelaySeconds")),
                "max_message_size": _int(a.get("MaximumMessageSize")),
                "message_retention_seconds": _int(a.get("MessageRetentionPeriod")),
                "receive_wait_time_seconds": _int(a.get("ReceiveMessageWaitTimeSeconds")),
                "visibility_timeout_seconds": _int(a.get("VisibilityTimeout")),
                "fifo_queue": _bool(a.get("FifoQueue")),
                "content_based_deduplication": _bool(a.get("ContentBasedDeduplication")),
                "kms_master_key_id": a.get("KmsMasterKeyId") or "",
                "sqs_managed_sse_enabled": _bool(a.get("SqsManagedSseEnabled")),
                "policy": a.get("Policy") or "",
                "redrive_policy": a.get("RedrivePolicy") or "",
                "redrive_allow_policy": a.get("RedriveAllowPolicy") or "",
                "tags": tags.get(str(a.get("QueueArn")), {}),
            }
            return LiveResource("aws_sqs_queue", url, name, attrs)

        live = {
            n: LiveResource("aws_sqs_queue", u, n, {"name": n, "url": u})
            for n, u in urls.items()
            if n not in managed
        }
        live.update(self._map(detail, managed))
        return live

    def _read_sns_topic(self, want: set[str]) -> dict[str, LiveResource]:
        arns: list[str] = []
        token = ""
        while True:
            kwargs: dict[str, Any] = {"NextToken": token} if token else {}
            page = self.call("sns", "list_topics", **kwargs)
            arns += [str(t["TopicArn"]) for t in page.get("Topics", [])]
            token = page.get("NextToken") or ""
            if not token:
                break
        managed = want & set(arns)
        tags = self.tags_by_arn() if managed else {}
        recorded = self._via_config("aws_sns_topic", managed) if managed else {}

        def detail(arn: str) -> LiveResource | None:
            item = recorded.get(arn)
            if item is not None and item.get("configuration"):
                return _sns_from_config(arn, item, tags.get(arn, {}))
            try:
                a = self.call("sns", "get_topic_attributes", TopicArn=arn)["Attributes"]
            except Exception as exc:
                if _error_code(exc) in _NOT_FOUND:
                    return None
                raise
            attrs = {
                "name": arn.rsplit(":", 1)[-1],
                "display_name": a.get("DisplayName") or "",
                "policy": a.get("Policy") or "",
                "delivery_policy": a.get("DeliveryPolicy") or "",
                "kms_master_key_id": a.get("KmsMasterKeyId") or "",
                "fifo_topic": _bool(a.get("FifoTopic")),
                "content_based_deduplication": _bool(a.get("ContentBasedDeduplication")),
                "tags": tags.get(arn, {}),
            }
            return LiveResource("aws_sns_topic", arn, arn, attrs)

        live = {
            a: LiveResource("aws_sns_topic", a, a, {"name": a.rsplit(":", 1)[-1]})
            for a in arns
            if a not in managed
        }
        live.update(self._map(detail, managed))
        return live


def _sns_from_config(arn: str, item: Mapping[str, Any], tags: dict[str, str]) -> LiveResource:
    """An AWS::SNS::Topic configuration item in the provider's attribute names."""
    raw = item.get("configuration")
    conf = json.loads(raw) if isinstance(raw, str) else dict(raw or {})
    attrs = {
        "name": arn.rsplit(":", 1)[-1],
        "display_name": conf.get("displayName") or "",
        "policy": _json_text(conf.get("policy")),
        "delivery_policy": _json_text(conf.get("deliveryPolicy") or None),
        "kms_master_key_id": conf.get("kmsMasterKeyId") or "",
        "fifo_topic": _bool(conf.get("fifoTopic")),
        "content_based_deduplication": _bool(conf.get("contentBasedDeduplication")),
        "tags": tags,
    }
    return LiveResource("aws_sns_topic", arn, arn, attrs)


_NOT_FOUND = frozenset(
    {
        "NoSuchBucket",
        "ResourceNotFoundException",
        "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist",
        "NotFound",
        "NotFoundException",
        "NoSuchEntity",
    }
)


def _error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


# ---------------------------------------------------------------- S3 state backend


def _backend_role(cfg: Mapping[str, Any]) -> dict[str, str] | None:
    """The role an S3 backend assumes: ``assume_role { role_arn ... }`` (1.6+) or ``role_arn``."""
    block = cfg.get("assume_role")
    if isinstance(block, list) and block and isinstance(block[0], dict):
        block = block[0]
    if isinstance(block, dict) and isinstance(block.get("role_arn"), str):
        return {k: str(v) for k, v in block.items() if isinstance(v, str)}
    if isinstance(cfg.get("role_arn"), str):
        out = {"role_arn": str(cfg["role_arn"])}
        for old, new in (("session_name", "session_name"), ("external_id", "external_id")):
            if isinstance(cfg.get(old), str):
                out[new] = str(cfg[old])
        return out
    return None


def _sts_endpoint(cfg: Mapping[str, Any], fallback: str | None) -> str | None:
    endpoints = cfg.get("endpoints") if isinstance(cfg.get("endpoints"), dict) else {}
    found = (endpoints or {}).get("sts") or cfg.get("sts_endpoint") or fallback
    return str(found) if found else None


def _assumed(
    factory: Callable[[dict[str, Any]], Any] | None,
    kwargs: dict[str, Any],
    role: Mapping[str, str],
    endpoint: str | None,
    where: str,
) -> dict[str, Any]:
    import boto3

    session = factory(kwargs) if factory else boto3.Session(**kwargs)
    params = {"RoleArn": role["role_arn"], "RoleSessionName": role.get("session_name") or "orchestrate-drift"}
    if role.get("external_id"):
        params["ExternalId"] = role["external_id"]
    try:
        creds = session.client("sts", endpoint_url=endpoint).assume_role(**params)["Credentials"]
    except Exception as exc:
        raise translate(exc, f"assuming the backend role {role['role_arn']}", where, endpoint) from exc
    return {
        "region_name": kwargs["region_name"],
        "aws_access_key_id": creds["AccessKeyId"],
        "aws_secret_access_key": creds["SecretAccessKey"],
        "aws_session_token": creds["SessionToken"],
    }


def _s3_session_kwargs(cfg: Mapping[str, Any], env: Mapping[str, str] | None) -> dict[str, Any]:
    """boto3 session arguments from the backend's settings, else the environment's keys (pure)."""
    kwargs: dict[str, Any] = {"region_name": cfg.get("region") or "us-east-1"}
    if cfg.get("profile"):
        kwargs["profile_name"] = cfg["profile"]
    elif cfg.get("access_key") and cfg.get("secret_key"):
        kwargs["aws_access_key_id"] = cfg["access_key"]
        kwargs["aws_secret_access_key"] = cfg["secret_key"]
    elif env and env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
        kwargs["aws_access_key_id"] = env["AWS_ACCESS_KEY_ID"]
        kwargs["aws_secret_access_key"] = env["AWS_SECRET_ACCESS_KEY"]
    return kwargs


class S3StateReader:
    """Reads S3 backend state objects (one GetObject); None when the object does not exist.

    The backend's own settings come first (profile, keys, region, endpoint/endpoints.s3);
    without an endpoint the stack's cloud target endpoint (``fallback_endpoint``) is used, as
    terraform gets AWS_ENDPOINT_URL from it. Clients and assumed roles are shared by threads.
    """

    def __init__(
        self,
        fallback_endpoint: Callable[[], str | None],
        env: Mapping[str, str] | None,
        retry: RetryPolicy,
        session_factory: Callable[[dict[str, Any]], Any] | None,
    ) -> None:
        self.fallback_endpoint = fallback_endpoint
        self.env = env
        self.retry = retry
        self.session_factory = session_factory
        self._clients: dict[tuple[Any, ...], Any] = {}
        self._assumed: dict[tuple[Any, ...], dict[str, Any]] = {}
        self._lock = threading.Lock()

    def _credentials(
        self, cfg: Mapping[str, Any], kwargs: dict[str, Any], endpoint: str | None, where: str
    ) -> dict[str, Any]:
        role = _backend_role(cfg)
        if role is None:
            return kwargs
        # the state bucket of another account: read it as terraform does, with the role
        role_key = (*sorted(role.items()), *sorted(kwargs.items()))
        with self._lock:
            if role_key not in self._assumed:
                self._assumed[role_key] = _assumed(
                    self.session_factory, kwargs, role, _sts_endpoint(cfg, endpoint), where
                )
            return self._assumed[role_key]

    def client_for(self, cfg: Mapping[str, Any], where: str) -> tuple[Any, str | None]:
        import boto3
        from botocore.config import Config

        endpoints = cfg.get("endpoints") if isinstance(cfg.get("endpoints"), dict) else {}
        endpoint = (endpoints or {}).get("s3") or cfg.get("endpoint") or self.fallback_endpoint()
        path_style = bool(cfg.get("use_path_style") or cfg.get("force_path_style") or endpoint)
        kwargs = self._credentials(cfg, _s3_session_kwargs(cfg, self.env), endpoint, where)
        key = (endpoint, path_style, *sorted(kwargs.items()))
        with self._lock:
            if key not in self._clients:
                try:
                    factory = self.session_factory
                    session = factory(kwargs) if factory else boto3.Session(**kwargs)
                    self._clients[key] = session.client(
                        "s3",
                        endpoint_url=endpoint,
                        config=Config(
                            retries={"total_max_attempts": 1, "mode": "standard"},
                            s3={"addressing_style": "path"} if path_style else None,
                            max_pool_connections=16,
                        ),
                    )
                except Exception as exc:
                    raise translate(exc, "creating the S3 client for the state", where, endpoint) from exc
            return self._clients[key], endpoint

    def __call__(self, location: StateLocation) -> bytes | None:
        cfg = location.config
        where = location.describe()
        client, endpoint = self.client_for(cfg, where)
        try:
            obj = call_with_retries(
                lambda: client.get_object(Bucket=cfg["bucket"], Key=location.s3_key),
                policy=self.retry,
                retryable=lambda e: classify(e) is not None,
            )
            data: bytes = obj["Body"].read()
            return data
        except Exception as exc:
            code = _error_code(exc)
            if code in ("NoSuchKey", "404"):
                return None
            raise translate(exc, f"reading the state {where}", where, endpoint) from exc


def s3_state_getter(
    *,
    fallback_endpoint: Callable[[], str | None] = lambda: None,
    env: Mapping[str, str] | None = None,
    retry: RetryPolicy | None = None,
    session_factory: Callable[[dict[str, Any]], Any] | None = None,
) -> Callable[[StateLocation], bytes | None]:
    """A reader of S3 backend state objects (S3StateReader)."""
    return S3StateReader(fallback_endpoint, env, retry or RetryPolicy(), session_factory)
