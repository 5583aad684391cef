"""A local emulator of Google Cloud Resource Manager v3: projects, folders, operations.

It speaks the REST paths and camelCase JSON of ``cloudresourcemanager.googleapis.com/v3``,
so ``google.cloud.resourcemanager_v3`` clients (``transport="rest"``) run unchanged::

    with GcpEmulator() as gcp:
        opts = ClientOptions(api_endpoint=gcp.url)      # http://127.0.0.1:PORT
        client = resourcemanager_v3.ProjectsClient(
            credentials=AnonymousCredentials(), transport="rest", client_options=opts)
        client.create_project(project=Project(project_id="acme-dev", parent="folders/...")).result()

API (stable; the drift readers and the stand-in ``hashicorp/google`` provider rely on it):

- ``POST   /v3/projects``                     -> Operation, done, ``response`` = the Project
- ``GET    /v3/projects/{id or number}``      -> Project (also when DELETE_REQUESTED)
- ``GET    /v3/projects?parent=P``            -> ``{"projects": [...], "nextPageToken"}``; active
  ones unless ``showDeleted=true``; ``parent`` is required, as in the real API
- ``GET    /v3/projects:search?query=Q``      -> same shape; every state unless ``state:`` is in Q
- ``PATCH  /v3/projects/{p}?updateMask=labels,displayName`` -> Operation
- ``DELETE /v3/projects/{p}``                 -> Operation; the project's state is DELETE_REQUESTED
- ``POST   /v3/projects/{p}:undelete`` / ``:move`` (``{"destinationParent": ...}``) -> Operation
- the same for ``/v3/folders`` (``displayName``, ``parent``; list/search/patch/delete/undelete/move)
- ``GET    /v3/operations/{name}``            -> the Operation again

Project fields: ``name`` ("projects/NNN", the project number), ``projectId``, ``parent``,
``state`` (ACTIVE | DELETE_REQUESTED), ``displayName``, ``labels``, ``createTime``,
``updateTime``, ``deleteTime``, ``etag``. Folder fields: ``name`` ("folders/NNN"), ``parent``,
``displayName``, ``state``, ``createTime``, ``updateTime``, ``deleteTime``, ``etag``.

Validation follows the real service where users meet it: project ids (6-30 characters,
``[a-z][a-z0-9-]*[a-z0-9]``) are unique forever (a DELETE_REQUESTED project keeps its id:
409 ALREADY_EXISTS), label keys and values are checked, a ``folders/N`` parent must exist and
be active, folder display names are unique among active siblings, a folder with active
children cannot be deleted (400 FAILED_PRECONDITION). Errors use Google's shape:
``{"error": {"code": 404, "message": "...", "status": "NOT_FOUND"}}``.

Search queries: terms ``field:value`` or ``field=value`` joined by spaces (AND) or ``OR``;
``*`` is a wildcard, ``field:*`` means "has"; matching is case-insensitive. Fields:
``id``/``projectId``, ``name``/``displayName``, ``parent``, ``parent.type``, ``parent.id``,
``state``/``lifecycleState``, ``labels.KEY``, ``labels`` (any key or value), ``projectNumber``.

Faults, the request log and reset: see :mod:`orchestrate_emulate._http` (``/_emulator/...``).
"""

from __future__ import annotations

import copy
import fnmatch
import hashlib
import json
import re
import shlex
from pathlib import Path
from typing import Any

from orchestrate_emulate._http import Emulator, HttpError, Request, Response, now_rfc3339, paginate
from orchestrate_emulate.gcp_services import GcpServices

_STATUS = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
_TYPE = "type.googleapis.com/google.cloud.resourcemanager.v3."
PROJECT_ID_RE = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]")
LABEL_KEY_RE = re.compile(r"[a-z][a-z0-9_-]{0,62}")
LABEL_VALUE_RE = re.compile(r"[a-z0-9_-]{0,63}")
FIRST_PROJECT_NUMBER = 400_000_000_001
FIRST_FOLDER_NUMBER = 200_000_000_001


def _gerr(status: int, message: str, code: str | None = None) -> HttpError:
    return HttpError(status, code or _STATUS.get(status, "UNKNOWN"), message)


