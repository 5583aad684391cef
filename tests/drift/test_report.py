"""The report: SPEC §8's JSON fields, exit codes, the fingerprint, renderers and redaction."""

from __future__ import annotations

import json

from orchestrator.drift.model import Changed, Diff, DriftReport, Missing, StackDrift, Unmanaged, fingerprint
from orchestrator.redact import Redactor
from orchestrator.render.drift import render, rule_text, to_markdown, value_text

CHANGED = Changed(
    "aws_s3_bucket.logs", "aws_s3_bucket", "acme-logs", (Diff(("tags", "owner"), "team-a", "team-b"),)
)
MISSING = Missing("aws_sqs_queue.jobs", "aws_sqs_queue", "https://q")


def report(
    *stacks: StackDrift, unmanaged: tuple[Unmanaged, ...] = (), incomplete: tuple[str, ...] = ()
) -> DriftReport:
    return DriftReport("2026-01-01T00:00:00Z", "abc123", stacks, unmanaged, incomplete)


def test_json_has_specs_stable_field_names() -> None:
    data = report(
        StackDrift("aws/storage", "api", changed=(CHANGED,), missing=(MISSING,), resources=42),
        StackDrift("aws/iam", "api", resources=3),
        unmanaged=(Unmanaged("aws_s3_bucket", "shadow-bucket", "aws-prod"),),
    ).to_dict()
    assert list(data)[:5] == ["scanned_at", "commit", "summary", "stacks", "unmanaged"]
    spec_fields = ("stacks", "drifted", "errors", "resources", "changed", "missing", "unmanaged")
    assert {k: data["summary"][k] for k in spec_fields} == {
        "stacks": 2,
        "drifted": 1,
        "errors": 0,
        "resources": 45,
        "changed": 1,
        "missing": 1,
        "unmanaged": 1,
    }
    storage = data["stacks"][0]
    assert {k: storage[k] for k in ("stack", "status", "error", "changed", "missing")} == {
        "stack": "aws/storage",
        "status": "drifted",
        "error": None,
        "changed": [
            {
                "address": "aws_s3_bucket.logs",
                "type": "aws_s3_bucket",
                "id": "acme-logs",
                "diffs": [{"path": "tags.owner", "expected": "team-a", "actual": "team-b"}],
            }
        ],
        "missing": [{"address": "aws_sqs_queue.jobs", "type": "aws_sqs_queue", "id": "https://q"}],
    }
    assert data["unmanaged"] == [{"type": "aws_s3_bucket", "id": "shadow-bucket", "cloud": "aws-prod"}]


def test_exit_codes() -> None:
    assert report(StackDrift("a", "api")).exit_code == 0
    assert report(StackDrift("a", "api", missing=(MISSING,))).exit_code == 2
    assert report(StackDrift("a", "api"), unmanaged=(Unmanaged("t", "i", "c"),)).exit_code == 2
    # An error outranks drift: part of the estate was not read.
    assert (
        report(StackDrift("a", "api", missing=(MISSING,)), StackDrift("b", "api", error="x")).exit_code == 1
    )
    assert report(StackDrift("a", "api"), incomplete=("aws-prod: sqs not listed",)).exit_code == 1
    erred = StackDrift("a", "api", error="boom", changed=(CHANGED,))
    assert erred.status == "error"
    assert report(erred).summary()["drifted"] == 0


def test_fingerprint_ignores_time_order_and_counts_but_not_drift() -> None:
    a = StackDrift("s", "api", changed=(CHANGED,), missing=(MISSING,), resources=5).to_dict()
    b = StackDrift("s", "refresh", changed=(CHANGED,), missing=(MISSING,), resources=9).to_dict()
    assert fingerprint(a) == fingerprint(b)
    two = Changed(
        CHANGED.address, CHANGED.type, CHANGED.id, (Diff(("tags", "b"), 1, 2), Diff(("tags", "a"), 1, 2))
    )
    two_rev = Changed(CHANGED.address, CHANGED.type, CHANGED.id, tuple(reversed(two.diffs)))
    assert fingerprint(StackDrift("s", "api", changed=(two,)).to_dict()) == fingerprint(
        StackDrift("s", "api", changed=(two_rev,)).to_dict()
    )
    other = Changed(CHANGED.address, CHANGED.type, CHANGED.id, (Diff(("tags", "owner"), "team-a", "team-c"),))
    assert fingerprint(StackDrift("s", "api", changed=(other,)).to_dict()) != fingerprint(a)
    r1 = report(StackDrift("s", "api", changed=(CHANGED,))).to_dict()
    r2 = DriftReport("2030-01-01T00:00:00Z", "def", (StackDrift("s", "api", changed=(CHANGED,)),)).to_dict()
    assert r1["stacks"][0]["fingerprint"] == r2["stacks"][0]["fingerprint"]


