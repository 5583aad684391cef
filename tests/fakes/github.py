"""A local fake of GitHub's REST API (v3) on 127.0.0.1, for PyGithub and for tests.

It speaks the real JSON shapes for the parts orchestrate uses and returns URLs on its own
host, so PyGithub follows them back here (comment ``url`` for edits, ``Link`` headers for
pages). Everything it received is recorded in ``requests``; failures can be injected
(5xx, primary and secondary rate limits). Validation mirrors GitHub's where orchestrate
depends on it: comment bodies over 65,536 characters and status descriptions over 140 are
refused with 422, a merge with a stale ``sha`` gets 409, an unmergeable PR 405, a second
open PR for the same head 422, a bad token 401.

Pull request heads can follow a branch of a local bare git repository (``git_dir``): a
push moves the PR's head exactly as it does on GitHub.

    with FakeGitHub() as gh:
        gh.add_pull(7, head_sha="abc...", author="alice")
        gh.add_review(7, "bob", "APPROVED", commit_id="abc...")
        env = gh.env()   # GITHUB_TOKEN, GITHUB_REPOSITORY, GITHUB_API_URL
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

COMMENT_LIMIT = 65536
STATUS_DESCRIPTION_LIMIT = 140
REVIEW_STATES = {"APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED", "PENDING"}
STATUS_STATES = {"error", "failure", "pending", "success"}
DEPLOYMENT_STATES = {"error", "failure", "inactive", "in_progress", "queued", "pending", "success"}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Recorded:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Fault:
    status: int
    times: int
    method: str | None
    path: re.Pattern[str] | None
    headers: dict[str, str]
    body: dict[str, Any]
    effect: bool = False  # carry the request out, then answer with the failure


class _HttpError(Exception):
    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def _not_found() -> _HttpError:
    return _HttpError(
        404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404"}
    )


def _validation(resource: str, message: str, field_name: str | None = None) -> _HttpError:
    err: dict[str, Any] = {"resource": resource, "code": "custom", "message": message}
    if field_name:
        err["field"] = field_name
    return _HttpError(
        422,
        {
            "message": "Validation Failed",
            "errors": [err],
            "documentation_url": "https://docs.github.com/rest",
        },
    )


class FakeGitHub:
    """One fake repository (``owner/name``) behind a threaded HTTP server."""

    def __init__(
        self,
        *,
        token: str = "fake-token",
        repository: str = "acme/infra",
        default_branch: str = "main",
        git_dir: Path | None = None,
        per_page_max: int = 100,
        token_login: str = "orchestrate-bot",
        workflow_token: bool = False,
    ) -> None:
        self.token = token
        # Whose token this is. A workflow token (GITHUB_TOKEN) cannot call GET /user (403
        # "Resource not accessible by integration") and writes as github-actions[bot].
        self.workflow_token = workflow_token
        self.token_login = "github-actions[bot]" if workflow_token else token_login
        self.repository = repository
        self.owner, self.name = repository.split("/", 1)
        self.default_branch = default_branch
        self.git_dir = git_dir
        self.per_page_max = per_page_max
        self.requests: list[Recorded] = []
        self.pulls: dict[int, dict[str, Any]] = {}
        self.comments: dict[int, dict[str, Any]] = {}  # id -> comment (with private "_issue")
        self.reviews: dict[int, list[dict[str, Any]]] = {}
        self.statuses: dict[str, list[dict[str, Any]]] = {}
        self.labels: dict[str, dict[str, Any]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.merges: list[dict[str, Any]] = []
        # GitHub Actions job tokens: token -> the job's `permissions` (scope -> read|write|none).
        self.job_tokens: dict[str, dict[str, str]] = {}
        self.artifacts: list[dict[str, Any]] = []  # workflow artifacts, newest last
        self.deployments: dict[int, dict[str, Any]] = {}
        self.deployment_statuses: dict[int, list[dict[str, Any]]] = {}
        # login -> role on the repository: admin | maintain | write | triage | read. Anyone
        # else has "read" (a public repository) or "none" (private, ``private=True``).
        self.collaborators: dict[str, str] = {}
        self.private = False
        self.teams: dict[str, dict[str, str]] = {}  # "org/slug" -> {login: member | maintainer}
        self._faults: list[_Fault] = []
        self._ids = itertools.count(1000)
        self._numbers = itertools.count(1)
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ life cycle

    def start(self) -> FakeGitHub:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                del format, args

            def _handle(self) -> None:
                fake._dispatch(self)

            do_GET = _handle
            do_POST = _handle
            do_PATCH = _handle
            do_PUT = _handle
            do_DELETE = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeGitHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The API base URL (what GITHUB_API_URL holds)."""
        assert self._server is not None, "start() the fake first"
        return f"http://127.0.0.1:{self._server.server_port}"

    @property
    def web_url(self) -> str:
        return self.url + "/web"

    def env(self) -> dict[str, str]:
        """Environment variables pointing orchestrate at this fake."""
        return {"GITHUB_TOKEN": self.token, "GITHUB_REPOSITORY": self.repository, "GITHUB_API_URL": self.url}

    # ------------------------------------------------------------ test set-up

    def user(self, login: str) -> dict[str, Any]:
        with self._lock:
            if login not in self.users:
                uid = int(hashlib.sha256(login.encode()).hexdigest()[:6], 16)
                self.users[login] = {
                    "login": login,
                    "id": uid,
                    "node_id": f"U_{uid}",
                    "avatar_url": f"{self.web_url}/avatars/{login}",
                    "url": f"{self.url}/users/{login}",
                    "html_url": f"{self.web_url}/{login}",
                    "type": "Bot" if login.endswith("[bot]") else "User",
                    "site_admin": False,
                }
            return self.users[login]

    def grant(self, login: str, role: str = "write") -> None:
        """Make ``login`` a collaborator with ``role`` (admin, maintain, write, triage, read)."""
        assert role in ("admin", "maintain", "write", "triage", "read"), role
        with self._lock:
            self.collaborators[login] = role

    def add_team(self, team: str, *members: str, role: str = "member") -> None:
        """Team ``org/slug`` with ``members`` (active memberships)."""
        with self._lock:
            self.teams.setdefault(team, {}).update(dict.fromkeys(members, role))

    def repo_json(self, full_name: str | None = None, *, fork: bool = False) -> dict[str, Any]:
        full_name = full_name or self.repository
        owner, name = full_name.split("/", 1)
        rid = int(hashlib.sha256(full_name.encode()).hexdigest()[:6], 16)
        return {
            "id": rid,
            "node_id": f"R_{rid}",
            "name": name,
            "full_name": full_name,
            "private": False,
            "owner": self.user(owner),
            "html_url": f"{self.web_url}/{full_name}",
            "url": f"{self.url}/repos/{full_name}",
            "fork": fork,
            "default_branch": self.default_branch,
            "visibility": "public",
        }

    def branch_sha(self, branch: str) -> str | None:
        """The sha of ``branch`` in the attached bare repository, if any."""
        if self.git_dir is None:
            return None
        out = subprocess.run(
            ["git", "--git-dir", str(self.git_dir), "rev-parse", "--verify", "-q", f"refs/heads/{branch}"],
            capture_output=True,
            text=True,
            check=False,
        )
        return out.stdout.strip() or None

    def add_pull(
        self,
        number: int | None = None,
        *,
        head_sha: str | None = None,
        head_ref: str = "feature",
        base_ref: str | None = None,
        base_sha: str | None = None,
        author: str = "alice",
        title: str = "Change infrastructure",
        body: str = "",
        head_repo: str | None = None,
        track_branch: bool = False,
        mergeable: bool | None = True,
        draft: bool = False,
    ) -> dict[str, Any]:
        """A PR. ``head_repo`` other than this repository makes it a PR from a fork.

        ``track_branch`` makes its head follow ``head_ref`` in ``git_dir`` (a push moves it).
        """
        with self._lock:
            number = number if number is not None else next(self._numbers)
            while number in self.pulls:
                number = next(self._numbers)
            if head_sha is None and not track_branch:
                head_sha = hashlib.sha1(f"{number}-{time.time()}".encode()).hexdigest()
            pid = next(self._ids)
            self.pulls[number] = {
                "_number": number,
                "_id": pid,
                "_head_sha": head_sha,
                "_head_ref": head_ref,
                "_head_repo": head_repo or self.repository,
                "_base_ref": base_ref or self.default_branch,
                "_base_sha": base_sha,
                "_author": author,
                "_track": track_branch,
                "title": title,
                "body": body,
                "state": "open",
                "merged": False,
                "merged_at": None,
                "closed_at": None,
                "merge_commit_sha": None,
                "mergeable": mergeable,
                "draft": draft,
                "labels": [],
                "created_at": _now(),
                "updated_at": _now(),
            }
            self.reviews.setdefault(number, [])
            return self._pull_json(number)

    def set_head(self, number: int, sha: str) -> None:
        with self._lock:
            self.pulls[number]["_head_sha"] = sha
            self.pulls[number]["_track"] = False

    def add_review(
        self,
        number: int,
        user: str,
        state: str,
        *,
        commit_id: str | None = None,
        body: str = "",
        submitted_at: str | None = None,
    ) -> dict[str, Any]:
        """A review on PR ``number``; ``commit_id`` defaults to the PR's current head."""
        assert state in REVIEW_STATES, state
        with self._lock:
            pr = self._pull_json(number)
            rid = next(self._ids)
            review = {
                "id": rid,
                "node_id": f"PRR_{rid}",
                "user": self.user(user),
                "body": body,
                "state": state,
                "html_url": f"{self.web_url}/{self.repository}/pull/{number}#pullrequestreview-{rid}",
                "pull_request_url": f"{self.url}/repos/{self.repository}/pulls/{number}",
                "author_association": "MEMBER",
                "commit_id": commit_id or pr["head"]["sha"],
                "_links": {
                    "html": {
                        "href": f"{self.web_url}/{self.repository}/pull/{number}#pullrequestreview-{rid}"
                    },
                    "pull_request": {"href": f"{self.url}/repos/{self.repository}/pulls/{number}"},
                },
            }
            if state != "PENDING":
                review["submitted_at"] = submitted_at or _now()
            self.reviews.setdefault(number, []).append(review)
            return review

    def dismiss_review(self, number: int, review_id: int) -> None:
        with self._lock:
            for r in self.reviews.get(number, []):
                if r["id"] == review_id:
                    r["state"] = "DISMISSED"

    def add_comment(self, number: int, body: str, *, user: str = "someone") -> dict[str, Any]:
        """A comment written by somebody else (not through the API)."""
        with self._lock:
            return self._create_comment(number, body, user)

    def fail(
        self,
        status: int = 502,
        *,
        times: int = 1,
        method: str | None = None,
        path: str | None = None,
        headers: dict[str, str] | None = None,
        message: str = "Server Error",
        effect: bool = False,
    ) -> None:
        """The next ``times`` matching requests get ``status`` (5xx by default).

        ``effect=True`` carries the request out first (GitHub sometimes answers 502 to a
        request it did perform), so clients must not blindly send it again.
        """
        with self._lock:
            self._faults.append(
                _Fault(
                    status,
                    times,
                    method,
                    re.compile(path) if path else None,
                    headers or {},
                    {"message": message},
                    effect,
                )
            )

    def rate_limit(
        self,
        *,
        times: int = 1,
        reset_in: float = 1.0,
        method: str | None = None,
        path: str | None = None,
        secondary: bool = False,
    ) -> None:
        """The next ``times`` matching requests are rate-limited as GitHub does it."""
        reset = int(time.time() + reset_in)
        if secondary:
            headers = {"retry-after": str(max(int(reset_in), 0))}
            message = (
                "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
            )
        else:
            headers = {
                "x-ratelimit-limit": "5000",
                "x-ratelimit-remaining": "0",
                "x-ratelimit-used": "5000",
                "x-ratelimit-reset": str(reset),
                "x-ratelimit-resource": "core",
            }
            message = "API rate limit exceeded for installation ID 4242."
        self.fail(403, times=times, method=method, path=path, headers=headers, message=message)

    # ------------------------------------------------------------ queries for assertions

    def issue_comments(self, number: int) -> list[dict[str, Any]]:
        with self._lock:
            return [self._public(c) for c in self.comments.values() if c["_issue"] == number]

    def commit_statuses(self, sha: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.statuses.get(sha, []))

    def latest_statuses(self, sha: str) -> dict[str, dict[str, Any]]:
        """context -> the newest status (what GitHub shows on the commit)."""
        out: dict[str, dict[str, Any]] = {}
        for s in self.commit_statuses(sha):
            out[s["context"]] = s
        return out

    def received(self, method: str | None = None, path: str | None = None) -> list[Recorded]:
        rx = re.compile(path) if path else None
        return [
            r
            for r in list(self.requests)
            if (method is None or r.method == method) and (rx is None or rx.search(r.path))
        ]

    def all_text_received(self) -> str:
        """Every request body as text: to search for a secret that must not be there."""
        return "\n".join(json.dumps(r.body) for r in list(self.requests) if r.body is not None)

    # ------------------------------------------------------------ JSON shapes

    def _public(self, obj: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in obj.items() if not k.startswith("_")}

    def _head_sha(self, pr: dict[str, Any]) -> str:
        if pr["_track"]:
            sha = self.branch_sha(pr["_head_ref"])
            if sha is None:
                raise _HttpError(422, {"message": f"branch {pr['_head_ref']} does not exist"})
            return sha
        return str(pr["_head_sha"])

    def _pull_json(self, number: int) -> dict[str, Any]:
        pr = self.pulls.get(number)
        if pr is None:
            raise _not_found()
        full = self.repository
        head_repo = pr["_head_repo"]
        head_owner = head_repo.split("/", 1)[0]
        html = f"{self.web_url}/{full}/pull/{number}"
        base_sha = self.branch_sha(pr["_base_ref"]) or pr.get("_base_sha") or "0" * 40
        data = self._public(pr)
        data.update(
            {
                "url": f"{self.url}/repos/{full}/pulls/{number}",
                "id": pr["_id"],
                "node_id": f"PR_{pr['_id']}",
                "html_url": html,
                "diff_url": html + ".diff",
                "patch_url": html + ".patch",
                "issue_url": f"{self.url}/repos/{full}/issues/{number}",
                "commits_url": f"{self.url}/repos/{full}/pulls/{number}/commits",
                "review_comments_url": f"{self.url}/repos/{full}/pulls/{number}/comments",
                "comments_url": f"{self.url}/repos/{full}/issues/{number}/comments",
                "statuses_url": f"{self.url}/repos/{full}/statuses/{self._head_sha(pr)}",
                "number": number,
                "locked": False,
                "user": self.user(pr["_author"]),
                "author_association": "MEMBER",
                "head": {
                    "label": f"{head_owner}:{pr['_head_ref']}",
                    "ref": pr["_head_ref"],
                    "sha": self._head_sha(pr),
                    "user": self.user(head_owner),
                    "repo": self.repo_json(head_repo, fork=head_repo != full),
                },
                "base": {
                    "label": f"{self.owner}:{pr['_base_ref']}",
                    "ref": pr["_base_ref"],
                    "sha": base_sha,
                    "user": self.user(self.owner),
                    "repo": self.repo_json(full),
                },
                "mergeable_state": "clean" if pr["mergeable"] else "dirty",
                "comments": sum(1 for c in self.comments.values() if c["_issue"] == number),
                "review_comments": 0,
                "commits": 1,
                "additions": 1,
                "deletions": 0,
                "changed_files": 1,
            }
        )
        return data

    def _issue_json(self, number: int) -> dict[str, Any]:
        pr = self._pull_json(number)
        return {
            "url": pr["issue_url"],
            "id": pr["id"] + 1,
            "node_id": f"I_{pr['id']}",
            "number": number,
            "title": pr["title"],
            "body": pr["body"],
            "user": pr["user"],
            "state": pr["state"],
            "labels": pr["labels"],
            "comments": pr["comments"],
            "html_url": pr["html_url"],
            "comments_url": pr["comments_url"],
            "labels_url": f"{pr['issue_url']}/labels{{/name}}",
            "repository_url": f"{self.url}/repos/{self.repository}",
            "pull_request": {"url": pr["url"], "html_url": pr["html_url"]},
            "created_at": pr["created_at"],
            "updated_at": pr["updated_at"],
            "closed_at": pr["closed_at"],
        }

    def _create_comment(self, number: int, body: str, user: str) -> dict[str, Any]:
        if number not in self.pulls:
            raise _not_found()
        if not isinstance(body, str) or not body:
            raise _validation("IssueComment", "body cannot be blank", "body")
        if len(body) > COMMENT_LIMIT:
            raise _validation(
                "IssueComment", f"body is too long (maximum is {COMMENT_LIMIT} characters)", "body"
            )
        cid = next(self._ids)
        full = self.repository
        comment = {
            "_issue": number,
            "id": cid,
            "node_id": f"IC_{cid}",
            "url": f"{self.url}/repos/{full}/issues/comments/{cid}",
            "html_url": f"{self.web_url}/{full}/pull/{number}#issuecomment-{cid}",
            "issue_url": f"{self.url}/repos/{full}/issues/{number}",
            "body": body,
            "user": self.user(user),
            "created_at": _now(),
            "updated_at": _now(),
            "author_association": "MEMBER",
        }
        self.comments[cid] = comment
        return self._public(comment)

    def _label_json(self, name: str, color: str = "ededed", description: str | None = None) -> dict[str, Any]:
        lid = int(hashlib.sha256(name.encode()).hexdigest()[:6], 16)
        return {
            "id": lid,
            "node_id": f"LA_{lid}",
            "url": f"{self.url}/repos/{self.repository}/labels/{name}",
            "name": name,
            "color": color,
            "default": False,
            "description": description,
        }

    # ------------------------------------------------------------ HTTP

    def _dispatch(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        path = parts.path
        query = parse_qs(parts.query)
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
        rec = Recorded(h.command, path, query, body)
        with self._lock:
            self.requests.append(rec)
        status, data, headers = 500, {"message": "unhandled"}, {}
        try:
            fault = self._take_fault(h.command, path)
            if fault is not None and not fault.effect:
                raise _HttpError(fault.status, fault.body, fault.headers)
            auth = h.headers.get("Authorization", "")
            token = auth.split(" ", 1)[1] if " " in auth else ""
            if token != self.token and token not in self.job_tokens:
                raise _HttpError(
                    401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}
                )
            if token in self.job_tokens:
                self._check_job_permission(self.job_tokens[token], h.command, path)
            with self._lock:
                status, data, headers = self._route(h.command, path, query, body)
            if fault is not None:
                raise _HttpError(fault.status, fault.body, fault.headers)
        except _HttpError as exc:
            status, data, headers = exc.status, exc.body, exc.headers
        rec.status = status
        rec.headers = dict(headers)
        payload = b"" if status == 204 else json.dumps(data).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json; charset=utf-8")
        h.send_header("Content-Length", str(len(payload)))
        if "x-ratelimit-remaining" not in {k.lower() for k in headers}:
            h.send_header("X-RateLimit-Limit", "5000")
            h.send_header("X-RateLimit-Remaining", "4999")
            h.send_header("X-RateLimit-Reset", str(int(time.time()) + 3600))
        for k, v in headers.items():
            h.send_header(k, v)
        h.end_headers()
        if payload:
            h.wfile.write(payload)

    def add_job_token(self, token: str, permissions: dict[str, str]) -> None:
        """A GITHUB_TOKEN as a workflow job gets it: limited to the job's ``permissions``."""
        with self._lock:
            self.job_tokens[token] = dict(permissions)

    @staticmethod
    def _check_job_permission(granted: dict[str, str], method: str, path: str) -> None:
        """Refuse what a job token's permissions do not allow (GitHub answers 403)."""
        rest = path.split("/", 4)[4] if path.count("/") >= 4 else ""
        needed: tuple[tuple[str, ...], str] | None = None
        if rest.startswith("actions/"):
            needed = (("actions",), "read")
        elif method != "GET":
            if rest.startswith("statuses/"):
                needed = (("statuses",), "write")
            elif rest.startswith("pulls/") and rest.endswith("/merge"):
                needed = (("contents",), "write")
            elif rest.startswith(("issues", "labels")):
                needed = (("issues", "pull-requests"), "write")
            elif rest.startswith("pulls"):
                needed = (("pull-requests",), "write")
        if needed is None:
            return
        scopes, level = needed
        ok = any(granted.get(s) == "write" or (level == "read" and granted.get(s) == "read") for s in scopes)
        if not ok:
            raise _HttpError(
                403,
                {
                    "message": "Resource not accessible by integration",
                    "documentation_url": "https://docs.github.com/rest",
                    "status": "403",
                    "needed": f"{' or '.join(scopes)}: {level}",
                },
            )

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.times <= 0:
                    continue
                if fault.method and fault.method != method:
                    continue
                if fault.path and not fault.path.search(path):
                    continue
                fault.times -= 1
                return fault
        return None

    def _page(
        self, path: str, query: dict[str, list[str]], items: list[Any]
    ) -> tuple[int, Any, dict[str, str]]:
        per_page = min(int((query.get("per_page") or ["30"])[0]), self.per_page_max)
        page = int((query.get("page") or ["1"])[0])
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {}
        links = []
        flat = {k: v[0] for k, v in query.items()}
        last = max((len(items) + per_page - 1) // per_page, 1)
        if page < last:
            links.append(f'<{self.url}{path}?{urlencode({**flat, "page": page + 1})}>; rel="next"')
            links.append(f'<{self.url}{path}?{urlencode({**flat, "page": last})}>; rel="last"')
        if page > 1:
            links.append(f'<{self.url}{path}?{urlencode({**flat, "page": page - 1})}>; rel="prev"')
            links.append(f'<{self.url}{path}?{urlencode({**flat, "page": 1})}>; rel="first"')
        if links:
            headers["Link"] = ", ".join(links)
        return 200, chunk, headers

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        prefix = f"/repos/{self.repository}"
        if path == "/user" and method == "GET":
            if self.workflow_token:
                raise _HttpError(
                    403,
                    {
                        "message": "Resource not accessible by integration",
                        "documentation_url": "https://docs.github.com/rest/users/users#get-the-authenticated-user",
                        "status": "403",
                    },
                )
            return 200, self.user(self.token_login), {}
        m = re.fullmatch(r"/orgs/([^/]+)/teams/([^/]+)/memberships/([^/]+)", path)
        if m and method == "GET":
            return 200, self._membership(m.group(1), m.group(2), m.group(3)), {}
        if not path.startswith(prefix):
            raise _not_found()
        rest = path[len(prefix) :]
        if isinstance(body, list) and rest.endswith("/labels"):
            body = {"labels": body}  # GitHub accepts a bare list of names too
        body = body if isinstance(body, dict) else {}

        if rest == "" and method == "GET":
            return 200, self.repo_json(), {}

        m = re.fullmatch(r"/collaborators/([^/]+)/permission", rest)
        if m and method == "GET":
            return 200, self._permission(m.group(1)), {}

        m = re.fullmatch(r"/issues/(\d+)/comments", rest)
        if m:
            number = int(m.group(1))
            if number not in self.pulls:
                raise _not_found()
            if method == "GET":
                items = sorted(
                    (self._public(c) for c in self.comments.values() if c["_issue"] == number),
                    key=lambda c: c["id"],
                )
                return self._page(path, query, items)
            if method == "POST":
                return 201, self._create_comment(number, body.get("body", ""), self.token_login), {}

        m = re.fullmatch(r"/issues/comments/(\d+)", rest)
        if m:
            comment = self.comments.get(int(m.group(1)))
            if comment is None:
                raise _not_found()
            if method == "GET":
                return 200, self._public(comment), {}
            if method == "PATCH":
                text = body.get("body", "")
                if not text:
                    raise _validation("IssueComment", "body cannot be blank", "body")
                if len(text) > COMMENT_LIMIT:
                    raise _validation(
                        "IssueComment", f"body is too long (maximum is {COMMENT_LIMIT} characters)", "body"
                    )
                comment["body"] = text
                comment["updated_at"] = _now()
                return 200, self._public(comment), {}
            if method == "DELETE":
                del self.comments[comment["id"]]
                return 204, None, {}

        m = re.fullmatch(r"/issues/(\d+)", rest)
        if m and method == "GET":
            return 200, self._issue_json(int(m.group(1))), {}
        if m and method == "PATCH":
            number = int(m.group(1))
            self._edit_pull(number, body)
            return 200, self._issue_json(number), {}

        m = re.fullmatch(r"/issues/(\d+)/labels", rest)
        if m:
            number = int(m.group(1))
            pr = self.pulls.get(number)
            if pr is None:
                raise _not_found()
            if method == "POST":
                names = body.get("labels", [])
                for name in names:
                    label = self.labels.setdefault(name, self._label_json(name))
                    if all(lab["name"] != name for lab in pr["labels"]):
                        pr["labels"].append(label)
                return 200, pr["labels"], {}
            if method == "GET":
                return self._page(path, query, pr["labels"])

        m = re.fullmatch(r"/labels/([^/]+)", rest)
        if m and method == "GET":
            from urllib.parse import unquote

            name = unquote(m.group(1))
            if name not in self.labels:
                raise _not_found()
            return 200, self.labels[name], {}
        if rest == "/labels" and method == "POST":
            name = body.get("name", "")
            if name in self.labels:
                raise _HttpError(
                    422,
                    {
                        "message": "Validation Failed",
                        "errors": [{"resource": "Label", "code": "already_exists"}],
                    },
                )
            self.labels[name] = self._label_json(name, body.get("color", "ededed"), body.get("description"))
            return 201, self.labels[name], {}

        m = re.fullmatch(r"/statuses/([0-9a-f]{7,40})", rest)
        if m and method == "POST":
            sha = m.group(1)
            state = body.get("state")
            if state not in STATUS_STATES:
                raise _validation("Status", f"state is not included in the list ({state!r})", "state")
            description = body.get("description")
            if description is not None and len(description) > STATUS_DESCRIPTION_LIMIT:
                raise _validation(
                    "Status", "description is too long (maximum is 140 characters)", "description"
                )
            sid = next(self._ids)
            status = {
                "url": f"{self.url}{path}",
                "avatar_url": None,
                "id": sid,
                "node_id": f"SC_{sid}",
                "state": state,
                "description": description,
                "target_url": body.get("target_url"),
                "context": body.get("context") or "default",
                "created_at": _now(),
                "updated_at": _now(),
                "creator": self.user(self.token_login),
            }
            self.statuses.setdefault(sha, []).append(status)
            return 201, status, {}
        m = re.fullmatch(r"/commits/([0-9a-f]{7,40})/statuses", rest)
        if m and method == "GET":
            return self._page(path, query, list(reversed(self.statuses.get(m.group(1), []))))

        if rest == "/pulls":
            if method == "GET":
                state = (query.get("state") or ["open"])[0]
                head = (query.get("head") or [None])[0]
                base = (query.get("base") or [None])[0]
                items = []
                for number in sorted(self.pulls):
                    pj = self._pull_json(number)
                    if state != "all" and pj["state"] != state:
                        continue
                    if head and pj["head"]["label"] != head:
                        continue
                    if base and pj["base"]["ref"] != base:
                        continue
                    items.append(pj)
                return self._page(path, query, items)
            if method == "POST":
                return 201, self._create_pull(body), {}

        m = re.fullmatch(r"/pulls/(\d+)", rest)
        if m:
            number = int(m.group(1))
            if method == "GET":
                return 200, self._pull_json(number), {}
            if method == "PATCH":
                self._edit_pull(number, body)
                return 200, self._pull_json(number), {}

        m = re.fullmatch(r"/pulls/(\d+)/reviews", rest)
        if m and method == "GET":
            number = int(m.group(1))
            if number not in self.pulls:
                raise _not_found()
            return self._page(path, query, [self._public(r) for r in self.reviews.get(number, [])])

        if rest == "/actions/artifacts" and method == "GET":
            name = (query.get("name") or [None])[0]
            items = [a for a in reversed(self.artifacts) if name is None or a["name"] == name]
            status, page, headers = self._page(path, query, items)
            return status, {"total_count": len(items), "artifacts": page}, headers

        m = re.fullmatch(r"/pulls/(\d+)/merge", rest)
        if m and method == "PUT":
            return self._merge(int(m.group(1)), body)

        if rest.startswith("/deployments"):
            return self._deployments_route(method, path, rest, query, body)

        raise _not_found()

    # ------------------------------------------------------------ deployments

    def _deployments_route(
        self, method: str, path: str, rest: str, query: dict[str, list[str]], body: dict[str, Any]
    ) -> tuple[int, Any, dict[str, str]]:
        if rest == "/deployments" and method == "POST":
            return 201, self._create_deployment(body), {}
        if rest == "/deployments" and method == "GET":
            items = list(reversed(self.deployments.values()))
            for key in ("sha", "ref", "task", "environment"):
                want = (query.get(key) or [None])[0]
                if want is not None:
                    items = [d for d in items if d[key] == want]
            return self._page(path, query, items)
        m = re.fullmatch(r"/deployments/(\d+)(/statuses)?", rest)
        if not m or int(m.group(1)) not in self.deployments:
            raise _not_found()
        deployment = self.deployments[int(m.group(1))]
        if not m.group(2) and method == "GET":
            return 200, deployment, {}
        if m.group(2) and method == "GET":
            return self._page(path, query, list(reversed(self.deployment_statuses[deployment["id"]])))
        if m.group(2) and method == "POST":
            return 201, self._create_deployment_status(deployment, body), {}
        raise _not_found()

    def _create_deployment(self, body: dict[str, Any]) -> dict[str, Any]:
        ref = body.get("ref")
        if not isinstance(ref, str) or not ref:
            raise _validation("Deployment", "ref is missing", "ref")
        sha = ref if re.fullmatch(r"[0-9a-f]{40}", ref) else self.branch_sha(ref)
        if sha is None or (self.git_dir is not None and not self._has_commit(sha)):
            raise _HttpError(422, {"message": f"No ref found for: {ref}"})
        description = body.get("description")
        if description is not None and len(description) > STATUS_DESCRIPTION_LIMIT:
            raise _validation("Deployment", "description is too long (maximum is 140 characters)")
        did = next(self._ids)
        env = body.get("environment") or "production"
        deployment = {
            "url": f"{self.url}/repos/{self.repository}/deployments/{did}",
            "id": did,
            "node_id": f"DE_{did}",
            "sha": sha,
            "ref": ref,
            "task": body.get("task") or "deploy",
            "payload": body.get("payload") or {},
            "original_environment": env,
            "environment": env,
            "description": description,
            "creator": self.user("orchestrate-bot"),
            "created_at": _now(),
            "updated_at": _now(),
            "statuses_url": f"{self.url}/repos/{self.repository}/deployments/{did}/statuses",
            "repository_url": f"{self.url}/repos/{self.repository}",
            "transient_environment": bool(body.get("transient_environment", False)),
            "production_environment": bool(body.get("production_environment", env == "production")),
        }
        self.deployments[did] = deployment
        self.deployment_statuses[did] = []
        return deployment

    def _create_deployment_status(self, deployment: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        state = body.get("state")
        if state not in DEPLOYMENT_STATES:
            raise _validation("DeploymentStatus", f"state is not included in the list ({state!r})", "state")
        description = body.get("description")
        if description is not None and len(description) > STATUS_DESCRIPTION_LIMIT:
            raise _validation("DeploymentStatus", "description is too long (maximum is 140 characters)")
        sid = next(self._ids)
        log_url = body.get("log_url") or body.get("target_url") or ""
        status = {
            "url": f"{deployment['url']}/statuses/{sid}",
            "id": sid,
            "node_id": f"DES_{sid}",
            "state": state,
            "creator": self.user("orchestrate-bot"),
            "description": description or "",
            "environment": body.get("environment") or deployment["environment"],
            "target_url": log_url,
            "log_url": log_url,
            "environment_url": body.get("environment_url") or "",
            "created_at": _now(),
            "updated_at": _now(),
            "deployment_url": deployment["url"],
            "repository_url": deployment["repository_url"],
        }
        self.deployment_statuses[deployment["id"]].append(status)
        return status

    def _has_commit(self, sha: str) -> bool:
        assert self.git_dir is not None
        res = subprocess.run(
            ["git", "--git-dir", str(self.git_dir), "cat-file", "-e", f"{sha}^{{commit}}"],
            capture_output=True,
        )
        return res.returncode == 0

    def _permission(self, login: str) -> dict[str, Any]:
        """GET /repos/{o}/{r}/collaborators/{u}/permission: ``permission`` is the legacy
        admin/write/read/none (maintain shows as write, triage as read), ``role_name`` the role."""
        from urllib.parse import unquote

        login = unquote(login)
        role = self.collaborators.get(login) or ("none" if self.private else "read")
        legacy = {"maintain": "write", "triage": "read"}.get(role, role)
        user = dict(self.user(login))
        user["permissions"] = {
            "admin": role == "admin",
            "maintain": role in ("admin", "maintain"),
            "push": role in ("admin", "maintain", "write"),
            "triage": role in ("admin", "maintain", "write", "triage"),
            "pull": role != "none",
        }
        user["role_name"] = role
        return {"permission": legacy, "role_name": role, "user": user}

    def _membership(self, org: str, slug: str, login: str) -> dict[str, Any]:
        """GET /orgs/{org}/teams/{slug}/memberships/{username}: 404 unless a member."""
        from urllib.parse import unquote

        login = unquote(login)
        role = self.teams.get(f"{org}/{slug}", {}).get(login)
        if role is None:
            raise _not_found()
        return {
            "url": f"{self.url}/teams/{org}-{slug}/memberships/{login}",
            "role": role,
            "state": "active",
        }

    def _create_pull(self, body: dict[str, Any]) -> dict[str, Any]:
        head = body.get("head") or ""
        base = body.get("base") or ""
        title = body.get("title") or ""
        if not title:
            raise _validation("PullRequest", "title cannot be blank", "title")
        head_owner, _, head_ref = head.rpartition(":")
        head_repo = (
            f"{head_owner}/{self.name}" if head_owner and head_owner != self.owner else self.repository
        )
        if self.git_dir is not None and self.branch_sha(head_ref) is None:
            raise _validation("PullRequest", f"head {head_ref} does not exist", "head")
        if self.git_dir is not None and self.branch_sha(base) is None:
            raise _validation("PullRequest", f"base {base} does not exist", "base")
        for number, pr in self.pulls.items():
            del number
            if pr["state"] == "open" and pr["_head_ref"] == head_ref and pr["_head_repo"] == head_repo:
                raise _validation(
                    "PullRequest", f"A pull request already exists for {self.owner}:{head_ref}."
                )
        created = self.add_pull(
            head_ref=head_ref,
            base_ref=base,
            title=title,
            body=body.get("body") or "",
            author=self.token_login,
            head_repo=head_repo,
            track_branch=self.git_dir is not None,
            draft=bool(body.get("draft")),
        )
        return created

    def _edit_pull(self, number: int, body: dict[str, Any]) -> None:
        pr = self.pulls.get(number)
        if pr is None:
            raise _not_found()
        for key in ("title", "body"):
            if key in body and body[key] is not None:
                pr[key] = body[key]
        if body.get("base"):
            pr["_base_ref"] = body["base"]
        if body.get("state") in ("open", "closed"):
            pr["state"] = body["state"]
            pr["closed_at"] = _now() if body["state"] == "closed" else None
        pr["updated_at"] = _now()

    def _merge(self, number: int, body: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        pr = self.pulls.get(number)
        if pr is None:
            raise _not_found()
        head = self._head_sha(pr)
        if pr["merged"] or pr["state"] != "open":
            raise _HttpError(405, {"message": "Pull Request is not mergeable"})
        if body.get("sha") and body["sha"] != head:
            raise _HttpError(409, {"message": "Head branch was modified. Review and try the merge again."})
        if not pr["mergeable"]:
            raise _HttpError(405, {"message": "Pull Request is not mergeable"})
        method = body.get("merge_method") or "merge"
        if method not in ("merge", "squash", "rebase"):
            raise _validation("PullRequest", f"merge_method {method!r} is not valid", "merge_method")
        sha = hashlib.sha1(f"merge-{number}-{head}".encode()).hexdigest()
        pr.update(
            {
                "merged": True,
                "state": "closed",
                "merged_at": _now(),
                "closed_at": _now(),
                "merge_commit_sha": sha,
            }
        )
        self.merges.append({"number": number, "sha": head, "method": method, **body})
        return 200, {"sha": sha, "merged": True, "message": "Pull Request successfully merged"}, {}
