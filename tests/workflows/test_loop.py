"""The shipped workflows, step by step, on the example estate and the emulated clouds (issue 15,
Done-when): plan -> approve -> apply -> out-of-band change -> drift -> drift PR -> apply.

Nothing but GitHub is faked: every `run:` line of the workflows and of action.yml runs as written,
orchestrate runs from the tool checkout the workflow made, terraform 1.11.4 from the setup step,
state lives in the emulated S3 bucket with a DynamoDB lock table, and the jobs reach the clouds
only after an OIDC login whose role trusts the job's subject claim.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TERRAFORM_BINARIES, git
from tests.workflows.conftest import APPLY_SECRETS, SECRETS, Estate

pytestmark = pytest.mark.integration

STACK = "stacks/aws/dev/storage/terraform.tfvars"


def _bucket_tags(estate: Estate) -> tuple[dict[str, str], str]:
    s3 = estate.boto("s3")
    buckets = [b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith("acme-dev-assets")]
    assert buckets, s3.list_buckets()["Buckets"]
    return {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=buckets[0])["TagSet"]}, buckets[0]


def remote_records(estate: Estate) -> list[dict[str, Any]]:
    """Every apply record in the remote's refs/notes/orchestrate."""
    listing = git(estate.bare, "notes", "--ref=orchestrate", "list")
    out = []
    for line in listing.splitlines():
        _, commit = line.split()
        note = git(estate.bare, "notes", "--ref=orchestrate", "show", commit)
        out += [json.loads(x) for x in note.splitlines() if x.strip()]
    return out


def remote_record(estate: Estate, commit: str) -> dict[str, Any]:
    """The newest apply record in the remote's refs/notes/orchestrate on ``commit``."""
    note = git(estate.bare, "notes", "--ref=orchestrate", "show", commit)
    lines = [json.loads(line) for line in note.splitlines() if line.strip()]
    assert lines, note
    return lines[-1]


def bootstrap(estate: Estate) -> None:
    """main's estate applied before the story starts (state in the emulated S3 bucket)."""
    newest = {b.version: b.path for b in TERRAFORM_BINARIES}["1.11.4"]
    env = {**estate.env, "PATH": f"{Path(newest).parent}{os.pathsep}{os.environ['PATH']}"}
    if estate.age_identity is not None:  # the operator's own machine holds the identity
        env["ORCHESTRATE_AGE_IDENTITY"] = estate.age_identity
    for _ in range(3):
        res = estate.cli("--repo", str(estate.account), "plan", env=env)
        assert res.exit_code in (0, 2), res.output
        if res.exit_code == 0:
            return
        res = estate.cli(
            "--repo", str(estate.account), "apply", "--approved-by", "ops", "--reason", "bootstrap", env=env
        )
        assert res.exit_code in (0, 2), res.output
    pytest.fail("the example estate did not converge")


