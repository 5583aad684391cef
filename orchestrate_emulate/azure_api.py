"""A local emulator of Azure Resource Manager: resource groups, generic resources, providers.

It speaks ARM's REST paths and JSON, so ``azure.mgmt.resource.resources.ResourceManagementClient``
runs unchanged (replace the authentication policy: ARM refuses bearer tokens over http)::

    with AzureEmulator() as arm:
        client = ResourceManagementClient(credential, SUBSCRIPTION, base_url=arm.url,
                                          authentication_policy=SansIOHTTPPolicy())

API (stable; the drift readers and the stand-in ``hashicorp/azurerm`` provider rely on it).
Paths are case-insensitive, as in ARM; every call needs ``?api-version=``:

- ``GET /subscriptions``, ``GET /subscriptions/S`` (any subscription id is accepted and remembered)
- ``PUT|GET|HEAD|PATCH|DELETE /subscriptions/S/resourcegroups/RG``; ``GET /subscriptions/S/resourcegroups``
  (PATCH replaces ``tags``; DELETE removes the group's resources too and answers 200)
- ``GET /subscriptions/S/resourcegroups/RG/resources`` and ``GET /subscriptions/S/resources``: the
  resources (no ``properties``, as in ARM), ``$filter`` on ``resourceType eq '...'``,
  ``resourceGroup eq '...'``, ``name eq '...'``, ``tagName eq '...' [and tagValue eq '...']``;
  ``$top`` and ``nextLink`` paging
- ``PUT|GET|HEAD|PATCH|DELETE /subscriptions/S/resourceGroups/RG/providers/NS/TYPE/NAME`` (generic
  resources; PATCH replaces ``tags`` and ``sku``, merges ``properties``); the ``api-version`` must be
  one the type lists (400 ``NoRegisteredProviderFound`` otherwise)
- ``POST .../Microsoft.Storage/storageAccounts/NAME/listKeys`` -> ``{"keys": [...]}``
- ``GET /subscriptions/S/providers`` and ``GET /subscriptions/S/providers/NS`` -> ``namespace``,
  ``registrationState`` and ``resourceTypes`` with ``apiVersions`` and ``locations``
  (``GET /providers/NS`` too); ``POST .../providers/NS/register``
- ``GET|PUT|PATCH|DELETE {scope}/providers/Microsoft.Resources/tags/default`` (the Tags API)
- ``POST /providers/Microsoft.ResourceGraph/resources``: Resource Graph queries, the shapes
  the drift reader sends (see :mod:`orchestrate_emulate.azure_graph`)

Resource types: see :data:`PROVIDERS` (Microsoft.Storage/storageAccounts among them). Storage
accounts get ARM's computed properties (endpoints, ``provisioningState``, keys), names are checked
(3-24 lower-case letters and digits) and unique across the emulator. Locations are normalised
("West Europe" -> "westeurope") and must be known Azure regions. Errors use ARM's shape:
``{"error": {"code": "ResourceGroupNotFound", "message": "..."}}``.

Faults, the request log and reset: see :mod:`orchestrate_emulate._http` (``/_emulator/...``).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import re
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from orchestrate_emulate import azure_graph
from orchestrate_emulate._http import Emulator, HttpError, Request, Response, now_rfc3339, paginate

# namespace -> resource type -> supported api-versions (oldest first)
PROVIDERS: dict[str, dict[str, list[str]]] = {
    "Microsoft.Resources": {
        "resourceGroups": [
            "2021-04-01",
            "2022-09-01",
            "2023-07-01",
            "2024-03-01",
            "2024-11-01",
            "2025-04-01",
        ],
        "tags": ["2021-04-01", "2022-09-01", "2023-07-01", "2024-03-01", "2024-11-01", "2025-04-01"],
    },
    "Microsoft.Storage": {
        "storageAccounts": ["2019-06-01", "2021-09-01", "2022-09-01", "2023-01-01", "2023-05-01"],
    },
    "Microsoft.Network": {
        "virtualNetworks": ["2022-07-01", "2023-04-01", "2023-09-01", "2024-01-01"],
        "networkSecurityGroups": ["2022-07-01", "2023-04-01", "2023-09-01", "2024-01-01"],
        "publicIPAddresses": ["2022-07-01", "2023-04-01", "2023-09-01", "2024-01-01"],
    },
    "Microsoft.KeyVault": {"vaults": ["2022-07-01", "2023-02-01", "2023-07-01"]},
    "Microsoft.Web": {"sites": ["2022-03-01", "2023-01-01"]},
    "Microsoft.ManagedIdentity": {"userAssignedIdentities": ["2023-01-31", "2023-07-31-preview"]},
}

LOCATIONS = [
    "australiaeast", "brazilsouth", "canadacentral", "centralindia", "centralus", "eastasia", "eastus",
    "eastus2", "francecentral", "germanywestcentral", "japaneast", "koreacentral", "northcentralus",
    "northeurope", "norwayeast", "polandcentral", "southafricanorth", "southcentralus", "southeastasia",
    "swedencentral", "switzerlandnorth", "uaenorth", "uksouth", "ukwest", "westcentralus", "westeurope",
    "westus", "westus2", "westus3",
]  # fmt: skip

_API_VERSION_RE = re.compile(r"\d{4}-\d{2}-\d{2}(-preview)?")
_RG_NAME_RE = re.compile(r"[-\w._()]{1,90}")
_STORAGE_NAME_RE = re.compile(r"[a-z0-9]{3,24}")


def normalize_location(location: str) -> str:
    """ARM's canonical form of a location: "West Europe" -> "westeurope"."""
    return location.replace(" ", "").lower()


