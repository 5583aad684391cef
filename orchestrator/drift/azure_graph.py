"""Azure Resource Graph: the query orchestrate sends and its rows in provider shape (pure).

One KQL query per subscription scope returns every resource and resource group with its
location, tags, sku, kind and properties (paged, 1,000 rows a page, ``$skipToken``). Tags and
location are compared for every azurerm type; the key properties of the common ones are
converted here into the provider's attribute names. Subnets are not rows of their own: they
are read from their virtual network's ``properties.subnets``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

RESOURCE_GROUP_ARM = "microsoft.resources/subscriptions/resourcegroups"
SUBNET_ARM = "microsoft.network/virtualnetworks/subnets"
COLUMNS = "id, name, type, location, tags, kind, sku, properties, managedBy, subscriptionId, resourceGroup"
# Every resource and resource group of the subscriptions the request names.
SCOPE_QUERY = (
    f"Resources | project {COLUMNS} "
    f"| union (ResourceContainers | where type =~ '{RESOURCE_GROUP_ARM}' | project {COLUMNS}) "
    "| order by id asc"
)
PAGE_SIZE = 1000


def by_ids_query(ids: Iterable[str]) -> str:
    """The rows with these ids (managed resources of a subscription outside the scanned ones)."""
    quoted = ", ".join("'" + i.replace("\\", "\\\\").replace("'", "\\'") + "'" for i in sorted(ids))
    return f"Resources | where id in~ ({quoted}) | project {COLUMNS} | order by id asc"


def _dig(data: Any, *path: str) -> Any:
    for step in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(step)
    return data


def _props(row: Mapping[str, Any]) -> Mapping[str, Any]:
    props = row.get("properties")
    return props if isinstance(props, Mapping) else {}


def _storage_account(row: Mapping[str, Any]) -> dict[str, Any]:
    props, sku = _props(row), str(_dig(row, "sku", "name") or "")
    tier, _, replication = sku.partition("_")
    https = props.get("supportsHttpsTrafficOnly")
    return {
        "account_kind": row.get("kind"),
        "account_tier": _dig(row, "sku", "tier") or tier or None,
        "account_replication_type": replication or None,
        "min_tls_version": props.get("minimumTlsVersion"),
        "https_traffic_only_enabled": https,
        "enable_https_traffic_only": https,
        "allow_nested_items_to_be_public": props.get("allowBlobPublicAccess"),
        "access_tier": props.get("accessTier"),
    }


def _virtual_network(row: Mapping[str, Any]) -> dict[str, Any]:
    props = _props(row)
    return {
        "address_space": list(_dig(props, "addressSpace", "addressPrefixes") or []),
        "dns_servers": list(_dig(props, "dhcpOptions", "dnsServers") or []),
    }


def _subnet(row: Mapping[str, Any]) -> dict[str, Any]:
    props = _props(row)
    prefixes = props.get("addressPrefixes") or (
        [props["addressPrefix"]] if props.get("addressPrefix") else []
    )
    return {"address_prefixes": list(prefixes)}


def _public_ip(row: Mapping[str, Any]) -> dict[str, Any]:
    props = _props(row)
    return {
        "allocation_method": props.get("publicIPAllocationMethod"),
        "sku": _dig(row, "sku", "name"),
        "ip_version": props.get("publicIPAddressVersion"),
        "idle_timeout_in_minutes": props.get("idleTimeoutInMinutes"),
    }


def _key_vault(row: Mapping[str, Any]) -> dict[str, Any]:
    props = _props(row)
    sku = _dig(props, "sku", "name")
    return {
        "sku_name": str(sku).lower() if sku else None,
        "tenant_id": props.get("tenantId"),
        "soft_delete_retention_days": props.get("softDeleteRetentionInDays"),
        "purge_protection_enabled": bool(props.get("enablePurgeProtection")),
        "enabled_for_disk_encryption": bool(props.get("enabledForDiskEncryption")),
    }


def _managed_disk(row: Mapping[str, Any]) -> dict[str, Any]:
    props = _props(row)
    return {"disk_size_gb": props.get("diskSizeGB"), "storage_account_type": _dig(row, "sku", "name")}


def _kubernetes_cluster(row: Mapping[str, Any]) -> dict[str, Any]:
    props = _props(row)
    return {
        "kubernetes_version": props.get("kubernetesVersion"),
        "dns_prefix": props.get("dnsPrefix"),
        "sku_tier": _dig(row, "sku", "tier"),
    }


def _log_analytics(row: Mapping[str, Any]) -> dict[str, Any]:
    props = _props(row)
    return {"sku": _dig(props, "sku", "name"), "retention_in_days": props.get("retentionInDays")}


# Terraform type -> its key properties from a Resource Graph row (tags and location: every type).
PROPERTIES: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    "azurerm_storage_account": _storage_account,
    "azurerm_virtual_network": _virtual_network,
    "azurerm_subnet": _subnet,
    "azurerm_public_ip": _public_ip,
    "azurerm_key_vault": _key_vault,
    "azurerm_managed_disk": _managed_disk,
    "azurerm_kubernetes_cluster": _kubernetes_cluster,
    "azurerm_log_analytics_workspace": _log_analytics,
}


def attributes(rtype: str, row: Mapping[str, Any]) -> dict[str, Any]:
    attrs: dict[str, Any] = {"name": row.get("name"), "tags": dict(row.get("tags") or {})}
    if row.get("location"):
        attrs["location"] = row.get("location")
    convert = PROPERTIES.get(rtype)
    if convert is not None:
        attrs.update({k: v for k, v in convert(row).items() if v is not None})
    return attrs


def subnet_rows(row: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A virtual network's subnets as rows of their own."""
    out = []
    for sub in _props(row).get("subnets") or []:
        if isinstance(sub, Mapping) and sub.get("id"):
            out.append(
                {
                    "id": sub["id"],
                    "name": sub.get("name"),
                    "type": SUBNET_ARM,
                    "properties": sub.get("properties") or {},
                    "subscriptionId": row.get("subscriptionId"),
                    "child": True,
                }
            )
    return out
