"""Cloud Asset Inventory: the declared table of google_* types it reads, and its data in provider shape (pure).

One ``ListAssets`` (``contentType=RESOURCE``) per project or folder scope returns the live
resource data of every asset type asked for; the table below says, per Terraform type, which
asset type holds it, how a state instance and an asset are matched (``key``), and which
attributes are compared, converted from the asset's REST representation into the provider's
names and shapes. Labels are compared for every type that has them.

IAM bindings are not resources: ``google_project_iam_binding``/``_member`` are read from the
same scope's ``contentType=IAM_POLICY`` listing (one more paged call), matched on the project
*number* the policy asset names, mapped to the project id through the Project resource assets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from orchestrator.drift.model import Resource

PROJECT_ASSET = "cloudresourcemanager.googleapis.com/Project"
IAM_TYPES = ("google_project_iam_binding", "google_project_iam_member")


def last_segment(value: Any) -> str:
    """``https://.../zones/europe-west1-b/machineTypes/e2-small`` -> ``e2-small``."""
    return str(value or "").rstrip("/").rsplit("/", 1)[-1]


def relative_name(asset_name: str) -> str:
    """``//compute.googleapis.com/projects/p/global/networks/n`` -> ``projects/p/global/networks/n``."""
    text = asset_name.removeprefix("//")
    return text.split("/", 1)[1] if "/" in text else text


def _dig(data: Mapping[str, Any], *path: str) -> Any:
    value: Any = data
    for step in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(step)
    return value


def _labels(data: Mapping[str, Any], name: str = "labels") -> dict[str, str]:
    raw = data.get(name)
    return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, Mapping) else {}


def _project_of(resource: Resource) -> str | None:
    project = resource.attributes.get("project")
    if isinstance(project, str) and project:
        return project
    parts = str(resource.id or "").split("/")
    return parts[1] if len(parts) > 1 and parts[0] == "projects" else None


def _id_key(resource: Resource) -> str | None:
    """The relative resource name (the provider's id for compute, Pub/Sub and GKE)."""
    rid = str(resource.id or "")
    return rid if rid.startswith("projects/") else None


# ---------------------------------------------------------------- live data -> provider attributes


def _bucket(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": data.get("name"),
        "location": str(data.get("location") or "").upper(),
        "storage_class": data.get("storageClass"),
        "labels": _labels(data),
        "versioning": [{"enabled": bool(_dig(data, "versioning", "enabled"))}],
        "uniform_bucket_level_access": bool(
            _dig(data, "iamConfiguration", "uniformBucketLevelAccess", "enabled")
        ),
        "public_access_prevention": _dig(data, "iamConfiguration", "publicAccessPrevention") or "inherited",
    }


def _network(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": data.get("name"),
        "description": data.get("description") or "",
        "auto_create_subnetworks": bool(data.get("autoCreateSubnetworks")),
        "routing_mode": _dig(data, "routingConfig", "routingMode") or "REGIONAL",
        "mtu": int(data.get("mtu") or 0),
    }


def _subnetwork(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": data.get("name"),
        "ip_cidr_range": data.get("ipCidrRange"),
        "network": last_segment(data.get("network")),
        "region": last_segment(data.get("region")),
        "private_ip_google_access": bool(data.get("privateIpGoogleAccess")),
        "description": data.get("description") or "",
    }


def _rules(items: Any) -> list[dict[str, Any]]:
    out = []
    for rule in items or []:
        if isinstance(rule, Mapping):
            out.append({"protocol": rule.get("IPProtocol"), "ports": list(rule.get("ports") or [])})
    return out


def _firewall(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": data.get("name"),
        "network": last_segment(data.get("network")),
        "direction": data.get("direction") or "INGRESS",
        "priority": int(str(data.get("priority") or 1000)),
        "disabled": bool(data.get("disabled")),
        "source_ranges": list(data.get("sourceRanges") or []),
        "destination_ranges": list(data.get("destinationRanges") or []),
        "source_tags": list(data.get("sourceTags") or []),
        "target_tags": list(data.get("targetTags") or []),
        "allow": _rules(data.get("allowed")),
        "deny": _rules(data.get("denied")),
    }


