"""The PR comment and plan diffs, against golden files rendered from real plan JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrator.planset import read_manifest
from orchestrator.pr.view import comment_data
from orchestrator.redact import Redactor
from orchestrator.render.comment import (
    COMMENT_LIMIT,
    overall_status,
    parse_plan_set_block,
    plan_set_block,
    render_comment,
    status_for,
)
from orchestrator.render.plandiff import render_plan_diff
from orchestrator.terraform.plan import placeholder
from orchestrator.workspace import Workspace
from tests.pr.planfixtures import StackSpec, check_golden, plan_json, policy_doc, write_plan_set

FIXTURES = ["create", "update", "replace", "delete", "noop", "outputs", "aws"]

ESTATE = {
    "orchestrate.yaml": "version: 1\nclouds:\n  aws-prod: {provider: aws, region: eu-west-1}\n",
    "stacks/net/stack.yaml": "cloud: aws-prod\nenvironment: prod\n",
    "stacks/app/stack.yaml": "cloud: aws-prod\nenvironment: prod\ndepends_on: [net]\n",
    "stacks/db/stack.yaml": "cloud: aws-prod\nenvironment: prod\ndepends_on: [net]\n",
    "stacks/idle/stack.yaml": "environment: dev\n",
    "stacks/outs/stack.yaml": "environment: dev\n",
    "stacks/legacy/stack.yaml": "environment: dev\n",
    "stacks/edge/stack.yaml": "cloud: aws-prod\nenvironment: prod\n",
    "stacks/broken/stack.yaml": "environment: dev\n",
    "stacks/child/stack.yaml": "environment: dev\ndepends_on: [broken]\n",
    "stacks/prov/stack.yaml": "environment: prod\ninputs:\n  vpc_id: net.vpc_id\n",
}
for _d in {k.rsplit("/", 1)[0] for k in list(ESTATE) if k.startswith("stacks/")}:
    ESTATE[f"{_d}/main.tf"] = ""

REASONS = {
    "net": ["module modules/network (modules/network/main.tf)"],
    "app": ["changed file stacks/app/main.tf", "dependent of net"],
    "db": ["dependent of net"],
    "prov": ["dependent of net"],
    "idle": ["changed file stacks/idle/stack.yaml"],
    "outs": ["changed file stacks/outs/outputs.tf"],
    "legacy": ["changed file stacks/legacy/main.tf"],
    "edge": ["watch ../../shared/*.tfvars (shared/prod.tfvars)"],
    "broken": ["changed file stacks/broken/main.tf"],
    "child": ["dependent of broken"],
}

LOG = """Initializing the backend...
╷
│ Error: Invalid reference
│
│   on main.tf line 3, in resource "terraform_data" "x":
│    3:   input = var.nope
│
│ An input variable with the name "nope" has not been declared.
╵
"""


def provisional_plan() -> dict[str, object]:
    doc = plan_json("create")
    text = json.dumps(doc).replace('"admin"', json.dumps(placeholder("vpc_id")))
    return json.loads(text)  # type: ignore[no-any-return]


def estate_specs() -> list[StackSpec]:
    return [
        StackSpec("net", plan="create", cloud="aws-prod", environment="prod"),
        StackSpec("idle", status="no-changes", plan="noop", environment="dev"),
        StackSpec("outs", plan="outputs", environment="dev"),
        StackSpec("legacy", plan="delete", environment="dev"),
        StackSpec("edge", plan="aws", cloud="aws-prod", environment="prod"),
        StackSpec(
            "broken",
            status="failed",
            environment="dev",
            error="terraform plan failed: Invalid reference (main.tf line 3)",
            log=LOG,
        ),
        StackSpec("app", plan="update", cloud="aws-prod", environment="prod"),
        StackSpec("db", plan="replace", cloud="aws-prod", environment="prod"),
        StackSpec(
            "prov",
            status="provisional",
            plan=provisional_plan(),
            environment="prod",
            provisional_on=["net"],
            inputs={"vpc_id": placeholder("vpc_id")},
        ),
        StackSpec("child", status="skipped", environment="dev", reason="upstream broken failed"),
    ]


POLICY = {
    "edge": [
        {
            "level": "deny",
            "rule": "main.deny",
            "policy": "S3_PUBLIC",
            "resource": "aws_security_group.web",
            "msg": "ingress from 0.0.0.0/0 is not allowed",
            "location": {"file": "policies/network.rego", "line": 12},
        },
        {
            "level": "warn",
            "rule": "main.warn",
            "resource": "aws_s3_bucket.assets",
            "msg": "tag 'cost-center' is missing",
        },
    ],
    "net": [],
    "app": [{"level": "warn", "rule": "main.warn", "msg": "consider <b>versioning</b> & tags"}],
}


@pytest.fixture
def estate(make_repo: Callable[..., Path]) -> Workspace:
    return Workspace.load(make_repo(ESTATE), use_cache=False)


@pytest.mark.parametrize("name", FIXTURES)
def test_plan_diff_golden(name: str) -> None:
    text, _ = render_plan_diff(plan_json(name))
    check_golden(f"diff-{name}.txt", text)


def test_plan_diff_marks_placeholders_with_their_upstream() -> None:
    text, _ = render_plan_diff(provisional_plan(), placeholders={placeholder("vpc_id"): "net"})
    assert "(known after net applies)" in text
    assert "orchestrate-unknown" not in text


@pytest.mark.parametrize("name", ["create", "aws"])
def test_plan_diff_masks_values_by_their_sensitivity_markers(name: str) -> None:
    # terraform_data's `output` attribute repeats `input` unmarked in update/replace/delete
    # plans; the comment's Redactor masks those (test_redaction.py), the diff masks by marker.
    text, _ = render_plan_diff(plan_json(name))
    for secret in ("hunter2-SECRET-pw", "ak-SECRET-0000-1111", "ak-old-SECRET", "c2VjcmV0", "bmV3"):
        assert secret not in text
    assert "(sensitive value)" in text


def test_full_comment_golden(estate: Workspace, tmp_path: Path) -> None:
    manifest = write_plan_set(tmp_path / "ps", estate_specs(), policy=policy_doc(POLICY), pr=42)
    data, redactor = comment_data(
        estate,
        tmp_path / "ps",
        manifest,
        reasons=REASONS,
        deleted=["old/stack"],
        run_url="https://github.com/acme/infra/actions/runs/1",
        pr=42,
        where_full="the `plan-set` artifact",
    )
    parts = render_comment(data, redactor)
    assert len(parts) == 1
    check_golden("comment-estate.md", parts[0])


def test_no_change_comment_golden(estate: Workspace, tmp_path: Path) -> None:
    manifest = write_plan_set(tmp_path / "ps", [StackSpec("idle", status="no-changes", plan="noop")])
    data, redactor = comment_data(estate, tmp_path / "ps", manifest, where_full="the plan set")
    check_golden("comment-no-changes.md", render_comment(data, redactor)[0])


def test_the_hidden_block_names_the_plan_set_and_round_trips(estate: Workspace, tmp_path: Path) -> None:
    manifest = write_plan_set(tmp_path / "ps", estate_specs())
    data, redactor = comment_data(estate, tmp_path / "ps", manifest)
    body = render_comment(data, redactor)[0]
    ref = parse_plan_set_block(body)
    assert ref is not None
    assert ref.id == manifest.id and ref.commit == manifest.commit
    assert ref.stacks == {s.stack: s.plan_sha256 for s in manifest.stacks if s.plan_sha256}
    assert body.index("<!-- orchestrate:plan-set") < body.index("| Stack |")
    assert parse_plan_set_block(plan_set_block(read_manifest(tmp_path / "ps"))) == ref


@pytest.mark.parametrize(
    "text",
    ["", "no block", "<!-- orchestrate:plan-set {not json} -->", '<!-- orchestrate:plan-set {"id": 1} -->'],
)
def test_malformed_hidden_blocks_are_ignored(text: str) -> None:
    assert parse_plan_set_block(text) is None


def test_statuses_per_stack_and_overall(estate: Workspace, tmp_path: Path) -> None:
    manifest = write_plan_set(tmp_path / "ps", estate_specs(), policy=policy_doc(POLICY))
    data, _ = comment_data(estate, tmp_path / "ps", manifest)
    got = {s.plan.stack: status_for(s, data.enforcement) for s in data.sections}
    assert got["net"] == ("success", "+2 ~0 -0 ±0 · policy pass")
    assert got["idle"] == ("success", "no changes")
    assert got["edge"][0] == "failure" and "policy denied" in got["edge"][1]
    assert got["app"] == ("success", "+0 ~2 -0 ±0 · policy warnings")
    assert (
        got["broken"][0] == "failure"
        and got["broken"][1] == "plan failed: Invalid reference (main.tf line 3)"
    )
    assert got["child"] == ("error", "not planned: upstream broken failed")
    assert got["prov"][0] == "success" and got["prov"][1].startswith("provisional")
    assert overall_status(data) == (
        "failure",
        "1 failed, 1 skipped, 7 to change, 1 unchanged — blocked by policy",
    )


def test_advisory_denial_does_not_fail_the_status(estate: Workspace, tmp_path: Path) -> None:
    manifest = write_plan_set(
        tmp_path / "ps", [StackSpec("edge", plan="aws")], policy=policy_doc(POLICY, "advisory")
    )
    data, redactor = comment_data(estate, tmp_path / "ps", manifest)
    section = data.sections[0]
    assert status_for(section, data.enforcement)[0] == "success"
    assert "1 denied (advisory)" in render_comment(data, redactor)[0]


def test_comment_escapes_html_in_policy_messages(estate: Workspace, tmp_path: Path) -> None:
    manifest = write_plan_set(tmp_path / "ps", [StackSpec("app", plan="update")], policy=policy_doc(POLICY))
    data, redactor = comment_data(estate, tmp_path / "ps", manifest)
    body = render_comment(data, redactor)[0]
    assert "&lt;b&gt;versioning&lt;/b&gt; &amp; tags" in body and "<b>versioning" not in body


def test_a_backtick_fence_in_a_plan_does_not_break_the_block(estate: Workspace, tmp_path: Path) -> None:
    doc = plan_json("create")
    text = json.dumps(doc).replace('"web"', json.dumps("```\\n</details>"))
    manifest = write_plan_set(tmp_path / "ps", [StackSpec("net", plan=json.loads(text))])
    data, redactor = comment_data(estate, tmp_path / "ps", manifest)
    body = render_comment(data, redactor)[0]
    assert "````diff" in body


def test_every_part_fits_and_nothing_is_dropped_for_many_stacks(
    make_repo: Callable[..., Path], tmp_path: Path
) -> None:
    files = {f"stacks/s{i:03d}/stack.yaml": "{}\n" for i in range(120)}
    ws = Workspace.load(make_repo(files), use_cache=False)
    big = plan_json("aws")
    specs = [StackSpec(f"s{i:03d}", plan=big) for i in range(120)]
    manifest = write_plan_set(tmp_path / "ps", specs)
    data, redactor = comment_data(ws, tmp_path / "ps", manifest)
    parts = render_comment(data, redactor)
    assert len(parts) > 1
    assert all(len(p) <= COMMENT_LIMIT - 1000 for p in parts)
    joined = "\n".join(parts)
    for i in range(120):
        assert f"| `s{i:03d}` |" in joined  # every stack in the table
        assert f"<b>s{i:03d}</b>" in joined  # and its section
    for k in range(2, len(parts) + 1):
        assert f"(continued, part {k} of {len(parts)})" in parts[k - 1]
    assert "continues in" in parts[0]


def test_a_capped_comment_stubs_sections_instead_of_dropping_them(
    make_repo: Callable[..., Path], tmp_path: Path
) -> None:
    files = {f"stacks/s{i:03d}/stack.yaml": "{}\n" for i in range(120)}
    ws = Workspace.load(make_repo(files), use_cache=False)
    specs = [StackSpec(f"s{i:03d}", plan="aws") for i in range(120)]
    manifest = write_plan_set(tmp_path / "ps", specs)
    data, redactor = comment_data(ws, tmp_path / "ps", manifest)
    parts = render_comment(data, redactor, max_parts=2)
    assert len(parts) == 2
    joined = "\n".join(parts)
    assert joined.count("The plan is not shown: the comment reached its size limit") > 0
    for i in range(120):
        assert f"<b>s{i:03d}</b>" in joined


def test_a_2mb_plan_is_cut_with_a_note_saying_where_the_full_plan_is(
    estate: Workspace, tmp_path: Path
) -> None:
    doc = plan_json("create")
    template = doc["resource_changes"][1]
    changes = []
    for i in range(4000):
        rc = json.loads(json.dumps(template))
        rc["address"] = f"terraform_data.web[{i}]"
        rc["index"] = i
        rc["change"]["after"]["input"]["tags"] = {f"k{j}": f"value-{i}-{j}" for j in range(12)}
        changes.append(rc)
    doc["resource_changes"] = changes
    assert len(json.dumps(doc)) > 2_000_000
    manifest = write_plan_set(
        tmp_path / "ps", [StackSpec("net", plan=doc), StackSpec("idle", status="no-changes", plan="noop")]
    )
    data, redactor = comment_data(estate, tmp_path / "ps", manifest, where_full="the `plan-set` artifact")
    parts = render_comment(data, redactor)
    assert all(len(p) <= COMMENT_LIMIT - 1000 for p in parts)
    joined = "\n".join(parts)
    assert "✂️ **Plan cut here:**" in joined
    assert "The full plan is `net/plan.txt` in the `plan-set` artifact." in joined
    assert "terraform_data.web[0] will be created" in joined
    assert "| `idle` |" in joined  # the other stack is still there
    assert len(parts) == 1  # the cut plan fills the first part instead of starting a second


def test_a_plan_set_without_stacks_says_so(estate: Workspace, tmp_path: Path) -> None:
    manifest = write_plan_set(tmp_path / "ps", [])
    data, redactor = comment_data(estate, tmp_path / "ps", manifest)
    body = render_comment(data, redactor)[0]
    assert "no stacks are affected by this change" in body and "| Stack |" not in body
    assert overall_status(data) == ("success", "no stacks are affected by this change")


def test_job_summary_has_no_hidden_block_and_names_itself_in_notes(estate: Workspace, tmp_path: Path) -> None:
    from orchestrator.render.summary import render_plan_summary

    manifest = write_plan_set(tmp_path / "ps", estate_specs(), policy=policy_doc(POLICY))
    data, redactor = comment_data(estate, tmp_path / "ps", manifest, reasons=REASONS)
    text = render_plan_summary(data, redactor)
    assert "<!--" not in text and "| `edge` |" in text and "```mermaid" in text
    assert "hunter2" not in text


def test_apply_result_rendering() -> None:
    from orchestrator.render.summary import render_apply_result, render_refusal

    run = {
        "plan_set": "ps-1",
        "commit": "a" * 40,
        "approval": {"approver": "bob", "source": "github"},
        "stacks": [
            {"stack": "net", "status": "applied", "duration_s": 1.25},
            {"stack": "app", "status": "failed", "error": "Error: boom | pipe\nsecond line"},
            {"stack": "web", "status": "skipped", "detail": "upstream app failed"},
            {"stack": "prov", "status": "re-approval-needed", "differences": ["aws_x.y: update -> replace"]},
        ],
        "new_plan_set": "ps-2",
    }
    text = render_apply_result(run, Redactor(["boom"]), run_url="https://x/run")
    assert text.startswith("### ❌ orchestrate apply: 1 stack failed to apply")
    assert "| `net` | ✅ applied | — | 1.2 s |" in text or "| `net` | ✅ applied | — | 1.3 s |" in text
    assert "Error: (sensitive) \\| pipe second line" in text
    assert "aws_x.y: update -&gt; replace" in text and "ps-2" in text
    assert "approved by bob" in text and "[workflow run](https://x/run)" in text
    ok = render_apply_result(
        {"plan_set": "ps-1", "stacks": [{"stack": "net", "status": "applied"}]}, merged="b" * 40, pr=3
    )
    assert (
        ok.startswith("### ✅ orchestrate apply: applied (1 stack)")
        and "Merged pull request #3 as `bbbbbbbbbbbb`" in ok
    )
    refused = render_refusal("apply refused: pull request #3 has no approving review")
    assert "🛑" in refused and "Nothing was applied." in refused


def test_a_very_large_plan_set_keeps_part_one_within_the_limit(
    make_repo: Callable[..., Path], tmp_path: Path
) -> None:
    n = 1200
    files = {f"stacks/s{i:04d}/stack.yaml": "{}\n" for i in range(n)}
    ws = Workspace.load(make_repo(files), use_cache=False)
    manifest = write_plan_set(tmp_path / "ps", [StackSpec(f"s{i:04d}", plan="outputs") for i in range(n)])
    data, redactor = comment_data(ws, tmp_path / "ps", manifest)
    parts = render_comment(data, redactor)
    assert all(len(p) <= COMMENT_LIMIT - 1000 for p in parts)
    ref = parse_plan_set_block(parts[0])
    assert ref is not None and ref.id == manifest.id and ref.stacks == {}
    assert "too many to draw" in "\n".join(parts)
    joined = "\n".join(parts)
    assert all(f"| `s{i:04d}` |" in joined for i in range(n))
