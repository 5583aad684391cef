"""Approval rules as a table: reviews in, verdict and the failed rule out."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from orchestrator.github import Review
from orchestrator.pr.event import parse_event, read_event
from orchestrator.pr.forks import decide, scrub_credentials
from orchestrator.pr.reviews import evaluate_reviews

HEAD = "h" * 40
OLD = "o" * 40
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def r(user: str, state: str, commit: str = HEAD, minute: int = 0, rid: int = 0) -> Review:
    return Review(user, state, commit, T0 + timedelta(minutes=minute), rid or minute + 1)


CASES = [
    # name, reviews, required, approved, rule, approvers
    ("no reviews", [], 1, False, "no-approval", ()),
    ("one approval on head", [r("bob", "APPROVED")], 1, True, None, ("bob",)),
    ("approval on an older commit", [r("bob", "APPROVED", OLD)], 1, False, "stale-approval", ()),
    ("self-approval", [r("alice", "APPROVED")], 1, False, "self-approval", ()),
    (
        "self-approval does not count towards two",
        [r("alice", "APPROVED"), r("bob", "APPROVED", minute=1)],
        2,
        False,
        "self-approval",
        ("bob",),
    ),
    (
        "changes requested",
        [r("bob", "APPROVED"), r("carol", "CHANGES_REQUESTED", minute=1)],
        1,
        False,
        "changes-requested",
        (),
    ),
    (
        "changes requested on an older commit still block",
        [r("carol", "CHANGES_REQUESTED", OLD), r("bob", "APPROVED", minute=1)],
        1,
        False,
        "changes-requested",
        (),
    ),
    (
        "changes requested then approved",
        [r("carol", "CHANGES_REQUESTED"), r("carol", "APPROVED", minute=1)],
        1,
        True,
        None,
        ("carol",),
    ),
    (
        "changes requested then dismissed",
        [r("carol", "CHANGES_REQUESTED"), r("carol", "DISMISSED", minute=1), r("bob", "APPROVED", minute=2)],
        1,
        True,
        None,
        ("bob",),
    ),
    (
        "a comment after changes requested does not clear them",
        [r("carol", "CHANGES_REQUESTED"), r("carol", "COMMENTED", minute=1), r("bob", "APPROVED", minute=2)],
        1,
        False,
        "changes-requested",
        (),
    ),
    (
        "a comment after an approval keeps it",
        [r("bob", "APPROVED"), r("bob", "COMMENTED", minute=1)],
        1,
        True,
        None,
        ("bob",),
    ),
    (
        "approval then changes requested by the same reviewer",
        [r("bob", "APPROVED"), r("bob", "CHANGES_REQUESTED", minute=1)],
        1,
        False,
        "changes-requested",
        (),
    ),
    (
        "dismissed approval",
        [r("bob", "APPROVED"), r("bob", "DISMISSED", minute=1)],
        1,
        False,
        "no-approval",
        (),
    ),
    (
        "re-approved after a push",
        [r("bob", "APPROVED", OLD), r("bob", "APPROVED", HEAD, minute=1)],
        1,
        True,
        None,
        ("bob",),
    ),
    (
        "approved before a push only",
        [r("bob", "APPROVED", HEAD), r("bob", "APPROVED", OLD, minute=1)],
        1,
        False,
        "stale-approval",
        (),
    ),
    (
        "pending reviews count for nothing",
        [Review("bob", "PENDING", HEAD, None, 1)],
        1,
        False,
        "no-approval",
        (),
    ),
    ("two required, one given", [r("bob", "APPROVED")], 2, False, "not-enough", ("bob",)),
    (
        "two required, two given",
        [r("bob", "APPROVED"), r("carol", "APPROVED", minute=1)],
        2,
        True,
        None,
        ("bob", "carol"),
    ),
    ("a bot approval does not count", [r("renovate[bot]", "APPROVED")], 1, False, "no-approval", ()),
    ("login case does not matter for the author", [r("Alice", "APPROVED")], 1, False, "self-approval", ()),
    ("zero required", [], 0, True, None, ()),
    (
        "zero required still honours changes requested",
        [r("bob", "CHANGES_REQUESTED")],
        0,
        False,
        "changes-requested",
        (),
    ),
    (
        "the author requesting changes does not block",
        [r("alice", "CHANGES_REQUESTED"), r("bob", "APPROVED", minute=1)],
        1,
        True,
        None,
        ("bob",),
    ),
]


@pytest.mark.parametrize(
    ("name", "reviews", "required", "approved", "rule", "approvers"), CASES, ids=[c[0] for c in CASES]
)
def test_approval_rules(
    name: str,
    reviews: list[Review],
    required: int,
    approved: bool,
    rule: str | None,
    approvers: tuple[str, ...],
) -> None:
    verdict = evaluate_reviews(reviews, author="alice", head_sha=HEAD, required=required, number=7)
    assert (verdict.approved, verdict.rule, verdict.approvers) == (approved, rule, approvers), name
    if not approved:
        assert verdict.reason and verdict.reason.count(".") <= 1 and "\n" not in verdict.reason


def test_refusal_sentences_name_the_rule() -> None:
    def reason(reviews: list[Review], required: int = 1) -> str:
        return str(
            evaluate_reviews(reviews, author="alice", head_sha=HEAD, required=required, number=7).reason
        )

    assert reason([]) == "pull request #7 has no approving review (approval.required: 1)"
    assert "requested changes on pull request #7" in reason([r("carol", "CHANGES_REQUESTED")])
    assert "older commit" in reason([r("bob", "APPROVED", OLD)]) and "oooooooooooo" in reason(
        [r("bob", "APPROVED", OLD)]
    )
    assert "cannot approve their own" in reason([r("alice", "APPROVED")])
    assert (
        reason([r("bob", "APPROVED")], 2)
        == "pull request #7 has 1 approval on its head commit, approval.required is 2"
    )


def test_review_order_is_by_submission_time_not_list_order() -> None:
    reviews = [r("bob", "APPROVED", minute=5), r("bob", "CHANGES_REQUESTED", minute=1)]
    assert evaluate_reviews(reviews, author="alice", head_sha=HEAD, required=1).approved


# ---------------------------------------------------------------- event payloads and forks


def pr_payload(head_repo: str | None, base_repo: str = "acme/infra", number: int = 12) -> dict[str, object]:
    return {
        "action": "synchronize",
        "number": number,
        "pull_request": {
            "number": number,
            "user": {"login": "mallory"},
            "head": {
                "sha": HEAD,
                "ref": "patch-1",
                "repo": {"full_name": head_repo, "fork": head_repo != base_repo} if head_repo else None,
            },
            "base": {"ref": "main", "repo": {"full_name": base_repo, "fork": False}},
        },
        "repository": {"full_name": base_repo},
    }


def test_pull_request_event_from_the_same_repository() -> None:
    event = parse_event(pr_payload("acme/infra"), "pull_request")
    assert event is not None
    assert (event.number, event.head_sha, event.head_ref, event.author) == (12, HEAD, "patch-1", "mallory")
    assert event.is_fork is False


def test_pull_request_event_from_a_fork() -> None:
    event = parse_event(pr_payload("mallory/infra"), "pull_request_target")
    assert event is not None and event.is_fork is True and event.head_repo == "mallory/infra"


def test_a_deleted_fork_counts_as_a_fork() -> None:
    event = parse_event(pr_payload(None))
    assert event is not None and event.is_fork is True


def test_a_base_repository_that_is_itself_a_fork_is_not_a_fork_pr() -> None:
    payload = pr_payload("acme/infra")
    payload["pull_request"]["head"]["repo"]["fork"] = True  # type: ignore[index]
    payload["pull_request"]["base"]["repo"]["fork"] = True  # type: ignore[index]
    event = parse_event(payload)
    assert event is not None and event.is_fork is False


def test_review_and_comment_events() -> None:
    review = {**pr_payload("acme/infra"), "review": {"state": "approved"}, "action": "submitted"}
    assert parse_event(review, "pull_request_review").number == 12  # type: ignore[union-attr]
    comment = {
        "action": "created",
        "issue": {"number": 5, "pull_request": {"url": "x"}, "user": {"login": "a"}},
    }
    event = parse_event(comment, "issue_comment")
    assert event is not None and event.number == 5 and event.is_fork is None
    assert parse_event({"issue": {"number": 5}}) is None  # an issue, not a PR
    assert parse_event({"ref": "refs/heads/main", "commits": []}) is None  # a push


def test_read_event_errors_are_clear(tmp_path: Path) -> None:
    from orchestrator.errors import GitHubError

    bad = tmp_path / "event.json"
    bad.write_text("{nope")
    with pytest.raises(GitHubError, match="not valid JSON"):
        read_event(bad)
    with pytest.raises(GitHubError, match="cannot read"):
        read_event(tmp_path / "missing.json")
    good = tmp_path / "good.json"
    good.write_text(json.dumps(pr_payload("mallory/infra")))
    assert read_event(good).is_fork  # type: ignore[union-attr]
    assert read_event(None) is None


def test_fork_decision() -> None:
    assert decide(False, False, None).scrub is False
    assert decide(None, False, None).scrub is False
    assert decide(True, True, "mallory/infra").scrub is False
    withheld = decide(True, False, "mallory/infra")
    assert withheld.scrub and "mallory/infra" in str(withheld.note) and "allow_forks" in str(withheld.note)


def test_scrubbed_environment_has_no_credentials() -> None:
    env = {
        "PATH": "/usr/bin",
        "HOME": "/home/runner",
        "AWS_ACCESS_KEY_ID": "AKIA0000",
        "AWS_SECRET_ACCESS_KEY": "s3cr3t",
        "AWS_SESSION_TOKEN": "tok",
        "AWS_PROFILE": "prod",
        "AWS_REGION": "eu-west-1",
        "GOOGLE_APPLICATION_CREDENTIALS": "/tmp/key.json",
        "GOOGLE_CREDENTIALS": "{...}",
        "ARM_CLIENT_SECRET": "az",
        "ARM_CLIENT_ID": "id",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "oidc",
        "ACTIONS_ID_TOKEN_REQUEST_URL": "https://x",
        "GITHUB_TOKEN": "ghs_x",
        "TF_VAR_db_password": "pw",
        "TF_TOKEN_app_terraform_io": "tfc",
        "TF_CLI_CONFIG_FILE": "/etc/tf.rc",
    }
    out = scrub_credentials(env, "/tmp/empty")
    for gone in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "GOOGLE_CREDENTIALS",
        "ARM_CLIENT_SECRET",
        "ARM_CLIENT_ID",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        "GITHUB_TOKEN",
        "TF_VAR_db_password",
        "TF_TOKEN_app_terraform_io",
    ):
        assert gone not in out, gone
    assert (
        out["PATH"] == "/usr/bin"
        and out["AWS_REGION"] == "eu-west-1"
        and out["TF_CLI_CONFIG_FILE"] == "/etc/tf.rc"
    )
    assert out["AWS_SHARED_CREDENTIALS_FILE"] == "/dev/null" and out["AWS_EC2_METADATA_DISABLED"] == "true"
    assert out["CLOUDSDK_CONFIG"] == "/tmp/empty" and out["AZURE_CONFIG_DIR"] == "/tmp/empty"
    secrets = {"AKIA0000", "s3cr3t", "tok", "/tmp/key.json", "az", "oidc", "ghs_x", "pw", "tfc"}
    assert not secrets & set(out.values())
