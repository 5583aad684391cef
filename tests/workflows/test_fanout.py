"""Fan-out through the shipped workflows (issue 15, item 5): a selection larger than the threshold
plans on one job per shard, one merge job posts the one plan comment, and the apply runs one job
per wave, in order, each wave adding its result to ONE apply comment on the pull request.

The waves run on separate runners: wave 1 finds wave 0's applies only because the state lives
in the emulated S3 bucket (docs/ci.md), not on any runner.
"""

from __future__ import annotations

import json

import pytest

from orchestrator.github import parse_marker
from tests.workflows.conftest import BUCKET, Estate
from tests.workflows.test_loop import bootstrap

pytestmark = pytest.mark.integration

PROJECT = "stacks/gcp/dev/project/main.tf"
STORAGE = "stacks/aws/dev/storage/terraform.tfvars"


def fan_out_at(estate: Estate, threshold: int) -> None:
    """What a user does to tune fan-out: edit the threshold in the workflows' env, on main."""
    files = {}
    for name in ("plan", "apply"):
        rel = str(estate.workflow(name).relative_to(estate.clone))
        text = (estate.clone / rel).read_text()
        assert 'ORCHESTRATE_FANOUT_THRESHOLD: "20"' in text
        files[rel] = text.replace(
            'ORCHESTRATE_FANOUT_THRESHOLD: "20"', f'ORCHESTRATE_FANOUT_THRESHOLD: "{threshold}"'
        )
    estate.push("main", files, f"fan out above {threshold} stack(s) per job")


@pytest.mark.timeout(1500)
def test_plan_shards_and_apply_waves_through_the_workflows_post_one_comment_each(estate: Estate) -> None:
    bootstrap(estate)
    gh, world = estate.github, estate.world
    gh.grant("bob", "write")
    fan_out_at(estate, 1)

    # The dev project gets a label and dev storage (its dependent) a longer retention: two waves.
    text = (estate.clone / PROJECT).read_text()
    tfvars = (estate.clone / STORAGE).read_text()
    changed = text.replace(
        "labels     = module.labels.labels", 'labels     = merge(module.labels.labels, { tier = "dev" })'
    )
    assert changed != text
    retention = tfvars.replace("message_retention_seconds = 345600", "message_retention_seconds = 604800")
    assert retention != tfvars
    head = estate.push("tier", {PROJECT: changed, STORAGE: retention}, "dev project: tier label; a week")
    gh.add_pull(21, head_ref="tier", track_branch=True, author="alice")
    payload, sha = estate.pull_request_event(21)
    plan = estate.run("plan", "pull_request", payload, sha=sha, ref="refs/pull/21/merge")
    assert plan.ok, plan.explain()
    assert [r.matrix for r in plan.jobs["plan"]] == [{"shard": 1}, {"shard": 2}, {"shard": 3}]
    assert plan.job("merge").result == "success"
    comments = gh.issue_comments(21)
    assert len(comments) == 1 and (parse_marker(comments[0]["body"]) or ("", 0))[0] == "plan", comments
    artifact = world.artifact(f"plan-set-21-{head}")
    assert artifact is not None
    manifest = json.loads((artifact.files / "manifest.json").read_text())
    assert [s["stack"] for s in manifest["stacks"]] == ["gcp/dev/project", "aws/dev/storage", "azure/dev/hub"]

    gh.add_review(21, "bob", "APPROVED")
    apply = estate.run("apply", "issue_comment", estate.comment_event(21, "/orchestrate apply"))
    assert apply.ok, apply.explain()
    assert [(r.matrix, r.result) for r in apply.jobs["apply"]] == [
        ({"wave": 0}, "success"),
        ({"wave": 1}, "success"),
    ]
    for wave in (0, 1):
        assert world.artifact(f"orchestrate-audit-21-{head}-{wave}") is not None
    # orchestrate's comments (bob wrote `/orchestrate apply`): the plan, and one for both waves.
    ours = [c["body"] for c in gh.issue_comments(21) if c["user"]["login"] != "bob"]
    keys = [(parse_marker(b) or ("", 0))[0] for b in ours]
    assert keys == ["plan", f"apply/{manifest['id']}"], ours
    results = ours[1:]
    body = results[0]
    assert "✅ orchestrate apply: applied" in body and "2 waves" in body, body
    assert "| 0 | `gcp/dev/project` | ✅ applied |" in body, body
    assert "| 1 | `aws/dev/storage` | ✅ applied |" in body, body
    # State lives in the bucket, not on a runner: wave 1 saw wave 0's apply; nothing stayed local.
    keys = {o["Key"] for o in estate.boto("s3").list_objects_v2(Bucket=BUCKET).get("Contents", [])}
    assert {"gcp/dev/project/terraform.tfstate", "aws/dev/storage/terraform.tfstate"} <= keys, keys
    for job in apply.jobs["apply"]:
        assert job.workspace is not None
        # (.terraform/terraform.tfstate is terraform's note of the backend's settings, not state)
        local = [p for p in job.workspace.rglob("terraform.tfstate") if ".terraform" not in p.parts]
        assert not local, local
