"""drift_pr takes the typed drift report (StackDrift, DriftReport): what it derives from it is
byte-identical to what it derived from the report's JSON form before (values pinned from that
version), and the one dict it reads from outside, a drift record read back from Git, is checked."""

from __future__ import annotations

import hashlib
import json

from orchestrator.drift.model import Changed, Coverage, Diff, DriftReport, Missing, StackDrift
from orchestrator.drift_pr.autoapply import drift_evidence
from orchestrator.drift_pr.reconcile import drifted_paths
from orchestrator.drift_pr.record import build_record, parse_record, record_text
from orchestrator.drift_pr.run import _message
from orchestrator.render.drift_pr import drift_rows, title

# Computed with orchestrate before drift_pr took the typed report (from ``DriftReport.to_dict``):
# open drift pull requests are matched on the fingerprint, so it must never change.
PINNED_FINGERPRINT = "sha256:5564798c45641316ce30efe8ad10362501aa8b10f83a0a8d1758d6cfec18694e"
PINNED_RECORD_SHA256 = "70320c5983e5e0c04cb66afddefcd12b53f66c45a54565d75ef0978a8bc4d7a4"
PINNED_MESSAGE_SHA256 = "573f5745831d1c7cbbe9da8d648c0e560c706edf8caf3731022b82a23e9f90f3"
PINNED_EVIDENCE_SHA256 = "5924e226cb1a3e41efa8f25304438e84e4c827b8f7814670deac30e96380663c"
PINNED_ROWS_SHA256 = "cb80c1b854aa1735c818bf0ac453e70981afc70389608f235158ebcbf2e4c5b7"


def sample() -> StackDrift:
    """Out of order on purpose: the JSON form sorts resources by address and diffs by path."""
    return StackDrift(
        stack="aws/storage",
        mode="api",
        changed=(
            Changed(
                "aws_s3_bucket.z",
                "aws_s3_bucket",
                "bucket-z",
                (
                    Diff(("tags", "owner"), "platform", "intruder"),
                    Diff(("versioning", 0, "enabled"), True, False),
                    Diff(("a.b",), {"k": [1, 2]}, None),
                ),
            ),
            Changed("aws_s3_bucket.a", "aws_s3_bucket", None, (Diff(("policy",), "x", "y"),)),
        ),
        missing=(
            Missing("aws_sqs_queue.q", "aws_sqs_queue", "q"),
            Missing("aws_iam_role.r", "aws_iam_role", None),
        ),
        resources=7,
        unchecked=("x.y",),
        coverage=Coverage({"aws_s3_bucket": 2}),
    )


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_the_fingerprint_is_the_one_drift_pull_requests_were_opened_with() -> None:
    s = sample()
    report = DriftReport("2026-01-01T00:00:00Z", "c" * 40, (s,))
    assert s.fingerprint == PINNED_FINGERPRINT
    assert report.to_dict()["stacks"][0]["fingerprint"] == PINNED_FINGERPRINT


def test_record_commit_message_evidence_and_body_rows_are_unchanged() -> None:
    s = sample()
    report = DriftReport("2026-01-01T00:00:00Z", "c" * 40, (s,))
    record = build_record(s, scanned_at="t", scanned_commit="c")
    assert sha(record_text(record)) == PINNED_RECORD_SHA256
    assert record["changed"] == report.to_dict()["stacks"][0]["changed"]
    assert sha(_message(s)) == PINNED_MESSAGE_SHA256
    assert sha(json.dumps(drift_evidence(s, report), sort_keys=True)) == PINNED_EVIDENCE_SHA256
    assert sha("\n".join(drift_rows(s))) == PINNED_ROWS_SHA256
    assert title(s) == "Drift in aws/storage: 2 changed, 2 missing"
    assert drifted_paths(s) == {
        "aws_s3_bucket.a": {"policy"},
        "aws_s3_bucket.z": {"a\\.b", "tags.owner", "versioning.0.enabled"},
    }


def test_a_damaged_record_read_back_keeps_its_history_and_nothing_else_of_the_wrong_type() -> None:
    line = {"fingerprint": "sha256:old", "detected_at": "t0", "changed": ["x"], "missing": []}
    text = json.dumps(
        {
            "format": 1,
            "stack": ["not", "text"],
            "scanned_commit": 7,
            "changed": "x",
            "history": [line, "junk", 3],
        }
    )
    previous = parse_record(text)
    assert previous is not None
    assert previous["history"] == [line]
    assert (previous["stack"], previous["scanned_commit"], previous["changed"]) == ("", None, [])
    record = build_record(sample(), scanned_at="t1", scanned_commit=None, previous=previous)
    assert [h["fingerprint"] for h in record["history"]] == ["sha256:old", PINNED_FINGERPRINT]
    not_a_list = parse_record(json.dumps({"format": 1, "history": {"a": 1}}))
    assert not_a_list is not None and not_a_list["history"] == []
