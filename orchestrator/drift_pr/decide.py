"""What a scan does with a stack's drift pull request (pure).

No noise: a pull request is only touched when what it shows is no longer what would be
applied. Its plan is stale when the drift changed (fingerprint), when the pull request does
not show the plan of its current head, when the base branch changed the code the plan was
made from, or when the stack's state moved since planning (apply would refuse the plan).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from orchestrator.drift_pr.meta import DriftMeta
from orchestrator.github import PullRequest

Action = Literal["open", "update", "unchanged", "close", "foreign", "none", "scan-error"]


@dataclass(frozen=True)
class Decision:
    action: Action
    pull: PullRequest | None = None
    reason: str = ""
    duplicates: tuple[PullRequest, ...] = ()  # further open PRs of the same stack, to close


def drift_pulls(pulls: Sequence[PullRequest], branch: str, base: str) -> list[PullRequest]:
    """Open PRs from ``branch`` of this repository (a fork's branch of that name is not ours):
    the one into ``base`` first, then oldest first. GitHub allows one open PR per head and base,
    so more than one means someone opened another into a different base."""
    return sorted(
        (p for p in pulls if p.head_ref == branch and not p.is_fork and p.state == "open"),
        key=lambda p: (p.base_ref != base, p.number),
    )


def stale_reason(
    pull: PullRequest,
    meta: DriftMeta | None,
    fingerprint: str,
    *,
    base_code_same: Callable[[str], bool],
    state_now: Callable[[], tuple[str | None, int | None]],
) -> str | None:
    """Why ``pull`` must be brought up to date, or None when it is current.

    The checks run cheapest first; ``base_code_same(base_sha)`` and ``state_now()`` are only
    called when the cheaper ones pass.
    """
    if meta is None:
        return "the pull request body has no drift block"
    if meta.head != pull.head_sha:
        return "the pull request does not show the plan of its head commit"
    if meta.fingerprint != fingerprint:
        return "the drift changed"
    if not base_code_same(meta.base):
        return "the base branch changed the stack's code"
    if tuple(state_now()) != meta.state:
        return "the stack's state changed since the plan was made"
    return None


def decide(
    status: str,
    pulls: Sequence[PullRequest],
    *,
    ours: Callable[[PullRequest], bool],
    stale: Callable[[PullRequest], str | None],
) -> Decision:
    """The action for one scanned stack (``status`` clean, drifted or error) given its open PRs.

    ``ours(pr)``: its head is a commit orchestrate made (one commit on the base, touching only
    the drift record); a PR with commits of someone else is never force-pushed over.
    """
    first = pulls[0] if pulls else None
    duplicates = tuple(pulls[1:])
    if status == "error":
        # Could not be fully read: neither "gone" nor "changed" can be claimed.
        return Decision("scan-error", first, "the scan of this stack failed", duplicates)
    if status == "clean":
        if first is None:
            return Decision("none")
        if not ours(first):
            # Someone's commits (the code changed to accept the drift?) must not be closed unseen.
            return Decision(
                "foreign",
                first,
                "the drift is gone, but its branch has commits orchestrate did not make; left open",
                duplicates,
            )
        return Decision("close", first, "the drift is gone", duplicates)
    if first is None:
        return Decision("open", None, "drift found")
    if not ours(first):
        return Decision(
            "foreign", first, "its branch has commits orchestrate did not make; left as it is", duplicates
        )
    reason = stale(first)
    if reason is None:
        return Decision("unchanged", first, "the drift and its plan are unchanged", duplicates)
    return Decision("update", first, reason, duplicates)
