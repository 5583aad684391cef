"""State files in Terraform's format v4, with the attributes hashicorp/aws v5 records per type.

The attribute sets follow what the real provider writes after an apply (every top-level
attribute of the schema, computed ones filled, blocks as lists), so the scan is exercised on
the shapes it meets in real state files, not on a convenient subset.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

AWS_PROVIDER = 'provider["registry.terraform.io/hashicorp/aws"]'
ACCOUNT = "123456789012"


@dataclass
class Instance:
    type: str
    name: str
    attributes: dict[str, Any]
    module: str | None = None
    index_key: int | str | None = None
    schema_version: int = 0
    sensitive_attributes: list[Any] = field(default_factory=list)
    provider: str = AWS_PROVIDER


def state_document(
    instances: list[Instance], *, outputs: dict[str, Any] | None = None, serial: int = 3
) -> dict[str, Any]:
    grouped: dict[tuple[str | None, str, str], dict[str, Any]] = {}
    for inst in instances:
        key = (inst.module, inst.type, inst.name)
        entry = grouped.get(key)
        if entry is None:
            entry = {
                "mode": "managed",
                "type": inst.type,
                "name": inst.name,
                "provider": inst.provider,
                "instances": [],
            }
            if inst.module:
                entry = {"module": inst.module, **entry}
            if inst.index_key is not None:
                entry["each"] = "list" if isinstance(inst.index_key, int) else "map"
            grouped[key] = entry
        body: dict[str, Any] = {}
        if inst.index_key is not None:
            body["index_key"] = inst.index_key
        body.update(
            {
                "schema_version": inst.schema_version,
                "attributes": inst.attributes,
                "sensitive_attributes": inst.sensitive_attributes,
                "private": "bnVsbA==",
            }
        )
        entry["instances"].append(body)
    return {
        "version": 4,
        "terraform_version": "1.11.4",
        "serial": serial,
        "lineage": str(uuid.uuid4()),
        "outputs": outputs or {},
        "resources": list(grouped.values()),
        "check_results": None,
    }


def write_state(path: Path, instances: list[Instance], **kwargs: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state_document(instances, **kwargs), indent=2))
    return path


def _tags(tags: dict[str, str] | None) -> dict[str, str] | None:
    return dict(tags) if tags else None


def s3_bucket(
    name: str, region: str, tags: dict[str, str] | None = None, *, versioning: bool = False
) -> dict[str, Any]:
    return {
        "acceleration_status": "",
        "acl": None,
        "arn": f"arn:aws:s3:::{name}",
        "bucket": name,
        "bucket_domain_name": f"{name}.s3.amazonaws.com",
        "bucket_prefix": "",
        "bucket_regional_domain_name": f"{name}.s3.{region}.amazonaws.com",
        "cors_rule": [],
        "force_destroy": False,
        "grant": [
            {
                "id": "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a",
                "permissions": ["FULL_CONTROL"],
                "type": "CanonicalUser",
                "uri": "",
            }
        ],
        "hosted_zone_id": "Z1BKCTXD74EZPE",
        "id": name,
        "lifecycle_rule": [],
        "logging": [],
        "object_lock_configuration": [],
        "object_lock_enabled": False,
        "policy": "",
        "region": region,
        "replication_configuration": [],
        "request_payer": "BucketOwner",
        "server_side_encryption_configuration": [
            {
                "rule": [
                    {
                        "apply_server_side_encryption_by_default": [
                            {"kms_master_key_id": "", "sse_algorithm": "AES256"}
                        ],
                        "bucket_key_enabled": False,
                    }
                ]
            }
        ],
        "tags": _tags(tags),
        "tags_all": dict(tags or {}),
        "timeouts": None,
        "versioning": [{"enabled": versioning, "mfa_delete": False}],
        "website": [],
        "website_domain": None,
        "website_endpoint": None,
    }


def sg_rule(
    protocol: str, from_port: int, to_port: int, cidrs: list[str], description: str = ""
) -> dict[str, Any]:
    return {
        "cidr_blocks": cidrs,
        "description": description,
        "from_port": from_port,
        "ipv6_cidr_blocks": [],
        "prefix_list_ids": [],
        "protocol": protocol,
        "security_groups": [],
        "self": False,
        "to_port": to_port,
    }


def security_group(
    group_id: str,
    name: str,
    description: str,
    vpc_id: str,
    region: str,
    *,
    ingress: list[dict[str, Any]],
    egress: list[dict[str, Any]],
    tags: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "arn": f"arn:aws:ec2:{region}:{ACCOUNT}:security-group/{group_id}",
        "description": description,
        "egress": egress,
        "id": group_id,
        "ingress": ingress,
        "name": name,
        "name_prefix": "",
        "owner_id": ACCOUNT,
        "revoke_rules_on_delete": False,
        "tags": _tags(tags),
        "tags_all": dict(tags or {}),
        "timeouts": None,
        "vpc_id": vpc_id,
    }


def vpc(vpc_id: str, cidr: str, region: str, tags: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "arn": f"arn:aws:ec2:{region}:{ACCOUNT}:vpc/{vpc_id}",
        "assign_generated_ipv6_cidr_block": False,
        "cidr_block": cidr,
        "default_network_acl_id": "acl-0d1e2f3a4b5c6d7e8",
        "default_route_table_id": "rtb-0a1b2c3d4e5f6a7b8",
        "default_security_group_id": "sg-0f0e0d0c0b0a09080",
        "dhcp_options_id": "dopt-7a8b9c2d",
        "enable_dns_hostnames": False,
        "enable_dns_support": True,
        "enable_network_address_usage_metrics": False,
        "id": vpc_id,
        "instance_tenancy": "default",
        "ipv4_ipam_pool_id": None,
        "ipv4_netmask_length": None,
        "ipv6_association_id": "",
        "ipv6_cidr_block": "",
        "ipv6_cidr_block_network_border_group": "",
        "ipv6_ipam_pool_id": "",
        "ipv6_netmask_length": 0,
        "main_route_table_id": "rtb-0a1b2c3d4e5f6a7b8",
        "owner_id": ACCOUNT,
        "tags": _tags(tags),
        "tags_all": dict(tags or {}),
    }


def subnet(
    subnet_id: str, vpc_id: str, cidr: str, az: str, region: str, tags: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "arn": f"arn:aws:ec2:{region}:{ACCOUNT}:subnet/{subnet_id}",
        "assign_ipv6_address_on_creation": False,
        "availability_zone": az,
        "availability_zone_id": az.replace(region, "euw1-az"),
        "cidr_block": cidr,
        "customer_owned_ipv4_pool": "",
        "enable_dns64": False,
        "enable_lni_at_device_index": 0,
        "enable_resource_name_dns_a_record_on_launch": False,
        "enable_resource_name_dns_aaaa_record_on_launch": False,
        "id": subnet_id,
        "ipv6_cidr_block": "",
        "ipv6_cidr_block_association_id": "",
        "ipv6_native": False,
        "map_customer_owned_ip_on_launch": False,
        "map_public_ip_on_launch": False,
        "outpost_arn": "",
        "owner_id": ACCOUNT,
        "private_dns_hostname_type_on_launch": "ip-name",
        "tags": _tags(tags),
        "tags_all": dict(tags or {}),
        "timeouts": None,
        "vpc_id": vpc_id,
    }


def instance(
    instance_id: str,
    ami: str,
    instance_type: str,
    subnet_id: str,
    az: str,
    private_ip: str,
    security_groups: list[str],
    region: str,
    tags: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "ami": ami,
        "arn": f"arn:aws:ec2:{region}:{ACCOUNT}:instance/{instance_id}",
        "associate_public_ip_address": False,
        "availability_zone": az,
        "capacity_reservation_specification": [
            {"capacity_reservation_preference": "open", "capacity_reservation_target": []}
        ],
        "cpu_core_count": 1,
        "cpu_threads_per_core": 1,
        "credit_specification": [],
        "disable_api_stop": False,
        "disable_api_termination": False,
        "ebs_block_device": [],
        "ebs_optimized": False,
        "enclave_options": [{"enabled": False}],
        "ephemeral_block_device": [],
        "get_password_data": False,
        "hibernation": False,
        "host_id": "",
        "iam_instance_profile": "",
        "id": instance_id,
        "instance_initiated_shutdown_behavior": "stop",
        "instance_lifecycle": "",
        "instance_state": "running",
        "instance_type": instance_type,
        "ipv6_address_count": 0,
        "ipv6_addresses": [],
        "key_name": "",
        "launch_template": [],
        "maintenance_options": [{"auto_recovery": "default"}],
        "metadata_options": [
            {
                "http_endpoint": "enabled",
                "http_protocol_ipv6": "disabled",
                "http_put_response_hop_limit": 1,
                "http_tokens": "optional",
                "instance_metadata_tags": "disabled",
            }
        ],
        "monitoring": False,
        "network_interface": [],
        "outpost_arn": "",
        "password_data": "",
        "placement_group": "",
        "placement_partition_number": 0,
        "primary_network_interface_id": "eni-0a1b2c3d4e5f60718",
        "private_dns": f"ip-{private_ip.replace('.', '-')}.{region}.compute.internal",
        "private_ip": private_ip,
        "public_dns": "",
        "public_ip": "",
        "root_block_device": [],
        "secondary_private_ips": [],
        "security_groups": [],
        "source_dest_check": True,
        "spot_instance_request_id": "",
        "subnet_id": subnet_id,
        "tags": _tags(tags),
        "tags_all": dict(tags or {}),
        "tenancy": "default",
        "timeouts": None,
        "user_data": None,
        "user_data_base64": None,
        "user_data_replace_on_change": False,
        "volume_tags": None,
        "vpc_security_group_ids": security_groups,
    }


def iam_role(
    name: str,
    assume_role_policy: dict[str, Any],
    tags: dict[str, str] | None = None,
    *,
    managed: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "arn": f"arn:aws:iam::{ACCOUNT}:role/{name}",
        # The provider stores the policy as JSON text; AWS may return keys in another order.
        "assume_role_policy": json.dumps(assume_role_policy, separators=(",", ":")),
        "create_date": "2026-01-01T00:00:00Z",
        "description": "",
        "force_detach_policies": False,
        "id": name,
        "inline_policy": [],
        "managed_policy_arns": managed or [],
        "max_session_duration": 3600,
        "name": name,
        "name_prefix": "",
        "path": "/",
        "permissions_boundary": "",
        "tags": _tags(tags),
        "tags_all": dict(tags or {}),
        "unique_id": "AROA" + name.upper()[:17].ljust(17, "X"),
    }


def dynamodb_table(name: str, region: str, tags: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "arn": f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{name}",
        "attribute": [{"name": "id", "type": "S"}],
        "billing_mode": "PAY_PER_REQUEST",
        "deletion_protection_enabled": False,
        "global_secondary_index": [],
        "hash_key": "id",
        "id": name,
        "import_table": [],
        "local_secondary_index": [],
        "name": name,
        "on_demand_throughput": [],
        "point_in_time_recovery": [{"enabled": False}],
        "range_key": None,
        "read_capacity": 0,
        "replica": [],
        "restore_date_time": None,
        "restore_source_name": None,
        "restore_source_table_arn": None,
        "restore_to_latest_time": None,
        "server_side_encryption": [],
        "stream_arn": "",
        "stream_enabled": False,
        "stream_label": "",
        "stream_view_type": "",
        "table_class": "STANDARD",
        "tags": _tags(tags),
        "tags_all": dict(tags or {}),
        "timeouts": None,
        "ttl": [{"attribute_name": "", "enabled": False}],
        "write_capacity": 0,
    }


def sqs_queue(
    name: str, url: str, region: str, tags: dict[str, str] | None = None, *, retention: int = 345600
) -> dict[str, Any]:
    return {
        "arn": f"arn:aws:sqs:{region}:{ACCOUNT}:{name}",
        "content_based_deduplication": False,
        "deduplication_scope": "",
        "delay_seconds": 0,
        "fifo_queue": False,
        "fifo_throughput_limit": "",
        "id": url,
        "kms_data_key_reuse_period_seconds": 300,
        "kms_master_key_id": "",
        "max_message_size": 1048576,
        "message_retention_seconds": retention,
        "name": name,
        "name_prefix": "",
        "policy": "",
        "receive_wait_time_seconds": 0,
        "redrive_allow_policy": "",
        "redrive_policy": "",
        "sqs_managed_sse_enabled": True,
        "tags": _tags(tags),
        "tags_all": dict(tags or {}),
        "timeouts": None,
        "url": url,
        "visibility_timeout_seconds": 30,
    }


def sns_topic(arn: str, policy: str, tags: dict[str, str] | None = None) -> dict[str, Any]:
    name = arn.rsplit(":", 1)[-1]
    return {
        "application_failure_feedback_role_arn": "",
        "application_success_feedback_role_arn": "",
        "application_success_feedback_sample_rate": 0,
        "archive_policy": "",
        "arn": arn,
        "beginning_archive_time": "",
        "content_based_deduplication": False,
        "delivery_policy": "",
        "display_name": "",
        "fifo_throughput_scope": "",
        "fifo_topic": False,
        "firehose_failure_feedback_role_arn": "",
        "firehose_success_feedback_role_arn": "",
        "firehose_success_feedback_sample_rate": 0,
        "http_failure_feedback_role_arn": "",
        "http_success_feedback_role_arn": "",
        "http_success_feedback_sample_rate": 0,
        "id": arn,
        "kms_master_key_id": "",
        "lambda_failure_feedback_role_arn": "",
        "lambda_success_feedback_role_arn": "",
        "lambda_success_feedback_sample_rate": 0,
        "name": name,
        "name_prefix": "",
        "owner": ACCOUNT,
        "policy": policy,
        "signature_version": 0,
        "sqs_failure_feedback_role_arn": "",
        "sqs_success_feedback_role_arn": "",
        "sqs_success_feedback_sample_rate": 0,
        "tags": _tags(tags),
        "tags_all": dict(tags or {}),
        "tracing_config": "",
    }


GOOGLE_PROVIDER = 'provider["registry.terraform.io/hashicorp/google"]'
AZURERM_PROVIDER = 'provider["registry.terraform.io/hashicorp/azurerm"]'


def google_project(
    project_id: str,
    display_name: str,
    number: str,
    *,
    folder_id: str = "",
    org_id: str = "",
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    labels = dict(labels or {})
    return {
        "auto_create_network": True,
        "billing_account": None,
        "deletion_policy": "PREVENT",
        "effective_labels": dict(labels),
        "folder_id": folder_id,
        "id": f"projects/{project_id}",
        "labels": labels or None,
        "name": display_name,
        "number": number,
        "org_id": org_id,
        "project_id": project_id,
        "tags": None,
        "terraform_labels": dict(labels),
        "timeouts": None,
    }


def google_folder(name: str, display_name: str, parent: str) -> dict[str, Any]:
    return {
        "create_time": "2026-01-01T00:00:00.000000Z",
        "deletion_protection": True,
        "display_name": display_name,
        "folder_id": name.removeprefix("folders/"),
        "id": name,
        "lifecycle_state": "ACTIVE",
        "name": name,
        "parent": parent,
        "tags": None,
        "timeouts": None,
    }


def azurerm_resource_group(rid: str, location: str, tags: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "id": rid,
        "location": location,
        "managed_by": "",
        "name": rid.rsplit("/", 1)[-1],
        "tags": dict(tags or {}),
        "timeouts": None,
    }


def azurerm_storage_account(
    rid: str, location: str, key: str, tags: dict[str, str] | None = None
) -> dict[str, Any]:
    name = rid.rsplit("/", 1)[-1]
    group = rid.split("/")[4]
    return {
        "access_tier": "Hot",
        "account_kind": "StorageV2",
        "account_replication_type": "LRS",
        "account_tier": "Standard",
        "allow_nested_items_to_be_public": True,
        "cross_tenant_replication_enabled": False,
        "default_to_oauth_authentication": False,
        "https_traffic_only_enabled": True,
        "id": rid,
        "infrastructure_encryption_enabled": False,
        "is_hns_enabled": False,
        "location": location,
        "min_tls_version": "TLS1_2",
        "name": name,
        "primary_access_key": key,
        "primary_blob_endpoint": f"https://{name}.blob.core.windows.net/",
        "primary_connection_string": f"DefaultEndpointsProtocol=https;AccountName={name};AccountKey={key};EndpointSuffix=core.windows.net",
        "primary_location": location,
        "public_network_access_enabled": True,
        "resource_group_name": group,
        "shared_access_key_enabled": True,
        "tags": dict(tags or {}),
        "timeouts": None,
    }


def storage_account_sensitive() -> list[Any]:
    """What the provider marks sensitive on an azurerm_storage_account (keys, connection strings)."""
    return [
        [{"type": "get_attr", "value": "primary_access_key"}],
        [{"type": "get_attr", "value": "primary_connection_string"}],
    ]


def google_storage_bucket(name: str, project: str, location: str, labels: dict[str, str]) -> dict[str, Any]:
    """hashicorp/google v5 (schema 1): labels, terraform_labels and effective_labels."""
    return {
        "autoclass": [],
        "cors": [],
        "custom_placement_config": [],
        "default_event_based_hold": False,
        "effective_labels": dict(labels),
        "enable_object_retention": False,
        "encryption": [],
        "force_destroy": False,
        "id": name,
        "labels": dict(labels),
        "lifecycle_rule": [],
        "location": location.upper(),
        "logging": [],
        "name": name,
        "project": project,
        "public_access_prevention": "inherited",
        "requester_pays": False,
        "retention_policy": [],
        "rpo": None,
        "self_link": f"https://www.googleapis.com/storage/v1/b/{name}",
        "soft_delete_policy": [{"effective_time": "", "retention_duration_seconds": 604800}],
        "storage_class": "STANDARD",
        "terraform_labels": dict(labels),
        "timeouts": None,
        "uniform_bucket_level_access": False,
        "url": f"gs://{name}",
        "versioning": [],
        "website": [],
    }


def google_compute_network(project: str, name: str, *, routing_mode: str = "REGIONAL") -> dict[str, Any]:
    nid = f"projects/{project}/global/networks/{name}"
    return {
        "auto_create_subnetworks": False,
        "delete_default_routes_on_create": False,
        "description": "",
        "enable_ula_internal_ipv6": False,
        "gateway_ipv4": "",
        "id": nid,
        "internal_ipv6_range": "",
        "mtu": 1460,
        "name": name,
        "network_firewall_policy_enforcement_order": "AFTER_CLASSIC_FIREWALL",
        "numeric_id": "8000000000000",
        "project": project,
        "routing_mode": routing_mode,
        "self_link": f"https://www.googleapis.com/compute/v1/{nid}",
        "timeouts": None,
    }


def azurerm_virtual_network(
    rid: str, location: str, address_space: list[str], tags: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "address_space": list(address_space),
        "bgp_community": "",
        "ddos_protection_plan": [],
        "dns_servers": [],
        "edge_zone": "",
        "encryption": [],
        "flow_timeout_in_minutes": 0,
        "guid": "00000000-0000-0000-0000-000000000001",
        "id": rid,
        "location": location,
        "name": rid.rsplit("/", 1)[-1],
        "resource_group_name": rid.split("/")[4],
        "subnet": [],
        "tags": dict(tags or {}),
        "timeouts": None,
    }
