"""GCP live reader: google_project and google_folder (Resource Manager v3), every other type of
orchestrator.drift.gcp_assets through Cloud Asset Inventory.

Assets: one paged ``ListAssets`` (``contentType=RESOURCE``, 1,000 a page) per scope — the
target's ``folder`` when it has one, else its project — for every asset type of the table at
once, shared by all types; one more (``contentType=IAM_POLICY``) when a state holds project IAM
bindings. A managed resource of another project (outside the scope) has its project listed
the same way, once, for lookup only.

Batched by parent: one paginated ``projects.list`` / ``folders.list`` per parent folder or
organization the managed resources sit under (and the target's ``folder``, whose children are
the scope for unmanaged detection). A managed resource absent from its parent's listing is
fetched by name once: it may have moved (a ``parent`` diff) or be pending deletion
(``DELETE_REQUESTED`` counts as missing, like a 404).

SDK retries are off; orchestrator.drift.retry retries 429, 5xx and dropped connections, and a
call that still fails becomes a CloudError here.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Mapping
from typing import Any, Literal

from orchestrator.clouds import ResolvedTarget
from orchestrator.config import GcpTarget
from orchestrator.drift import gcp_assets as assets
from orchestrator.drift.model import LiveResource, Resource
from orchestrator.drift.retry import AttemptBudget, RetryPolicy, call_with_retries
from orchestrator.errors import CloudError

GCP_TYPES = ("google_project", "google_folder")
TIMEOUT = 30.0
PAGE_SIZE = 1000


def _exceptions() -> Any:
    from google.api_core import exceptions

    return exceptions


def classify(exc: BaseException) -> Literal["transient", "connect"] | None:
    ex = _exceptions()
    if isinstance(
        exc,
        ex.TooManyRequests
        | ex.ResourceExhausted
        | ex.ServiceUnavailable
        | ex.InternalServerError
        | ex.BadGateway
        | ex.GatewayTimeout
        | ex.DeadlineExceeded,
    ):
        return "transient"
    try:
        import requests

        if isinstance(exc, requests.exceptions.ConnectionError):
            return "connect"
        if isinstance(exc, requests.exceptions.Timeout):
            return "transient"
    except ImportError:  # pragma: no cover - requests comes with google-auth
        pass
    return None


def translate(exc: BaseException, what: str, where: str, endpoint: str | None) -> CloudError:
    if isinstance(exc, CloudError):
        return exc
    ex = _exceptions()
    kind = classify(exc)
    if kind == "connect":
        return CloudError(
            f"cannot reach the GCP endpoint {endpoint or 'cloudresourcemanager.googleapis.com'} for {what}",
            where=where,
            hint="Check endpoint: in the cloud target and the network (or run `orchestrate emulate up`).",
        )
    if isinstance(exc, ex.GoogleAPICallError):
        detail = f"{exc.code}: {exc.message}" if getattr(exc, "message", None) else str(exc)
        if isinstance(exc, ex.PermissionDenied | ex.Unauthenticated | ex.Forbidden | ex.Unauthorized):
            hint = (
                "Grant the scanning identity resourcemanager.projects.get/list, folders.get/list "
                "and cloudasset.assets.listResource (roles/cloudasset.viewer)."
            )
        elif kind == "transient":
            hint = "GCP kept throttling or failing after retries; run the scan again later."
        else:
            hint = "Check the cloud target's project and permissions."
        return CloudError(f"{what} failed ({detail})", where=where, hint=hint)
    try:
        from google.auth.exceptions import DefaultCredentialsError

        if isinstance(exc, DefaultCredentialsError):
            return CloudError(
                "no GCP credentials",
                where=where,
                hint="Run `gcloud auth application-default login` or set GOOGLE_APPLICATION_CREDENTIALS.",
            )
    except ImportError:  # pragma: no cover
        pass
    return CloudError(
        f"{what} failed: {type(exc).__name__}: {exc}", where=where, hint="Run again with -v for details."
    )


def _is_auth(exc: BaseException) -> bool:
    ex = _exceptions()
    if isinstance(exc, ex.Unauthenticated | ex.Unauthorized):
        return True
    try:
        from google.auth.exceptions import DefaultCredentialsError, RefreshError

        return isinstance(exc, DefaultCredentialsError | RefreshError)
    except ImportError:  # pragma: no cover
        return False


def state_key(resource: Resource) -> str | None:
    attrs = resource.attributes
    if resource.type == "google_project":
        pid = attrs.get("project_id") or (resource.id or "").removeprefix("projects/")
        return str(pid) or None
    if resource.type == "google_folder":
        name = attrs.get("name") or resource.id or ""
        name = str(name)
        if name and not name.startswith("folders/"):
            name = f"folders/{name}"
        return name or None
    return resource.id


def _expected_parent(rtype: str, attrs: Mapping[str, Any]) -> str | None:
    if rtype == "google_folder":
        parent = attrs.get("parent")
        return str(parent) if parent else None
    if attrs.get("folder_id"):
        folder = str(attrs["folder_id"])
        return folder if folder.startswith("folders/") else f"folders/{folder}"
    if attrs.get("org_id"):
        return f"organizations/{attrs['org_id']}"
    return None


def _project_attrs(p: Any) -> dict[str, Any]:
    parent = str(p.parent or "")
    return {
        "project_id": p.project_id,
        "name": p.display_name,
        "number": str(p.name).removeprefix("projects/"),
        "folder_id": parent.removeprefix("folders/") if parent.startswith("folders/") else "",
        "org_id": parent.removeprefix("organizations/") if parent.startswith("organizations/") else "",
        "labels": dict(p.labels),
    }


def _folder_attrs(f: Any) -> dict[str, Any]:
    return {
        "name": f.name,
        "folder_id": str(f.name).removeprefix("folders/"),
        "display_name": f.display_name,
        "parent": f.parent,
    }


ClientFactory = Callable[[str], Any]  # "projects" | "folders" -> resourcemanager_v3; "assets" -> asset_v1


def default_clients(resolved: ResolvedTarget) -> ClientFactory:
    """Real clients: anonymous credentials on an http:// (emulated) endpoint, else the ADC chain."""

    def make(kind: str) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            from google.api_core.client_options import ClientOptions
            from google.cloud import resourcemanager_v3
        endpoint = resolved.endpoint
        kwargs: dict[str, Any] = {"transport": "rest"}
        if endpoint:
            kwargs["client_options"] = ClientOptions(api_endpoint=endpoint)
        if resolved.emulated or (endpoint or "").startswith("http://"):
            from google.auth.credentials import AnonymousCredentials

            kwargs["credentials"] = AnonymousCredentials()  # type: ignore[no-untyped-call]
        if kind == "assets":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                from google.cloud import asset_v1
            return asset_v1.AssetServiceClient(**kwargs)
        cls = resourcemanager_v3.ProjectsClient if kind == "projects" else resourcemanager_v3.FoldersClient
        return cls(**kwargs)

    return make


