"""Azure live reader: every azurerm_* resource through Resource Graph (azure-mgmt-resourcegraph).

Batched per subscription: one paged KQL query (orchestrator.drift.azure_graph) returns every
resource and resource group with its location, tags and properties, shared by all types.
Managed resources of another subscription are read with one more query by id per subscription;
a child resource the listing cannot show (other than subnets, read from their network) is read
with ``resources.get_by_id`` (azure-mgmt-resource), its api-version resolved from the
provider's resource types (``providers.get``) and cached per namespace. Location spellings are
normalised by the comparison ("West Europe" is westeurope). Resources of types with no
Terraform type below are still listed, for unmanaged detection, under their ARM type.

SDK retries are off (retry_total=0); orchestrator.drift.retry retries 429, 5xx and dropped
connections, and a call that still fails becomes a CloudError here.
"""

from __future__ import annotations

import fnmatch
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

from orchestrator.clouds import ResolvedTarget
from orchestrator.config import AzureTarget
from orchestrator.drift import azure_graph as graph
from orchestrator.drift.model import LiveResource, Resource
from orchestrator.drift.retry import AttemptBudget, RetryPolicy, call_with_retries
from orchestrator.errors import CloudError

# ARM resource types whose Terraform type is unambiguous: listed for unmanaged detection.
ARM_TYPES: dict[str, str] = {
    "microsoft.storage/storageaccounts": "azurerm_storage_account",
    "microsoft.network/virtualnetworks": "azurerm_virtual_network",
    "microsoft.network/networksecuritygroups": "azurerm_network_security_group",
    "microsoft.network/publicipaddresses": "azurerm_public_ip",
    "microsoft.network/networkinterfaces": "azurerm_network_interface",
    "microsoft.keyvault/vaults": "azurerm_key_vault",
    "microsoft.managedidentity/userassignedidentities": "azurerm_user_assigned_identity",
    "microsoft.containerservice/managedclusters": "azurerm_kubernetes_cluster",
    "microsoft.compute/disks": "azurerm_managed_disk",
    "microsoft.operationalinsights/workspaces": "azurerm_log_analytics_workspace",
    graph.SUBNET_ARM: "azurerm_subnet",
}
RESOURCE_GROUP = "azurerm_resource_group"
# Every listed resource whose ARM type has no Terraform type above (reported under its ARM type).
OTHER = "azurerm_*"
LISTED_TYPES = (RESOURCE_GROUP, *sorted(set(ARM_TYPES.values()) - {"azurerm_subnet"}), OTHER)
# ARM types Azure creates by itself.
_DEFAULT_ARM_TYPES = (
    "microsoft.network/networkwatchers",
    "microsoft.alertsmanagement/smartdetectoralertrules",
)
# Resource groups Azure creates by itself (Network Watcher, AKS node groups, Cloud Shell, ...).
_VNET = ("microsoft.network/virtualnetworks",)
_DEFAULT_GROUPS = (
    "networkwatcherrg",
    "defaultresourcegroup-*",
    "mc_*_*_*",
    "cloud-shell-storage-*",
    "azurebackuprg*",
    "databricks-rg-*",
    "loganalyticsdefaultresources",
    "dashboards",
)


def _exceptions() -> Any:
    from azure.core import exceptions

    return exceptions


def classify(exc: BaseException) -> Literal["transient", "connect"] | None:
    ex = _exceptions()
    if isinstance(exc, ex.ServiceRequestError):
        return "connect"
    if isinstance(exc, ex.ServiceResponseError):
        return "transient"
    if isinstance(exc, ex.HttpResponseError):
        status = int(exc.status_code or 0)
        if status == 429 or status >= 500:
            return "transient"
    return None