def _location(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise HttpError(400, "LocationRequired", "The location property is required for this definition.")
    loc = normalize_location(value)
    if loc not in LOCATIONS:
        raise HttpError(
            400,
            "LocationNotAvailableForResourceType",
            f"The provided location '{value}' is not available. List of available regions is "
            f"'{','.join(LOCATIONS)}'.",
        )
    return loc


def _tags(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise HttpError(400, "InvalidTag", "tags must be an object of string values")
    if len(value) > 50:
        raise HttpError(400, "InvalidTag", f"a resource can have at most 50 tags, got {len(value)}")
    for k in value:
        if len(k) > 512 or any(c in k for c in "<>%&\\?/"):
            raise HttpError(400, "InvalidTagNameCharacters", f"the tag name {k!r} has invalid characters")
    return dict(value)


def _storage_properties(
    name: str, location: Any, props: dict[str, Any], old: dict[str, Any]
) -> dict[str, Any]:
    """A storage account's properties as Azure returns them: defaults, then the settings it
    had (an update keeps them), then the request's, then what Azure fills in itself."""
    base = f"https://{name}"
    defaults: dict[str, Any] = {
        "accessTier": "Hot",
        "supportsHttpsTrafficOnly": True,
        "minimumTlsVersion": "TLS1_2",
        "allowBlobPublicAccess": False,
        "allowSharedKeyAccess": True,
        "publicNetworkAccess": "Enabled",
    }
    return {
        **defaults,
        **{k: old[k] for k in defaults if k in old},
        **props,
        "provisioningState": "Succeeded",
        "creationTime": old.get("creationTime") or now_rfc3339(),
        "primaryLocation": location,
        "statusOfPrimary": "available",
        "primaryEndpoints": {
            "blob": f"{base}.blob.core.windows.net/",
            "queue": f"{base}.queue.core.windows.net/",
            "table": f"{base}.table.core.windows.net/",
            "file": f"{base}.file.core.windows.net/",
            "dfs": f"{base}.dfs.core.windows.net/",
            "web": f"{base}.z6.web.core.windows.net/",
        },
    }


class AzureEmulator(Emulator):
    """Azure Resource Manager on 127.0.0.1 (resource groups, generic resources, providers)."""

    kind = "azure"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, data_file: Path | None = None) -> None:
        self.subscriptions: dict[str, dict[str, Any]] = {}  # lower id -> {"groups": {lower: RG}, ...}
        self.resources: dict[str, dict[str, Any]] = {}  # lower resource id -> resource JSON
        self.keys: dict[str, list[dict[str, str]]] = {}  # lower storage account id -> keys
        self.registrations: dict[str, str] = {}  # "sub/namespace" (lower) -> state
        super().__init__(host, port, data_file)

    # ------------------------------------------------------------ Emulator hooks

    def snapshot(self) -> dict[str, Any]:
        return {
            "subscriptions": self.subscriptions,
            "resources": self.resources,
            "keys": self.keys,
            "registrations": self.registrations,
        }

    def restore(self, data: dict[str, Any]) -> None:
        self.subscriptions = dict(data.get("subscriptions") or {})
        self.resources = dict(data.get("resources") or {})
        self.keys = dict(data.get("keys") or {})
        self.registrations = dict(data.get("registrations") or {})

    def clear(self) -> None:
        self.restore({})

    def register_routes(self) -> None:
        r = self.route
        sub = r"/subscriptions/(?P<sub>[^/]+)"
        rg = sub + r"/resourcegroups/(?P<rg>[^/]+)"
        r("POST", r"/providers/Microsoft\.ResourceGraph/resources", self._graph_query)
        r("GET", r"/subscriptions", self._list_subscriptions)
        r("GET", sub, self._get_subscription)
        r("GET", sub + r"/resourcegroups", self._list_groups)
        for method in ("PUT", "GET", "PATCH", "DELETE"):
            r(method, rg, self._group)
        r("GET", rg + r"/resources", self._list_group_resources)
        r("GET", sub + r"/resources", self._list_resources)
        r("GET", sub + r"/providers", self._list_providers)
        r("GET", sub + r"/providers/(?P<ns>[^/]+)", self._get_provider)
        r("POST", sub + r"/providers/(?P<ns>[^/]+)/register", self._register_provider)
        r("POST", sub + r"/providers/(?P<ns>[^/]+)/unregister", self._unregister_provider)
        r("GET", r"/providers/(?P<ns>[^/]+)", self._get_provider)
        for method in ("PUT", "GET", "PATCH", "DELETE"):
            r(
                method,
                r"(?P<scope>/subscriptions/.*?)/providers/Microsoft\.Resources/tags/default",
                self._tags_api,
            )
        r(
            "POST",
            rg + r"/providers/Microsoft\.Storage/storageAccounts/(?P<name>[^/]+)/listKeys",
            self._list_keys,
        )
        for method in ("PUT", "GET", "PATCH", "DELETE"):
            r(method, rg + r"/providers/(?P<ns>[^/]+)/+(?P<type>[^/]+)/(?P<name>[^/]+)", self._resource)

    # ------------------------------------------------------------ direct access (tests)

    def resource_group(self, subscription: str, name: str) -> dict[str, Any] | None:
        with self.lock:
            g = self.subscriptions.get(subscription.lower(), {}).get("groups", {}).get(name.lower())
            return copy.deepcopy(g) if g else None

    def resource(self, resource_id: str) -> dict[str, Any] | None:
        with self.lock:
            r = self.resources.get(resource_id.lower())
            return copy.deepcopy(r) if r else None

    # ------------------------------------------------------------ helpers

    def _api_version(
        self, req: Request, namespace: str = "Microsoft.Resources", rtype: str = "resourceGroups"
    ) -> str:
        version = req.arg("api-version")
        if not version:
            raise HttpError(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        if not _API_VERSION_RE.fullmatch(version):
            raise HttpError(400, "InvalidApiVersionParameter", f"The api-version '{version}' is invalid.")
        if namespace != "Microsoft.Resources":
            supported = PROVIDERS[namespace][rtype]
            if version not in supported:
                raise HttpError(
                    400,
                    "NoRegisteredProviderFound",
                    f"No registered resource provider found for location 'global' and API version '{version}' "
                    f"for type '{rtype}'. The supported api-versions are '{', '.join(supported)}'.",
                )
        return version

    def _subscription(self, sub: str) -> dict[str, Any]:
        try:
            uuid.UUID(sub)
        except ValueError:
            raise HttpError(
                400,
                "InvalidSubscriptionId",
                f"The provided subscription identifier '{sub}' is malformed or invalid.",
            ) from None
        return self.subscriptions.setdefault(sub.lower(), {"id": sub, "groups": {}})

    def _group_or_404(self, sub: str, rg: str) -> dict[str, Any]:
        g: dict[str, Any] | None = self._subscription(sub)["groups"].get(rg.lower())
        if g is None:
            raise HttpError(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")
        return g

    @staticmethod
    def _resolve_type(namespace: str, rtype: str) -> tuple[str, str]:
        for ns, types in PROVIDERS.items():
            if ns.lower() == namespace.lower():
                for t in types:
                    if t.lower() == rtype.lower():
                        return ns, t
                raise HttpError(
                    400,
                    "InvalidResourceType",
                    f"The resource type '{rtype}' could not be found in the namespace '{ns}' for api version "
                    "(any).",
                )
        raise HttpError(
            400,
            "InvalidResourceNamespace",
            f"The resource namespace '{namespace}' is invalid (the emulator knows {', '.join(PROVIDERS)}).",
        )

    def _next_link(self, req: Request, nxt: str | None) -> dict[str, Any]:
        if nxt is None:
            return {}
        query = {k: v[0] for k, v in req.query.items() if k != "$skiptoken"}
        query["$skiptoken"] = nxt
        return {"nextLink": f"{self.url}{req.path}?{urlencode(query)}"}

    def _page(self, req: Request, items: list[dict[str, Any]]) -> Response:
        top = req.arg("$top")
        try:
            size = int(top) if top else None
        except ValueError:
            raise HttpError(400, "InvalidQueryParameterValue", f"invalid $top {top!r}") from None
        page, nxt = paginate(items, size, req.arg("$skiptoken"), default=1000, maximum=1000)
        return Response(200, {"value": page, **self._next_link(req, nxt)})

    # ------------------------------------------------------------ subscriptions

    def _sub_json(self, sub: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": f"/subscriptions/{sub['id']}",
            "subscriptionId": sub["id"],
            "displayName": f"Emulated subscription {sub['id']}",
            "state": "Enabled",
            "tenantId": "00000000-0000-0000-0000-000000000000",
        }

    def _list_subscriptions(self, req: Request, m: re.Match[str]) -> Response:
        self._api_version(req)
        return Response(200, {"value": [self._sub_json(s) for s in self.subscriptions.values()]})

    def _get_subscription(self, req: Request, m: re.Match[str]) -> Response:
        self._api_version(req)
        return Response(200, self._sub_json(self._subscription(m["sub"])))

    # ------------------------------------------------------------ resource groups

    def _list_groups(self, req: Request, m: re.Match[str]) -> Response:
        self._api_version(req)
        groups = self._subscription(m["sub"])["groups"]
        items = [groups[k] for k in sorted(groups)]
        flt = req.arg("$filter")
        if flt:
            items = [g for g in items if _filter(flt, g)]
        return self._page(req, items)

    def _group(self, req: Request, m: re.Match[str]) -> Response:
        self._api_version(req)
        sub, name = m["sub"], m["rg"]
        groups = self._subscription(sub)["groups"]
        existing = groups.get(name.lower())
        if req.method == "PUT":
            if not _RG_NAME_RE.fullmatch(name) or name.endswith("."):
                raise HttpError(
                    400,
                    "InvalidResourceGroup",
                    f"The provided resource group name '{name}' has invalid characters.",
                )
            body = req.json()
            location = _location(body.get("location"))
            if existing is not None and existing["location"] != location:
                raise HttpError(
                    409,
                    "InvalidResourceGroupLocation",
                    f"Invalid resource group location '{location}'. The Resource group already exists in location "
                    f"'{existing['location']}'.",
                )
            group = {
                "id": f"/subscriptions/{sub}/resourceGroups/{existing['name'] if existing else name}",
                "name": existing["name"] if existing else name,
                "type": "Microsoft.Resources/resourceGroups",
                "location": location,
                "tags": _tags(body.get("tags")),
                "properties": {"provisioningState": "Succeeded"},
            }
            if body.get("managedBy"):
                group["managedBy"] = body["managedBy"]
            groups[name.lower()] = group
            return Response(200 if existing else 201, group)
        if existing is None:
            if req.method == "HEAD":
                return Response(404)
            raise HttpError(404, "ResourceGroupNotFound", f"Resource group '{name}' could not be found.")
        if req.method == "HEAD":
            return Response(204)
        if req.method == "GET":
            return Response(200, existing)
        if req.method == "PATCH":
            body = req.json()
            if "tags" in body:
                existing["tags"] = _tags(body["tags"])
            if "managedBy" in body:
                existing["managedBy"] = body["managedBy"]
            return Response(200, existing)
        # DELETE: the group and everything in it
        prefix = existing["id"].lower() + "/"
        for rid in [rid for rid in self.resources if rid.startswith(prefix)]:
            del self.resources[rid]
            self.keys.pop(rid, None)
        del groups[name.lower()]
        return Response(200)

    # ------------------------------------------------------------ resource lists

    @staticmethod
    def _listed(resource: dict[str, Any]) -> dict[str, Any]:
        # ARM's list leaves properties out (GenericResourceExpanded).
        return {k: v for k, v in resource.items() if k != "properties"}

    def _graph_query(self, req: Request, m: re.Match[str]) -> Response:
        body = req.json()
        subs = body.get("subscriptions") or []
        query = body.get("query")
        if not isinstance(query, str) or not isinstance(subs, list) or not subs:
            raise HttpError(400, "BadRequest", "a query and at least one subscription are required")
        groups = {str(s).lower(): self._subscription(str(s))["groups"] for s in subs}
        found = azure_graph.rows(query, [str(s) for s in subs], groups, self.resources)
        return Response(200, azure_graph.page(found, body.get("options") or {}))

    def _list_group_resources(self, req: Request, m: re.Match[str]) -> Response:
        self._api_version(req)
        group = self._group_or_404(m["sub"], m["rg"])
        prefix = group["id"].lower() + "/"
        items = [self._listed(self.resources[k]) for k in sorted(self.resources) if k.startswith(prefix)]
        flt = req.arg("$filter")
        if flt:
            items = [r for r in items if _filter(flt, r)]
        return self._page(req, items)

    def _list_resources(self, req: Request, m: re.Match[str]) -> Response:
        self._api_version(req)
        sub = self._subscription(m["sub"])
        prefix = f"/subscriptions/{sub['id']}/".lower()
        items = [self._listed(self.resources[k]) for k in sorted(self.resources) if k.startswith(prefix)]
        flt = req.arg("$filter")
        if flt:
            items = [r for r in items if _filter(flt, r)]
        return self._page(req, items)

    # ------------------------------------------------------------ generic resources

    def _resource(self, req: Request, m: re.Match[str]) -> Response:
        ns, rtype = self._resolve_type(m["ns"], m["type"])
        self._api_version(req, ns, rtype)
        group = self._group_or_404(m["sub"], m["rg"])
        name = m["name"]
        rid = f"{group['id']}/providers/{ns}/{rtype}/{name}"
        existing = self.resources.get(rid.lower())
        if req.method == "PUT":
            body = req.json()
            resource = self._build(
                ns, rtype, name, rid if existing is None else existing["id"], body, existing
            )
            self.resources[rid.lower()] = resource
            return Response(200 if existing else 201, resource)
        if existing is None:
            if req.method == "HEAD":
                return Response(404)
            raise HttpError(
                404,
                "ResourceNotFound",
                f"The Resource '{ns}/{rtype}/{name}' under resource group '{group['name']}' was not found. "
                "For more details please go to https://aka.ms/ARMResourceNotFoundFix",
            )
        if req.method == "HEAD":
            return Response(204)
        if req.method == "GET":
            return Response(200, existing)
        if req.method == "PATCH":
            body = req.json()
            if "tags" in body:
                existing["tags"] = _tags(body["tags"])
            if "sku" in body:
                existing["sku"] = body["sku"]
            if isinstance(body.get("properties"), dict):
                props = existing.setdefault("properties", {})
                for k, v in body["properties"].items():
                    if v is None:
                        props.pop(k, None)
                    else:
                        props[k] = v
            return Response(200, existing)
        del self.resources[rid.lower()]
        self.keys.pop(rid.lower(), None)
        return Response(200)

    def _build(
        self, ns: str, rtype: str, name: str, rid: str, body: dict[str, Any], existing: dict[str, Any] | None
    ) -> dict[str, Any]:
        location = _location(body.get("location"))
        if existing is not None and existing["location"] != location:
            raise HttpError(
                409,
                "LocationNotAvailableForResourceType" if ns != "Microsoft.Storage" else "InvalidLocation",
                f"The resource '{name}' already exists in location '{existing['location']}'; its location cannot "
                f"change to '{location}'.",
            )
        props = body.get("properties") or {}
        if not isinstance(props, dict):
            raise HttpError(400, "InvalidRequestContent", "properties must be an object")
        resource: dict[str, Any] = {
            "id": rid,
            "name": name,
            "type": f"{ns}/{rtype}",
            "location": location,
            "tags": _tags(body.get("tags")),
        }
        for key in ("kind", "sku", "identity", "managedBy", "plan", "zones"):
            if body.get(key) is not None:
                resource[key] = body[key]
        if (ns, rtype) == ("Microsoft.Storage", "storageAccounts"):
            self._storage_account(name, rid, resource, dict(props), existing)
        else:
            resource["properties"] = {**props, "provisioningState": "Succeeded"}
        return resource

    def _storage_account(
        self,
        name: str,
        rid: str,
        resource: dict[str, Any],
        props: dict[str, Any],
        existing: dict[str, Any] | None,
    ) -> None:
        if not _STORAGE_NAME_RE.fullmatch(name):
            raise HttpError(
                400,
                "AccountNameInvalid",
                f"{name} is not a valid storage account name. Storage account name must be between 3 and 24 "
                "characters in length and use numbers and lower-case letters only.",
            )
        if existing is None:
            for other in self.resources.values():
                if other["type"] == "Microsoft.Storage/storageAccounts" and other["name"] == name:
                    raise HttpError(
                        409,
                        "StorageAccountAlreadyTaken",
                        f"The storage account named {name} is already taken.",
                    )
        sku = resource.get("sku")
        if not isinstance(sku, dict) or not sku.get("name"):
            raise HttpError(400, "InvalidRequestContent", "sku.name is required for a storage account")
        sku_name = str(sku["name"])
        if not re.fullmatch(r"(Standard|Premium)_(LRS|GRS|RAGRS|ZRS|GZRS|RAGZRS)", sku_name):
            raise HttpError(400, "InvalidSkuName", f"The sku name '{sku_name}' is not valid.")
        resource["sku"] = {"name": sku_name, "tier": sku_name.split("_", 1)[0]}
        resource.setdefault("kind", "StorageV2")
        tls = props.get("minimumTlsVersion", "TLS1_2")
        if tls not in ("TLS1_0", "TLS1_1", "TLS1_2", "TLS1_3"):
            raise HttpError(
                400, "InvalidValuesForRequestParameters", f"minimumTlsVersion {tls!r} is not valid"
            )
        old = (existing or {}).get("properties") or {}
        resource["properties"] = _storage_properties(name, resource["location"], props, old)
        if rid.lower() not in self.keys:
            self.keys[rid.lower()] = [
                {"keyName": f"key{i}", "value": _key(rid, i), "permissions": "FULL"} for i in (1, 2)
            ]

    def _list_keys(self, req: Request, m: re.Match[str]) -> Response:
        self._api_version(req, "Microsoft.Storage", "storageAccounts")
        group = self._group_or_404(m["sub"], m["rg"])
        rid = f"{group['id']}/providers/Microsoft.Storage/storageAccounts/{m['name']}".lower()
        if rid not in self.resources:
            raise HttpError(
                404,
                "ResourceNotFound",
                f"The Resource 'Microsoft.Storage/storageAccounts/{m['name']}' under resource group "
                f"'{group['name']}' was not found.",
            )
        return Response(200, {"keys": self.keys.get(rid, [])})

    # ------------------------------------------------------------ tags API

    def _tags_api(self, req: Request, m: re.Match[str]) -> Response:
        self._api_version(req)
        scope = m["scope"].rstrip("/")
        target = self._scope_target(scope)
        if req.method == "PUT":
            target["tags"] = _tags((req.json().get("properties") or {}).get("tags"))
        elif req.method == "PATCH":
            body = req.json()
            op = str(body.get("operation", "")).lower()
            given = _tags((body.get("properties") or {}).get("tags"))
            if op == "merge":
                target["tags"] = {**target.get("tags", {}), **given}
            elif op == "replace":
                target["tags"] = given
            elif op == "delete":
                target["tags"] = {
                    k: v for k, v in target.get("tags", {}).items() if k not in given or given[k] != v
                }
            else:
                raise HttpError(400, "InvalidRequestContent", "operation must be Merge, Replace or Delete")
        elif req.method == "DELETE":
            target["tags"] = {}
        return Response(
            200,
            {
                "id": f"{scope}/providers/Microsoft.Resources/tags/default",
                "name": "default",
                "type": "Microsoft.Resources/tags",
                "properties": {"tags": target.get("tags", {})},
            },
        )

    def _scope_target(self, scope: str) -> dict[str, Any]:
        m = re.fullmatch(
            r"/subscriptions/([^/]+)/resourcegroups/([^/]+)(/providers/.+)?", scope, re.IGNORECASE
        )
        if m is None:
            raise HttpError(
                400, "InvalidScope", f"tags are supported on resource groups and resources, not {scope}"
            )
        group = self._group_or_404(m[1], m[2])
        if not m[3]:
            return group
        resource = self.resources.get(scope.lower())
        if resource is None:
            raise HttpError(404, "ResourceNotFound", f"The Resource '{scope}' was not found.")
        return resource

    # ------------------------------------------------------------ providers

    def _provider_json(self, sub: str | None, ns: str) -> dict[str, Any]:
        state = self.registrations.get(f"{sub}/{ns}".lower(), "Registered") if sub else "Registered"
        return {
            "id": f"/subscriptions/{sub}/providers/{ns}" if sub else f"/providers/{ns}",
            "namespace": ns,
            "registrationState": state,
            "registrationPolicy": "RegistrationRequired",
            "resourceTypes": [
                {
                    "resourceType": t,
                    "locations": ["West Europe", "North Europe", "East US", "West US 2"]
                    if t != "resourceGroups"
                    else [],
                    "apiVersions": sorted(versions, reverse=True),
                    "defaultApiVersion": versions[-1],
                    "capabilities": "SupportsTags, SupportsLocation",
                }
                for t, versions in PROVIDERS[ns].items()
            ],
        }

    def _list_providers(self, req: Request, m: re.Match[str]) -> Response:
        self._api_version(req)
        self._subscription(m["sub"])
        return Response(200, {"value": [self._provider_json(m["sub"], ns) for ns in PROVIDERS]})

    def _get_provider(self, req: Request, m: re.Match[str]) -> Response:
        self._api_version(req)
        sub = m.groupdict().get("sub")
        if sub:
            self._subscription(sub)
        for ns in PROVIDERS:
            if ns.lower() == m["ns"].lower():
                return Response(200, self._provider_json(sub, ns))
        raise HttpError(404, "InvalidResourceNamespace", f"The resource namespace '{m['ns']}' is invalid.")

    def _set_registration(self, req: Request, m: re.Match[str], state: str) -> Response:
        self._api_version(req)
        self._subscription(m["sub"])
        for ns in PROVIDERS:
            if ns.lower() == m["ns"].lower():
                self.registrations[f"{m['sub']}/{ns}".lower()] = state
                return Response(200, self._provider_json(m["sub"], ns))
        raise HttpError(404, "InvalidResourceNamespace", f"The resource namespace '{m['ns']}' is invalid.")

    def _register_provider(self, req: Request, m: re.Match[str]) -> Response:
        return self._set_registration(req, m, "Registered")

    def _unregister_provider(self, req: Request, m: re.Match[str]) -> Response:
        return self._set_registration(req, m, "NotRegistered")


def _key(rid: str, i: int) -> str:
    """A stable fake storage key (base64 of 64 bytes), like the real ones."""
    digest = hashlib.sha512(f"{rid.lower()}#{i}".encode()).digest()
    return base64.b64encode(digest).decode()


_CLAUSE_RE = re.compile(r"\s*(\w+)\s+eq\s+'((?:[^']|'')*)'\s*", re.IGNORECASE)


def _filter(expression: str, resource: dict[str, Any]) -> bool:
    """ARM's ``$filter``: clauses ``field eq 'value'`` joined by ``and``."""
    clauses = re.split(r"\s+and\s+", expression.strip(), flags=re.IGNORECASE)
    tag_name: str | None = None
    for clause in clauses:
        m = _CLAUSE_RE.fullmatch(clause)
        if m is None:
            raise HttpError(400, "InvalidFilterInQueryString", f"invalid $filter clause {clause!r}")
        field, value = m[1].lower(), m[2].replace("''", "'")
        if field == "resourcetype":
            if resource.get("type", "").lower() != value.lower():
                return False
        elif field == "resourcegroup":
            rid = resource.get("id", "")
            parts = rid.split("/")
            if len(parts) < 5 or parts[4].lower() != value.lower():
                return False
        elif field == "name":
            if resource.get("name", "").lower() != value.lower():
                return False
        elif field == "location":
            if resource.get("location", "") != normalize_location(value):
                return False
        elif field == "tagname":
            tag_name = value
            if value not in (resource.get("tags") or {}):
                return False
        elif field == "tagvalue":
            if tag_name is None:
                raise HttpError(
                    400, "InvalidFilterInQueryString", "tagValue needs a tagName clause before it"
                )
            if (resource.get("tags") or {}).get(tag_name) != value:
                return False
        else:
            raise HttpError(400, "InvalidFilterInQueryString", f"unsupported $filter field {m[1]!r}")
    return True