def _etag(resource: dict[str, Any]) -> str:
    body = {k: v for k, v in resource.items() if k != "etag"}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]
    return f'W/"{digest}"'


def _mask(req: Request, default: tuple[str, ...]) -> list[str]:
    raw = req.arg("updateMask") or req.arg("update_mask")
    if not raw:
        return list(default)
    fields = []
    for part in raw.split(","):
        part = part.strip()
        # snake_case or camelCase, as clients send either
        fields.append(re.sub(r"_([a-z])", lambda m: m.group(1).upper(), part))
    return fields


def _check_labels(labels: Any) -> dict[str, str]:
    if labels is None:
        return {}
    if not isinstance(labels, dict):
        raise _gerr(400, "labels must be a map of strings")
    if len(labels) > 64:
        raise _gerr(400, f"a resource can have at most 64 labels, got {len(labels)}")
    for k, v in labels.items():
        if not isinstance(k, str) or not LABEL_KEY_RE.fullmatch(k):
            raise _gerr(
                400,
                f"invalid label key {k!r}: keys start with a lower-case letter and hold up to 63 "
                "lower-case letters, digits, '_' or '-'",
            )
        if not isinstance(v, str) or not LABEL_VALUE_RE.fullmatch(v):
            raise _gerr(
                400, f"invalid value {v!r} of label {k!r}: up to 63 lower-case letters, digits, '_' or '-'"
            )
    return dict(labels)