def translate(exc: BaseException, what: str, where: str, endpoint: str | None) -> CloudError:
    if isinstance(exc, CloudError):
        return exc
    ex = _exceptions()
    kind = classify(exc)
    if kind == "connect":
        return CloudError(
            f"cannot reach the Azure endpoint {endpoint or 'management.azure.com'} for {what}",
            where=where,
            hint="Check endpoint: in the cloud target and the network (or run `orchestrate emulate up`).",
        )
    if isinstance(exc, ex.ClientAuthenticationError) and exc.status_code is None:
        # No credential could be obtained at all (azure-identity's CredentialUnavailableError).
        return CloudError(
            "no Azure credentials",
            where=where,
            hint="Run `az login`, or set the service principal's AZURE_* environment variables.",
        )
    if isinstance(exc, ex.ClientAuthenticationError):
        return CloudError(
            f"{what} failed: not authorised ({exc.status_code})",
            where=where,
            hint="Give the scanning identity the Reader role on the subscription, or refresh its credentials.",
        )
    if isinstance(exc, ex.HttpResponseError):
        code = getattr(getattr(exc, "error", None), "code", None) or exc.status_code
        message = getattr(getattr(exc, "error", None), "message", None) or exc.reason or ""
        hint = (
            "Azure kept throttling or failing after retries; run the scan again later."
            if kind == "transient"
            else "Check the cloud target's subscription and permissions."
        )
        return CloudError(f"{what} failed ({code}: {message})", where=where, hint=hint)
    try:
        from azure.identity import CredentialUnavailableError

        if isinstance(exc, CredentialUnavailableError):
            return CloudError(
                "no Azure credentials",
                where=where,
                hint="Run `az login` or set AZURE_CLIENT_ID/SECRET/TENANT_ID.",
            )
    except ImportError:  # pragma: no cover
        pass
    return CloudError(
        f"{what} failed: {type(exc).__name__}: {exc}", where=where, hint="Run again with -v for details."
    )


def _is_auth(exc: BaseException) -> bool:
    if isinstance(exc, _exceptions().ClientAuthenticationError):
        return True
    try:
        from azure.identity import CredentialUnavailableError

        return isinstance(exc, CredentialUnavailableError)
    except ImportError:  # pragma: no cover
        return False


def parse_id(resource_id: str) -> tuple[str, str, str] | None:
    """(subscription, namespace, type path) of an ARM id; None when it is not one.

    ``/subscriptions/S/resourceGroups/RG/providers/NS/a/x/b/y`` -> (S, NS, "a/b").
    """
    parts = [p for p in resource_id.split("/") if p]
    if len(parts) < 2 or parts[0].lower() != "subscriptions":
        return None
    sub = parts[1]
    lowered = [p.lower() for p in parts]
    if "providers" not in lowered:
        if len(parts) == 4 and lowered[2] == "resourcegroups":
            return sub, "Microsoft.Resources", "resourceGroups"
        return None
    i = len(lowered) - 1 - lowered[::-1].index("providers")
    rest = parts[i + 1 :]
    if len(rest) < 3 or len(rest) % 2 == 0:
        return None
    return sub, rest[0], "/".join(rest[1::2])


def _top_level(resource_id: str) -> bool:
    parts = [p.lower() for p in resource_id.split("/") if p]
    return parts.count("providers") == 1 and len(parts) == 8


def _default_group(name: str, managed_by: str | None) -> bool:
    return bool(managed_by) or any(fnmatch.fnmatchcase(name.lower(), p) for p in _DEFAULT_GROUPS)


class _NoToken:
    """The emulator needs no token (the bearer policy is replaced on http endpoints)."""

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken("emulated", int(time.time()) + 3600)


ClientFactory = Callable[[], Any]  # -> ResourceManagementClient
GraphFactory = Callable[[], Any]  # -> ResourceGraphClient


def _client_args(resolved: ResolvedTarget) -> tuple[Any, dict[str, Any]]:
    """(credential, keyword arguments) for an azure-mgmt client of this target.

    SDK retries off; on an emulated or http:// endpoint no token at all (ARM refuses bearer
    tokens over http and the emulator wants none), else DefaultAzureCredential.
    """
    # azure-identity logs every credential it tried at WARNING; the CloudError says what to do.
    logging.getLogger("azure").addHandler(logging.NullHandler())
    logging.getLogger("azure").propagate = False
    target = resolved.target
    assert isinstance(target, AzureTarget)
    kwargs: dict[str, Any] = {"retry_total": 0}
    endpoint = resolved.endpoint
    if endpoint:
        kwargs["base_url"] = endpoint
    if resolved.emulated or (endpoint or "").startswith("http://"):
        from azure.core.pipeline.policies import SansIOHTTPPolicy

        return _NoToken(), {**kwargs, "authentication_policy": SansIOHTTPPolicy()}
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential(**({"tenant_id": target.tenant_id} if target.tenant_id else {})), kwargs


def default_graph_client(resolved: ResolvedTarget) -> GraphFactory:
    def make() -> Any:
        from azure.mgmt.resourcegraph import ResourceGraphClient

        credential, kwargs = _client_args(resolved)
        return ResourceGraphClient(credential, **kwargs)

    return make


def default_client(resolved: ResolvedTarget) -> ClientFactory:
    def make() -> Any:
        from azure.mgmt.resource.resources import ResourceManagementClient

        target = resolved.target
        assert isinstance(target, AzureTarget)
        credential, kwargs = _client_args(resolved)
        return ResourceManagementClient(credential, target.subscription_id, **kwargs)

    return make


