"""The one module that talks to GitHub (PyGithub): comments, statuses, reviews, pull requests.

Everything else in orchestrate works on the plain values defined here (PullRequest, Review,
Comment) and never imports PyGithub. Every text sent to GitHub passes through the Redactor
given to the client, so a secret that slipped past a renderer still never leaves.

Settings come from ``GITHUB_TOKEN``, ``GITHUB_REPOSITORY``, ``GITHUB_API_URL`` and
``GITHUB_EVENT_PATH`` (GitHub Actions sets all four), overridable by the ``github:`` section
of orchestrate.yaml. Rate limits and 5xx answers are retried with backoff; requests that
may have taken effect (creating a comment, a pull request) are checked before they are sent
again, so a retry never duplicates them. PyGithub's errors become GitHubError here.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from orchestrator.errors import GitHubError
from orchestrator.redact import Redactor

if TYPE_CHECKING:
    from github.GithubException import GithubException

T = TypeVar("T")

DEFAULT_API_URL = "https://api.github.com"
COMMENT_LIMIT = 65536  # characters GitHub accepts in a comment or PR body
STATUS_DESCRIPTION_LIMIT = 140
STATUS_CONTEXT_LIMIT = 255
_KEY = re.compile(r"^[A-Za-z0-9_.\-/]+$")
WORKFLOW_TOKEN_LOGIN = "github-actions[bot]"  # who the workflow's GITHUB_TOKEN writes as
ROLES_THAT_APPROVE = ("admin", "maintain", "write")
_MARKER = re.compile(r"^<!-- orchestrate:(?P<key>[A-Za-z0-9_.\-/]+):part-(?P<part>\d+) -->")


# ---------------------------------------------------------------- settings


@dataclass(frozen=True)
class GitHubSettings:
    """Where GitHub is and who we are there. Built from the environment and orchestrate.yaml."""

    token: str | None
    repository: str | None
    api_url: str = DEFAULT_API_URL
    event_path: Path | None = None
    server_url: str | None = None  # GITHUB_SERVER_URL, for links to the workflow run
    run_id: str | None = None  # GITHUB_RUN_ID
    comment_author: str | None = None  # github.comment_author: whose comments are orchestrate's

    @classmethod
    def from_env(cls, config: Any = None, env: Mapping[str, str] | None = None) -> GitHubSettings:
        """``config`` is RootConfig.github (repository, api_url); it wins over the environment."""
        env = os.environ if env is None else env
        repository = getattr(config, "repository", None) or env.get("GITHUB_REPOSITORY") or None
        api_url = getattr(config, "api_url", None) or env.get("GITHUB_API_URL") or DEFAULT_API_URL
        event = env.get("GITHUB_EVENT_PATH") or None
        return cls(
            token=env.get("GITHUB_TOKEN") or env.get("GH_TOKEN") or None,
            repository=repository,
            api_url=api_url.rstrip("/"),
            event_path=Path(event) if event else None,
            server_url=(env.get("GITHUB_SERVER_URL") or None),
            run_id=env.get("GITHUB_RUN_ID") or None,
            comment_author=getattr(config, "comment_author", None),
        )

    def require(self) -> tuple[str, str]:
        """(token, owner/name) or a GitHubError saying which setting is missing."""
        if not self.repository:
            raise GitHubError(
                "no GitHub repository is configured",
                hint="Set GITHUB_REPOSITORY=owner/name (GitHub Actions sets it) or github.repository "
                "in orchestrate.yaml.",
            )
        if not re.fullmatch(r"[A-Za-z0-9_.\-]+/[A-Za-z0-9_.\-]+", self.repository):
            raise GitHubError(
                f"'{self.repository}' is not a repository name of the form owner/name",
                hint="Fix GITHUB_REPOSITORY or github.repository in orchestrate.yaml.",
            )
        if not self.token:
            raise GitHubError(
                "GITHUB_TOKEN is not set",
                hint="Pass the workflow token (env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}) or a "
                "token with pull-requests and statuses write access.",
            )
        return self.token, self.repository

    @property
    def run_url(self) -> str | None:
        """The URL of the current workflow run, when running in GitHub Actions."""
        if self.server_url and self.repository and self.run_id:
            return f"{self.server_url.rstrip('/')}/{self.repository}/actions/runs/{self.run_id}"
        return None


# ---------------------------------------------------------------- plain values


@dataclass(frozen=True)
class PullRequest:
    number: int
    title: str
    body: str
    state: str  # open | closed
    merged: bool
    draft: bool
    author: str
    head_sha: str
    head_ref: str
    head_repo: str | None  # full name; None when the fork was deleted
    base_ref: str
    base_repo: str
    html_url: str
    mergeable: bool | None
    labels: tuple[str, ...] = ()
    base_sha: str | None = None  # the base branch's tip as GitHub sees it now
    merge_commit_sha: str | None = None  # once merged: the commit the merge made on the base

    @property
    def is_fork(self) -> bool:
        """The head branch lives in another repository (or in a deleted one)."""
        return self.head_repo is None or self.head_repo.lower() != self.base_repo.lower()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PullRequest:
        head = data.get("head") or {}
        base = data.get("base") or {}
        head_repo = head.get("repo") or None
        base_repo = base.get("repo") or {}
        return cls(
            number=int(data["number"]),
            title=str(data.get("title") or ""),
            body=str(data.get("body") or ""),
            state=str(data.get("state") or "open"),
            merged=bool(data.get("merged") or data.get("merged_at")),
            draft=bool(data.get("draft")),
            author=str((data.get("user") or {}).get("login") or ""),
            head_sha=str(head.get("sha") or ""),
            head_ref=str(head.get("ref") or ""),
            head_repo=str(head_repo["full_name"]) if head_repo else None,
            base_ref=str(base.get("ref") or ""),
            base_repo=str(base_repo.get("full_name") or ""),
            html_url=str(data.get("html_url") or ""),
            mergeable=data.get("mergeable"),
            labels=tuple(str(lab.get("name")) for lab in data.get("labels") or [] if isinstance(lab, dict)),
            base_sha=str(base["sha"]) if base.get("sha") else None,
            merge_commit_sha=str(data["merge_commit_sha"]) if data.get("merge_commit_sha") else None,
        )


@dataclass(frozen=True)
class Review:
    user: str
    state: str  # APPROVED | CHANGES_REQUESTED | COMMENTED | DISMISSED | PENDING
    commit_id: str | None
    submitted_at: datetime | None
    id: int = 0

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Review:
        submitted = data.get("submitted_at")
        when = None
        if isinstance(submitted, str) and submitted:
            when = datetime.fromisoformat(submitted.replace("Z", "+00:00"))
        elif isinstance(submitted, datetime):
            when = submitted if submitted.tzinfo else submitted.replace(tzinfo=UTC)
        return cls(
            user=str((data.get("user") or {}).get("login") or ""),
            state=str(data.get("state") or "").upper(),
            commit_id=data.get("commit_id"),
            submitted_at=when,
            id=int(data.get("id") or 0),
        )


@dataclass(frozen=True)
class Comment:
    id: int
    body: str
    user: str
    url: str
    html_url: str


def sticky_marker(key: str, part: int) -> str:
    """The hidden first line that identifies part ``part`` of the sticky comment ``key``."""
    return f"<!-- orchestrate:{key}:part-{part} -->"


def parse_marker(body: str) -> tuple[str, int] | None:
    m = _MARKER.match(body)
    return (m.group("key"), int(m.group("part"))) if m else None


# ---------------------------------------------------------------- the client


class _Retry(Exception):
    """A failure worth another attempt after ``wait`` seconds."""

    def __init__(self, wait: float, reason: str, original: Exception) -> None:
        super().__init__(reason)
        self.wait = wait
        self.reason = reason
        self.original = original


class GitHub:
    """A repository on GitHub. One instance per command; not thread-safe."""

    def __init__(
        self,
        settings: GitHubSettings,
        *,
        redactor: Redactor | None = None,
        attempts: int = 5,
        backoff: float = 1.0,
        max_wait: float = 90.0,
        timeout: int = 30,
        sleep: Callable[[float], None] = time.sleep,
        client: Any = None,
    ) -> None:
        token, repository = settings.require()
        self.settings = settings
        self.repository = repository
        self.redactor = redactor or Redactor()
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.max_wait = max_wait
        self._sleep = sleep
        if client is None:
            from github import Auth, Github

            client = Github(
                base_url=settings.api_url,
                auth=Auth.Token(token),
                retry=None,  # retries are ours: PyGithub's would also retry non-idempotent POSTs
                timeout=timeout,
                per_page=100,
                seconds_between_requests=0,
                seconds_between_writes=0,
                lazy=True,
                user_agent="orchestrate",
            )
        self._gh = client
        self._repo = client.get_repo(repository)
        self._me: str | None = settings.comment_author
        self._roles: dict[str, str] = {}
        self._members: dict[tuple[str, str], bool] = {}

    # ------------------------------------------------------------ retries and errors

    def _classify(self, exc: Exception, what: str, idempotent: bool, attempt: int) -> Exception:
        """A _Retry for transient failures, else the GitHubError to raise."""
        from github.GithubException import GithubException

        backoff = min(self.backoff * (2**attempt), self.max_wait)
        if not isinstance(exc, GithubException):
            return self._classify_transport(exc, what, idempotent, backoff)
        return self._classify_answer(exc, what, idempotent, backoff)

    def _classify_transport(self, exc: Exception, what: str, idempotent: bool, backoff: float) -> Exception:
        """Failures before GitHub answered: connection refused, timeout, anything else."""
        import requests

        if isinstance(exc, requests.exceptions.ConnectionError) and not isinstance(
            exc, requests.exceptions.ReadTimeout
        ):
            # The request did not reach GitHub: safe to send again.
            return _Retry(
                backoff,
                f"cannot reach {self.settings.api_url}",
                GitHubError(
                    f"cannot reach the GitHub API at {self.settings.api_url} while trying to {what}",
                    hint="Check GITHUB_API_URL (GitHub Enterprise: https://HOST/api/v3) and the network.",
                ),
            )
        if isinstance(exc, requests.exceptions.Timeout):
            err = GitHubError(
                f"GitHub did not answer in time while trying to {what}",
                hint="GitHub may be degraded (https://www.githubstatus.com); run the job again.",
            )
            return _Retry(backoff, "timeout", err) if idempotent else err
        return GitHubError(f"GitHub request failed while trying to {what}: {exc}")

    def _classify_answer(
        self, exc: GithubException, what: str, idempotent: bool, backoff: float
    ) -> Exception:
        """GitHub answered with an error status: rate limit, 5xx, 401, 403, 404 or other."""
        from github.GithubException import (
            BadCredentialsException,
            RateLimitExceededException,
            UnknownObjectException,
        )

        status = exc.status
        headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
        said = _github_said(exc)
        rate_limited = (
            isinstance(exc, RateLimitExceededException)
            or status == 429
            or (status == 403 and headers.get("x-ratelimit-remaining") == "0")
        )
        if rate_limited:
            return self._rate_limited(headers, what, backoff)
        if status >= 500:
            err = GitHubError(
                f"GitHub answered {status} while trying to {what}" + (f": {said}" if said else ""),
                hint="GitHub may be degraded (https://www.githubstatus.com); run the job again.",
            )
            return _Retry(backoff, f"HTTP {status}", err) if idempotent else err
        if isinstance(exc, BadCredentialsException) or status == 401:
            return GitHubError(
                f"GitHub refused the token while trying to {what} (401 Bad credentials)",
                hint="Check GITHUB_TOKEN: it may have expired or be for another GitHub host.",
            )
        if status == 403:
            return GitHubError(
                f"the token may not {what} in {self.repository} (403: {said or 'forbidden'})",
                hint="Give the workflow `permissions: pull-requests: write, statuses: write, contents: read` "
                "(PRs from forks get a read-only token).",
            )
        if isinstance(exc, UnknownObjectException) or status == 404:
            return GitHubError(
                f"not found while trying to {what} in {self.repository}",
                hint="Check the repository name, the pull request number and that the token can see them.",
            )
        return GitHubError(f"GitHub refused to {what} ({status}: {said or 'no message'})")

    def _rate_limited(self, headers: dict[str, str], what: str, backoff: float) -> Exception:
        """Retry after the reset if it comes soon enough, else the error naming the wait."""
        wait = _rate_limit_wait(headers, backoff)
        err = GitHubError(
            f"GitHub's API rate limit was exceeded while trying to {what}"
            + (f" (resets in {int(wait)} s)" if wait > self.max_wait else ""),
            hint="Wait for the limit to reset, or use a token with a higher limit "
            "(a GitHub App installation token).",
        )
        # A rate-limited request was not carried out, whatever its method.
        return _Retry(wait, "rate limit", err) if wait <= self.max_wait else err

    def _call(
        self,
        what: str,
        fn: Callable[[], T],
        *,
        idempotent: bool = True,
        recover: Callable[[], T | None] | None = None,
    ) -> T:
        """Run ``fn`` with retries. For a non-idempotent request, ``recover`` looks for its
        effect after an ambiguous failure (5xx, timeout) and returns it instead of resending."""
        for attempt in range(self.attempts):
            try:
                return fn()
            except GitHubError:
                raise
            except Exception as exc:
                outcome = self._classify(exc, what, idempotent or recover is not None, attempt)
                if isinstance(outcome, _Retry):
                    if attempt + 1 >= self.attempts:
                        raise outcome.original from exc
                    self._sleep(outcome.wait)
                    if recover is not None and outcome.reason != "rate limit":
                        found = recover()
                        if found is not None:
                            return found
                    continue
                raise outcome from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _text(self, text: str) -> str:
        return self.redactor.text(text)

    # ------------------------------------------------------------ pull requests

    def _pull_obj(self, number: int) -> Any:
        return self._repo.get_pull(number)

    def pull(self, number: int) -> PullRequest:
        """The pull request ``number`` as it is now."""
        data = self._call(f"read pull request #{number}", lambda: dict(self._pull_obj(number).raw_data))
        return PullRequest.from_json(data)

    def reviews(self, number: int) -> list[Review]:
        """Every review on the PR, oldest first."""
        rows = self._call(
            f"read the reviews of pull request #{number}",
            lambda: [dict(r.raw_data) for r in self._pull_obj(number).get_reviews()],
        )
        return [Review.from_json(r) for r in rows]

    def find_pulls(
        self, *, head: str | None = None, base: str | None = None, state: str = "open"
    ) -> list[PullRequest]:
        """PRs whose head branch (in this repository) is ``head``."""
        owner = self.repository.split("/", 1)[0]
        kwargs: dict[str, Any] = {"state": state}
        if head:
            kwargs["head"] = f"{owner}:{head}"
        if base:
            kwargs["base"] = base

        def fetch() -> list[dict[str, Any]]:
            return [dict(p.raw_data) for p in self._repo.get_pulls(**kwargs)]

        return [PullRequest.from_json(p) for p in self._call("list pull requests", fetch)]

    def create_pull(self, *, title: str, body: str, head: str, base: str, draft: bool = False) -> PullRequest:
        """Open a PR from branch ``head`` into ``base``."""
        title, body = self._text(title), _fit(self._text(body))

        def recover() -> PullRequest | None:
            found = self.find_pulls(head=head, base=base)
            return found[0] if found else None

        data = self._call(
            f"open a pull request from {head}",
            lambda: dict(
                self._repo.create_pull(title=title, body=body, head=head, base=base, draft=draft).raw_data
            ),
            idempotent=False,
            recover=lambda: _raw(recover()),
        )
        return PullRequest.from_json(data)

    def update_pull(
        self, number: int, *, title: str | None = None, body: str | None = None, state: str | None = None
    ) -> None:
        kwargs: dict[str, Any] = {}
        if title is not None:
            kwargs["title"] = self._text(title)
        if body is not None:
            kwargs["body"] = _fit(self._text(body))
        if state is not None:
            kwargs["state"] = state
        if kwargs:
            self._call(f"update pull request #{number}", lambda: self._pull_obj(number).edit(**kwargs))

    def close_pull(self, number: int, comment: str | None = None) -> None:
        if comment:
            self.create_comment(number, comment)
        self.update_pull(number, state="closed")

    def merge(self, number: int, *, sha: str, method: str = "merge", title: str | None = None) -> str:
        """Merge PR ``number`` if its head is still ``sha``; returns the merge commit sha."""
        from github.GithubException import GithubException

        if method not in ("merge", "squash", "rebase"):
            raise GitHubError(f"unknown merge method '{method}'", hint="Use merge, squash or rebase.")
        kwargs: dict[str, Any] = {"merge_method": method, "sha": sha}
        if title:
            kwargs["commit_title"] = self._text(title)

        def do() -> str:
            try:
                status = self._pull_obj(number).merge(**kwargs)
            except GithubException as exc:
                if exc.status == 409:
                    raise GitHubError(
                        f"pull request #{number} was not merged: its head moved past {sha[:12]}",
                        hint="Plan and approve the new head, then apply again.",
                    ) from exc
                if exc.status == 405:
                    said = (exc.data or {}).get("message") if isinstance(exc.data, dict) else None
                    raise GitHubError(
                        f"pull request #{number} cannot be merged ({said or 'not mergeable'})",
                        hint="Resolve conflicts or branch protection requirements, then merge it yourself.",
                    ) from exc
                raise
            return str(status.sha)

        def recover() -> str | None:
            pr = self.pull(number)
            return pr.head_sha if pr.merged else None

        return self._call(f"merge pull request #{number}", do, idempotent=False, recover=recover)

    def default_branch(self) -> str:
        return str(
            self._call("read the repository", lambda: self._repo.raw_data).get("default_branch") or "main"
        )

    # ------------------------------------------------------------ comments

    def comments(self, number: int) -> list[Comment]:
        """Every comment on the PR's conversation, oldest first."""

        def fetch() -> list[Comment]:
            out = []
            for c in self._repo.get_issue(number).get_comments():
                user = c.user.login if c.user is not None else ""
                out.append(
                    Comment(int(c.id), str(c.body or ""), str(user), str(c.url), str(c.html_url or ""))
                )
            return out

        return self._call(f"read the comments of #{number}", fetch)

    def create_comment(self, number: int, body: str) -> Comment:
        """A new (not sticky) comment, e.g. an apply result."""
        return self._create_raw(number, _fit(self._text(body)))

    def delete_comment(self, comment: Comment) -> None:
        from github.GithubException import GithubException

        def do() -> None:
            try:
                self._comment_obj(comment).delete()
            except GithubException as exc:
                if exc.status != 404:  # already gone: what we wanted
                    raise

        self._call("delete a comment", do)

    def _comment_obj(self, comment: Comment) -> Any:
        from github.IssueComment import IssueComment

        return IssueComment(self._repo.requester, url=comment.url)

    def _create_raw(self, number: int, text: str) -> Comment:
        """Post ``text`` exactly (already redacted and within the limit)."""

        def do() -> Comment:
            c = self._repo.get_issue(number).create_comment(text)
            user = c.user.login if c.user is not None else ""
            return Comment(int(c.id), str(c.body), str(user), str(c.url), str(c.html_url or ""))

        def recover() -> Comment | None:
            # An ambiguous failure (5xx, timeout) may still have created it: never post twice.
            return next((c for c in reversed(self.comments(number)) if c.body == text), None)

        return self._call(f"comment on #{number}", do, idempotent=False, recover=recover)

    def _edit_raw(self, comment: Comment, text: str) -> Comment:
        self._call("edit a comment", lambda: self._comment_obj(comment).edit(text))
        return Comment(comment.id, text, comment.user, comment.url, comment.html_url)

    def sticky(self, number: int, key: str) -> list[Comment]:
        """The parts of sticky comment ``key`` on the PR, in part order (duplicates left out).

        Only comments written by orchestrate's own account count: anyone may post a comment
        starting with the marker, and must not get the plan written into it or be read as it.
        """
        me = self.whoami().lower()
        parts: dict[int, Comment] = {}
        for c in self.comments(number):
            found = parse_marker(c.body)
            if found and found[0] == key and found[1] not in parts and c.user.lower() == me:
                parts[found[1]] = c
        return [parts[k] for k in sorted(parts)]

    def upsert_sticky(self, number: int, key: str, bodies: Sequence[str]) -> list[Comment]:
        """Make sticky comment ``key`` read ``bodies`` (one comment per part, in order).

        Existing parts are edited in place (left alone when unchanged), missing ones created,
        and parts no longer needed, and any duplicates a concurrent run left, are deleted.
        """
        if not _KEY.match(key):
            raise ValueError(f"invalid sticky comment key {key!r}")
        if not bodies:
            raise ValueError("a sticky comment needs at least one part")
        texts = []
        for i, body in enumerate(bodies, 1):
            # Renderers keep parts well under the limit; this last guard cuts visibly rather than
            # have GitHub refuse the whole comment.
            texts.append(_fit(f"{sticky_marker(key, i)}\n{self._text(body)}"))
        me = self.whoami().lower()
        existing: dict[int, list[Comment]] = {}
        for c in self.comments(number):
            found = parse_marker(c.body)
            if found and found[0] == key and c.user.lower() == me:  # never edit another's comment
                existing.setdefault(found[1], []).append(c)
        result: list[Comment] = []
        for i, text in enumerate(texts, 1):
            olds = existing.pop(i, [])
            if olds:
                keep = olds[0]
                result.append(keep if keep.body == text else self._edit_raw(keep, text))
                for dup in olds[1:]:
                    self.delete_comment(dup)
            else:
                result.append(self._create_raw(number, text))
        for olds in existing.values():
            for c in olds:
                self.delete_comment(c)
        return result

    # ------------------------------------------------------------ who is who

    def whoami(self) -> str:
        """The login this token writes as: ``github.comment_author`` when set, else ``GET /user``;
        the workflow token cannot call that (403) and writes as github-actions[bot]."""
        if self._me is None:
            from github.GithubException import GithubException

            def fetch() -> str:
                try:
                    _, data = self._gh.requester.requestJsonAndCheck("GET", "/user")
                except GithubException as exc:
                    if exc.status == 403:  # "Resource not accessible by integration"
                        return WORKFLOW_TOKEN_LOGIN
                    raise
                return str(data.get("login") or "")

            login = self._call("read the token's user (GET /user)", fetch)
            if not login:
                raise GitHubError(
                    "GitHub did not say whose token this is (GET /user has no login)",
                    hint="Set github.comment_author in orchestrate.yaml to the login orchestrate writes as.",
                )
            self._me = login
        return self._me

    def role(self, login: str) -> str:
        """``login``'s role on the repository: admin, maintain, write, triage, read or none
        (the collaborator-permission endpoint; cached for the run)."""
        key = login.lower()
        if key not in self._roles:
            from urllib.parse import quote

            url = f"/repos/{self.repository}/collaborators/{quote(login, safe='')}/permission"
            data = self._call(
                f"read {login}'s permission",
                lambda: self._gh.requester.requestJsonAndCheck("GET", url)[1],
            )
            role = str(data.get("role_name") or data.get("permission") or "none").lower()
            legacy = str(data.get("permission") or "none").lower()
            # role_name may be a custom role's name: fall back on the legacy permission then.
            self._roles[key] = role if role in (*ROLES_THAT_APPROVE, "triage", "read", "none") else legacy
        return self._roles[key]

    def in_team(self, team: str, login: str) -> bool:
        """Is ``login`` an active member of ``team`` (org/team-slug)? Cached for the run."""
        from github.GithubException import GithubException

        key = (team.lower(), login.lower())
        if key not in self._members:
            org, slug = team.split("/", 1)

            def fetch() -> bool:
                try:
                    _, data = self._gh.requester.requestJsonAndCheck(
                        "GET", f"/orgs/{org}/teams/{slug}/memberships/{login}"
                    )
                except GithubException as exc:
                    if exc.status == 404:
                        return False
                    raise
                return str(data.get("state") or "") == "active"

            try:
                self._members[key] = self._call(f"read the membership of team {team}", fetch)
            except GitHubError as exc:
                raise GitHubError(
                    f"cannot read the members of team {team}: {exc.message}",
                    hint="Team membership needs a token with organization Members: read (a GitHub App "
                    "installation token); the workflow token cannot read it. Nothing was applied.",
                ) from exc
        return self._members[key]

    # ------------------------------------------------------------ statuses and labels

    def set_status(
        self, sha: str, *, context: str, state: str, description: str, target_url: str | None = None
    ) -> None:
        """A commit status (state: success | failure | error | pending)."""
        if state not in ("success", "failure", "error", "pending"):
            raise ValueError(f"invalid commit status state {state!r}")
        desc = _cut(self._text(description), STATUS_DESCRIPTION_LIMIT)
        ctx = _cut(self._text(context), STATUS_CONTEXT_LIMIT)
        kwargs: dict[str, Any] = {"state": state, "description": desc, "context": ctx}
        if target_url:
            kwargs["target_url"] = target_url
        # Statuses are idempotent in effect: the newest one per context is what GitHub shows.
        self._call(
            f"set the commit status {ctx}",
            lambda: self._repo.get_commit(sha).create_status(**kwargs),
        )

    def ensure_labels(self, names: Iterable[str], *, color: str = "d93f0b") -> None:
        from github.GithubException import GithubException

        for name in names:

            def do(name: str = name) -> None:
                try:
                    self._repo.get_label(name).raw_data  # noqa: B018 - fetches it
                except GithubException as exc:
                    if exc.status != 404:
                        raise
                    try:
                        self._repo.create_label(name=name, color=color)
                    except GithubException as exc2:
                        if exc2.status != 422:  # created meanwhile by someone else
                            raise

            self._call(f"create the label {name}", do)

    def add_labels(self, number: int, names: Sequence[str]) -> None:
        if names:
            self._call(f"label #{number}", lambda: self._repo.get_issue(number).add_to_labels(*names))

    # ------------------------------------------------------------ deployments

    def create_deployment(
        self,
        *,
        ref: str,
        environment: str,
        description: str,
        payload: Mapping[str, Any],
        production: bool = False,
    ) -> int:
        """A deployment of commit ``ref`` to ``environment`` (GitHub's Environments view); its id.

        No auto-merge and no required contexts: the apply already happened and was approved.
        """
        desc = _cut(self._text(description), STATUS_DESCRIPTION_LIMIT)
        data = dict(payload)

        def recover() -> int | None:
            for d in self._repo.get_deployments(sha=ref, environment=environment):
                if (d.raw_data.get("payload") or {}).get("record") == data.get("record"):
                    return int(d.id)
            return None

        return self._call(
            f"create a deployment of {ref[:12]} to {environment}",
            lambda: int(
                self._repo.create_deployment(
                    ref=ref,
                    task="deploy:orchestrate",
                    auto_merge=False,
                    required_contexts=[],
                    payload=data,
                    environment=environment,
                    description=desc,
                    transient_environment=False,
                    production_environment=production,
                ).id
            ),
            idempotent=False,
            recover=recover,
        )

    def set_deployment_status(
        self, deployment_id: int, *, state: str, description: str, log_url: str | None = None
    ) -> None:
        """state: error | failure | inactive | in_progress | queued | pending | success."""
        if state not in ("error", "failure", "inactive", "in_progress", "queued", "pending", "success"):
            raise ValueError(f"invalid deployment state {state!r}")
        kwargs: dict[str, Any] = {
            "state": state,
            "description": _cut(self._text(description), STATUS_DESCRIPTION_LIMIT),
        }
        if log_url:
            kwargs["target_url"] = log_url  # PyGithub sends target_url; GitHub shows it as the log
        self._call(
            f"set the status of deployment {deployment_id}",
            lambda: self._repo.get_deployment(deployment_id).create_status(**kwargs),
        )

    def deployments(self, environment: str | None = None) -> list[dict[str, Any]]:
        """Deployments (newest first) as GitHub returns them, optionally of one environment."""
        from github.GithubObject import NotSet

        env: Any = environment if environment is not None else NotSet
        return self._call(
            "list deployments",
            lambda: [dict(d.raw_data) for d in self._repo.get_deployments(environment=env)],
        )


