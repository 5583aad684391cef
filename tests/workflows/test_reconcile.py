"""`reconcile: auto` through the shipped drift workflow (issue 18 item 2, docs/ci.md): the stacks
set to auto are scanned by a job that holds the apply identity behind the production
environment, which puts their drift back and pushes the record; every other stack is scanned
with the read-only plan identity, which applies nothing."""

from __future__ import annotations

import pytest

from tests.workflows.conftest import APPLY_SECRETS, SECRETS, Estate
from tests.workflows.test_loop import _bucket_tags, bootstrap, remote_records

pytestmark = pytest.mark.integration


@pytest.mark.timeout(1200)
def test_an_auto_stack_is_put_back_by_the_apply_identity_job_and_recorded(auto_estate: Estate) -> None:
    estate = auto_estate
    bootstrap(estate)
    tags, bucket = _bucket_tags(estate)
    s3 = estate.boto("s3")
    s3.put_bucket_tagging(
        Bucket=bucket,
        Tagging={"TagSet": [{"Key": k, "Value": "intruder" if k == "owner" else v} for k, v in tags.items()]},
    )

    run = estate.run("drift", "schedule", {"schedule": "17 5 * * *"})
    assert run.ok, run.explain()
    scan = run.job("drift")
    assert scan.outputs["auto"] == "1" and scan.outputs.get("prs_count") == "0", scan.outputs
    assert scan.environment is None
    assert {r for _, r, _ in scan.logins} == {
        SECRETS["AWS_PLAN_ROLE_ARN"],
        SECRETS["GCP_PLAN_SERVICE_ACCOUNT"],
        SECRETS["AZURE_PLAN_CLIENT_ID"],
    }
    fix = run.job("reconcile")
    assert fix.result == "success" and fix.environment == "production"
    assert {r for _, r, _ in fix.logins} == set(APPLY_SECRETS.values())
    assert {s for _, _, s in fix.logins} == {"repo:acme/infra:environment:production"}
    assert fix.concurrency == "orchestrate-reconcile"

    # Put back, no pull request, and the automatic apply is on record in the remote's notes.
    assert _bucket_tags(estate)[0] == tags
    assert not [
        p for p in estate.github.pulls.values() if str(p["_head_ref"]).startswith("orchestrate/drift/")
    ]
    auto = [r for r in remote_records(estate) if (r.get("approval") or {}).get("source") == "reconcile"]
    assert [s["stack"] for r in auto for s in r["stacks"]] == ["aws/dev/storage"], auto
    assert "reconciled" in fix.summary
    assert run.job("plan").result == "skipped"
