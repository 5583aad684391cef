"""Expected (state) against actual (live) attributes, per resource type, after normalisation (pure).

Each supported type lists the attributes compared and how (``Attr.kind``). Readers return
live attributes in the provider's names and shapes; an attribute a reader does not return is
not compared (the subset per type is documented in docs/drift.md). Normalisation:

- ``tags``: live tags against ``tags_all`` (provider default tags included) when the state has
  it, else ``tags``; AWS-reserved ``aws:*`` keys are ignored; one diff per tag key.
- ``policy`` / ``json``: JSON documents compared as data; IAM policies also treat a single
  statement or value like a one-element list and ignore the order of statements and values.
- ``location``: "West Europe" equals "westeurope"; ``gcp_number``: "folders/123" equals "123".
- ``value``: provider defaults fill unset values; "" equals unset; 1 equals 1.0.
- ``set``: order and duplicates ignored; ``rules`` (security group rules) compared as sets of
  single permissions, reported one rule per diff.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from orchestrator.drift.model import AttrPath, Diff
from orchestrator.redact import MASK

Kind = Literal[
    "value",
    "tags",
    "policy",
    "json",
    "set",
    "objects",
    "rules",
    "location",
    "nested",
    "inline_policies",
    "gcp_number",
    "subset",
]
_UNSET = object()


@dataclass(frozen=True)
class Attr:
    name: str
    kind: Kind = "value"
    default: Any = None
    # Compared only when the state records the attribute (computed ones older providers lack).
    only_if_in_state: bool = True


TAGS = Attr("tags", "tags", only_if_in_state=False)
LABELS = Attr("labels", "tags", only_if_in_state=False)
AZ_LOCATION = Attr("location", "location")

SPECS: dict[str, tuple[Attr, ...]] = {
    "aws_s3_bucket": (
        TAGS,
        Attr("versioning", "nested", default=[{"enabled": False, "mfa_delete": False}]),
    ),
    "aws_instance": (
        Attr("ami"),
        Attr("instance_type"),
        Attr("subnet_id"),
        Attr("availability_zone"),
        Attr("key_name", default=""),
        Attr("vpc_security_group_ids", "set"),
        Attr("source_dest_check", default=True),
        Attr("monitoring", default=False),
        Attr("ebs_optimized", default=False),
        Attr("private_ip"),
        Attr("instance_state"),
        TAGS,
    ),
    "aws_security_group": (
        Attr("name"),
        Attr("description", default="Managed by Terraform"),
        Attr("vpc_id"),
        Attr("ingress", "rules", default=[]),
        Attr("egress", "rules", default=[]),
        TAGS,
    ),
    "aws_vpc": (
        Attr("cidr_block"),
        Attr("instance_tenancy", default="default"),
        TAGS,
    ),
    "aws_subnet": (
        Attr("vpc_id"),
        Attr("cidr_block"),
        Attr("availability_zone"),
        Attr("map_public_ip_on_launch", default=False),
        Attr("assign_ipv6_address_on_creation", default=False),
        TAGS,
    ),
    "aws_iam_role": (
        Attr("path", default="/"),
        Attr("assume_role_policy", "policy"),
        Attr("permissions_boundary", default=""),
        Attr("managed_policy_arns", "set", default=[]),
        Attr("inline_policy", "inline_policies", default=[]),
        TAGS,
    ),
    "aws_dynamodb_table": (
        Attr("billing_mode", default="PROVISIONED"),
        Attr("hash_key"),
        Attr("range_key", default=""),
        Attr("attribute", "objects", default=[]),
        Attr("read_capacity", default=0),
        Attr("write_capacity", default=0),
        Attr("stream_enabled", default=False),
        Attr("stream_view_type", default=""),
        Attr("table_class", default="STANDARD"),
        Attr("deletion_protection_enabled", default=False),
        TAGS,
    ),
    "aws_sqs_queue": (
        Attr("delay_seconds", default=0),
        Attr("max_message_size", default=262144),
        Attr("message_retention_seconds", default=345600),
        Attr("receive_wait_time_seconds", default=0),
        Attr("visibility_timeout_seconds", default=30),
        Attr("fifo_queue", default=False),
        Attr("content_based_deduplication", default=False),
        Attr("kms_master_key_id", default=""),
        Attr("sqs_managed_sse_enabled"),
        Attr("policy", "policy"),
        Attr("redrive_policy", "json"),
        Attr("redrive_allow_policy", "json"),
        TAGS,
    ),
    "aws_sns_topic": (
        Attr("display_name", default=""),
        Attr("policy", "policy"),
        Attr("delivery_policy", "json"),
        Attr("kms_master_key_id", default=""),
        Attr("fifo_topic", default=False),
        Attr("content_based_deduplication", default=False),
        TAGS,
    ),
    "google_project": (
        Attr("name"),
        Attr("folder_id", "gcp_number", default=""),
        Attr("org_id", "gcp_number", default=""),
        Attr("labels", "tags", only_if_in_state=False),
    ),
    "google_folder": (
        Attr("display_name"),
        Attr("parent"),
    ),
    # Read from Cloud Asset Inventory (orchestrator.drift.gcp_assets); any other type of its
    # table is compared on its labels.
    "google_storage_bucket": (
        Attr("location", "location"),
        Attr("storage_class", default="STANDARD"),
        Attr("versioning", "nested", default=[{"enabled": False}]),
        Attr("uniform_bucket_level_access", default=False),
        Attr("public_access_prevention", default="inherited"),
        LABELS,
    ),
    "google_compute_network": (
        Attr("description", default=""),
        Attr("auto_create_subnetworks", default=True),
        Attr("routing_mode", default="REGIONAL"),
        Attr("mtu", default=0),
    ),
    "google_compute_subnetwork": (
        Attr("ip_cidr_range"),
        Attr("network", "gcp_number"),
        Attr("region", "gcp_number"),
        Attr("private_ip_google_access", default=False),
        Attr("description", default=""),
    ),
    "google_compute_firewall": (
        Attr("network", "gcp_number"),
        Attr("direction", default="INGRESS"),
        Attr("priority", default=1000),
        Attr("disabled", default=False),
        Attr("source_ranges", "set", default=[]),
        Attr("destination_ranges", "set", default=[]),
        Attr("source_tags", "set", default=[]),
        Attr("target_tags", "set", default=[]),
        Attr("allow", "objects", default=[]),
        Attr("deny", "objects", default=[]),
    ),
    "google_compute_instance": (
        Attr("machine_type", "gcp_number"),
        Attr("zone", "gcp_number"),
        Attr("current_status"),
        Attr("can_ip_forward", default=False),
        Attr("deletion_protection", default=False),
        Attr("tags", "set", default=[]),
        LABELS,
    ),
    "google_service_account": (
        Attr("display_name", default=""),
        Attr("description", default=""),
        Attr("disabled", default=False),
    ),
    "google_sql_database_instance": (
        Attr("database_version"),
        Attr("region"),
        Attr("settings", "subset", default=[]),
    ),
    "google_pubsub_topic": (
        Attr("kms_key_name", default=""),
        Attr("message_retention_duration", default=""),
        LABELS,
    ),
    "google_pubsub_subscription": (
        Attr("topic", "gcp_number"),
        Attr("ack_deadline_seconds", default=10),
        Attr("message_retention_duration", default="604800s"),
        Attr("retain_acked_messages", default=False),
        Attr("enable_message_ordering", default=False),
        LABELS,
    ),
    "google_container_cluster": (
        Attr("location", "location"),
        Attr("network", "gcp_number"),
        Attr("subnetwork", "gcp_number"),
        Attr("release_channel", "subset", default=[]),
        Attr("resource_labels", "tags", only_if_in_state=False),
    ),
    "google_project_iam_binding": (Attr("members", "set", default=[]),),
    "google_project_iam_member": (Attr("member"),),
    "google_*": (LABELS,),
    "azurerm_resource_group": (
        Attr("location", "location"),
        TAGS,
    ),
    # Key properties from Resource Graph (orchestrator.drift.azure_graph).
    "azurerm_storage_account": (
        AZ_LOCATION,
        Attr("account_kind", default="StorageV2"),
        Attr("account_tier"),
        Attr("account_replication_type"),
        Attr("min_tls_version"),
        Attr("https_traffic_only_enabled", default=True),
        Attr("enable_https_traffic_only", default=True),
        Attr("allow_nested_items_to_be_public", default=True),
        Attr("access_tier", default="Hot"),
        TAGS,
    ),
    "azurerm_virtual_network": (
        AZ_LOCATION,
        Attr("address_space", "set", default=[]),
        Attr("dns_servers", "set", default=[]),
        TAGS,
    ),
    "azurerm_subnet": (Attr("address_prefixes", "set", default=[]),),
    "azurerm_public_ip": (
        AZ_LOCATION,
        Attr("allocation_method"),
        Attr("sku", default="Basic"),
        Attr("ip_version", default="IPv4"),
        Attr("idle_timeout_in_minutes", default=4),
        TAGS,
    ),
    "azurerm_key_vault": (
        AZ_LOCATION,
        Attr("sku_name"),
        Attr("tenant_id"),
        Attr("soft_delete_retention_days", default=90),
        Attr("purge_protection_enabled", default=False),
        Attr("enabled_for_disk_encryption", default=False),
        TAGS,
    ),
    "azurerm_managed_disk": (
        AZ_LOCATION,
        Attr("disk_size_gb"),
        Attr("storage_account_type"),
        TAGS,
    ),
    "azurerm_kubernetes_cluster": (
        AZ_LOCATION,
        Attr("kubernetes_version"),
        Attr("dns_prefix"),
        Attr("sku_tier", default="Free"),
        TAGS,
    ),
    "azurerm_log_analytics_workspace": (
        AZ_LOCATION,
        Attr("sku", default="PerGB2018"),
        Attr("retention_in_days", default=30),
        TAGS,
    ),
    # Any other azurerm_* resource is compared on these (Resource Graph or resources.get_by_id).
    "azurerm_*": (
        Attr("location", "location"),
        TAGS,
    ),
}


def spec_for(rtype: str) -> tuple[Attr, ...] | None:
    if rtype in SPECS:
        return SPECS[rtype]
    if rtype.startswith("azurerm_"):
        return SPECS["azurerm_*"]
    if rtype.startswith("google_"):
        return SPECS["google_*"]
    return None


# ---------------------------------------------------------------- normalisation


def _is_unset(value: Any) -> bool:
    return value is None or value == "" or value is _UNSET


def norm_scalar(value: Any, default: Any = None) -> Any:
    if _is_unset(value):
        value = default
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value == "" and default is None:
        return None
    return value


def norm_location(value: Any) -> Any:
    return value.replace(" ", "").lower() if isinstance(value, str) else value


def _parse_json(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            return json.loads(text)
        except ValueError:
            return text
    return value


def _numbers(value: Any) -> Any:
    """Numeric strings as numbers (AWS returns some JSON numbers as strings)."""
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return value
    return value


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def norm_policy(value: Any) -> Any:
    """An IAM-style policy document as comparable data (order-free statements and values)."""
    doc = _parse_json(value)
    if doc in (None, {}, ""):
        return None

    def walk(v: Any, key: str | None) -> Any:
        if isinstance(v, dict):
            return {k: walk(x, k) for k, x in v.items()}
        if isinstance(v, list):
            items = sorted({_canon(x): x for x in (walk(x, key) for x in v)}.values(), key=_canon)
            # A lone value equals a one-element list ("Action": "s3:*" is ["s3:*"]).
            return items[0] if len(items) == 1 and key != "Statement" else items
        return v

    if isinstance(doc, dict) and isinstance(doc.get("Statement"), dict):
        doc = {**doc, "Statement": [doc["Statement"]]}
    return walk(doc, None)


def norm_json(value: Any) -> Any:
    doc = _parse_json(value)
    return None if doc in (None, {}, "") else _numbers(doc)


def norm_tags(value: Any, *, drop_reserved: bool = True) -> dict[str, Any]:
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if not (drop_reserved and k.startswith("aws:"))}


def expected_tags(state: Mapping[str, Any], name: str = "tags") -> dict[str, Any]:
    """What the cloud should hold: ``tags_all``/``effective_labels`` when recorded, else ``tags``."""
    configured = state.get(name)
    for all_name in ("tags_all", "effective_labels", "terraform_labels"):
        if name == "tags" and all_name != "tags_all":
            continue
        if name == "labels" and all_name == "tags_all":
            continue
        candidate = state.get(all_name)
        if isinstance(candidate, dict) and (candidate or not configured):
            return dict(candidate)
    return dict(configured) if isinstance(configured, dict) else {}


# ---------------------------------------------------------------- security group rules

RULE_SOURCES = ("cidr_blocks", "ipv6_cidr_blocks", "prefix_list_ids", "security_groups")
_PROTOCOLS = {"all": "-1", "-1": "-1", "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}


def _protocol(value: Any) -> str:
    text = str(value).lower() if value is not None else "-1"
    return _PROTOCOLS.get(text, text)


Atom = tuple[str, int, int, str, str, str]  # protocol, from, to, source kind, source, description


def rule_atoms(rules: Any) -> set[Atom]:
    """Provider-shaped rules (each with lists of sources) as single permissions."""
    atoms: set[Atom] = set()
    if not isinstance(rules, list):
        return atoms
    for rule in rules:
        if not isinstance(rule, dict):
            continue
        protocol = _protocol(rule.get("protocol"))
        lo, hi = (
            (0, 0) if protocol == "-1" else (int(rule.get("from_port") or 0), int(rule.get("to_port") or 0))
        )
        description = str(rule.get("description") or "")
        for kind in RULE_SOURCES:
            for source in rule.get(kind) or []:
                atoms.add((protocol, lo, hi, kind, str(source), description))
        if rule.get("self"):
            atoms.add((protocol, lo, hi, "self", "true", description))
    return atoms


def atoms_to_rules(atoms: set[Atom]) -> list[dict[str, Any]]:
    """Single permissions grouped back into provider-shaped rules (for readable diffs)."""
    grouped: dict[tuple[str, int, int, str], dict[str, Any]] = {}
    for protocol, lo, hi, kind, source, description in sorted(atoms):
        key = (protocol, lo, hi, description)
        rule = grouped.setdefault(
            key,
            {
                "protocol": protocol,
                "from_port": lo,
                "to_port": hi,
                "description": description,
                **{k: [] for k in RULE_SOURCES},
                "self": False,
            },
        )
        if kind == "self":
            rule["self"] = True
        else:
            rule[kind].append(source)
    return [grouped[k] for k in sorted(grouped)]


# ---------------------------------------------------------------- diffing


def _sensitive(path: AttrPath, sensitive: Sequence[AttrPath]) -> bool:
    return any(path[: len(p)] == p or p[: len(path)] == path for p in sensitive)


def _diff_nested(path: AttrPath, expected: Any, actual: Any, out: list[Diff]) -> None:
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in sorted(set(expected) | set(actual)):
            _diff_nested((*path, key), expected.get(key), actual.get(key), out)
        return
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            _diff_nested((*path, i), e, a, out)
        return
    if norm_scalar(expected) != norm_scalar(actual):
        out.append(Diff(path, expected, actual))


def _diff_subset(path: AttrPath, expected: Any, actual: Any, out: list[Diff]) -> None:
    """Like nested, but only the keys the live side carries (a reader reads a few of many)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in sorted(actual):
            if key in expected:
                _diff_subset((*path, key), expected[key], actual[key], out)
        return
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            _diff_subset((*path, i), e, a, out)
        return
    if isinstance(expected, dict) or isinstance(actual, dict):
        out.append(Diff(path, expected, actual))
        return
    _diff_nested(path, expected, actual, out)


