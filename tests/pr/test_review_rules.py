"""The review rules' parts, directly: who blocks with a request for changes, and which rule a
pull request without enough approvals on its head fails first."""

from __future__ import annotations

from datetime import UTC, datetime

from orchestrator.github import Review
from orchestrator.pr.reviews import changes_requested, not_approved, standings

HEAD = "h" * 40
OLD = "o" * 40
PR = "pull request #7"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def rv(user: str, state: str, commit: str = HEAD, rid: int = 1) -> Review:
    return Review(user, state, commit, T0, rid)


def test_no_request_for_changes_blocks_nothing() -> None:
    assert changes_requested(standings([rv("bob", "APPROVED")]), "alice", PR) is None


def test_the_authors_own_request_for_changes_does_not_block() -> None:
    latest = standings([rv("Alice", "CHANGES_REQUESTED"), rv("bob", "APPROVED", rid=2)])
    assert changes_requested(latest, "alice", PR) is None


def test_requests_for_changes_name_every_blocking_reviewer() -> None:
    one = changes_requested(standings([rv("carol", "CHANGES_REQUESTED")]), "alice", PR)
    assert one is not None
    assert (one.approved, one.approvers, one.rule) == (False, (), "changes-requested")
    assert one.reason == "carol requested changes on pull request #7 and has not approved since"
    latest = standings([rv("dave", "CHANGES_REQUESTED", rid=1), rv("carol", "CHANGES_REQUESTED", rid=2)])
    two = changes_requested(latest, "alice", PR)
    assert two is not None
    assert two.reason == "carol, dave requested changes on pull request #7 and have not approved since"


def why(approvals: list[Review], on_head: int, required: int = 2) -> tuple[str | None, str | None]:
    verdict = not_approved(
        approvals,
        on_head,
        ("bob",) if on_head else (),
        author="alice",
        head_sha=HEAD,
        required=required,
        pr=PR,
    )
    assert verdict.approved is False
    return verdict.rule, verdict.reason


def test_a_stale_approval_is_named_before_a_self_approval() -> None:
    rule, reason = why([rv("alice", "APPROVED"), rv("bob", "APPROVED", OLD, rid=2)], 0)
    assert rule == "stale-approval"
    assert reason == (
        f"the approval by bob (on {OLD[:12]}) is for an older commit than the head {HEAD[:12]} of "
        "pull request #7, which has 0 approvals on its head commit of the 2 required"
    )


def test_a_bots_stale_approval_is_not_named() -> None:
    rule, _ = why([rv("renovate[bot]", "APPROVED", OLD)], 0)
    assert rule == "no-approval"


def test_a_self_approval_is_named_before_no_approval() -> None:
    rule, reason = why([rv("ALICE", "APPROVED")], 1)
    assert rule == "self-approval"
    assert reason == (
        "the author alice cannot approve their own pull request #7, which has 1 approval on its head "
        "commit from others of the 2 required"
    )


def test_no_approval_and_not_enough() -> None:
    assert why([], 0) == ("no-approval", "pull request #7 has no approving review (approval.required: 2)")
    assert why([rv("bob", "APPROVED")], 1) == (
        "not-enough",
        "pull request #7 has 1 approval on its head commit, approval.required is 2",
    )