class GcpReader:
    """Reads projects and folders through one cloud target."""

    provider = "gcp"

    def __init__(
        self,
        resolved: ResolvedTarget,
        clients: ClientFactory | None = None,
        *,
        retry: RetryPolicy | None = None,
        on_retry: Callable[[str, BaseException], None] | None = None,
    ) -> None:
        target = resolved.target
        assert isinstance(target, GcpTarget)
        self.resolved = resolved
        self.target = target
        self.where = resolved.name
        self.retry = retry or RetryPolicy()
        self._factory = clients or default_clients(resolved)
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._on_retry = on_retry
        self._denied: CloudError | None = None  # credentials refused once: every later call fails fast
        folder = target.folder
        self.scope_folder = (
            (folder if folder.startswith("folders/") else f"folders/{folder}") if folder else None
        )
        self.asset_scope = self.scope_folder or f"projects/{target.project}"
        self._assets: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._assets_lock = threading.Lock()
        self._asset_types: tuple[str, ...] = ()

    # -------------------------------------------------------------- plumbing

    def client(self, kind: str) -> Any:
        with self._lock:
            if kind not in self._clients:
                try:
                    self._clients[kind] = self._factory(kind)
                except Exception as exc:
                    error = translate(exc, f"creating the {kind} client", self.where, self.resolved.endpoint)
                    self._denied = error  # no credentials: nothing else will work either
                    raise error from exc
            return self._clients[kind]

    def call(self, kind: str, operation: str, not_found_ok: bool = False, **kwargs: Any) -> Any:
        if self._denied is not None:
            raise self._denied
        method = getattr(self.client(kind), operation)

        def report(exc: BaseException, retry: int) -> None:
            del retry
            if self._on_retry is not None:
                self._on_retry(f"{kind}.{operation}", exc)

        try:
            return call_with_retries(
                lambda: method(**kwargs, retry=None, timeout=TIMEOUT),
                policy=self.retry,
                retryable=AttemptBudget(classify, self.retry),
                on_retry=report,
            )
        except Exception as exc:
            if not_found_ok and isinstance(exc, _exceptions().NotFound):
                return None
            error = translate(exc, f"{kind} {operation}", self.where, self.resolved.endpoint)
            if _is_auth(exc):
                self._denied = error
            raise error from exc

    def _list(self, kind: str, parent: str) -> list[Any]:
        """Every active child of ``parent`` (one call per page of 1,000)."""
        items: list[Any] = []
        token = ""
        operation = f"list_{kind}"
        while True:
            request = {"parent": parent, "page_size": PAGE_SIZE, "page_token": token}
            pager = self.call(kind, operation, request=request)
            items += list(getattr(pager, kind))  # this page only: the pager delegates to the response
            token = pager.next_page_token
            if not token:
                return items

    def asset_listing(self, parent: str, content: str) -> list[dict[str, Any]]:
        """Every asset of the table's types under ``parent`` (cached: one paged call per scope)."""
        with self._assets_lock:
            cached = self._assets.get((parent, content))
            if cached is not None:
                return cached
            from google.cloud import asset_v1

            items: list[dict[str, Any]] = []
            token = ""
            types = (
                [assets.PROJECT_ASSET, *sorted(s.asset_type for s in assets.ASSET_TYPES.values())]
                if content == "RESOURCE"
                else [assets.PROJECT_ASSET]
            )
            while True:
                request = {
                    "parent": parent,
                    "content_type": getattr(asset_v1.ContentType, content),
                    "asset_types": types,
                    "page_size": PAGE_SIZE,
                    "page_token": token,
                }
                pager = self.call("assets", "list_assets", request=request)
                items += [asset_v1.Asset.to_dict(a, preserving_proto_field_name=True) for a in pager.assets]
                token = pager.next_page_token
                if not token:
                    break
            self._assets[(parent, content)] = items
            return items

    def _projects_in(self, listing: list[dict[str, Any]]) -> dict[str, str]:
        """Project number -> id of the Project assets of a listing."""
        out: dict[str, str] = {}
        for item in listing:
            if item.get("asset_type") == assets.PROJECT_ASSET:
                data = (item.get("resource") or {}).get("data") or {}
                number = str(data.get("projectNumber") or assets.last_segment(item.get("name")))
                out[number] = str(data.get("projectId") or number)
        return out

    def _read_assets(self, rtype: str, want: Mapping[str, Mapping[str, Any]]) -> dict[str, LiveResource]:
        scope = self.asset_listing(self.asset_scope, "RESOURCE")
        live = _assets_live(rtype, scope, True)
        in_scope = set(self._projects_in(scope).values()) if self.scope_folder else {self.target.project}
        others = sorted(
            {p for key, attrs in want.items() if key not in live and (p := _want_project(attrs, key))}
            - in_scope
        )
        for project in others:
            for key, res in _assets_live(
                rtype, self.asset_listing(f"projects/{project}", "RESOURCE"), False
            ).items():
                live.setdefault(key, res)
        return live

    def _read_iam(self, rtype: str, want: Mapping[str, Mapping[str, Any]]) -> dict[str, LiveResource]:
        prefix = "member:" if rtype == "google_project_iam_member" else "binding:"
        parents = {self.asset_scope} | {
            f"projects/{p}" for attrs in want.values() if (p := attrs.get("project")) and isinstance(p, str)
        }
        if self.scope_folder is None:
            parents = {f"projects/{self.target.project}"} | parents
        live: dict[str, LiveResource] = {}
        for parent in sorted(parents):
            projects = self._projects_in(self.asset_listing(parent, "RESOURCE"))
            for item in self.asset_listing(parent, "IAM_POLICY"):
                number = assets.last_segment(item.get("name"))
                project = projects.get(number, number)
                for key, attrs in assets.iam_live(project, item.get("iam_policy") or {}).items():
                    if key.startswith(prefix):
                        k = key.removeprefix(prefix)
                        live[k] = LiveResource(rtype, k, k, attrs, False, False)
        return live

    # -------------------------------------------------------------- the scan's interface

    def scope_id(self) -> tuple[str, ...]:
        return ("gcp", self.resolved.endpoint or "", self.target.project, self.scope_folder or "")

    def read_id(self, rtype: str) -> tuple[str, ...]:
        if rtype in GCP_TYPES:
            # Projects and folders are organisation-wide: targets with the same endpoint and
            # scope folder read them once.
            return ("gcp", self.resolved.endpoint or "", self.scope_folder or "")
        return ("gcp", self.resolved.endpoint or "", self.asset_scope)

    def supports(self, rtype: str) -> bool:
        return rtype in GCP_TYPES or rtype in assets.ASSET_TYPES or rtype in assets.IAM_TYPES

    def route(self, resource: Resource) -> GcpReader:
        return self

    def listed_types(self) -> tuple[str, ...]:
        return (GCP_TYPES if self.scope_folder else ()) + tuple(sorted(assets.ASSET_TYPES))

    def read_path(self, rtype: str) -> str:
        if rtype in GCP_TYPES:
            return "resource-manager"
        return "cloud-asset-inventory"

    def state_key(self, resource: Resource) -> str | None:
        spec = assets.ASSET_TYPES.get(resource.type)
        if spec is not None:
            return spec.state_key(resource)
        if resource.type in assets.IAM_TYPES:
            return assets.iam_state_key(resource)
        return state_key(resource)

    def read(self, rtype: str, want: Mapping[str, Mapping[str, Any]]) -> dict[str, LiveResource]:
        try:
            if rtype in assets.ASSET_TYPES:
                return self._read_assets(rtype, want)
            if rtype in assets.IAM_TYPES:
                return self._read_iam(rtype, want)
            return self._read(rtype, want)
        except CloudError:
            raise
        except Exception as exc:
            raise translate(exc, f"listing {rtype}", self.where, self.resolved.endpoint) from exc

    def _read(self, rtype: str, want: Mapping[str, Mapping[str, Any]]) -> dict[str, LiveResource]:
        kind = "projects" if rtype == "google_project" else "folders"
        parents = {p for attrs in want.values() if (p := _expected_parent(rtype, attrs))}
        if self.scope_folder:
            parents.add(self.scope_folder)
        live: dict[str, LiveResource] = {}
        for parent in sorted(parents):
            for item in self._list(kind, parent):
                res = self._live(rtype, item)
                live[res.key] = res
        # Managed ones not under their expected parent: moved, pending deletion, or gone.
        for key in sorted(set(want) - set(live)):
            name = f"projects/{key}" if rtype == "google_project" else key
            item = self.call(kind, f"get_{kind[:-1]}", not_found_ok=True, name=name)
            if item is not None and _state_name(item) == "ACTIVE":
                res = self._live(rtype, item)
                live[res.key] = res
        return live

    def _live(self, rtype: str, item: Any) -> LiveResource:
        in_scope = self.scope_folder is not None and str(item.parent) == self.scope_folder
        if rtype == "google_project":
            attrs = _project_attrs(item)
            pid = str(item.project_id)
            # Apps Script creates sys-<digits> projects by itself.
            default = pid.startswith("sys-") and pid[4:].isdigit()
            return LiveResource(rtype, f"projects/{pid}", pid, attrs, default, in_scope)
        attrs = _folder_attrs(item)
        return LiveResource(rtype, str(item.name), str(item.name), attrs, False, in_scope)