def _instance(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": data.get("name"),
        "machine_type": last_segment(data.get("machineType")),
        "zone": last_segment(data.get("zone")),
        "current_status": data.get("status"),
        "can_ip_forward": bool(data.get("canIpForward")),
        "deletion_protection": bool(data.get("deletionProtection")),
        "labels": _labels(data),
        # The provider's ``tags`` of an instance are network tags, not labels.
        "tags": list(_dig(data, "tags", "items") or []),
    }


def _service_account(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "email": data.get("email"),
        "display_name": data.get("displayName") or "",
        "description": data.get("description") or "",
        "disabled": bool(data.get("disabled")),
    }


def _sql_instance(data: Mapping[str, Any]) -> dict[str, Any]:
    settings = data.get("settings") if isinstance(data.get("settings"), Mapping) else {}
    assert isinstance(settings, Mapping)
    return {
        "name": data.get("name"),
        "database_version": data.get("databaseVersion"),
        "region": data.get("region"),
        "settings": [
            {
                "tier": settings.get("tier"),
                "availability_type": settings.get("availabilityType"),
                "disk_size": int(settings.get("dataDiskSizeGb") or 0),
                "user_labels": _labels(settings, "userLabels"),
            }
        ],
    }


def _topic(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": last_segment(data.get("name")),
        "labels": _labels(data),
        "kms_key_name": data.get("kmsKeyName") or "",
        "message_retention_duration": data.get("messageRetentionDuration") or "",
    }


def _subscription(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": last_segment(data.get("name")),
        "topic": data.get("topic"),
        "labels": _labels(data),
        "ack_deadline_seconds": int(data.get("ackDeadlineSeconds") or 10),
        "message_retention_duration": data.get("messageRetentionDuration") or "604800s",
        "retain_acked_messages": bool(data.get("retainAckedMessages")),
        "enable_message_ordering": bool(data.get("enableMessageOrdering")),
    }


def _cluster(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": data.get("name"),
        "location": data.get("location"),
        "network": last_segment(data.get("network")),
        "subnetwork": last_segment(data.get("subnetwork")),
        "resource_labels": _labels(data, "resourceLabels"),
        "release_channel": [{"channel": _dig(data, "releaseChannel", "channel") or "UNSPECIFIED"}],
    }


def _generic(data: Mapping[str, Any]) -> dict[str, Any]:
    return {"labels": _labels(data)} if "labels" in data else {}


# ---------------------------------------------------------------- matching state and assets


def _bucket_key(resource: Resource) -> str | None:
    return str(resource.attributes.get("name") or resource.id or "") or None


def _sa_key(resource: Resource) -> str | None:
    email = resource.attributes.get("email")
    if isinstance(email, str) and email:
        return email
    rid = str(resource.id or "")
    return rid.rsplit("/", 1)[-1] if "@" in rid else None


def _sql_key(resource: Resource) -> str | None:
    project, name = _project_of(resource), resource.attributes.get("name") or resource.id
    return f"projects/{project}/instances/{name}" if project and name else None


def _cluster_key(resource: Resource) -> str | None:
    rid = str(resource.id or "")
    # Zonal clusters are named .../zones/Z/clusters/N in some API versions: one form for both.
    return rid.replace("/zones/", "/locations/") if rid.startswith("projects/") else None


def _asset_key_default(asset_name: str, data: Mapping[str, Any]) -> str:
    return relative_name(asset_name)


def _asset_key_bucket(asset_name: str, data: Mapping[str, Any]) -> str:
    return last_segment(asset_name)


def _asset_key_sa(asset_name: str, data: Mapping[str, Any]) -> str:
    return str(data.get("email") or last_segment(asset_name))


def _asset_key_sql(asset_name: str, data: Mapping[str, Any]) -> str:
    return f"projects/{data.get('project')}/instances/{data.get('name')}"


def _asset_key_cluster(asset_name: str, data: Mapping[str, Any]) -> str:
    return relative_name(asset_name).replace("/zones/", "/locations/")


def _tf_id_default(asset_name: str, data: Mapping[str, Any]) -> str:
    return relative_name(asset_name)


