"""Approval rules over pull-request reviews (pure).

Approved means: at least ``required`` reviewers other than the author whose latest review
is APPROVED *on the PR's current head commit*, and no reviewer whose latest standing is
CHANGES_REQUESTED. As on GitHub, a reviewer's standing is their latest APPROVED,
CHANGES_REQUESTED or DISMISSED review; COMMENTED and PENDING reviews change nothing, and a
dismissal clears both an approval and a request for changes. Bot accounts never approve.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from orchestrator.github import Review

_STANDING = {"APPROVED", "CHANGES_REQUESTED", "DISMISSED"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class ReviewVerdict:
    approved: bool
    approvers: tuple[str, ...]  # reviewers whose approval counts (on the head commit)
    rule: str | None = (
        None  # which rule failed: changes-requested | stale-approval | self-approval | not-enough
    )
    reason: str | None = None  # one sentence naming it
    review_ids: tuple[int, ...] = ()


def _short(sha: str | None) -> str:
    return (sha or "?")[:12]


def standings(reviews: Iterable[Review]) -> dict[str, Review]:
    """Each reviewer's latest review that sets a standing, in submission order."""
    latest: dict[str, Review] = {}
    ordered = sorted(
        (r for r in reviews if r.state in _STANDING and r.user),
        key=lambda r: (r.submitted_at or _EPOCH, r.id),
    )
    for r in ordered:
        latest[r.user.lower()] = r
    return latest


def is_bot(login: str) -> bool:
    return login.lower().endswith("[bot]")


def evaluate_reviews(
    reviews: Iterable[Review], *, author: str, head_sha: str, required: int, number: int | None = None
) -> ReviewVerdict:
    """Is the pull request approved for ``head_sha``? If not, the one rule that fails."""
    pr = f"pull request #{number}" if number is not None else "the pull request"
    author_key = author.lower()
    latest = standings(reviews)
    blocked = changes_requested(latest, author_key, pr)
    if blocked is not None:
        return blocked
    approvals = [r for r in latest.values() if r.state == "APPROVED"]
    valid = [r for r in approvals if _by_another_human(r, author_key) and r.commit_id == head_sha]
    approvers = tuple(sorted(r.user for r in valid))
    ids = tuple(r.id for r in valid)
    if len(valid) >= required:
        return ReviewVerdict(True, approvers, review_ids=ids)
    return not_approved(
        approvals, len(valid), approvers, author=author, head_sha=head_sha, required=required, pr=pr
    )


def _by_another_human(review: Review, author_key: str) -> bool:
    """A review that may count: not by the author, not by a bot."""
    return review.user.lower() != author_key and not is_bot(review.user)


def changes_requested(latest: Mapping[str, Review], author_key: str, pr: str) -> ReviewVerdict | None:
    """The refusal when a reviewer other than the author stands on CHANGES_REQUESTED (None: none does)."""
    blocking = sorted(
        r.user for key, r in latest.items() if r.state == "CHANGES_REQUESTED" and key != author_key
    )
    if not blocking:
        return None
    who = ", ".join(blocking)
    verb = "have" if len(blocking) > 1 else "has"
    return ReviewVerdict(
        False,
        (),
        "changes-requested",
        f"{who} requested changes on {pr} and {verb} not approved since",
    )


def not_approved(
    approvals: Sequence[Review],
    on_head: int,
    approvers: tuple[str, ...],
    *,
    author: str,
    head_sha: str,
    required: int,
    pr: str,
) -> ReviewVerdict:
    """Why ``on_head`` approvals on the head commit are fewer than ``required``: an approval of an
    older commit, then the author's own, then none at all, else not enough."""
    author_key = author.lower()
    stale = sorted(
        (r for r in approvals if _by_another_human(r, author_key) and r.commit_id != head_sha),
        key=lambda r: r.user,
    )
    own = [r for r in approvals if r.user.lower() == author_key]
    have = f"{on_head} approval{'s' if on_head != 1 else ''} on its head commit"
    if stale:
        names = ", ".join(f"{r.user} (on {_short(r.commit_id)})" for r in stale)
        return ReviewVerdict(
            False,
            approvers,
            "stale-approval",
            f"the approval by {names} is for an older commit than the head {_short(head_sha)} of {pr}, "
            f"which has {have} of the {required} required",
        )
    if own:
        return ReviewVerdict(
            False,
            approvers,
            "self-approval",
            f"the author {author} cannot approve their own {pr}, which has {have} from others "
            f"of the {required} required",
        )
    if not approvals or not on_head:
        return ReviewVerdict(
            False, approvers, "no-approval", f"{pr} has no approving review (approval.required: {required})"
        )
    return ReviewVerdict(False, approvers, "not-enough", f"{pr} has {have}, approval.required is {required}")