@pytest.mark.timeout(1200)
@pytest.mark.parametrize("estate", [False, True], indirect=True, ids=["clear", "encrypted"])
def test_plan_approve_apply_drift_drift_pr_apply_through_the_shipped_workflows(estate: Estate) -> None:
    bootstrap(estate)
    gh = estate.github
    gh.grant("bob", "write")  # approvals count only from people with write access
    world = estate.world
    text = (estate.clone / STACK).read_text()
    assert "message_retention_seconds = 345600" in text, text
    tags, bucket = _bucket_tags(estate)

    # 1. A pull request changes one stack; the plan workflow runs on pull_request.
    head = estate.push(
        "feature",
        {STACK: text.replace("message_retention_seconds = 345600", "message_retention_seconds = 604800")},
        "dev storage: keep jobs for a week",
    )
    gh.add_pull(12, head_ref="feature", track_branch=True, author="alice")
    payload, sha = estate.pull_request_event(12)
    plan = estate.run("plan", "pull_request", payload, sha=sha, ref="refs/pull/12/merge")
    assert plan.ok, plan.explain()
    assert sha == head
    comments = gh.issue_comments(12)
    assert len(comments) == 1 and "aws/dev/storage" in comments[0]["body"], comments
    assert gh.latest_statuses(head)["orchestrate/plan"]["state"] in ("success", "pending"), (
        gh.latest_statuses(head)
    )
    artifact = world.artifact(f"plan-set-12-{head}")
    assert artifact is not None and (artifact.files / "manifest.json").is_file()
    manifest = json.loads((artifact.files / "manifest.json").read_text())
    assert [s["stack"] for s in manifest["stacks"]] == ["aws/dev/storage"] and manifest["commit"] == head
    if estate.age_identity is not None:  # plan_sets.encrypt_to: the plan job held only the public key
        assert manifest["encryption"]["format"] == "age"
        slug = manifest["stacks"][0]["slug"]
        for name in ("plan.tfplan", "plan.json"):
            assert (artifact.files / slug / name).read_bytes().startswith(b"age-encryption.org/v1\n")
    else:
        assert "encryption" not in manifest
    plan_job = plan.job("plan")
    assert {(p, r) for p, r, _ in plan_job.logins} == {
        ("aws", SECRETS["AWS_PLAN_ROLE_ARN"]),
        ("gcp", SECRETS["GCP_PLAN_SERVICE_ACCOUNT"]),
        ("azure", SECRETS["AZURE_PLAN_CLIENT_ID"]),
    }
    assert {s for _, _, s in plan_job.logins} == {"repo:acme/infra:pull_request"}

    # A re-run replaces the plan set instead of failing on the artifact name.
    again = estate.run("plan", "workflow_dispatch", {"inputs": {"pr": "12"}})
    assert again.ok, again.explain()

    # 2. Someone other than the author approves; `/orchestrate apply` runs the default branch's workflow.
    gh.add_review(12, "bob", "APPROVED")
    noise = estate.run("apply", "issue_comment", estate.comment_event(12, "LGTM, thanks!"))
    assert noise.ok and all(r.result == "skipped" for rs in noise.jobs.values() for r in rs)
    assert noise.concurrency is None  # an unrelated comment joins no concurrency group
    apply = estate.run("apply", "issue_comment", estate.comment_event(12, "/orchestrate apply"))
    assert apply.ok, apply.explain()
    job = apply.job("apply")
    assert job.environment == "production" and job.concurrency == "orchestrate-apply-12-all"
    assert {r for _, r, _ in job.logins} == set(APPLY_SECRETS.values())
    sqs = estate.boto("sqs")
    url = sqs.get_queue_url(QueueName="acme-dev-jobs")["QueueUrl"]
    retention = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["MessageRetentionPeriod"])
    assert retention["Attributes"]["MessageRetentionPeriod"] == "604800"
    results = [c["body"] for c in gh.issue_comments(12) if "applied" in c["body"].lower()]
    assert results, [c["body"][:200] for c in gh.issue_comments(12)]
    audit = world.artifact(f"orchestrate-audit-12-{head}-all")
    assert audit is not None, [a.name for a in world.artifacts]
    records = [json.loads(line) for line in (audit.files / "audit.jsonl").read_text().splitlines()]
    assert records[-1]["result"] == "applied" and records[-1]["approval"]["approver"] == "bob"
    # The durable record (a git note) reached the remote: the job's clone is thrown away, and its
    # checkout kept no credentials, so orchestrate authenticated that one push with the job token.
    note = remote_record(estate, head)
    assert note["pr"] == 12 and note["result"] == "applied", note
    assert [s["stack"] for s in note["stacks"]] == ["aws/dev/storage"], note
    assert job.token not in json.dumps(note)
    estate.merge("feature")

    # 3. Out of band, through the SDK: the owner tag changes behind terraform's back.
    s3 = estate.boto("s3")
    s3.put_bucket_tagging(
        Bucket=bucket,
        Tagging={"TagSet": [{"Key": k, "Value": "intruder" if k == "owner" else v} for k, v in tags.items()]},
    )

    # 4. The scheduled drift scan opens a drift pull request and plans it itself.
    approvals = len(world.approvals)
    drift = estate.run("drift", "schedule", {"schedule": "17 5 * * *"})
    assert drift.ok, drift.explain()
    # No stack is set to reconcile: auto: the scan holds the plan identity only, and the job with
    # the apply identity neither runs nor waits for the production environment.
    assert drift.job("drift").outputs["auto"] == "0"
    assert drift.job("reconcile").result == "skipped" and len(world.approvals) == approvals
    assert world.artifact(f"drift-report-{drift.run_id}-1") is not None
    drift_prs = [p for p in gh.pulls.values() if str(p["_head_ref"]).startswith("orchestrate/drift/")]
    assert [p["_head_ref"] for p in drift_prs] == ["orchestrate/drift/aws-dev-storage"], drift_prs
    number = drift_prs[0]["_number"]
    drift_head = gh._pull_json(number)["head"]["sha"]
    assert gh.latest_statuses(drift_head)["orchestrate/plan"]["state"] in ("success", "pending")
    assert any("aws/dev/storage" in c["body"] for c in gh.issue_comments(number))
    drift_set = world.artifact(f"plan-set-{number}-{drift_head}")
    assert drift_set is not None
    drift_manifest = json.loads((drift_set.files / "manifest.json").read_text())
    assert ("encryption" in drift_manifest) is (estate.age_identity is not None)

    # 5. Approval and apply of the drift pull request: the declared value is back.
    gh.add_review(number, "bob", "APPROVED")
    fix = estate.run("apply", "issue_comment", estate.comment_event(number, "/orchestrate apply"))
    assert fix.ok, fix.explain()
    assert _bucket_tags(estate)[0] == tags

    # 6. A scan by hand of that stack only is clean again.
    clean = estate.run("drift", "workflow_dispatch", {"inputs": {"stacks": "aws/dev/storage", "mode": "api"}})
    assert clean.ok, clean.explain()
    assert clean.job("drift").outputs.get("prs_count") in ("0", "")