@dataclass(frozen=True)
class AssetType:
    """How one Terraform type is read from Cloud Asset Inventory."""

    asset_type: str
    state_key: Callable[[Resource], str | None]
    asset_key: Callable[[str, Mapping[str, Any]], str]
    attributes: Callable[[Mapping[str, Any]], dict[str, Any]]
    tf_id: Callable[[str, Mapping[str, Any]], str] = _tf_id_default


ASSET_TYPES: dict[str, AssetType] = {
    "google_storage_bucket": AssetType(
        "storage.googleapis.com/Bucket", _bucket_key, _asset_key_bucket, _bucket, _asset_key_bucket
    ),
    "google_compute_network": AssetType(
        "compute.googleapis.com/Network", _id_key, _asset_key_default, _network
    ),
    "google_compute_subnetwork": AssetType(
        "compute.googleapis.com/Subnetwork", _id_key, _asset_key_default, _subnetwork
    ),
    "google_compute_firewall": AssetType(
        "compute.googleapis.com/Firewall", _id_key, _asset_key_default, _firewall
    ),
    "google_compute_instance": AssetType(
        "compute.googleapis.com/Instance", _id_key, _asset_key_default, _instance
    ),
    "google_service_account": AssetType(
        "iam.googleapis.com/ServiceAccount",
        _sa_key,
        _asset_key_sa,
        _service_account,
        lambda name, data: f"projects/{data.get('projectId')}/serviceAccounts/{data.get('email')}",
    ),
    "google_sql_database_instance": AssetType(
        "sqladmin.googleapis.com/Instance",
        _sql_key,
        _asset_key_sql,
        _sql_instance,
        lambda name, data: str(data.get("name")),
    ),
    "google_pubsub_topic": AssetType("pubsub.googleapis.com/Topic", _id_key, _asset_key_default, _topic),
    "google_pubsub_subscription": AssetType(
        "pubsub.googleapis.com/Subscription", _id_key, _asset_key_default, _subscription
    ),
    "google_container_cluster": AssetType(
        "container.googleapis.com/Cluster", _cluster_key, _asset_key_cluster, _cluster, _asset_key_cluster
    ),
    # Read for labels only (a generic conversion), and listed for unmanaged detection.
    "google_compute_disk": AssetType("compute.googleapis.com/Disk", _id_key, _asset_key_default, _generic),
    "google_compute_address": AssetType(
        "compute.googleapis.com/Address", _id_key, _asset_key_default, _generic
    ),
    "google_kms_key_ring": AssetType(
        "cloudkms.googleapis.com/KeyRing", _id_key, _asset_key_default, _generic
    ),
    "google_artifact_registry_repository": AssetType(
        "artifactregistry.googleapis.com/Repository", _id_key, _asset_key_default, _generic
    ),
    "google_secret_manager_secret": AssetType(
        "secretmanager.googleapis.com/Secret", _id_key, _asset_key_default, _generic
    ),
    "google_bigquery_dataset": AssetType(
        "bigquery.googleapis.com/Dataset", _id_key, _asset_key_default, _generic
    ),
}
BY_ASSET_TYPE = {spec.asset_type: rtype for rtype, spec in ASSET_TYPES.items()}


def iam_state_key(resource: Resource) -> str | None:
    """``P/role`` for a binding, ``P/role/member`` for a member (the provider's ids)."""
    attrs = resource.attributes
    project, role = attrs.get("project"), attrs.get("role")
    if not project or not role:
        return None
    if resource.type == "google_project_iam_member":
        member = attrs.get("member")
        return f"{project}/{role}/{member}" if member else None
    return f"{project}/{role}"


def iam_live(project_id: str, policy: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Per provider id: the live binding (``members``) or member (``member``) of a project policy."""
    out: dict[str, dict[str, Any]] = {}
    for binding in policy.get("bindings") or []:
        if not isinstance(binding, Mapping) or binding.get("condition"):
            continue
        role = str(binding.get("role"))
        members = sorted(str(m) for m in binding.get("members") or [])
        out[f"binding:{project_id}/{role}"] = {"role": role, "members": members, "project": project_id}
        for member in members:
            out[f"member:{project_id}/{role}/{member}"] = {
                "role": role,
                "member": member,
                "project": project_id,
            }
    return out