def state_key(resource: Resource) -> str | None:
    rid = resource.id or ""
    return rid.lower() if parse_id(rid) is not None else None


def _live(rtype: str, item: Any, in_scope: bool) -> LiveResource:
    """An ARM object (get_by_id) as a live resource: name, location and tags."""
    rid = str(item.id)
    attrs: dict[str, Any] = {"name": item.name, "tags": dict(item.tags or {})}
    if getattr(item, "location", None):
        attrs["location"] = item.location
    managed_by = getattr(item, "managed_by", None)
    default = _default_group(str(item.name), managed_by) if rtype == RESOURCE_GROUP else bool(managed_by)
    return LiveResource(rtype, rid, rid.lower(), attrs, default, in_scope)


def _row_live(rtype: str, row: Mapping[str, Any], in_scope: bool) -> LiveResource:
    """A Resource Graph row as a live resource (``rtype`` OTHER: typed by its ARM type)."""
    rid = str(row.get("id"))
    arm_type = str(row.get("type") or "").lower()
    managed_by = row.get("managedBy")
    if rtype == RESOURCE_GROUP:
        default = _default_group(str(row.get("name")), managed_by)
    else:
        default = bool(managed_by) or arm_type in _DEFAULT_ARM_TYPES
    live_type = str(row.get("type")) if rtype == OTHER else rtype
    return LiveResource(
        live_type, rid, rid.lower(), graph.attributes(rtype, row), default, in_scope and not row.get("child")
    )