class GcpEmulator(Emulator, GcpServices):
    """Cloud Resource Manager v3 on 127.0.0.1 (projects, folders, operations), and Storage
    buckets, Compute networks and Cloud Asset Inventory (:mod:`orchestrate_emulate.gcp_services`)."""

    kind = "gcp"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, data_file: Path | None = None) -> None:
        self.projects: dict[str, dict[str, Any]] = {}  # number -> Project JSON
        self.folders: dict[str, dict[str, Any]] = {}  # number -> Folder JSON
        self.operations: dict[str, dict[str, Any]] = {}  # "operations/..." -> Operation JSON
        self._next_project = FIRST_PROJECT_NUMBER
        self._next_folder = FIRST_FOLDER_NUMBER
        self._next_op = 1
        self.services_restore({})
        super().__init__(host, port, data_file)

    # ------------------------------------------------------------ Emulator hooks

    def error_body(self, status: int, code: str, message: str) -> Any:
        # Google's canonical codes are UPPER_CASE; the shared machinery's (NotFound, ...) map by status.
        canonical = code if re.fullmatch(r"[A-Z_]+", code) else _STATUS.get(status, "UNKNOWN")
        return {"error": {"code": status, "message": message, "status": canonical}}

    def fault_code(self, status: int) -> str:
        return _STATUS.get(status, "UNKNOWN")

    def snapshot(self) -> dict[str, Any]:
        return {
            "projects": self.projects,
            "folders": self.folders,
            "operations": self.operations,
            "next": {"project": self._next_project, "folder": self._next_folder, "op": self._next_op},
            **self.services_snapshot(),
        }

    def restore(self, data: dict[str, Any]) -> None:
        self.projects = dict(data.get("projects") or {})
        self.folders = dict(data.get("folders") or {})
        self.operations = dict(data.get("operations") or {})
        nxt = data.get("next") or {}
        self._next_project = int(nxt.get("project", FIRST_PROJECT_NUMBER))
        self._next_folder = int(nxt.get("folder", FIRST_FOLDER_NUMBER))
        self._next_op = int(nxt.get("op", 1))
        self.services_restore(data)

    def clear(self) -> None:
        self.restore({})

    def register_routes(self) -> None:
        r = self.route
        r("GET", r"/v3/projects:search", self._search_projects)
        r("GET", r"/v3/projects", self._list_projects)
        r("POST", r"/v3/projects", self._create_project)
        r("POST", r"/v3/projects/(?P<p>[^/:]+):undelete", self._undelete_project)
        r("POST", r"/v3/projects/(?P<p>[^/:]+):move", self._move_project)
        r("GET", r"/v3/projects/(?P<p>[^/:]+)", self._get_project)
        r("PATCH", r"/v3/projects/(?P<p>[^/:]+)", self._update_project)
        r("DELETE", r"/v3/projects/(?P<p>[^/:]+)", self._delete_project)
        r("GET", r"/v3/folders:search", self._search_folders)
        r("GET", r"/v3/folders", self._list_folders)
        r("POST", r"/v3/folders", self._create_folder)
        r("POST", r"/v3/folders/(?P<f>[^/:]+):undelete", self._undelete_folder)
        r("POST", r"/v3/folders/(?P<f>[^/:]+):move", self._move_folder)
        r("GET", r"/v3/folders/(?P<f>[^/:]+)", self._get_folder)
        r("PATCH", r"/v3/folders/(?P<f>[^/:]+)", self._update_folder)
        r("DELETE", r"/v3/folders/(?P<f>[^/:]+)", self._delete_folder)
        r("GET", r"/v3/(?P<op>operations/.+)", self._get_operation)
        self.register_services()

    # ------------------------------------------------------------ direct access (tests)

    def project(self, project_id: str) -> dict[str, Any] | None:
        """A copy of the project with this id (or number), None when there is none."""
        with self.lock:
            p = self._find_project(project_id)
            return copy.deepcopy(p) if p else None

    def folder(self, name_or_number: str) -> dict[str, Any] | None:
        with self.lock:
            f = self.folders.get(name_or_number.removeprefix("folders/"))
            return copy.deepcopy(f) if f else None

    # ------------------------------------------------------------ helpers

    def _operation(
        self, prefix: str, metadata_type: str, response_type: str, resource: dict[str, Any]
    ) -> Response:
        name = f"operations/{prefix}.{self._next_op:019d}"
        self._next_op += 1
        op = {
            "name": name,
            "metadata": {"@type": _TYPE + metadata_type},
            "done": True,
            "response": {"@type": _TYPE + response_type, **copy.deepcopy(resource)},
        }
        self.operations[name] = op
        return Response(200, op)

    def _find_project(self, ref: str) -> dict[str, Any] | None:
        ref = ref.removeprefix("projects/")
        if ref in self.projects:
            return self.projects[ref]
        for p in self.projects.values():
            if p["projectId"] == ref:
                return p
        return None

    def _project_or_404(self, ref: str) -> dict[str, Any]:
        p = self._find_project(ref)
        if p is None:
            # The real service answers 403 for projects the caller cannot see; an emulator
            # has no permissions, so "not found" is the honest answer.
            raise _gerr(404, f"Project 'projects/{ref}' not found.")
        return p

    def _folder_or_404(self, ref: str) -> dict[str, Any]:
        number = ref.removeprefix("folders/")
        f = self.folders.get(number)
        if f is None:
            raise _gerr(404, f"Folder 'folders/{number}' not found.")
        return f

    def _check_parent(self, parent: Any, *, required: bool) -> str:
        if not parent:
            if required:
                raise _gerr(400, "parent is required (organizations/N or folders/N)")
            return ""
        if not isinstance(parent, str) or not re.fullmatch(r"(organizations|folders)/\d+", parent):
            raise _gerr(400, f"invalid parent {parent!r}: use organizations/N or folders/N")
        if parent.startswith("folders/"):
            f = self.folders.get(parent.removeprefix("folders/"))
            if f is None or f["state"] != "ACTIVE":
                raise _gerr(400, f"parent {parent} does not exist or is not active")
        return parent

    def _touch(self, resource: dict[str, Any]) -> None:
        resource["updateTime"] = now_rfc3339()
        resource["etag"] = _etag(resource)

    # ------------------------------------------------------------ projects

    def _create_project(self, req: Request, m: re.Match[str]) -> Response:
        body = req.json()
        project_id = body.get("projectId")
        if not isinstance(project_id, str) or not PROJECT_ID_RE.fullmatch(project_id):
            raise _gerr(
                400,
                f"invalid project id {project_id!r}: 6 to 30 lower-case letters, digits or hyphens, "
                "starting with a letter and not ending with a hyphen",
            )
        if any(p["projectId"] == project_id for p in self.projects.values()):
            raise _gerr(409, f"Requested entity already exists: project id {project_id!r} is taken")
        parent = self._check_parent(body.get("parent"), required=False)
        display = body.get("displayName") or ""
        if len(display) > 30:
            raise _gerr(400, f"displayName {display!r} is longer than 30 characters")
        number = str(self._next_project)
        self._next_project += 1
        now = now_rfc3339()
        project: dict[str, Any] = {
            "name": f"projects/{number}",
            "projectId": project_id,
            "state": "ACTIVE",
            "displayName": display,
            "createTime": now,
            "updateTime": now,
            "labels": _check_labels(body.get("labels")),
        }
        if parent:
            project["parent"] = parent
        project["etag"] = _etag(project)
        self.projects[number] = project
        return self._operation("cp", "CreateProjectMetadata", "Project", project)

    def _get_project(self, req: Request, m: re.Match[str]) -> Response:
        return Response(200, self._project_or_404(m["p"]))

    def _list_projects(self, req: Request, m: re.Match[str]) -> Response:
        parent = req.arg("parent")
        if not parent:
            raise _gerr(400, "parent is required to list projects (use projects:search to search)")
        show_deleted = (req.arg("showDeleted") or "").lower() == "true"
        items = [
            p
            for p in self._sorted(self.projects)
            if p.get("parent") == parent and (show_deleted or p["state"] == "ACTIVE")
        ]
        return self._page(req, items, "projects")

    def _search_projects(self, req: Request, m: re.Match[str]) -> Response:
        query = req.arg("query") or ""
        items = [p for p in self._sorted(self.projects) if _matches(_parse_query(query), p, "project")]
        return self._page(req, items, "projects")

    def _update_project(self, req: Request, m: re.Match[str]) -> Response:
        project = self._project_or_404(m["p"])
        if project["state"] != "ACTIVE":
            raise _gerr(400, f"project {project['projectId']} is {project['state']}", "FAILED_PRECONDITION")
        body = req.json()
        for field in _mask(req, ("displayName", "labels")):
            if field == "displayName":
                project["displayName"] = body.get("displayName") or ""
            elif field == "labels":
                project["labels"] = _check_labels(body.get("labels"))
            elif field.startswith("labels."):
                labels = dict(project.get("labels") or {})
                key = field.removeprefix("labels.")
                value = (body.get("labels") or {}).get(key)
                if value is None:
                    labels.pop(key, None)
                else:
                    labels[key] = value
                project["labels"] = _check_labels(labels)
            else:
                raise _gerr(400, f"field {field!r} of a project cannot be updated (use :move for parent)")
        self._touch(project)
        return self._operation("cp", "UpdateProjectMetadata", "Project", project)

    def _delete_project(self, req: Request, m: re.Match[str]) -> Response:
        project = self._project_or_404(m["p"])
        if project["state"] != "ACTIVE":
            raise _gerr(
                400, f"project {project['projectId']} is already {project['state']}", "FAILED_PRECONDITION"
            )
        project["state"] = "DELETE_REQUESTED"
        project["deleteTime"] = now_rfc3339()
        self._touch(project)
        return self._operation("dp", "DeleteProjectMetadata", "Project", project)

    def _undelete_project(self, req: Request, m: re.Match[str]) -> Response:
        project = self._project_or_404(m["p"])
        if project["state"] != "DELETE_REQUESTED":
            raise _gerr(400, f"project {project['projectId']} is not deleted", "FAILED_PRECONDITION")
        project["state"] = "ACTIVE"
        project.pop("deleteTime", None)
        self._touch(project)
        return self._operation("up", "UndeleteProjectMetadata", "Project", project)

    def _move_project(self, req: Request, m: re.Match[str]) -> Response:
        project = self._project_or_404(m["p"])
        parent = self._check_parent(req.json().get("destinationParent"), required=True)
        project["parent"] = parent
        self._touch(project)
        return self._operation("mp", "MoveProjectMetadata", "Project", project)

    # ------------------------------------------------------------ folders

    def _check_folder_name(self, display: Any, parent: str, exclude: str | None = None) -> str:
        if (
            not isinstance(display, str)
            or not re.fullmatch(r"[\w'\- ]{1,30}", display)
            or display != display.strip()
        ):
            raise _gerr(
                400,
                f"invalid folder displayName {display!r}: 1 to 30 letters, digits, spaces, '_', '-' or "
                "apostrophes, not starting or ending with a space",
            )
        for f in self.folders.values():
            if (
                f["name"] != exclude
                and f["parent"] == parent
                and f["state"] == "ACTIVE"
                and f["displayName"] == display
            ):
                raise _gerr(409, f"a folder named {display!r} already exists in {parent}")
        return display

    def _create_folder(self, req: Request, m: re.Match[str]) -> Response:
        body = req.json()
        parent = self._check_parent(body.get("parent"), required=True)
        display = self._check_folder_name(body.get("displayName"), parent)
        number = str(self._next_folder)
        self._next_folder += 1
        now = now_rfc3339()
        folder: dict[str, Any] = {
            "name": f"folders/{number}",
            "parent": parent,
            "displayName": display,
            "state": "ACTIVE",
            "createTime": now,
            "updateTime": now,
        }
        folder["etag"] = _etag(folder)
        self.folders[number] = folder
        return self._operation("cf", "CreateFolderMetadata", "Folder", folder)

    def _get_folder(self, req: Request, m: re.Match[str]) -> Response:
        return Response(200, self._folder_or_404(m["f"]))

    def _list_folders(self, req: Request, m: re.Match[str]) -> Response:
        parent = req.arg("parent")
        if not parent:
            raise _gerr(400, "parent is required to list folders")
        show_deleted = (req.arg("showDeleted") or "").lower() == "true"
        items = [
            f
            for f in self._sorted(self.folders)
            if f["parent"] == parent and (show_deleted or f["state"] == "ACTIVE")
        ]
        return self._page(req, items, "folders")

    def _search_folders(self, req: Request, m: re.Match[str]) -> Response:
        query = req.arg("query") or ""
        items = [f for f in self._sorted(self.folders) if _matches(_parse_query(query), f, "folder")]
        return self._page(req, items, "folders")

    def _update_folder(self, req: Request, m: re.Match[str]) -> Response:
        folder = self._folder_or_404(m["f"])
        if folder["state"] != "ACTIVE":
            raise _gerr(400, f"{folder['name']} is {folder['state']}", "FAILED_PRECONDITION")
        body = req.json()
        for field in _mask(req, ("displayName",)):
            if field != "displayName":
                raise _gerr(400, f"field {field!r} of a folder cannot be updated (use :move for parent)")
            folder["displayName"] = self._check_folder_name(
                body.get("displayName"), folder["parent"], exclude=folder["name"]
            )
        self._touch(folder)
        return self._operation("uf", "UpdateFolderMetadata", "Folder", folder)

    def _delete_folder(self, req: Request, m: re.Match[str]) -> Response:
        folder = self._folder_or_404(m["f"])
        if folder["state"] != "ACTIVE":
            raise _gerr(400, f"{folder['name']} is already {folder['state']}", "FAILED_PRECONDITION")
        name = folder["name"]
        children = [
            p["projectId"]
            for p in self.projects.values()
            if p.get("parent") == name and p["state"] == "ACTIVE"
        ]
        children += [
            f["name"] for f in self.folders.values() if f["parent"] == name and f["state"] == "ACTIVE"
        ]
        if children:
            raise _gerr(
                400, f"{name} is not empty: it holds {', '.join(sorted(children))}", "FAILED_PRECONDITION"
            )
        folder["state"] = "DELETE_REQUESTED"
        folder["deleteTime"] = now_rfc3339()
        self._touch(folder)
        return self._operation("df", "DeleteFolderMetadata", "Folder", folder)

    def _undelete_folder(self, req: Request, m: re.Match[str]) -> Response:
        folder = self._folder_or_404(m["f"])
        if folder["state"] != "DELETE_REQUESTED":
            raise _gerr(400, f"{folder['name']} is not deleted", "FAILED_PRECONDITION")
        folder["state"] = "ACTIVE"
        folder.pop("deleteTime", None)
        self._touch(folder)
        return self._operation("ud", "UndeleteFolderMetadata", "Folder", folder)

    def _move_folder(self, req: Request, m: re.Match[str]) -> Response:
        folder = self._folder_or_404(m["f"])
        parent = self._check_parent(req.json().get("destinationParent"), required=True)
        # A folder cannot move under itself or its descendants.
        walk = parent
        while walk.startswith("folders/"):
            if walk == folder["name"]:
                raise _gerr(400, f"cannot move {folder['name']} under itself", "FAILED_PRECONDITION")
            walk = self.folders[walk.removeprefix("folders/")]["parent"]
        folder["parent"] = parent
        self._touch(folder)
        return self._operation("mf", "MoveFolderMetadata", "Folder", folder)

    # ------------------------------------------------------------ operations and pages

    def _get_operation(self, req: Request, m: re.Match[str]) -> Response:
        op = self.operations.get(m["op"])
        if op is None:
            raise _gerr(404, f"Operation '{m['op']}' not found.")
        return Response(200, op)

    @staticmethod
    def _sorted(table: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
        return [table[k] for k in sorted(table, key=int)]

    @staticmethod
    def _page(req: Request, items: list[dict[str, Any]], key: str) -> Response:
        size = req.arg("pageSize")
        try:
            page_size = int(size) if size else None
        except ValueError:
            raise _gerr(400, f"invalid pageSize {size!r}") from None
        page, nxt = paginate(items, page_size, req.arg("pageToken"), default=50, maximum=1000)
        body: dict[str, Any] = {key: page} if page else {}
        if nxt:
            body["nextPageToken"] = nxt
        return Response(200, body)


# ---------------------------------------------------------------- search queries

Term = tuple[str, str]  # (field, pattern)


def _parse_query(query: str) -> list[list[Term]]:
    """``a:x b:y OR c:z`` -> [[a, b], [c]]: a disjunction of conjunctions."""
    try:
        tokens = shlex.split(query)
    except ValueError as exc:
        raise _gerr(400, f"invalid query {query!r}: {exc}") from exc
    groups: list[list[Term]] = [[]]
    for tok in tokens:
        if tok.upper() == "OR":
            groups.append([])
            continue
        if tok.upper() == "AND":
            continue
        sep = re.search(r"[:=]", tok)
        if sep is None:
            raise _gerr(400, f"invalid query term {tok!r}: use field:value")
        groups[-1].append((tok[: sep.start()], tok[sep.end() :]))
    return [g for g in groups if g] or [[]]


def _like(value: str | None, pattern: str) -> bool:
    if value is None:
        return False
    if pattern == "*":
        return True
    return fnmatch.fnmatchcase(value.lower(), pattern.lower())


def _term(resource: dict[str, Any], field: str, pattern: str, kind: str) -> bool:
    f = field.lower()
    labels: dict[str, str] = resource.get("labels") or {}
    parent = resource.get("parent") or ""
    number = resource["name"].split("/", 1)[1]
    if f in ("id", "projectid") and kind == "project":
        return _like(resource.get("projectId"), pattern)
    if f in ("name", "displayname"):
        return _like(resource.get("displayName"), pattern)
    if f == "parent":
        return _like(parent, pattern)
    if f == "parent.type":
        return _like(parent.split("/", 1)[0].rstrip("s") if parent else None, pattern)
    if f == "parent.id":
        return _like(parent.split("/", 1)[1] if parent else None, pattern)
    if f in ("state", "lifecyclestate"):
        return _like(resource.get("state"), pattern)
    if f in ("projectnumber", "number"):
        return _like(number, pattern)
    if f == "labels":
        return any(_like(k, pattern) or _like(v, pattern) for k, v in labels.items())
    if f.startswith("labels."):
        key = field[len("labels.") :]
        return key in labels and _like(labels[key], pattern)
    raise _gerr(400, f"unsupported search field {field!r}")


def _matches(groups: list[list[Term]], resource: dict[str, Any], kind: str) -> bool:
    return any(all(_term(resource, f, p, kind) for f, p in group) for group in groups)