def _objects_key(v: Any) -> str:
    return _canon(v)


def compare_attr(attr: Attr, state: Mapping[str, Any], live: Mapping[str, Any]) -> list[Diff]:
    name = attr.name
    actual = live.get(name)
    if attr.kind == "tags":
        return _compare_tags(name, expected_tags(state, name), actual)
    expected = state.get(name, _UNSET)
    if expected is _UNSET or expected is None or expected == []:
        expected = attr.default
    by_kind = _COMPARE_BY_KIND.get(attr.kind)
    if by_kind is None:  # pragma: no cover - SPECS are static
        raise ValueError(f"unknown attribute kind {attr.kind!r}")
    return by_kind(attr, expected, actual)


def _compare_tags(name: str, expected: Mapping[str, Any], actual: Any) -> list[Diff]:
    """One diff per tag key that differs; AWS-reserved aws:* keys are not compared."""
    want = {k: v for k, v in expected.items() if not k.startswith("aws:")}
    have = norm_tags(actual)
    return [
        Diff((name, key), want.get(key), have.get(key))
        for key in sorted(set(want) | set(have))
        if want.get(key) != have.get(key)
    ]


def _compare_value(attr: Attr, expected: Any, actual: Any) -> list[Diff]:
    e, a = norm_scalar(expected, attr.default), norm_scalar(actual, attr.default)
    return [] if e == a else [Diff((attr.name,), e, a)]


