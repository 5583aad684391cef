"""Cloud Storage buckets, Compute networks and Cloud Asset Inventory on the GCP emulator.

Mixed into :class:`orchestrate_emulate.gcp_api.GcpEmulator`. REST paths and JSON as Google's:

- Storage JSON API: ``POST /storage/v1/b?project=P``, ``GET /storage/v1/b?project=P``,
  ``GET|PATCH|DELETE /storage/v1/b/{bucket}`` (PATCH merges; ``labels`` replaced whole);
  bucket names are global, 3-63 characters of lower-case letters, digits, ``-``, ``_``, ``.``.
- Compute: ``POST|GET /compute/v1/projects/{p}/global/networks``,
  ``GET|PATCH|DELETE .../global/networks/{n}``; writes answer a DONE ``compute#operation``,
  ``GET .../global/operations/{op}`` reads it again.
- Cloud Asset Inventory: ``GET /v1/{parent}/assets`` with ``parent`` ``projects/{id|number}``,
  ``folders/{n}`` or ``organizations/{n}``; ``contentType`` ``RESOURCE`` (1) or ``IAM_POLICY`` (2)
  (names or the integers the SDK's REST transport sends), repeated ``assetTypes``,
  ``pageSize`` (at most 1,000), ``pageToken``. Assets of projects (``cloudresourcemanager``
  Project), buckets and networks, in the real ``Asset`` JSON (``name``, ``assetType``,
  ``resource.data`` in the service's REST representation, ``resource.parent``, ``ancestors``);
  IAM policies of projects set with :meth:`set_iam_policy`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from orchestrate_emulate._http import HttpError, Request, Response, now_rfc3339, paginate

PROJECT_ASSET = "cloudresourcemanager.googleapis.com/Project"
BUCKET_ASSET = "storage.googleapis.com/Bucket"
NETWORK_ASSET = "compute.googleapis.com/Network"
_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]")
_NETWORK_RE = re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?")
_CONTENT = {"1": "RESOURCE", "2": "IAM_POLICY", "RESOURCE": "RESOURCE", "IAM_POLICY": "IAM_POLICY"}
COMPUTE = "https://www.googleapis.com/compute/v1"


class GcpServices:
    """Storage, Compute networks and Asset Inventory over the emulator's projects and folders."""

    projects: dict[str, dict[str, Any]]
    folders: dict[str, dict[str, Any]]
    buckets: dict[str, dict[str, Any]]  # name -> Bucket JSON
    networks: dict[str, dict[str, Any]]  # "projects/ID/global/networks/N" -> Network JSON
    iam_policies: dict[str, dict[str, Any]]  # project number -> Policy JSON
    compute_ops: dict[str, dict[str, Any]]

    if TYPE_CHECKING:

        def route(self, method: str, pattern: str, handler: Any) -> None: ...
        def _project_or_404(self, ref: str) -> dict[str, Any]: ...

    def register_services(self) -> None:
        r = self.route
        r("POST", r"/storage/v1/b", self._insert_bucket)
        r("GET", r"/storage/v1/b", self._list_buckets)
        r("GET", r"/storage/v1/b/(?P<b>[^/]+)", self._get_bucket)
        r("PATCH", r"/storage/v1/b/(?P<b>[^/]+)", self._patch_bucket)
        r("DELETE", r"/storage/v1/b/(?P<b>[^/]+)", self._delete_bucket)
        net = r"/compute/v1/projects/(?P<p>[^/]+)/global/networks"
        r("POST", net, self._insert_network)
        r("GET", net, self._list_networks)
        r("GET", net + r"/(?P<n>[^/]+)", self._get_network)
        r("PATCH", net + r"/(?P<n>[^/]+)", self._patch_network)
        r("DELETE", net + r"/(?P<n>[^/]+)", self._delete_network)
        r("GET", r"/compute/v1/projects/(?P<p>[^/]+)/global/operations/(?P<op>[^/]+)", self._get_compute_op)
        r("GET", r"/v1/(?P<scope>(?:projects|folders|organizations)/[^/]+)/assets", self._list_assets)

    def services_snapshot(self) -> dict[str, Any]:
        return {
            "buckets": self.buckets,
            "networks": self.networks,
            "iam_policies": self.iam_policies,
            "compute_ops": self.compute_ops,
        }

    def services_restore(self, data: dict[str, Any]) -> None:
        self.buckets = dict(data.get("buckets") or {})
        self.networks = dict(data.get("networks") or {})
        self.iam_policies = dict(data.get("iam_policies") or {})
        self.compute_ops = dict(data.get("compute_ops") or {})

    # ------------------------------------------------------------ direct access (tests)

    def set_iam_policy(self, project: str, bindings: list[dict[str, Any]]) -> None:
        """Set a project's IAM policy (``[{"role": ..., "members": [...]}]``)."""
        p = self._project_or_404(project)
        self.iam_policies[str(p["name"]).removeprefix("projects/")] = {"version": 1, "bindings": bindings}

    # ------------------------------------------------------------ storage

    def _bucket_or_404(self, name: str) -> dict[str, Any]:
        bucket = self.buckets.get(name)
        if bucket is None:
            raise HttpError(404, "NOT_FOUND", f"The specified bucket does not exist: {name}")
        return bucket

    def _insert_bucket(self, req: Request, m: re.Match[str]) -> Response:
        body = req.json()
        name = body.get("name")
        if not isinstance(name, str) or not _BUCKET_RE.fullmatch(name):
            raise HttpError(400, "INVALID_ARGUMENT", f"Invalid bucket name: {name!r}")
        if name in self.buckets:
            raise HttpError(
                409, "ALREADY_EXISTS", "Your previous request to create the named bucket succeeded"
            )
        project = self._project_or_404(req.arg("project") or "")
        now = now_rfc3339()
        bucket: dict[str, Any] = {
            "kind": "storage#bucket",
            "id": name,
            "name": name,
            "selfLink": f"https://www.googleapis.com/storage/v1/b/{name}",
            "projectNumber": str(project["name"]).removeprefix("projects/"),
            "location": str(body.get("location") or "US").upper(),
            "locationType": "multi-region",
            "storageClass": body.get("storageClass") or "STANDARD",
            "labels": dict(body.get("labels") or {}),
            "versioning": {"enabled": bool((body.get("versioning") or {}).get("enabled"))},
            "iamConfiguration": {
                "uniformBucketLevelAccess": {
                    "enabled": bool(
                        ((body.get("iamConfiguration") or {}).get("uniformBucketLevelAccess") or {}).get(
                            "enabled"
                        )
                    )
                },
                "publicAccessPrevention": (body.get("iamConfiguration") or {}).get("publicAccessPrevention")
                or "inherited",
            },
            "timeCreated": now,
            "updated": now,
            "metageneration": "1",
            "etag": "CAE=",
        }
        self.buckets[name] = bucket
        return Response(200, bucket)

    def _list_buckets(self, req: Request, m: re.Match[str]) -> Response:
        project = self._project_or_404(req.arg("project") or "")
        number = str(project["name"]).removeprefix("projects/")
        items = [b for _, b in sorted(self.buckets.items()) if b["projectNumber"] == number]
        return Response(
            200, {"kind": "storage#buckets", "items": items} if items else {"kind": "storage#buckets"}
        )

    def _get_bucket(self, req: Request, m: re.Match[str]) -> Response:
        return Response(200, self._bucket_or_404(m["b"]))

    def _patch_bucket(self, req: Request, m: re.Match[str]) -> Response:
        bucket = self._bucket_or_404(m["b"])
        body = req.json()
        for key in ("storageClass", "labels", "versioning", "iamConfiguration"):
            if key in body:
                bucket[key] = body[key] if key != "labels" else dict(body[key] or {})
        bucket["updated"] = now_rfc3339()
        bucket["metageneration"] = str(int(bucket["metageneration"]) + 1)
        return Response(200, bucket)

    def _delete_bucket(self, req: Request, m: re.Match[str]) -> Response:
        self._bucket_or_404(m["b"])
        del self.buckets[m["b"]]
        return Response(204)

    # ------------------------------------------------------------ compute networks

    def _compute_op(self, project_id: str, kind: str, target: str) -> Response:
        name = f"operation-{len(self.compute_ops) + 1:012d}"
        op = {
            "kind": "compute#operation",
            "id": str(len(self.compute_ops) + 1),
            "name": name,
            "operationType": kind,
            "targetLink": target,
            "status": "DONE",
            "progress": 100,
            "insertTime": now_rfc3339(),
            "selfLink": f"{COMPUTE}/projects/{project_id}/global/operations/{name}",
        }
        self.compute_ops[name] = op
        return Response(200, op)

    def _network_or_404(self, project_id: str, name: str) -> dict[str, Any]:
        network = self.networks.get(f"projects/{project_id}/global/networks/{name}")
        if network is None:
            raise HttpError(
                404, "NOT_FOUND", f"The resource 'projects/{project_id}/global/networks/{name}' was not found"
            )
        return network

    def _insert_network(self, req: Request, m: re.Match[str]) -> Response:
        project = self._project_or_404(m["p"])
        pid = str(project["projectId"])
        body = req.json()
        name = body.get("name")
        if not isinstance(name, str) or not _NETWORK_RE.fullmatch(name):
            raise HttpError(400, "INVALID_ARGUMENT", f"Invalid value for field 'resource.name': {name!r}")
        key = f"projects/{pid}/global/networks/{name}"
        if key in self.networks:
            raise HttpError(409, "ALREADY_EXISTS", f"The resource '{key}' already exists")
        network: dict[str, Any] = {
            "kind": "compute#network",
            "id": str(8_000_000_000_000 + len(self.networks)),
            "name": name,
            "description": body.get("description") or "",
            "selfLink": f"{COMPUTE}/{key}",
            "autoCreateSubnetworks": bool(body.get("autoCreateSubnetworks", True)),
            "routingConfig": {
                "routingMode": (body.get("routingConfig") or {}).get("routingMode") or "REGIONAL"
            },
            "mtu": int(body.get("mtu") or 1460),
            "creationTimestamp": now_rfc3339(),
        }
        self.networks[key] = network
        return self._compute_op(pid, "insert", network["selfLink"])

    def _list_networks(self, req: Request, m: re.Match[str]) -> Response:
        pid = str(self._project_or_404(m["p"])["projectId"])
        prefix = f"projects/{pid}/global/networks/"
        items = [n for k, n in sorted(self.networks.items()) if k.startswith(prefix)]
        return Response(200, {"kind": "compute#networkList", "items": items})

    def _get_network(self, req: Request, m: re.Match[str]) -> Response:
        pid = str(self._project_or_404(m["p"])["projectId"])
        return Response(200, self._network_or_404(pid, m["n"]))

    def _patch_network(self, req: Request, m: re.Match[str]) -> Response:
        pid = str(self._project_or_404(m["p"])["projectId"])
        network = self._network_or_404(pid, m["n"])
        body = req.json()
        if "routingConfig" in body:
            network["routingConfig"] = {
                "routingMode": (body["routingConfig"] or {}).get("routingMode") or "REGIONAL"
            }
        for key in ("mtu", "description"):
            if key in body:
                network[key] = body[key]
        return self._compute_op(pid, "patch", network["selfLink"])

    def _delete_network(self, req: Request, m: re.Match[str]) -> Response:
        pid = str(self._project_or_404(m["p"])["projectId"])
        network = self._network_or_404(pid, m["n"])
        del self.networks[f"projects/{pid}/global/networks/{m['n']}"]
        return self._compute_op(pid, "delete", network["selfLink"])

    def _get_compute_op(self, req: Request, m: re.Match[str]) -> Response:
        op = self.compute_ops.get(m["op"])
        if op is None:
            raise HttpError(404, "NOT_FOUND", f"The resource 'operations/{m['op']}' was not found")
        return Response(200, op)

    # ------------------------------------------------------------ asset inventory

    def _ancestors(self, project: dict[str, Any]) -> list[str]:
        chain = [str(project["name"])]
        parent = project.get("parent")
        seen = 0
        while parent and seen < 32:
            chain.append(str(parent))
            folder = (
                self.folders.get(str(parent).removeprefix("folders/"))
                if parent.startswith("folders/")
                else None
            )
            parent = folder.get("parent") if folder else None
            seen += 1
        return chain

    def _project_asset(self, p: dict[str, Any], ancestors: list[str]) -> dict[str, Any]:
        parent = str(p.get("parent") or "")
        kind, _, pid = parent.partition("/")
        data: dict[str, Any] = {
            "projectNumber": str(p["name"]).removeprefix("projects/"),
            "projectId": p["projectId"],
            "lifecycleState": p["state"],
            "name": p.get("displayName") or "",
            "labels": dict(p.get("labels") or {}),
            "createTime": p.get("createTime"),
        }
        if parent:
            data["parent"] = {"type": kind.rstrip("s"), "id": pid}
        return _asset(
            f"//cloudresourcemanager.googleapis.com/{p['name']}", PROJECT_ASSET, data, parent, ancestors
        )

    def _scope_projects(self, scope: str) -> list[tuple[dict[str, Any], list[str]]]:
        if scope.startswith("projects/"):
            p = self._project_or_404(scope.removeprefix("projects/"))
            return [(p, self._ancestors(p))] if p["state"] == "ACTIVE" else []
        out = []
        for _, p in sorted(self.projects.items()):
            chain = self._ancestors(p)
            if p["state"] == "ACTIVE" and scope in chain:
                out.append((p, chain))
        return out

    def _list_assets(self, req: Request, m: re.Match[str]) -> Response:
        content = _CONTENT.get((req.arg("contentType") or "").upper())
        if content is None:
            raise HttpError(400, "INVALID_ARGUMENT", "contentType must be RESOURCE or IAM_POLICY here")
        types = set(req.query.get("assetTypes") or [])
        items: list[dict[str, Any]] = []
        for p, chain in self._scope_projects(m["scope"]):
            number = str(p["name"]).removeprefix("projects/")
            if content == "IAM_POLICY":
                policy = self.iam_policies.get(number)
                if policy is not None and (not types or PROJECT_ASSET in types):
                    items.append(
                        {
                            "name": f"//cloudresourcemanager.googleapis.com/projects/{number}",
                            "assetType": PROJECT_ASSET,
                            "iamPolicy": policy,
                            "ancestors": chain,
                        }
                    )
                continue
            items.append(self._project_asset(p, chain))
            for _, b in sorted(self.buckets.items()):
                if b["projectNumber"] == number:
                    items.append(
                        _asset(f"//storage.googleapis.com/{b['name']}", BUCKET_ASSET, b, p["name"], chain)
                    )
            prefix = f"projects/{p['projectId']}/global/networks/"
            for key, n in sorted(self.networks.items()):
                if key.startswith(prefix):
                    items.append(
                        _asset(f"//compute.googleapis.com/{key}", NETWORK_ASSET, n, p["name"], chain)
                    )
        if types:
            items = [a for a in items if a["assetType"] in types]
        size = req.arg("pageSize")
        page, nxt = paginate(
            items, int(size) if size and size.isdigit() else None, req.arg("pageToken"), 100, 1000
        )
        body: dict[str, Any] = {"readTime": now_rfc3339(), "assets": page}
        if nxt:
            body["nextPageToken"] = nxt
        return Response(200, body)


def _asset(
    name: str, asset_type: str, data: dict[str, Any], parent: str, ancestors: list[str]
) -> dict[str, Any]:
    service = asset_type.split("/", 1)[0]
    return {
        "name": name,
        "assetType": asset_type,
        "resource": {
            "version": "v1",
            "discoveryDocumentUri": f"https://{service}/$discovery/rest",
            "discoveryName": asset_type.rsplit("/", 1)[-1],
            "parent": f"//cloudresourcemanager.googleapis.com/{parent}" if parent else "",
            "data": data,
        },
        "ancestors": ancestors,
        "updateTime": now_rfc3339(),
    }
