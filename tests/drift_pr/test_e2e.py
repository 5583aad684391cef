"""`drift --open-pr` end to end: real terraform (stand-in hashicorp/aws) on moto's server, a
local bare remote, the fake GitHub. Drift appears -> one PR; drift changes -> the same PR
updated; no change -> no request that changes anything; drift reverted -> PR closed; approval
-> `apply --pr N` restores the resource -> the next scan is clean and closes the PR."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from orchestrator.drift.model import fingerprint
from orchestrator.drift_pr.meta import parse_meta_block
from orchestrator.planset import read_manifest
from orchestrator.render.comment import manifest_digest, parse_plan_set_block
from tests.drift_pr.conftest import DriftRepo
from tests.fakes.github import FakeGitHub

pytestmark = pytest.mark.integration

STORAGE = "orchestrate/drift/aws-storage"
QUEUE = "orchestrate/drift/aws-queue"
WRITES = ("POST", "PATCH", "PUT", "DELETE")


def pr_of(data: dict[str, Any], stack: str) -> dict[str, Any]:
    (found,) = [p for p in data["pull_requests"] if p["stack"] == stack]
    return found


def writes_since(github: FakeGitHub, mark: int) -> list[str]:
    return [f"{r.method} {r.path}" for r in github.requests[mark:] if r.method in WRITES]


def test_drift_pull_request_lifecycle(
    drift_repo: Callable[..., DriftRepo], github: FakeGitHub, tmp_path: Path
) -> None:
    repo = drift_repo()
    outputs = tmp_path / "github_output"
    repo.env.update({**github.env(), "GITHUB_OUTPUT": str(outputs)})
    main = repo.git("rev-parse", "HEAD")

    # 1. Drift appears: one PR for the drifted stack, none for the clean one.
    repo.set_bucket_tags({"owner": "intruder", "environment": "prod"})
    _, data = repo.drift()
    opened = pr_of(data, "aws/storage")
    assert opened["action"] == "opened"
    assert [p["stack"] for p in data["pull_requests"]] == ["aws/storage"]
    assert len(github.pulls) == 1
    number = opened["number"]
    pull = github.pulls[number]
    assert pull["_head_ref"] == STORAGE and pull["_base_ref"] == "main"
    assert [label["name"] for label in pull["labels"]] == ["drift", "infrastructure"]
    assert pull["title"] == "Drift in aws/storage: 1 changed"

    # The branch: one commit on main adding the drift record, nothing else.
    head = repo.remote_sha(STORAGE)
    assert head == opened["head"]
    assert repo.remote("rev-parse", f"{head}^") == main
    assert repo.remote("diff", "--name-only", main, head).split() == ["drift/aws-storage.json"]
    record = json.loads(repo.remote("show", f"{head}:drift/aws-storage.json"))
    entry = next(s for s in data["stacks"] if s["stack"] == "aws/storage")
    assert record["stack"] == "aws/storage"
    assert record["fingerprint"] == entry["fingerprint"] == fingerprint(record)
    assert record["changed"] == entry["changed"]
    assert [h["changed"] for h in record["history"]] == [["aws_s3_bucket.assets"]]
    assert repo.git("status", "--porcelain") == ""  # the work tree was never touched
    assert repo.git("rev-parse", "HEAD") == main

    # The body: the report, the remediation plan and the plan set, bound to the branch head.
    body = pull["body"]
    assert "`tags.owner`" in body and "`platform`" in body and "`intruder`" in body
    assert 'owner = "intruder" -> "platform"' in body
    ref = parse_plan_set_block(body)
    assert ref is not None and ref.commit == head
    plan_set = repo.root / ".orchestrate" / "plans" / ref.id
    manifest = read_manifest(plan_set)
    assert manifest.commit == head and manifest.kind == "drift-remediation"
    assert manifest_digest(manifest) == ref.manifest_sha256
    assert [(s.stack, s.status, s.counts.change) for s in manifest.stacks] == [("aws/storage", "changes", 1)]
    meta = parse_meta_block(body)
    assert meta is not None and meta.fingerprint == entry["fingerprint"] and meta.head == head
    assert "hunter2" not in github.all_text_received()
    # For the workflow: which plan set to keep as the artifact of which PR and head.
    lines = outputs.read_text().splitlines()
    assert lines[-1] == "drift_prs_count=1"
    assert json.loads(lines[-2].removeprefix("drift_prs=")) == [
        {"stack": "aws/storage", "number": number, "head": head, "plan_set": ref.id, "dir": str(plan_set)}
    ]

    # 2. The drift changes (another tag), and the queue drifts too: the same PR is updated,
    #    the queue gets its own.
    repo.set_bucket_tags({"owner": "intruder", "environment": "hunter2-staging"})
    repo.tag_queue(owner="someone-else")
    _, data = repo.drift()
    assert {p["stack"]: p["action"] for p in data["pull_requests"]} == {
        "aws/queue": "opened",
        "aws/storage": "updated",
    }
    assert pr_of(data, "aws/storage")["number"] == number
    assert pr_of(data, "aws/storage")["reason"] == "the drift changed"
    assert len([p for p in github.pulls.values() if p["_head_ref"] == STORAGE]) == 1
    new_head = repo.remote_sha(STORAGE)
    assert new_head != head and repo.remote("rev-parse", f"{new_head}^") == main
    pull = github.pulls[number]
    assert pull["title"] == "Drift in aws/storage: 1 changed"
    assert "`environment`" not in pull["body"]  # paths are tags.<key>
    assert "`tags.environment`" in pull["body"]
    assert "hunter2" not in github.all_text_received()  # a redact: pattern match never leaves
    updated = parse_plan_set_block(pull["body"])
    assert updated is not None and updated.commit == new_head and updated.id != ref.id
    record = json.loads(repo.remote("show", f"{new_head}:drift/aws-storage.json"))
    assert len(record["history"]) == 2 and record["detected_at"] == record["history"][1]["detected_at"]
    queue_number = pr_of(data, "aws/queue")["number"]

    # The first plan set no longer matches the PR: apply --pr refuses it, even approved.
    github.grant("bob", "write")
    github.add_review(number, "bob", "APPROVED")
    repo.git("fetch", "-q", "origin")
    repo.git("checkout", "-q", "--detach", f"origin/{STORAGE}")
    refused = repo.run("apply", "--pr", str(number), "--plan-set", str(plan_set), ok=(1,))
    assert "apply refused" in refused.output and "plan set was made at commit" in refused.output
    assert repo.bucket_tags()["owner"] == "intruder"
    repo.git("checkout", "-q", "main")

    # 3. Nothing changed: nothing is written to GitHub and no branch moves.
    mark = len(github.requests)
    _, data = repo.drift()
    assert {p["stack"]: p["action"] for p in data["pull_requests"]} == {
        "aws/queue": "unchanged",
        "aws/storage": "unchanged",
    }
    assert writes_since(github, mark) == []
    assert repo.remote_sha(STORAGE) == new_head

    # 4. The queue's drift is reverted out of band: its PR is closed with a comment.
    repo.tag_queue(owner="platform")
    _, data = repo.drift()
    assert pr_of(data, "aws/queue")["action"] == "closed"
    assert pr_of(data, "aws/storage")["action"] == "unchanged"
    assert github.pulls[queue_number]["state"] == "closed"
    (comment,) = github.issue_comments(queue_number)
    assert "drift in `aws/queue` is gone" in comment["body"]
    assert github.pulls[number]["state"] == "open"

    # 5. Approval of the new head, then apply --pr at the PR's head restores the bucket.
    github.grant("bob", "write")
    github.add_review(number, "bob", "APPROVED")
    repo.git("fetch", "-q", "origin")
    repo.git("checkout", "-q", "--detach", f"origin/{STORAGE}")
    new_plan_set = repo.root / ".orchestrate" / "plans" / updated.id
    repo.run("apply", "--pr", str(number), "--plan-set", str(new_plan_set))
    assert repo.bucket_tags() == {"owner": "platform", "environment": "prod"}
    assert "orchestrate apply: applied (1 stack)" in github.issue_comments(number)[-1]["body"]
    repo.git("checkout", "-q", "main")

    # 6. The next scan is clean (exit 0) and closes the drift PR with a comment.
    _, data = repo.drift(ok=(0,))
    assert data["summary"]["drifted"] == 0
    assert pr_of(data, "aws/storage")["action"] == "closed"
    assert github.pulls[number]["state"] == "closed"
    assert "is gone" in github.issue_comments(number)[-1]["body"]