def _compare_gcp_number(attr: Attr, expected: Any, actual: Any) -> list[Diff]:
    # "folders/123" and "123" name the same folder (the provider accepts and stores both).
    e, a = (norm_scalar(str(v).rsplit("/", 1)[-1] if v else v, attr.default) for v in (expected, actual))
    return [] if e == a else [Diff((attr.name,), expected, actual)]


def _compare_location(attr: Attr, expected: Any, actual: Any) -> list[Diff]:
    return [] if norm_location(expected) == norm_location(actual) else [Diff((attr.name,), expected, actual)]


def _compare_policy(attr: Attr, expected: Any, actual: Any) -> list[Diff]:
    e, a = norm_policy(expected), norm_policy(actual)
    return [] if e == a else [Diff((attr.name,), _parse_json(expected), _parse_json(actual))]


def _compare_json(attr: Attr, expected: Any, actual: Any) -> list[Diff]:
    e, a = norm_json(expected), norm_json(actual)
    return [] if e == a else [Diff((attr.name,), _parse_json(expected), _parse_json(actual))]


def _compare_set(attr: Attr, expected: Any, actual: Any) -> list[Diff]:
    e_set = sorted({str(v) for v in (expected or [])})
    a_set = sorted({str(v) for v in (actual or [])})
    return [] if e_set == a_set else [Diff((attr.name,), e_set, a_set)]


