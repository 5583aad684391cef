"""The GCP emulator speaks Resource Manager v3: the real google-cloud-resource-manager client runs on it."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from google.api_core import exceptions as gexc
from google.cloud.resourcemanager_v3 import Folder, Project
from google.protobuf import field_mask_pb2

from orchestrate_emulate.gcp_api import GcpEmulator
from tests.orchestrate_emulate.conftest import gcp_clients

ORG = "organizations/123456789012"


def _folder(folders: object, name: str = "platform", parent: str = ORG) -> Folder:
    return folders.create_folder(folder=Folder(display_name=name, parent=parent)).result()  # type: ignore[attr-defined]


def test_create_project_returns_the_project_through_a_long_running_operation(gcp: GcpEmulator) -> None:
    projects, folders = gcp_clients(gcp.url)
    folder = _folder(folders)
    op = projects.create_project(
        project=Project(
            project_id="acme-dev", parent=folder.name, display_name="Acme dev", labels={"env": "dev"}
        )
    )
    p = op.result()
    assert p.name.startswith("projects/") and p.name.removeprefix("projects/").isdigit()
    assert (p.project_id, p.parent, p.display_name, dict(p.labels)) == (
        "acme-dev",
        folder.name,
        "Acme dev",
        {"env": "dev"},
    )
    assert p.state == Project.State.ACTIVE
    assert p.etag and p.create_time
    # The same project by id and by number.
    assert projects.get_project(name="projects/acme-dev").name == p.name
    assert projects.get_project(name=p.name).project_id == "acme-dev"
    # The operation can be fetched again, as pollers do.
    raw = json.loads(urllib.request.urlopen(f"{gcp.url}/v3/{op.operation.name}").read())
    assert raw["done"] is True and raw["response"]["projectId"] == "acme-dev"


def test_unknown_project_is_not_found_in_googles_error_shape(gcp: GcpEmulator) -> None:
    projects, _ = gcp_clients(gcp.url)
    with pytest.raises(gexc.NotFound):
        projects.get_project(name="projects/no-such-project")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{gcp.url}/v3/projects/no-such-project")
    assert err.value.code == 404
    assert json.loads(err.value.read())["error"] == {
        "code": 404,
        "message": "Project 'projects/no-such-project' not found.",
        "status": "NOT_FOUND",
    }


def test_list_by_parent_pages_and_leaves_out_deleted_projects(gcp: GcpEmulator) -> None:
    projects, folders = gcp_clients(gcp.url)
    folder = _folder(folders)
    for i in range(5):
        projects.create_project(project=Project(project_id=f"acme-p{i}xx", parent=folder.name)).result()
    projects.create_project(project=Project(project_id="elsewhere", parent=ORG)).result()
    projects.delete_project(name="projects/acme-p4xx").result()
    gcp.requests.clear()
    listed = [p.project_id for p in projects.list_projects(request={"parent": folder.name, "page_size": 2})]
    assert listed == ["acme-p0xx", "acme-p1xx", "acme-p2xx", "acme-p3xx"]
    assert len(gcp.requests) == 2  # two pages of two
    with_deleted = projects.list_projects(request={"parent": folder.name, "show_deleted": True})
    assert [p.project_id for p in with_deleted][-1] == "acme-p4xx"


def test_search_filters_by_labels_state_and_parent(gcp: GcpEmulator) -> None:
    projects, folders = gcp_clients(gcp.url)
    folder = _folder(folders)
    projects.create_project(
        project=Project(project_id="acme-dev", parent=folder.name, labels={"env": "dev"})
    ).result()
    projects.create_project(
        project=Project(project_id="acme-prod", parent=ORG, labels={"env": "prod"})
    ).result()
    projects.create_project(
        project=Project(project_id="acme-old", parent=ORG, labels={"env": "prod"})
    ).result()
    projects.delete_project(name="projects/acme-old").result()

    def search(q: str) -> list[str]:
        return [p.project_id for p in projects.search_projects(query=q)]

    assert search("labels.env:prod") == ["acme-prod", "acme-old"]
    assert search("labels.env:prod state:ACTIVE") == ["acme-prod"]
    assert search(f"parent:{folder.name}") == ["acme-dev"]
    assert search("id:acme-d* OR id:acme-p*") == ["acme-dev", "acme-prod"]
    assert search("labels.team:*") == []
    assert len(search("")) == 3
    with pytest.raises(gexc.BadRequest):
        search("color:red")


def test_update_changes_only_the_masked_fields_and_checks_labels(gcp: GcpEmulator) -> None:
    projects, _ = gcp_clients(gcp.url)
    p = projects.create_project(
        project=Project(project_id="acme-dev", display_name="Old", labels={"a": "1"})
    ).result()
    etag = p.etag
    p.labels["b"] = "2"
    p.display_name = "Ignored"
    updated = projects.update_project(
        project=p, update_mask=field_mask_pb2.FieldMask(paths=["labels"])
    ).result()
    assert dict(updated.labels) == {"a": "1", "b": "2"}
    assert updated.display_name == "Old"
    assert updated.etag != etag
    p.labels["Bad Key"] = "x"
    with pytest.raises(gexc.BadRequest, match="invalid label key"):
        projects.update_project(project=p, update_mask=field_mask_pb2.FieldMask(paths=["labels"])).result()


def test_deleted_project_keeps_its_id_until_undeleted(gcp: GcpEmulator) -> None:
    projects, _ = gcp_clients(gcp.url)
    projects.create_project(project=Project(project_id="acme-dev")).result()
    deleted = projects.delete_project(name="projects/acme-dev").result()
    assert deleted.state == Project.State.DELETE_REQUESTED
    assert projects.get_project(name="projects/acme-dev").state == Project.State.DELETE_REQUESTED
    with pytest.raises(gexc.Conflict):
        projects.create_project(project=Project(project_id="acme-dev")).result()
    assert projects.undelete_project(name="projects/acme-dev").result().state == Project.State.ACTIVE


def test_invalid_project_ids_and_missing_parents_are_refused(gcp: GcpEmulator) -> None:
    projects, _ = gcp_clients(gcp.url)
    for bad in ("Acme", "abc", "acme-", "9acme-dev"):
        with pytest.raises(gexc.BadRequest, match="invalid project id"):
            projects.create_project(project=Project(project_id=bad)).result()
    with pytest.raises(gexc.BadRequest, match="does not exist"):
        projects.create_project(project=Project(project_id="acme-dev", parent="folders/999")).result()


def test_folders_move_rename_and_refuse_deletion_while_not_empty(gcp: GcpEmulator) -> None:
    projects, folders = gcp_clients(gcp.url)
    platform = _folder(folders, "platform")
    team = _folder(folders, "team", parent=platform.name)
    assert folders.get_folder(name=team.name).parent == platform.name
    assert [f.display_name for f in folders.list_folders(parent=ORG)] == ["platform"]
    with pytest.raises(gexc.Conflict):
        _folder(folders, "platform")
    with pytest.raises(gexc.BadRequest, match="under itself"):
        folders.move_folder(name=platform.name, destination_parent=team.name).result()
    team.display_name = "team-a"
    renamed = folders.update_folder(
        folder=team, update_mask=field_mask_pb2.FieldMask(paths=["display_name"])
    ).result()
    assert renamed.display_name == "team-a"
    projects.create_project(project=Project(project_id="acme-dev", parent=team.name)).result()
    with pytest.raises(gexc.BadRequest, match="not empty"):
        folders.delete_folder(name=team.name).result()
    projects.move_project(name="projects/acme-dev", destination_parent=ORG).result()
    assert folders.delete_folder(name=team.name).result().state == Folder.State.DELETE_REQUESTED
    assert [f.display_name for f in folders.search_folders(query="state:ACTIVE")] == ["platform"]


def test_injected_throttling_is_retried_by_the_sdk_and_logged(gcp: GcpEmulator) -> None:
    projects, _ = gcp_clients(gcp.url)
    projects.create_project(project=Project(project_id="acme-dev")).result()
    gcp.requests.clear()
    gcp.add_fault(status=503, count=2, retry_after=0, path="/v3/projects/")
    assert projects.get_project(name="projects/acme-dev").project_id == "acme-dev"
    assert [r.status for r in gcp.requests] == [503, 503, 200]


def test_a_path_that_always_fails_stays_unreadable(gcp: GcpEmulator) -> None:
    projects, _ = gcp_clients(gcp.url)
    projects.create_project(project=Project(project_id="acme-dev")).result()
    gcp.add_fault(status=403, count=None, path=r"^/v3/projects", message="caller lacks permission")
    for _ in range(3):
        with pytest.raises(gexc.Forbidden, match="caller lacks permission"):
            projects.get_project(name="projects/acme-dev")
    gcp.clear_faults()
    assert projects.get_project(name="projects/acme-dev").project_id == "acme-dev"


def test_control_api_over_http_adds_faults_and_resets(gcp: GcpEmulator) -> None:
    projects, _ = gcp_clients(gcp.url)
    projects.create_project(project=Project(project_id="acme-dev")).result()

    def call(method: str, path: str, body: object = None) -> dict[str, object]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{gcp.url}/_emulator/{path}", data=data, method=method)
        return json.loads(urllib.request.urlopen(req).read())  # type: ignore[no-any-return]

    assert call("GET", "health") == {"ok": True, "kind": "gcp"}
    call("POST", "faults", {"status": 429, "count": 1, "retry_after": 7})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{gcp.url}/v3/projects/acme-dev")
    assert err.value.code == 429 and err.value.headers["Retry-After"] == "7"
    assert json.loads(err.value.read())["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert [r["status"] for r in call("GET", "requests")["requests"]][-1] == 429  # type: ignore[index]
    call("POST", "reset")
    with pytest.raises(gexc.NotFound):
        projects.get_project(name="projects/acme-dev")


def test_state_survives_a_restart_through_the_data_file(tmp_path: Path) -> None:
    data = tmp_path / "gcp.json"
    with GcpEmulator(data_file=data) as first:
        projects, folders = gcp_clients(first.url)
        folder = _folder(folders)
        p = projects.create_project(project=Project(project_id="acme-dev", parent=folder.name)).result()
    with GcpEmulator(data_file=data) as second:
        projects, _ = gcp_clients(second.url)
        again = projects.get_project(name="projects/acme-dev")
        assert (again.name, again.parent) == (p.name, folder.name)
        # numbers keep counting: no reuse after a restart
        other = projects.create_project(project=Project(project_id="acme-two")).result()
        assert int(other.name.split("/")[1]) > int(p.name.split("/")[1])


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"projectId": 7}'])
def test_malformed_requests_get_400_and_the_server_keeps_serving(gcp: GcpEmulator, body: bytes) -> None:
    req = urllib.request.Request(f"{gcp.url}/v3/projects", data=body, method="POST")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req)
    assert err.value.code == 400
    assert json.loads(err.value.read())["error"]["status"] == "INVALID_ARGUMENT"
    assert json.loads(urllib.request.urlopen(f"{gcp.url}/_emulator/health").read())["ok"] is True


def test_unknown_paths_and_methods_are_refused(gcp: GcpEmulator) -> None:
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{gcp.url}/v1/projects")
    assert err.value.code == 404
    req = urllib.request.Request(f"{gcp.url}/v3/operations/x", method="DELETE")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req)
    assert err.value.code == 405
