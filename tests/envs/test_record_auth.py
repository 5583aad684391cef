"""Records pushed with the workflow token from a clone that keeps no credentials (docs/ci.md
"Apply records"), against a real smart-HTTP git server that refuses what GitHub refuses: no
token 401, a read-only token 403 on push. The token is given to those git commands only: never
in .git/config, the record, a warning, or terraform's environment."""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from orchestrator.envs.store import NOTES_REF, RecordStore
from tests.conftest import git
from tests.envs.conftest import FAMILY, RemoteRepo, two_envs
from tests.envs.test_store import record
from tests.fakes.git_http import GitHttpServer

pytestmark = pytest.mark.integration

WRITE, READ = "ghs_writeTOKEN123", "ghs_readTOKEN456"


@pytest.fixture
def server(tmp_path: Path, make_repo: Callable[..., Path]) -> Iterator[tuple[GitHttpServer, Path, Path]]:
    """(the server, its bare repository, a clone of it over HTTP without credentials)."""
    seed = make_repo({"README": "x\n"})
    bare = tmp_path / "infra.git"
    git(tmp_path, "clone", "-q", "--bare", str(seed), str(bare))
    granted = {WRITE: True, READ: False}
    srv = GitHttpServer(bare, "acme/infra", lambda t, w: t in granted and (granted[t] or not w)).start()
    work = tmp_path / "work"
    header = "AUTHORIZATION: basic " + base64.b64encode(f"x-access-token:{READ}".encode()).decode()
    subprocess.run(
        ["git", "-c", f"http.extraheader={header}", "clone", "-q", srv.repo_url, str(work)],
        check=True,
        capture_output=True,
    )
    try:
        yield srv, bare, work
    finally:
        srv.stop()


def leaks(token: str, *texts: str) -> bool:
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return any(token in t or basic in t for t in texts)


def test_the_record_is_pushed_with_the_token_given_to_git_only(
    server: tuple[GitHttpServer, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    srv, bare, work = server
    monkeypatch.setenv("GITHUB_TOKEN", WRITE)
    monkeypatch.setenv("GITHUB_SERVER_URL", srv.url)
    head = git(work, "rev-parse", "HEAD")
    out = RecordStore(work).write(record(head))
    assert out.pushed and not out.warnings, out.warnings
    note = git(bare, "notes", "--ref=orchestrate", "show", head)
    assert '"plan_set":"ps-1"' in note.replace(" ", "")
    assert ("git-receive-pack", 200) in srv.requests
    config = (work / ".git" / "config").read_text()
    assert "extraheader" not in config and not leaks(WRITE, config, note)


def test_no_token_or_a_read_only_one_fails_loudly_and_says_how_to_recover(
    server: tuple[GitHttpServer, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    srv, bare, work = server
    monkeypatch.setenv("GITHUB_SERVER_URL", srv.url)
    head = git(work, "rev-parse", "HEAD")
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.delenv("GIT_CONFIG_COUNT", raising=False)
    out = RecordStore(work).write(record(head))
    assert not out.pushed
    assert any("orchestrate history --push" in w for w in out.warnings), out.warnings
    monkeypatch.setenv("GITHUB_TOKEN", READ)  # contents: read
    out = RecordStore(work).write(record(head))
    assert not out.pushed and ("git-receive-pack", 403) in srv.requests
    assert any("403" in w and "orchestrate history --push" in w for w in out.warnings), out.warnings
    assert not leaks(READ, *out.warnings)
    assert subprocess.run(
        ["git", "--git-dir", str(bare), "rev-parse", "-q", "--verify", NOTES_REF]
    ).returncode
    # The record stayed in the clone: with a token that may push, `history --push` gets it out.
    monkeypatch.setenv("GITHUB_TOKEN", WRITE)
    assert RecordStore(work).push([])
    assert len(git(bare, "notes", "--ref=orchestrate", "show", head).splitlines()) == 2


def test_the_token_goes_to_the_github_server_only(
    server: tuple[GitHttpServer, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A remote elsewhere (here: the same server under another name) never receives it."""
    srv, _, work = server
    monkeypatch.setenv("GITHUB_TOKEN", WRITE)
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.example.com")
    head = git(work, "rev-parse", "HEAD")
    before = len(srv.requests)
    out = RecordStore(work).write(record(head))
    assert not out.pushed
    assert {status for _, status in srv.requests[before:]} == {401}


def test_a_clone_with_credentials_of_its_own_keeps_them(
    server: tuple[GitHttpServer, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """persist-credentials: true (or a user's token in the clone) is used as it is: no second
    Authorization header for the same server."""
    srv, bare, work = server
    header = "AUTHORIZATION: basic " + base64.b64encode(f"x-access-token:{WRITE}".encode()).decode()
    git(work, "config", f"http.{srv.url}/.extraheader", header)
    monkeypatch.setenv("GITHUB_TOKEN", READ)  # would be refused: the clone's own token is used
    monkeypatch.setenv("GITHUB_SERVER_URL", srv.url)
    head = git(work, "rev-parse", "HEAD")
    assert RecordStore(work).write(record(head)).pushed
    assert git(bare, "notes", "--ref=orchestrate", "show", head)


def test_an_apply_in_ci_whose_record_is_refused_says_so_in_the_log_and_the_job_summary(
    remote_repo: Callable[..., RemoteRepo], tmp_path: Path
) -> None:
    repo = remote_repo(FAMILY, two_envs(promotion=False))
    srv = GitHttpServer(repo.bare, "acme/infra", lambda t, w: t == READ and not w).start()
    try:
        git(repo.root, "remote", "set-url", "origin", srv.repo_url)
        summary = tmp_path / "summary.md"
        repo.env.update(
            GITHUB_ACTIONS="true",
            GITHUB_STEP_SUMMARY=str(summary),
            GITHUB_TOKEN=READ,  # contents: read
            GITHUB_SERVER_URL=srv.url,
            GITHUB_REPOSITORY="",
        )
        assert repo.orchestrate("plan").exit_code == 2
        res = repo.orchestrate("apply", "--approved-by", "alice", "--reason", "test")
        assert res.exit_code == 0, res.output  # the apply stands
        assert "::warning title=orchestrate%3A apply record not pushed::" in res.output
        assert "orchestrate history --push" in res.output
        text = summary.read_text()
        assert "Apply record not pushed" in text and "`orchestrate history --push`" in text
        assert not leaks(READ, res.output, text)
        head = git(repo.root, "rev-parse", "HEAD")
        assert git(repo.root, "notes", "--ref=orchestrate", "show", head)  # kept in the clone
        assert ("git-receive-pack", 403) in srv.requests
    finally:
        srv.stop()