def _raw(pr: PullRequest | None) -> dict[str, Any] | None:
    if pr is None:
        return None
    return {
        "number": pr.number,
        "title": pr.title,
        "body": pr.body,
        "state": pr.state,
        "merged": pr.merged,
        "draft": pr.draft,
        "user": {"login": pr.author},
        "head": {
            "sha": pr.head_sha,
            "ref": pr.head_ref,
            "repo": {"full_name": pr.head_repo} if pr.head_repo else None,
        },
        "base": {"ref": pr.base_ref, "sha": pr.base_sha, "repo": {"full_name": pr.base_repo}},
        "html_url": pr.html_url,
        "mergeable": pr.mergeable,
        "labels": [{"name": n} for n in pr.labels],
    }


def _github_said(exc: GithubException) -> str:
    """GitHub's message for a refused request, with the per-field errors it listed."""
    data = exc.data if isinstance(exc.data, dict) else {}
    message = str(data.get("message") or exc.message or "").strip()
    details = "; ".join(
        str(e.get("message") or e.get("code"))
        for e in data.get("errors") or []
        if isinstance(e, dict) and (e.get("message") or e.get("code"))
    )
    return f"{message} ({details})" if details else message


def _rate_limit_wait(headers: Mapping[str, str], fallback: float) -> float:
    retry_after = headers.get("retry-after")
    if retry_after:
        try:
            return max(float(retry_after), 0.0) + 0.1
        except ValueError:
            pass
    reset = headers.get("x-ratelimit-reset")
    if reset:
        try:
            return max(float(reset) - time.time(), 0.0) + 0.5
        except ValueError:
            pass
    # Secondary limits without a header: GitHub asks for at least a minute.
    return max(fallback, 60.0)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fit(body: str) -> str:
    """A body GitHub accepts. Callers split long comments themselves; this is a last guard
    that cuts visibly instead of failing (GitHub refuses bodies over the limit)."""
    if len(body) <= COMMENT_LIMIT:
        return body
    note = "\n\n… (cut: this text was longer than GitHub's 65,536-character limit)\n"
    return body[: COMMENT_LIMIT - len(note)] + note
