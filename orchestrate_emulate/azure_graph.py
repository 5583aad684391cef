"""Azure Resource Graph on the ARM emulator: ``POST /providers/Microsoft.ResourceGraph/resources``.

Speaks the REST shape ``azure-mgmt-resourcegraph``'s ``ResourceGraphClient.resources`` sends
and reads (any api-version): the body's ``subscriptions``, ``query`` and ``options``
(``$top`` up to 1,000, ``$skip``, ``$skipToken``, ``resultFormat`` ``objectArray``); the answer's
``totalRecords``, ``count``, ``resultTruncated``, ``$skipToken`` and ``data`` (rows), ``facets``.

KQL is not interpreted in general: the emulator answers the query shapes orchestrate sends
(orchestrator.drift.azure_graph) and refuses others with 400 ``InvalidQuery``:

- ``Resources | ...``: every resource of the subscriptions, as Resource Graph shows it
  (``type`` lower-case, ``resourceGroup`` lower-case, ``properties`` included, ``subscriptionId``);
- ``... | union (ResourceContainers | where type =~ '...resourcegroups' ...)``: resource groups too;
- ``Resources | where id in~ ('id', ...) | ...``: only those ids (case-insensitive);
- ``| order by id asc`` (rows are always in id order).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from orchestrate_emulate._http import HttpError

RESOURCE_GROUP_TYPE = "microsoft.resources/subscriptions/resourcegroups"
_IDS = re.compile(r"\|\s*where\s+id\s+in~\s*\((?P<ids>[^)]*)\)", re.IGNORECASE)
_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")
MAX_TOP = 1000


def _group_row(group: dict[str, Any], sub: str) -> dict[str, Any]:
    return {
        "id": group["id"],
        "name": group["name"],
        "type": RESOURCE_GROUP_TYPE,
        "location": group.get("location"),
        "tags": dict(group.get("tags") or {}),
        "kind": "",
        "sku": None,
        "properties": dict(group.get("properties") or {}),
        "managedBy": group.get("managedBy") or "",
        "subscriptionId": sub,
        "resourceGroup": str(group["name"]).lower(),
    }


def _resource_row(resource: dict[str, Any]) -> dict[str, Any]:
    parts = str(resource["id"]).split("/")
    return {
        "id": resource["id"],
        "name": resource.get("name"),
        "type": str(resource.get("type") or "").lower(),
        "location": resource.get("location"),
        "tags": dict(resource.get("tags") or {}),
        "kind": resource.get("kind") or "",
        "sku": resource.get("sku"),
        "properties": resource.get("properties") or {},
        "managedBy": resource.get("managedBy") or "",
        "subscriptionId": parts[2] if len(parts) > 2 else "",
        "resourceGroup": parts[4].lower() if len(parts) > 4 else "",
    }


def rows(
    query: str,
    subscriptions: Iterable[str],
    groups: dict[str, dict[str, dict[str, Any]]],
    resources: dict[str, dict[str, Any]],
) -> list[dict[str, Any]]:
    """The rows a query gives over the emulator's groups (sub -> groups) and resources."""
    text = " ".join(query.split())
    if not re.match(r"^resources\b", text, re.IGNORECASE):
        raise HttpError(
            400, "InvalidQuery", "the emulator answers queries on the Resources table only (see azure_graph)"
        )
    subs = {s.lower() for s in subscriptions}
    out: list[dict[str, Any]] = []
    for key in sorted(resources):
        row = _resource_row(resources[key])
        if row["subscriptionId"].lower() in subs:
            out.append(row)
    if re.search(r"union\s*\(\s*resourcecontainers", text, re.IGNORECASE):
        for sub in sorted(subs):
            for g in (groups.get(sub) or {}).values():
                out.append(_group_row(g, sub))
    ids = _IDS.search(text)
    if ids is not None:
        wanted = {
            m.group(1).replace("\\'", "'").replace("\\\\", "\\").lower() for m in _QUOTED.finditer(ids["ids"])
        }
        out = [r for r in out if str(r["id"]).lower() in wanted]
    return sorted(out, key=lambda r: str(r["id"]).lower())


def page(all_rows: list[dict[str, Any]], options: dict[str, Any]) -> dict[str, Any]:
    """One page of rows in Resource Graph's response shape."""
    try:
        top = int(options.get("$top") or 100)
        start = int(options.get("$skipToken") or options.get("$skip") or 0)
    except (TypeError, ValueError):
        raise HttpError(400, "BadRequest", "invalid $top, $skip or $skipToken") from None
    if top < 1 or top > MAX_TOP:
        raise HttpError(400, "BadRequest", f"$top must be between 1 and {MAX_TOP}")
    data = all_rows[start : start + top]
    body: dict[str, Any] = {
        "totalRecords": len(all_rows),
        "count": len(data),
        "resultTruncated": "false",
        "data": data,
        "facets": [],
    }
    if start + top < len(all_rows):
        body["$skipToken"] = str(start + top)
    return body