def _compare_objects(attr: Attr, expected: Any, actual: Any) -> list[Diff]:
    e_obj = sorted((x for x in expected or []), key=_objects_key)
    a_obj = sorted((x for x in actual or []), key=_objects_key)
    same = [_canon(x) for x in e_obj] == [_canon(x) for x in a_obj]
    return [] if same else [Diff((attr.name,), e_obj, a_obj)]


def _compare_nested(attr: Attr, expected: Any, actual: Any) -> list[Diff]:
    out: list[Diff] = []
    _diff_nested((attr.name,), expected, actual, out)
    return out


def _compare_subset(attr: Attr, expected: Any, actual: Any) -> list[Diff]:
    out: list[Diff] = []
    _diff_subset((attr.name,), expected, actual, out)
    return out


def _compare_inline_policies(attr: Attr, expected: Any, actual: Any) -> list[Diff]:
    """One diff per inline policy name whose document differs (or is only on one side)."""
    e_pol = {p["name"]: p.get("policy") for p in expected or [] if isinstance(p, dict) and p.get("name")}
    a_pol = {p["name"]: p.get("policy") for p in actual or [] if isinstance(p, dict) and p.get("name")}
    return [
        Diff((attr.name, key), _parse_json(e_pol.get(key)), _parse_json(a_pol.get(key)))
        for key in sorted(set(e_pol) | set(a_pol))
        if norm_policy(e_pol.get(key)) != norm_policy(a_pol.get(key))
    ]