def test_redaction_happens_before_fingerprinting_and_reaches_every_field() -> None:
    secret = Changed("aws_x.y", "aws_x", "id-topsecret-1", (Diff(("tags", "k"), "topsecret-1", "v"),))
    redactor = Redactor([r"topsecret-\d"])
    data = report(
        StackDrift("s", "api", changed=(secret,), error=None), unmanaged=(Unmanaged("t", "topsecret-2", "c"),)
    ).to_dict(redact=redactor.data)
    text = json.dumps(data)
    assert "topsecret" not in text
    assert data["stacks"][0]["fingerprint"] == fingerprint(data["stacks"][0])
    # The typed redacted report (what renderers and drift pull requests take) says the same.
    shown = report(
        StackDrift("s", "api", changed=(secret,), error=None), unmanaged=(Unmanaged("t", "topsecret-2", "c"),)
    ).redacted(redactor.data)
    assert shown.to_dict() == data
    assert shown.stacks[0].fingerprint == data["stacks"][0]["fingerprint"]


def test_markdown_and_table_show_every_finding() -> None:
    rule = {
        "protocol": "tcp", "from_port": 22, "to_port": 22, "description": "ssh", "cidr_blocks": ["0.0.0.0/0"],
        "ipv6_cidr_blocks": [], "prefix_list_ids": [], "security_groups": [], "self": False,
    }  # fmt: skip
    sg = Changed("aws_security_group.web", "aws_security_group", "sg-1", (Diff(("ingress",), None, rule),))
    typed = report(
        StackDrift("aws/net", "api", changed=(sg, CHANGED), missing=(MISSING,), resources=2),
        StackDrift("aws/iam", "api", error="aws_iam_role could not be read: AccessDenied"),
        unmanaged=(Unmanaged("aws_s3_bucket", "shadow|bucket", "aws-prod"),),
        incomplete=("aws-prod: aws_sqs_queue could not be listed",),
    )
    data = typed.to_dict()
    md = to_markdown(data)
    assert "| `aws_security_group.web` | `ingress` | `(none)` | `tcp 22 from 0.0.0.0/0 (ssh)` |" in md
    assert "**Error:** aws_iam_role could not be read: AccessDenied" in md
    assert "`shadow\\|bucket`" in md
    assert "> **Incomplete:** aws-prod: aws_sqs_queue could not be listed" in md
    assert render(typed, "markdown") == md
    table = render(typed, "table")
    for needle in ("aws/net", "drifted", "tags.owner", "missing", "unmanaged", "AccessDenied", "incomplete:"):
        assert needle in table
    assert json.loads(render(typed, "json")) == data
    prs = [{"stack": "aws/net", "action": "opened", "number": 3}]
    assert json.loads(render(typed, "json", pull_requests=prs)) == {**data, "pull_requests": prs}
    assert typed.to_dict() == data  # rendering changed nothing: the report is frozen


def test_values_are_shown_on_one_line_and_cut() -> None:
    assert value_text(None) == "(none)"
    assert value_text({"b": 1, "a": [1, 2]}) == '{"a":[1,2],"b":1}'
    assert value_text("x" * 500, 20) == "x" * 19 + "…"
    assert value_text("a\nb") == "a b"
    assert rule_text({"protocol": "-1", "from_port": 0, "to_port": 0, "self": True}) == "all from self"


def test_coverage_in_every_format_and_partial_is_never_plain_clean() -> None:
    from orchestrator.drift.model import Coverage

    partial = StackDrift(
        "gcp/base",
        "api",
        resources=2,
        unchecked=("google_dns_managed_zone.zone",),
        coverage=Coverage.of(
            [
                ("api", "google_storage_bucket"),
                ("api", "google_storage_bucket"),
                ("none", "google_dns_managed_zone"),
            ]
        ),
    )
    full = StackDrift("aws/iam", "refresh", resources=1, coverage=Coverage(refresh={"aws_iam_role": 1}))
    r = report(partial, full)
    data = json.loads(render(r, "json"))
    assert data["summary"]["coverage"] == {
        "api": 2,
        "refresh": 1,
        "none": 1,
        "by_type": {
            "aws_iam_role": {"api": 0, "refresh": 1, "none": 0},
            "google_dns_managed_zone": {"api": 0, "refresh": 0, "none": 1},
            "google_storage_bucket": {"api": 2, "refresh": 0, "none": 0},
        },
    }
    assert data["summary"]["partial"] == 1
    assert [s["complete"] for s in data["stacks"]] == [False, True]
    md = render(r, "markdown")
    assert "clean (partial)" in md and "| `gcp/base` | `google_dns_managed_zone` | 0 | 0 | 1 |" in md
    assert "| **all** | `google_storage_bucket` | 2 | 0 | 0 |" in md
    table = render(r, "table")
    assert "clean (partial)" in table and "2/0/1" in table and "0/1/0" in table
    assert "not compared 1" in table
