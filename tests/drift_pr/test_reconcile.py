"""`reconcile: auto` end to end: real terraform (stand-in hashicorp/aws) on moto's server, a local
bare remote, the fake GitHub. A tag edited out of band on an auto stack is put back by the scan,
recorded (git note and audit log, with the drift report) and reported; drifting again within the
window opens a pull request; a remediation that would replace a resource opens a pull request; a
`pr` stack opens one as before; a setting only the work tree (a PR) has is ignored."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from orchestrator.drift_pr.autoapply import Reconciler
from orchestrator.drift_pr.gitops import DriftGit
from orchestrator.envs.store import RecordStore
from orchestrator.redact import Redactor
from orchestrator.rules import read_base_rules
from orchestrator.workspace import Workspace
from tests.drift_pr.conftest import ESTATE, STORAGE_TF, DriftRepo
from tests.fakes.github import FakeGitHub

pytestmark = pytest.mark.integration

AUTO = {**ESTATE, "stacks/aws/storage/stack.yaml": "cloud: aws-test\nenvironment: prod\nreconcile: auto\n"}


def outcome(data: dict[str, Any], stack: str) -> dict[str, Any]:
    (found,) = [p for p in data["pull_requests"] if p["stack"] == stack]
    return found


def reconcile_records(repo: DriftRepo) -> list[Any]:
    records = RecordStore(repo.root).read(fetch=False).records
    return [r for r in records if (r.approval or {}).get("source") == "reconcile"]


def test_a_tag_edited_out_of_band_is_put_back_then_a_second_drift_in_the_window_opens_a_pr(
    drift_repo: Callable[..., DriftRepo], github: FakeGitHub, tmp_path: Path
) -> None:
    repo = drift_repo(files=AUTO, config_extra="reconcile: {window: 24h}\n")
    summary = tmp_path / "step_summary.md"
    repo.env.update({**github.env(), "GITHUB_STEP_SUMMARY": str(summary)})
    head = repo.git("rev-parse", "HEAD")

    # 1. The auto stack's tag and the pr stack's tag are edited out of band.
    repo.set_bucket_tags({"owner": "intruder-hunter2", "environment": "prod"})
    repo.tag_queue(owner="someone-else")
    _, data = repo.drift()
    storage = outcome(data, "aws/storage")
    assert storage["action"] == "reconciled", storage
    assert storage["record"] and storage["number"] is None
    assert "aws_s3_bucket.assets: tags.owner" in storage["reason"]
    assert repo.bucket_tags()["owner"] == "platform"  # put back in the cloud
    # The pr stack (the default) still gets its pull request, saying why.
    queue = outcome(data, "aws/queue")
    assert queue["action"] == "opened"
    assert queue["reconcile"] == "reconcile: pr (the default)"
    assert [p["_head_ref"] for p in github.pulls.values()] == ["orchestrate/drift/aws-queue"]

    # Recorded like any apply: a git note on HEAD (pushed), carrying the drift report...
    (rec,) = reconcile_records(repo)
    assert rec.id == storage["record"] and rec.commit == head and rec.kind == "apply"
    assert [(s.stack, s.status) for s in rec.stacks] == [("aws/storage", "applied")]
    assert rec.approval is not None
    drift = rec.approval["details"]["drift"]
    assert (
        drift["fingerprint"] == next(s for s in data["stacks"] if s["stack"] == "aws/storage")["fingerprint"]
    )
    (changed,) = drift["changed"]
    assert changed["address"] == "aws_s3_bucket.assets"
    assert [d["path"] for d in changed["diffs"]] == ["tags.owner"]
    assert rec.approval["details"]["setting"].startswith("stacks/aws/storage/stack.yaml at ")
    assert rec.id in repo.remote("notes", "--ref=orchestrate", "show", head)
    # ... and in the audit log; a redact: pattern's match never reaches a record or summary.
    audit = [json.loads(line) for line in (repo.root / ".orchestrate/audit.jsonl").read_text().splitlines()]
    last = audit[-1]
    assert last["approval"]["source"] == "reconcile" and last["result"] == "applied"
    assert last["approval"]["details"]["drift"]["changed"][0]["address"] == "aws_s3_bucket.assets"
    notes = repo.git("notes", "--ref=orchestrate", "show", head)
    assert "hunter2" not in notes and "hunter2" not in json.dumps(audit[-1])
    # The job summary says what happened to each drifted stack.
    text = summary.read_text()
    assert "| `aws/storage` | reconciled |" in text and rec.id in text
    assert "not reconciled automatically: reconcile: pr (the default)" in text
    assert "hunter2" not in text

    # `orchestrate status` shows the stack reconciled (and in sync: the apply is on record).
    res = repo.run("status", "--format", "json", "--no-fetch", ok=(0, 2))
    rows = {s["stack"]: s for s in json.loads(res.stdout)["stacks"]}
    assert rows["aws/storage"]["drift"] == "reconciled"
    assert rows["aws/storage"]["reconcile_record"] == rec.id
    assert rows["aws/storage"]["ok"] is True
    assert rows["aws/queue"]["drift"] == "drifted"

    # 2. It drifts again within the window: a pull request, saying why; nothing applied.
    repo.set_bucket_tags({"owner": "intruder-again", "environment": "prod"})
    res = repo.run("drift", "--open-pr", "--format", "table", ok=(2,))
    assert "not reconciled automatically" in res.stdout and "within reconcile.window (24h)" in res.stdout
    assert repo.bucket_tags()["owner"] == "intruder-again"
    assert len(reconcile_records(repo)) == 1
    storage_prs = [p for p in github.pulls.values() if p["_head_ref"] == "orchestrate/drift/aws-storage"]
    assert len(storage_prs) == 1 and storage_prs[0]["state"] == "open"

    # 3. With its PR open, a later scan leaves it to the person deciding (no apply).
    _, data = repo.drift()
    storage = outcome(data, "aws/storage")
    assert storage["action"] == "unchanged"
    assert storage["reconcile"].startswith("a drift pull request is already open")
    assert repo.bucket_tags()["owner"] == "intruder-again"


REPLACING_TF = (
    STORAGE_TF
    + """
