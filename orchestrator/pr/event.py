"""The GitHub Actions event payload ($GITHUB_EVENT_PATH) as a small value (pure parsing).

Events that concern a pull request: ``pull_request``, ``pull_request_target``,
``pull_request_review`` (the PR under ``pull_request``) and ``issue_comment`` on a PR (the
issue has a ``pull_request`` key; head details are not in the payload).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.errors import GitHubError


@dataclass(frozen=True)
class PrEvent:
    number: int
    action: str | None
    head_sha: str | None
    head_ref: str | None
    head_repo: str | None  # full name; None when the fork was deleted or the payload has no head
    base_repo: str | None
    author: str | None
    event_name: str | None = None
    base_sha: str | None = None  # the target branch's tip when the event fired
    base_ref: str | None = None

    @property
    def is_fork(self) -> bool | None:
        """True for a PR from another repository; None when the payload cannot tell."""
        if self.base_repo is None:
            return None
        if self.head_repo is None:
            return True if self.head_sha is not None else None
        return self.head_repo.lower() != self.base_repo.lower()


def parse_event(payload: Mapping[str, Any], event_name: str | None = None) -> PrEvent | None:
    """The pull request an event is about, or None (push, schedule, an issue that is no PR)."""
    pr = payload.get("pull_request")
    if isinstance(pr, Mapping):
        head = pr.get("head") or {}
        base = pr.get("base") or {}
        head_repo = head.get("repo") if isinstance(head.get("repo"), Mapping) else None
        base_repo = base.get("repo") if isinstance(base.get("repo"), Mapping) else None
        if base_repo is None and isinstance(payload.get("repository"), Mapping):
            base_repo = payload["repository"]
        raw_number: Any = pr.get("number") or payload.get("number")
        try:
            number = int(raw_number)
        except (TypeError, ValueError):
            return None
        return PrEvent(
            number=number,
            action=payload.get("action"),
            head_sha=head.get("sha"),
            head_ref=head.get("ref"),
            head_repo=str(head_repo["full_name"]) if head_repo and head_repo.get("full_name") else None,
            base_repo=str(base_repo["full_name"]) if base_repo and base_repo.get("full_name") else None,
            author=(pr.get("user") or {}).get("login"),
            event_name=event_name,
            base_sha=str(base["sha"]) if isinstance(base.get("sha"), str) else None,
            base_ref=str(base["ref"]) if isinstance(base.get("ref"), str) else None,
        )
    issue = payload.get("issue")
    if isinstance(issue, Mapping) and issue.get("pull_request"):
        return PrEvent(
            number=int(issue["number"]),
            action=payload.get("action"),
            head_sha=None,
            head_ref=None,
            head_repo=None,
            base_repo=None,  # the payload does not say where the head lives: ask the API
            author=(issue.get("user") or {}).get("login"),
            event_name=event_name,
        )
    return None


def read_event(path: Path | None, event_name: str | None = None) -> PrEvent | None:
    """Read and parse $GITHUB_EVENT_PATH; None when unset or not about a pull request."""
    if path is None:
        return None
    try:
        payload = json.loads(path.read_text())
    except OSError as exc:
        raise GitHubError(
            f"cannot read the GitHub event payload: {exc.strerror or exc}",
            where=str(path),
            hint="GITHUB_EVENT_PATH should name the event JSON GitHub Actions wrote.",
        ) from exc
    except ValueError as exc:
        raise GitHubError("the GitHub event payload is not valid JSON", where=str(path)) from exc
    if not isinstance(payload, Mapping):
        return None
    return parse_event(payload, event_name)
