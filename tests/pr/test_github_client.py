"""orchestrator.github against the local fake of GitHub's REST API."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.errors import GitHubError
from orchestrator.github import COMMENT_LIMIT, GitHub, GitHubSettings, parse_marker, sticky_marker
from orchestrator.redact import Redactor
from tests.fakes.github import FakeGitHub

SHA = "a" * 40


def test_settings_come_from_the_environment_and_config_wins() -> None:
    env = {
        "GITHUB_TOKEN": "t",
        "GITHUB_REPOSITORY": "acme/infra",
        "GITHUB_API_URL": "https://ghe.example.com/api/v3/",
        "GITHUB_EVENT_PATH": "/tmp/event.json",
        "GITHUB_SERVER_URL": "https://ghe.example.com",
        "GITHUB_RUN_ID": "42",
    }
    s = GitHubSettings.from_env(env=env)
    assert s.api_url == "https://ghe.example.com/api/v3"
    assert s.event_path == Path("/tmp/event.json")
    assert s.run_url == "https://ghe.example.com/acme/infra/actions/runs/42"

    class Cfg:
        repository = "other/repo"
        api_url = "http://127.0.0.1:1"

    s2 = GitHubSettings.from_env(Cfg(), env)
    assert (s2.repository, s2.api_url) == ("other/repo", "http://127.0.0.1:1")
    assert GitHubSettings.from_env(env={}).api_url == "https://api.github.com"


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"GITHUB_TOKEN": "t"}, "no GitHub repository"),
        ({"GITHUB_REPOSITORY": "acme/infra"}, "GITHUB_TOKEN is not set"),
        ({"GITHUB_TOKEN": "t", "GITHUB_REPOSITORY": "not a repo"}, "owner/name"),
    ],
)
def test_missing_settings_are_named(env: dict[str, str], needle: str) -> None:
    with pytest.raises(GitHubError, match=needle):
        GitHub(GitHubSettings.from_env(env=env))


def test_pull_request_fields_and_fork_detection(gh: GitHub, fake_github: FakeGitHub) -> None:
    fake_github.add_pull(3, head_sha=SHA, head_ref="feat", author="alice")
    fake_github.add_pull(4, head_sha=SHA, head_ref="patch-1", author="mallory", head_repo="mallory/infra")
    pr = gh.pull(3)
    assert (pr.number, pr.head_sha, pr.head_ref, pr.author, pr.base_ref) == (3, SHA, "feat", "alice", "main")
    assert pr.state == "open" and not pr.merged and not pr.is_fork
    fork = gh.pull(4)
    assert fork.is_fork and fork.head_repo == "mallory/infra"


def test_reviews_are_read_with_their_commit(gh: GitHub, fake_github: FakeGitHub) -> None:
    fake_github.add_pull(3, head_sha=SHA)
    fake_github.add_review(3, "bob", "CHANGES_REQUESTED", commit_id="b" * 40)
    fake_github.add_review(3, "bob", "APPROVED")
    reviews = gh.reviews(3)
    assert [(r.user, r.state, r.commit_id) for r in reviews] == [
        ("bob", "CHANGES_REQUESTED", "b" * 40),
        ("bob", "APPROVED", SHA),
    ]
    assert all(r.submitted_at is not None and r.submitted_at.tzinfo for r in reviews)


def test_sticky_comment_is_created_once_then_edited_in_place(gh: GitHub, fake_github: FakeGitHub) -> None:
    fake_github.add_pull(5, head_sha=SHA)
    fake_github.add_comment(5, "LGTM", user="bob")
    first = gh.upsert_sticky(5, "plan", ["first version"])
    second = gh.upsert_sticky(5, "plan", ["second version"])
    bodies = [c["body"] for c in fake_github.issue_comments(5)]
    assert bodies == ["LGTM", f"{sticky_marker('plan', 1)}\nsecond version"]
    assert first[0].id == second[0].id
    assert len(fake_github.received("POST", r"/issues/5/comments$")) == 1
    assert len(fake_github.received("PATCH", r"/issues/comments/")) == 1


def test_unchanged_sticky_comment_is_not_edited(gh: GitHub, fake_github: FakeGitHub) -> None:
    fake_github.add_pull(5, head_sha=SHA)
    gh.upsert_sticky(5, "plan", ["same"])
    gh.upsert_sticky(5, "plan", ["same"])
    assert fake_github.received("PATCH") == []


def test_sticky_parts_grow_shrink_and_duplicates_are_removed(gh: GitHub, fake_github: FakeGitHub) -> None:
    fake_github.add_pull(5, head_sha=SHA)
    gh.upsert_sticky(5, "plan", ["one", "two", "three"])
    # a concurrent run left a duplicate of part 1
    fake_github.add_comment(5, f"{sticky_marker('plan', 1)}\nstale duplicate", user="orchestrate-bot")
    # a quoted marker in a human reply is not ours
    fake_github.add_comment(5, f"> {sticky_marker('plan', 1)}\n> quoted", user="bob")
    gh.upsert_sticky(5, "plan", ["ONE"])
    mine = [c["body"] for c in fake_github.issue_comments(5) if parse_marker(c["body"])]
    assert mine == [f"{sticky_marker('plan', 1)}\nONE"]
    assert any(c["body"].startswith("> ") for c in fake_github.issue_comments(5))


def test_sticky_keys_do_not_interfere(gh: GitHub, fake_github: FakeGitHub) -> None:
    fake_github.add_pull(5, head_sha=SHA)
    gh.upsert_sticky(5, "plan", ["plan text"])
    gh.upsert_sticky(5, "plan/infra-b", ["other root"])
    gh.upsert_sticky(5, "plan", ["plan text 2"])
    assert [c.body.split("\n", 1)[1] for c in gh.sticky(5, "plan")] == ["plan text 2"]
    assert [c.body.split("\n", 1)[1] for c in gh.sticky(5, "plan/infra-b")] == ["other root"]


def test_comment_over_the_limit_is_refused_by_the_fake_and_cut_by_the_client(
    gh: GitHub, fake_github: FakeGitHub
) -> None:
    fake_github.add_pull(5, head_sha=SHA)
    c = gh.create_comment(5, "x" * (COMMENT_LIMIT + 500))
    assert len(c.body) <= COMMENT_LIMIT and "cut" in c.body
    parts = gh.upsert_sticky(5, "plan", ["y" * COMMENT_LIMIT])
    assert len(parts[0].body) <= COMMENT_LIMIT and parts[0].body.rstrip().endswith("character limit)")
    assert parse_marker(parts[0].body) == ("plan", 1)


def test_text_sent_to_github_is_redacted(gh: GitHub, fake_github: FakeGitHub) -> None:
    fake_github.add_pull(5, head_sha=SHA)
    gh.upsert_sticky(5, "plan", ["password is SECRET-hunter2"])
    gh.create_comment(5, "again SECRET-hunter2")
    gh.set_status(SHA, context="orchestrate/plan SECRET-x", state="success", description="SECRET-hunter2")
    assert "hunter2" not in fake_github.all_text_received()


def test_statuses_are_posted_and_long_descriptions_cut(gh: GitHub, fake_github: FakeGitHub) -> None:
    gh.set_status(
        SHA,
        context="orchestrate/plan: aws/net",
        state="failure",
        description="d" * 300,
        target_url="http://x/run",
    )
    latest = fake_github.latest_statuses(SHA)["orchestrate/plan: aws/net"]
    assert latest["state"] == "failure" and len(latest["description"]) == 140
    assert latest["target_url"] == "http://x/run"
    with pytest.raises(ValueError):
        gh.set_status(SHA, context="c", state="green", description="")


def test_5xx_is_retried_for_reads(gh: GitHub, fake_github: FakeGitHub, sleeps: list[float]) -> None:
    fake_github.add_pull(3, head_sha=SHA)
    fake_github.fail(502, times=2, method="GET", path=r"/pulls/3$")
    assert gh.pull(3).head_sha == SHA
    assert len(sleeps) == 2 and sleeps[1] > sleeps[0]


def test_5xx_that_never_clears_is_a_github_error(fake_github: FakeGitHub, sleeps: list[float]) -> None:
    fake_github.add_pull(3, head_sha=SHA)
    fake_github.fail(503, times=10, method="GET")
    client = GitHub(GitHubSettings.from_env(env=fake_github.env()), attempts=3, sleep=sleeps.append)
    with pytest.raises(GitHubError, match="answered 503") as info:
        client.pull(3)
    assert "githubstatus" in (info.value.hint or "")
    assert len(fake_github.received("GET", r"/pulls/3$")) == 3


def test_ambiguous_5xx_on_create_does_not_post_twice(gh: GitHub, fake_github: FakeGitHub) -> None:
    fake_github.add_pull(5, head_sha=SHA)
    # GitHub created the comment but answered 502: the retry must find it, not post again.
    fake_github.fail(502, times=1, method="POST", path=r"/comments$", effect=True)
    gh.upsert_sticky(5, "plan", ["only once"])
    assert len(fake_github.issue_comments(5)) == 1
    assert len(fake_github.received("POST", r"/comments$")) == 1


def test_ambiguous_5xx_on_merge_is_not_resent(gh: GitHub, fake_github: FakeGitHub) -> None:
    fake_github.add_pull(6, head_sha=SHA)
    fake_github.fail(502, times=1, method="PUT", effect=True)
    gh.merge(6, sha=SHA)
    assert len(fake_github.merges) == 1 and len(fake_github.received("PUT")) == 1


def test_rate_limit_waits_for_the_reset_then_succeeds(
    gh: GitHub, fake_github: FakeGitHub, sleeps: list[float]
) -> None:
    fake_github.add_pull(5, head_sha=SHA)
    fake_github.rate_limit(times=1, reset_in=5, method="POST")
    gh.create_comment(5, "hello")
    assert len(sleeps) == 1 and 3 <= sleeps[0] <= 7
    assert len(fake_github.issue_comments(5)) == 1


def test_secondary_rate_limit_honours_retry_after(
    gh: GitHub, fake_github: FakeGitHub, sleeps: list[float]
) -> None:
    fake_github.add_pull(5, head_sha=SHA)
    fake_github.rate_limit(times=1, reset_in=2, method="GET", secondary=True)
    assert gh.pull(5).number == 5
    assert len(sleeps) == 1 and 2 <= sleeps[0] < 3


def test_rate_limit_beyond_max_wait_fails_at_once(fake_github: FakeGitHub, sleeps: list[float]) -> None:
    fake_github.add_pull(5, head_sha=SHA)
    fake_github.rate_limit(times=1, reset_in=3600)
    client = GitHub(GitHubSettings.from_env(env=fake_github.env()), max_wait=30, sleep=sleeps.append)
    with pytest.raises(GitHubError, match="rate limit was exceeded"):
        client.pull(5)
    assert sleeps == []


def test_bad_token_is_a_clear_error(fake_github: FakeGitHub) -> None:
    fake_github.add_pull(5, head_sha=SHA)
    env = {**fake_github.env(), "GITHUB_TOKEN": "wrong"}
    with pytest.raises(GitHubError, match="refused the token"):
        GitHub(GitHubSettings.from_env(env=env), sleep=lambda _: None).pull(5)


def test_unknown_pull_request_is_not_found(gh: GitHub) -> None:
    with pytest.raises(GitHubError, match="not found while trying to read pull request #99"):
        gh.pull(99)


def test_unreachable_api_is_named(sleeps: list[float]) -> None:
    env = {"GITHUB_TOKEN": "t", "GITHUB_REPOSITORY": "acme/infra", "GITHUB_API_URL": "http://127.0.0.1:9"}
    client = GitHub(GitHubSettings.from_env(env=env), attempts=2, sleep=sleeps.append, timeout=2)
    with pytest.raises(GitHubError, match=r"cannot reach the GitHub API at http://127.0.0.1:9"):
        client.pull(1)


def test_merge_checks_the_head_sha(gh: GitHub, fake_github: FakeGitHub) -> None:
    fake_github.add_pull(6, head_sha=SHA)
    with pytest.raises(GitHubError, match="head moved"):
        gh.merge(6, sha="c" * 40)
    assert not fake_github.pulls[6]["merged"]
    gh.merge(6, sha=SHA, method="squash")
    assert fake_github.pulls[6]["merged"]
    assert fake_github.merges[0]["method"] == "squash"
    with pytest.raises(GitHubError, match="cannot be merged"):
        gh.merge(6, sha=SHA)


def test_pull_request_create_find_update_label_close(gh: GitHub, fake_github: FakeGitHub) -> None:
    pr = gh.create_pull(
        title="Drift: aws/net", body="body SECRET-x", head="orchestrate/drift/aws-net", base="main"
    )
    assert pr.head_ref == "orchestrate/drift/aws-net"
    assert [p.number for p in gh.find_pulls(head="orchestrate/drift/aws-net")] == [pr.number]
    assert gh.find_pulls(head="other") == []
    with pytest.raises(GitHubError, match="already exists"):
        gh.create_pull(title="again", body="", head="orchestrate/drift/aws-net", base="main")
    gh.update_pull(pr.number, body="new body")
    assert gh.pull(pr.number).body == "new body"
    gh.ensure_labels(["drift"])
    gh.ensure_labels(["drift"])
    gh.add_labels(pr.number, ["drift"])
    assert gh.pull(pr.number).labels == ("drift",)
    gh.close_pull(pr.number, comment="drift is gone")
    assert gh.pull(pr.number).state == "closed"
    assert gh.find_pulls(head="orchestrate/drift/aws-net") == []
    assert "SECRET-x" not in fake_github.all_text_received()
    assert gh.default_branch() == "main"


def test_redactor_is_applied_even_without_patterns(fake_github: FakeGitHub) -> None:
    fake_github.add_pull(5, head_sha=SHA)
    client = GitHub(GitHubSettings.from_env(env=fake_github.env()), redactor=Redactor(secrets=["tok-123456"]))
    client.create_comment(5, "the value tok-123456")
    assert "tok-123456" not in fake_github.all_text_received()