resource "terraform_data" "stamp" {
  input = "v1"
  lifecycle {
    replace_triggered_by = [aws_s3_bucket.assets]
  }
}
"""
)


def test_a_remediation_that_would_replace_a_resource_opens_a_pr(
    drift_repo: Callable[..., DriftRepo], github: FakeGitHub
) -> None:
    files = {
        "stacks/aws/storage/stack.yaml": "cloud: aws-test\nenvironment: prod\n",
        "stacks/aws/storage/main.tf": REPLACING_TF,
    }
    # auto from orchestrate.yaml, for the stack's environment
    repo = drift_repo(files=files, config_extra="reconcile: {environments: {prod: auto}}\n")
    repo.env.update(github.env())
    repo.set_bucket_tags({"owner": "intruder", "environment": "prod"})
    _, data = repo.drift()
    storage = outcome(data, "aws/storage")
    assert storage["action"] == "opened"
    assert "the remediation replaces terraform_data.stamp" in storage["reconcile"]
    assert repo.bucket_tags()["owner"] == "intruder"
    assert reconcile_records(repo) == []
    # the plan made for the attempt is the PR's, bound to its head (not planned twice)
    assert storage["plan_set"] and storage["head"] == repo.remote_sha("orchestrate/drift/aws-storage")


def test_auto_set_only_in_the_work_tree_or_a_pr_is_ignored(
    drift_repo: Callable[..., DriftRepo], github: FakeGitHub
) -> None:
    repo = drift_repo()  # reconcile: pr everywhere on the default branch
    repo.env.update(github.env())
    base = repo.git("rev-parse", "HEAD")
    # A pull request's branch (checked out, committed, not merged) turns auto on for the stack
    # and for everything in orchestrate.yaml.
    repo.git("checkout", "-q", "-b", "sneaky")
    (repo.root / "stacks/aws/storage/stack.yaml").write_text(
        "cloud: aws-test\nenvironment: prod\nreconcile: auto\n"
    )
    config = repo.root / "orchestrate.yaml"
    config.write_text(config.read_text() + "reconcile: auto\n")
    repo.git("commit", "-qam", "auto, please")
    repo.set_bucket_tags({"owner": "intruder", "environment": "prod"})

    # The setting comes from the base commit's files, never the checked-out ones.
    ws = Workspace.load(repo.root)
    git = DriftGit(repo.root)
    rules = read_base_rules(git.repo, ws.config_file, ws.config, base, repo.git("rev-parse", "HEAD"))
    assert ws.config.reconcile.mode == "auto" and rules.config.reconcile.mode == "pr"
    # A PR doing this changes the rules that judge it: approval.policy_owners must approve it.
    assert {"orchestrate.yaml: reconcile", "stacks/aws/storage/stack.yaml: reconcile"} <= set(rules.changed)
    rec = Reconciler(ws, git, base, rules.config, lambda: pytest.fail("no engine"), Redactor(), print)
    setting = rec.setting(ws.stacks["aws/storage"])
    assert ws.stacks["aws/storage"].config.reconcile == "auto"  # the work tree says auto ...
    assert setting.mode == "pr" and setting.source == "the default"  # ... the base does not

    # The scan applies nothing; the stack's checkout is refused as it always was.
    _, data = repo.drift(ok=(1,))
    storage = outcome(data, "aws/storage")
    assert storage["action"] == "failed" and "differs from main" in storage["error"]
    assert repo.bucket_tags()["owner"] == "intruder"
    assert reconcile_records(repo) == []


def test_a_merged_change_nobody_applied_is_never_applied_by_a_reconciliation(
    drift_repo: Callable[..., DriftRepo], github: FakeGitHub
) -> None:
    repo = drift_repo(files=AUTO)
    repo.env.update(github.env())
    # A change to the very attribute that will drift lands on main and is not applied (on-merge
    # refused it, say): putting the drift back would apply it without its approval.
    repo.commit(
        {"stacks/aws/storage/main.tf": STORAGE_TF.replace('owner = "platform"', 'owner = "team-x"')},
        "owner team-x",
    )
    repo.set_bucket_tags({"owner": "intruder", "environment": "prod"})
    _, data = repo.drift()
    storage = outcome(data, "aws/storage")
    assert storage["action"] == "opened"
    assert "the stack is out-of-sync" in storage["reconcile"]
    assert repo.bucket_tags()["owner"] == "intruder"
    assert reconcile_records(repo) == []


DENY_BUCKET_UPDATES = """package main