def _want_project(attrs: Mapping[str, Any], key: str) -> str | None:
    project = attrs.get("project")
    if isinstance(project, str) and project:
        return project
    parts = key.split("/")
    return parts[1] if len(parts) > 1 and parts[0] == "projects" else None


# Networks, subnetworks, firewall rules and service accounts GCP creates in a new project.
_DEFAULT_FIREWALLS = (
    "default-allow-internal",
    "default-allow-ssh",
    "default-allow-rdp",
    "default-allow-icmp",
)


def _cloud_default(rtype: str, data: Mapping[str, Any]) -> bool:
    name = str(data.get("name") or "")
    if rtype == "google_compute_network":
        return name == "default"
    if rtype in ("google_compute_subnetwork", "google_compute_firewall"):
        return assets.last_segment(data.get("network")) == "default" and (
            rtype == "google_compute_subnetwork" or name in _DEFAULT_FIREWALLS
        )
    if rtype == "google_service_account":
        email = str(data.get("email") or "")
        return email.endswith(("-compute@developer.gserviceaccount.com", "@appspot.gserviceaccount.com"))
    return False


def _assets_live(rtype: str, listing: list[dict[str, Any]], in_scope: bool) -> dict[str, LiveResource]:
    spec = assets.ASSET_TYPES[rtype]
    live: dict[str, LiveResource] = {}
    for item in listing:
        if item.get("asset_type") != spec.asset_type:
            continue
        name = str(item.get("name") or "")
        data = (item.get("resource") or {}).get("data") or {}
        key = spec.asset_key(name, data)
        live[key] = LiveResource(
            rtype, spec.tf_id(name, data), key, spec.attributes(data), _cloud_default(rtype, data), in_scope
        )
    return live


def _state_name(item: Any) -> str:
    state = getattr(item, "state", None)
    return str(getattr(state, "name", state) or "")
