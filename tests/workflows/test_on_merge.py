"""approval.mode: on-merge through the shipped workflows (issue 18 item 1, issue 15): plan on the
pull request, approve, merge, and the push to main applies the merged pull request's plan set
(`apply --merged`) behind the production environment. A merge that brought other changes to the
stack, and a direct push, apply nothing and fail with a failing orchestrate/apply status.
"""

from __future__ import annotations

import pytest

from tests.workflows.conftest import APPLY_SECRETS, Estate
from tests.workflows.harness import RunResult
from tests.workflows.test_loop import bootstrap, remote_records

pytestmark = pytest.mark.integration

STORAGE = "stacks/aws/dev/storage/terraform.tfvars"


def retention(estate: Estate) -> str:
    sqs = estate.boto("sqs")
    url = sqs.get_queue_url(QueueName="acme-dev-jobs")["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["MessageRetentionPeriod"])
    return str(attrs["Attributes"]["MessageRetentionPeriod"])


def planned_pull(estate: Estate, number: int, branch: str, seconds: int) -> str:
    """A pull request setting the dev queue's retention, planned by the plan workflow and approved."""
    text = (estate.clone / STORAGE).read_text()
    current = next(line for line in text.splitlines() if line.startswith("message_retention_seconds"))
    head = estate.push(
        branch,
        {STORAGE: text.replace(current, f"message_retention_seconds = {seconds}")},
        f"dev storage: retention {seconds}",
    )
    estate.github.add_pull(number, head_ref=branch, track_branch=True, author="alice")
    payload, sha = estate.pull_request_event(number)
    plan = estate.run("plan", "pull_request", payload, sha=sha, ref=f"refs/pull/{number}/merge")
    assert plan.ok, plan.explain()
    assert estate.world.artifact(f"plan-set-{number}-{head}") is not None
    estate.github.add_review(number, "bob", "APPROVED")
    return head


def on_push(estate: Estate, before: str, after: str) -> RunResult:
    return estate.run("apply", "push", estate.push_event(before, after), sha=after, ref="refs/heads/main")


@pytest.mark.timeout(1500)
def test_a_merged_approved_pull_request_is_applied_by_the_push_and_other_changes_are_refused(
    on_merge_estate: Estate,
) -> None:
    estate = on_merge_estate
    bootstrap(estate)
    gh = estate.github
    gh.grant("bob", "write")
    assert retention(estate) == "345600"

    # 1. Plan on the pull request, approve, merge: the push applies it.
    planned_pull(estate, 41, "week", 604800)
    before = estate.main_sha()
    merged = estate.merge_pull(41, "week")
    run = on_push(estate, before, merged)
    assert run.ok, run.explain()
    prepare = run.job("merged-prepare")
    assert prepare.outputs["mode"] == "on-merge" and prepare.outputs["pr"] == "41", prepare.outputs
    job = run.job("merged")
    assert job.result == "success" and job.environment == "production"
    assert job.concurrency == f"orchestrate-apply-merged-{merged}"
    assert {r for _, r, _ in job.logins} == set(APPLY_SECRETS.values())
    assert {s for _, _, s in job.logins} == {"repo:acme/infra:environment:production"}
    assert retention(estate) == "604800"
    assert estate.world.artifact(f"orchestrate-audit-merged-{merged}") is not None
    # The record reached the remote from the job's credential-less clone (docs/ci.md "Apply records").
    assert [r["result"] for r in remote_records(estate) if r.get("pr") == 41] == ["applied"]
    assert any("applied" in c["body"].lower() for c in gh.issue_comments(41)), gh.issue_comments(41)
    # The pull-request jobs of the workflow did not run on the push.
    assert all(r.result == "skipped" for r in run.jobs["prepare"] + run.jobs["apply"])

    # A push that changes no stack applies nothing and asks for no environment.
    approvals = len(estate.world.approvals)
    before = estate.main_sha()
    docs = estate.push("main", {"README.md": "The infrastructure of acme.\n"}, "readme")
    run = on_push(estate, before, docs)
    assert run.ok, run.explain()
    assert run.job("merged-prepare").outputs["stacks"] == "0"
    assert run.job("merged").result == "skipped" and len(estate.world.approvals) == approvals

    # 2. Another approved pull request; meanwhile main gains another change to the same stack.
    planned_pull(estate, 42, "fortnight", 1209600)
    before = estate.main_sha()
    direct = estate.push(
        "main",
        {"stacks/aws/dev/storage/NOTES.md": "Owned by the data team.\n"},
        "storage notes, pushed to main directly",
    )
    # A direct push is nobody's approved pull request: nothing is applied, the run fails.
    refused = on_push(estate, before, direct)
    assert refused.job("merged").result == "failure", refused.explain()
    assert "no pull request into main was merged" in "\n".join(refused.job("merged").log)

    merged = estate.merge_pull(42, "fortnight")
    run = on_push(estate, direct, merged)
    job = run.job("merged")
    assert job.result == "failure", run.explain()
    assert "needs approval" in "\n".join(job.log)
    assert retention(estate) == "604800"  # nothing applied
    assert gh.latest_statuses(merged)["orchestrate/apply"]["state"] == "failure"
    assert any("aws/dev/storage" in c["body"] for c in gh.issue_comments(42)[-1:]), gh.issue_comments(42)


def test_before_merge_mode_does_nothing_on_a_push(estate: Estate) -> None:
    """The default mode: the push job reads before-merge from main and asks for no environment."""
    before = estate.main_sha()
    after = estate.push("main", {"README.md": "infra\n"}, "readme")
    run = on_push(estate, before, after)
    assert run.ok, run.explain()
    assert run.job("merged-prepare").outputs["mode"] == "before-merge"
    assert run.job("merged").result == "skipped"
    assert not estate.world.approvals  # no job waited for the production environment