import rego.v1

deny contains msg if {
	some rc in input.resource_changes
	rc.type == "aws_s3_bucket"
	"update" in rc.change.actions
	msg := sprintf("%s: buckets are changed by people only", [rc.address])
}
"""


def test_the_default_branchs_policies_judge_the_remediation_not_the_work_trees(
    drift_repo: Callable[..., DriftRepo], github: FakeGitHub
) -> None:
    repo = drift_repo(files={**AUTO, "policies/people_only.rego": DENY_BUCKET_UPDATES})
    repo.env.update(github.env())
    # The checkout drops the policy in a commit main does not have (outside the stack's files, so
    # the stack's code is still main's): the remediation is still judged by main's policies.
    (repo.root / "policies/people_only.rego").write_text("package main\n")
    repo.git("commit", "-qam", "no more policy")
    repo.set_bucket_tags({"owner": "intruder", "environment": "prod"})
    _, data = repo.drift()
    storage = outcome(data, "aws/storage")
    assert storage["action"] == "opened"
    assert storage["reconcile"] == "the default branch's policies deny the remediation plan"
    assert repo.bucket_tags()["owner"] == "intruder"
    assert reconcile_records(repo) == []


def test_a_scan_by_reconcile_setting_in_a_checkout_behind_main_applies_nothing(
    drift_repo: Callable[..., DriftRepo], github: FakeGitHub
) -> None:
    """`drift --reconcile pr` (the drift workflow's read-only job) picks stacks by the checkout.
    If main changed the setting after the checkout (here: every stack set to auto), the scan
    refuses the stack (its checkout differs from main): nothing applied with that identity."""
    repo = drift_repo(files=ESTATE)
    repo.env.update(github.env())
    config = repo.root / "orchestrate.yaml"
    config.write_text(config.read_text() + "reconcile: auto\n")
    repo.git("commit", "-q", "-am", "reconcile: auto")
    repo.git("push", "-q", "origin", "HEAD:main")
    repo.git("reset", "-q", "--hard", "HEAD~1")
    repo.set_bucket_tags({"owner": "intruder", "environment": "prod"})
    res = repo.run("list", "--reconcile", "auto", "--format", "json", ok=(0,))
    assert json.loads(res.stdout)["stacks"] == []  # the checkout says pr
    _, data = repo.drift("--reconcile", "pr", ok=(1,))
    storage = outcome(data, "aws/storage")
    assert storage["action"] == "failed" and "differs from main" in storage["error"], storage
    assert repo.bucket_tags()["owner"] == "intruder"
    assert reconcile_records(repo) == []