class AzureReader:
    """Reads one subscription through one cloud target."""

    provider = "azure"

    def __init__(
        self,
        resolved: ResolvedTarget,
        client: ClientFactory | None = None,
        *,
        graph_client: GraphFactory | None = None,
        retry: RetryPolicy | None = None,
        on_retry: Callable[[str, BaseException], None] | None = None,
    ) -> None:
        target = resolved.target
        assert isinstance(target, AzureTarget)
        self.resolved = resolved
        self.target = target
        self.subscription = target.subscription_id.lower()
        self.where = resolved.name
        self.retry = retry or RetryPolicy()
        self._factory = client or default_client(resolved)
        self._graph_factory = graph_client or default_graph_client(resolved)
        self._graph: Any = None
        self._client: Any = None
        self._lock = threading.Lock()
        self._listing: list[dict[str, Any]] | None = None
        self._foreign: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        self._listing_lock = threading.Lock()
        self._versions: dict[str, dict[str, str]] = {}
        self._versions_lock = threading.Lock()
        self._on_retry = on_retry
        self._denied: CloudError | None = None  # credentials refused once: every later call fails fast

    # -------------------------------------------------------------- plumbing

    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                try:
                    self._client = self._factory()
                except Exception as exc:
                    raise translate(
                        exc, "creating the ARM client", self.where, self.resolved.endpoint
                    ) from exc
            return self._client

    def graph(self) -> Any:
        with self._lock:
            if self._graph is None:
                try:
                    self._graph = self._graph_factory()
                except Exception as exc:
                    raise translate(
                        exc, "creating the Resource Graph client", self.where, self.resolved.endpoint
                    ) from exc
            return self._graph

    def query(self, query: str, subscriptions: list[str]) -> list[dict[str, Any]]:
        """Every row of a Resource Graph query (one call per page of 1,000, each retried)."""
        from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

        rows: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            request = QueryRequest(
                subscriptions=subscriptions,
                query=query,
                options=QueryRequestOptions(
                    top=graph.PAGE_SIZE, skip_token=token, result_format="objectArray"
                ),
            )
            page = self.call("resource graph query", lambda request=request: self.graph().resources(request))  # type: ignore[misc]
            rows += [r for r in page.data or [] if isinstance(r, dict)]
            token = page.skip_token
            if not token:
                return rows

    def call(self, what: str, fn: Callable[[], Any], *, not_found_ok: bool = False) -> Any:
        if self._denied is not None:
            raise self._denied

        def report(exc: BaseException, retry: int) -> None:
            del retry
            if self._on_retry is not None:
                self._on_retry(what, exc)

        try:
            return call_with_retries(
                fn, policy=self.retry, retryable=AttemptBudget(classify, self.retry), on_retry=report
            )
        except Exception as exc:
            if not_found_ok and isinstance(exc, _exceptions().ResourceNotFoundError):
                return None
            error = translate(exc, what, self.where, self.resolved.endpoint)
            if _is_auth(exc):
                self._denied = error
            raise error from exc

    def api_version(self, namespace: str, type_path: str) -> str:
        """The newest stable api-version the provider lists for a type (cached per namespace)."""
        ns = namespace.lower()
        with self._versions_lock:
            known = self._versions.get(ns)
        if known is None:
            provider = self.call(f"providers get {namespace}", lambda: self.client().providers.get(namespace))
            known = {}
            for rt in provider.resource_types or []:
                versions = sorted(rt.api_versions or [], reverse=True)
                stable = [v for v in versions if "preview" not in v.lower()]
                if versions:
                    known[str(rt.resource_type).lower()] = (stable or versions)[0]
            with self._versions_lock:
                self._versions[ns] = known
        version = known.get(type_path.lower())
        if version is None:
            raise CloudError(
                f"the provider {namespace} lists no resource type {type_path}",
                where=self.where,
                hint="Check that the resource provider is registered in the subscription.",
            )
        return version

    def listing(self) -> list[dict[str, Any]]:
        """Every resource, resource group and subnet of the subscription (one paged query, shared)."""
        with self._listing_lock:
            if self._listing is None:
                rows = self.query(graph.SCOPE_QUERY, [self.target.subscription_id])
                rows += [s for r in rows if str(r.get("type")).lower() in _VNET for s in graph.subnet_rows(r)]
                self._listing = rows
            return self._listing

    def foreign(self, ids: list[str]) -> list[dict[str, Any]]:
        """The rows of managed resources in other subscriptions (one query per subscription set)."""
        key = tuple(sorted(ids))
        with self._listing_lock:
            if key not in self._foreign:
                subs = sorted({p[0] for i in ids if (p := parse_id(i)) is not None})
                rows = self.query(graph.by_ids_query(ids), subs)
                rows += [s for r in rows if str(r.get("type")).lower() in _VNET for s in graph.subnet_rows(r)]
                self._foreign[key] = rows
            return self._foreign[key]

    # -------------------------------------------------------------- the scan's interface

    def scope_id(self) -> tuple[str, ...]:
        return ("azure", self.resolved.endpoint or "", self.subscription)

    def read_id(self, rtype: str) -> tuple[str, ...]:
        return self.scope_id()

    def supports(self, rtype: str) -> bool:
        return rtype.startswith("azurerm_")

    def route(self, resource: Resource) -> AzureReader:
        return self

    def listed_types(self) -> tuple[str, ...]:
        return LISTED_TYPES

    def read_path(self, rtype: str) -> str:
        return "resource-graph"

    def state_key(self, resource: Resource) -> str | None:
        return state_key(resource)

    def read(self, rtype: str, want: Mapping[str, Mapping[str, Any]]) -> dict[str, LiveResource]:
        try:
            return self._read(rtype, want)
        except CloudError:
            raise
        except Exception as exc:
            raise translate(exc, f"listing {rtype}", self.where, self.resolved.endpoint) from exc

    def _read(self, rtype: str, want: Mapping[str, Mapping[str, Any]]) -> dict[str, LiveResource]:
        live: dict[str, LiveResource] = {}
        wanted = set(want)
        for row in self.listing():
            arm_type = str(row.get("type") or "").lower()
            listed_as = (
                RESOURCE_GROUP
                if arm_type == graph.RESOURCE_GROUP_ARM
                else ARM_TYPES.get(arm_type, OTHER if "/" in arm_type else None)
            )
            rid = str(row.get("id") or "").lower()
            if listed_as == rtype or rid in wanted:
                res = _row_live(rtype, row, listed_as == rtype)
                live[res.key] = res
        gone = sorted(wanted - set(live))
        elsewhere = [
            str(want[k].get("id") or k)
            for k in gone
            if (p := parse_id(str(want[k].get("id") or k))) is not None and p[0].lower() != self.subscription
        ]
        if elsewhere:
            for row in self.foreign(elsewhere):
                if str(row.get("id") or "").lower() in wanted:
                    res = _row_live(rtype, row, False)
                    live[res.key] = res
        for key in sorted(wanted - set(live)):
            rid = str(want[key].get("id") or key)  # as written, for the request
            parsed = parse_id(rid)
            if parsed is None:
                continue
            sub, namespace, type_path = parsed
            if sub.lower() != self.subscription or rtype == RESOURCE_GROUP or _top_level(rid):
                continue  # a listing covers it: gone
            if type_path.lower() == "virtualnetworks/subnets":
                continue  # read from its network: gone
            version = self.api_version(namespace, type_path)
            item = self.call(
                f"resources get_by_id {rid}",
                lambda rid=rid, version=version: self.client().resources.get_by_id(rid, api_version=version),  # type: ignore[misc]
                not_found_ok=True,
            )
            if item is not None:
                res = _live(rtype, item, False)
                live[res.key] = res
        return live