def _compare_rules(attr: Attr, expected: Any, actual: Any) -> list[Diff]:
    """Security group rules as sets of single permissions: the removed ones, then the added."""
    e_atoms, a_atoms = rule_atoms(expected), rule_atoms(actual)
    removed = [Diff((attr.name,), r, None) for r in atoms_to_rules(e_atoms - a_atoms)]
    added = [Diff((attr.name,), None, r) for r in atoms_to_rules(a_atoms - e_atoms)]
    return removed + added


# How each kind but "tags" (which reads the state's tags_all) compares, after the default
# has filled an unset expected value.
_COMPARE_BY_KIND: dict[str, Callable[[Attr, Any, Any], list[Diff]]] = {
    "value": _compare_value,
    "gcp_number": _compare_gcp_number,
    "location": _compare_location,
    "policy": _compare_policy,
    "json": _compare_json,
    "set": _compare_set,
    "objects": _compare_objects,
    "nested": _compare_nested,
    "subset": _compare_subset,
    "inline_policies": _compare_inline_policies,
    "rules": _compare_rules,
}


def compare(
    rtype: str,
    state: Mapping[str, Any],
    live: Mapping[str, Any],
    *,
    sensitive: Sequence[AttrPath] = (),
    ignored: Callable[[AttrPath], bool] | None = None,
) -> list[Diff]:
    """The differences between a state instance's attributes and the live ones.

    Values at paths the state marks sensitive are replaced by the redaction mask on both sides,
    so a secret that drifted is reported as drifted without showing either value.
    """
    spec = spec_for(rtype)
    if spec is None:
        raise KeyError(rtype)
    diffs: list[Diff] = []
    for attr in spec:
        if attr.name not in live:
            continue
        if attr.only_if_in_state and attr.name not in state:
            continue
        diffs.extend(compare_attr(attr, state, live))
    if ignored is not None:
        diffs = [d for d in diffs if not ignored(d.path)]
    return [
        Diff(d.path, MASK if d.expected is not None else None, MASK if d.actual is not None else None)
        if _sensitive(d.path, sensitive)
        else d
        for d in diffs
    ]
