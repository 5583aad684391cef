"""The pure parts of drift pull requests (record, hidden block, body, decision) and the Git edge
on real repositories with a bare remote."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from orchestrator.drift.model import Changed, Diff, Missing, StackDrift, fingerprint
from orchestrator.drift_pr.decide import decide, drift_pulls, stale_reason
from orchestrator.drift_pr.gitops import DriftGit
from orchestrator.drift_pr.meta import DriftMeta, parse_meta_block, render_meta_block
from orchestrator.drift_pr.record import build_record, parse_record, record_text
from orchestrator.errors import GitError
from orchestrator.github import PullRequest
from orchestrator.planset import Counts, Manifest, StackPlan
from orchestrator.redact import Redactor
from orchestrator.render.comment import manifest_digest, parse_plan_set_block
from orchestrator.render.drift_pr import BODY_BUDGET, BodyData, render_body, title
from tests.conftest import git


def entry(*owners: str, missing: bool = False) -> StackDrift:
    return StackDrift(
        "aws/storage",
        "api",
        changed=tuple(
            Changed(
                f"aws_s3_bucket.b{i}",
                "aws_s3_bucket",
                f"bucket-{i}",
                (Diff(("tags", "owner"), "platform", owner),),
            )
            for i, owner in enumerate(owners)
        ),
        missing=(Missing("aws_sqs_queue.q", "aws_sqs_queue", "q"),) if missing else (),
    )


# ---------------------------------------------------------------- record


def test_record_history_grows_per_distinct_drift_and_keeps_first_detection() -> None:
    first = build_record(entry("a"), scanned_at="t1", scanned_commit="c1")
    assert first["detected_at"] == "t1" and len(first["history"]) == 1
    again = build_record(entry("a"), scanned_at="t2", scanned_commit="c1", previous=first, same_incident=True)
    assert again["detected_at"] == "t1" and len(again["history"]) == 1
    changed = build_record(
        entry("a", missing=True), scanned_at="t3", scanned_commit="c1", previous=again, same_incident=True
    )
    assert changed["detected_at"] == "t3"
    assert [h["missing"] for h in changed["history"]] == [[], ["aws_sqs_queue.q"]]
    # A merged record of an earlier incident: the same drift again is a new incident.
    later = build_record(entry("a"), scanned_at="t9", scanned_commit="c2", previous=changed)
    assert later["detected_at"] == "t9" and len(later["history"]) == 3
    assert fingerprint(later) == later["fingerprint"]  # the record re-checks against its own entries
    assert parse_record(record_text(later)) == json.loads(record_text(later))


@pytest.mark.parametrize("text", [None, "", "not json", "[]", '{"format": 99}'])
def test_unreadable_records_are_ignored(text: str | None) -> None:
    assert parse_record(text) is None


# ---------------------------------------------------------------- hidden block


META = DriftMeta("aws/storage", "sha256:f", "h" * 40, "b" * 40, "ps-1", "lin", 3)


def test_meta_block_round_trips_and_the_last_block_wins() -> None:
    block = render_meta_block(META)
    assert parse_meta_block(f"text\n{block}\n") == META
    forged = render_meta_block(DriftMeta("aws/storage", "sha256:x", "f" * 40, "b" * 40, "ps-evil"))
    assert parse_meta_block(f"{forged}\n{block}") == META
    assert parse_meta_block("<!-- orchestrate:drift-pr {not json} -->") is None
    assert parse_meta_block('<!-- orchestrate:drift-pr {"stack": 1} -->') is None
    # a damaged block after a good one does not count; wrongly typed state fields read as unknown
    assert parse_meta_block(f'{block}\n<!-- orchestrate:drift-pr {{"stack": "aws/storage"}} -->') == META
    odd = block.replace('"serial":3', '"serial":true').replace('"lineage":"lin"', '"lineage":7')
    assert parse_meta_block(odd) == DriftMeta("aws/storage", "sha256:f", "h" * 40, "b" * 40, "ps-1")


def test_meta_block_cannot_be_closed_by_its_values() -> None:
    meta = DriftMeta("a-->b<!--", "sha256:f", "h", "b", "ps")
    block = render_meta_block(meta)
    assert block.count("-->") == 1 and block.endswith("-->")
    assert parse_meta_block(block) == meta


# ---------------------------------------------------------------- body


def manifest(commit: str = "d" * 40) -> Manifest:
    sp = StackPlan(
        stack="aws/storage",
        slug="aws-storage",
        path="stacks/aws/storage",
        status="changes",
        counts=Counts(change=1),
        plan_sha256="e" * 64,
        plan_json_sha256="f" * 64,
        lineage="lin",
        serial=3,
    )
    return Manifest(
        commit=commit, created_at="now", kind="drift-remediation", orchestrate_version="0", stacks=[sp]
    ).with_id()


def body_data(e: StackDrift, diff: str, m: Manifest | None = None) -> BodyData:
    m = m or manifest()
    return BodyData(
        entry=e,
        scanned_at="2025-01-01T00:00:00Z",
        scanned_commit="b" * 40,
        base="main",
        record_path="drift/aws-storage.json",
        manifest=m,
        plan=m.stacks[0],
        diff=diff,
        meta=META,
        number=7,
    )


def test_body_holds_report_plan_and_blocks_last() -> None:
    e = entry("intruder")
    m = manifest()
    body = render_body(body_data(e, '~ tags = { owner = "intruder" -> "platform" }\n', m), Redactor().text)
    assert "`aws_s3_bucket.b0`" in body and "`intruder`" in body
    assert 'owner = "intruder" -> "platform"' in body
    assert "orchestrate apply --pr 7" in body
    ref = parse_plan_set_block(body)
    assert ref is not None and ref.id == m.id and ref.manifest_sha256 == manifest_digest(m)
    assert parse_meta_block(body) == META
    # nothing follows the hidden blocks
    assert body.rstrip().splitlines()[-1].startswith("<!-- orchestrate:plan-set ")


def test_a_block_smuggled_in_through_a_cloud_value_does_not_count() -> None:
    other = manifest("0" * 40)
    forged = "<!-- orchestrate:plan-set " + json.dumps({"id": other.id, "manifest_sha256": "x"}) + " -->"
    e = entry(forged)
    m = manifest()
    body = render_body(body_data(e, "+ x\n", m), Redactor().text)
    ref = parse_plan_set_block(body)
    assert ref is not None and ref.id == m.id


def test_huge_drift_and_plan_are_cut_visibly_within_the_limit_and_redacted() -> None:
    e = entry(*[f"owner-{i}-hunter2" for i in range(3000)])
    diff = "".join(f'~ attribute_{i} = "old" -> "new hunter2"\n' for i in range(20000))
    body = render_body(body_data(e, diff), Redactor(["hunter2"]).text)
    assert len(body) <= BODY_BUDGET
    assert "more rows are not shown; all are in `drift/aws-storage.json`" in body
    assert "Plan cut here" in body and "aws-storage/plan.txt" in body
    assert "hunter2" not in body
    assert parse_plan_set_block(body) is not None and parse_meta_block(body) == META


def test_titles_count_changed_and_missing() -> None:
    assert title(entry("a", "b")) == "Drift in aws/storage: 2 changed"
    assert title(entry("a", missing=True)) == "Drift in aws/storage: 1 changed, 1 missing"


# ---------------------------------------------------------------- decision


def pull(
    number: int, *, head: str = "h" * 40, base: str = "main", repo: str = "acme/infra", body: str = ""
) -> PullRequest:
    return PullRequest(
        number=number,
        title="t",
        body=body,
        state="open",
        merged=False,
        draft=False,
        author="bot",
        head_sha=head,
        head_ref="orchestrate/drift/aws-storage",
        head_repo=repo,
        base_ref=base,
        base_repo="acme/infra",
        html_url="u",
        mergeable=True,
    )


def test_drift_pulls_skip_forks_and_prefer_the_base() -> None:
    prs = [pull(3, base="release"), pull(5), pull(1, repo="mallory/infra")]
    assert [p.number for p in drift_pulls(prs, "orchestrate/drift/aws-storage", "main")] == [5, 3]
    assert drift_pulls(prs, "orchestrate/drift/other", "main") == []


def never(*_a: Any) -> Any:
    raise AssertionError("must not be called")


@pytest.mark.parametrize(
    ("status", "prs", "ours", "stale", "expected"),
    [
        ("clean", [], True, None, "none"),
        ("clean", [1], True, None, "close"),
        ("clean", [1], False, None, "foreign"),
        ("error", [1], True, None, "scan-error"),
        ("drifted", [], True, None, "open"),
        ("drifted", [1], False, None, "foreign"),
        ("drifted", [1], True, None, "unchanged"),
        ("drifted", [1], True, "the drift changed", "update"),
    ],
)
def test_decisions(status: str, prs: list[int], ours: bool, stale: str | None, expected: str) -> None:
    pulls = [pull(n) for n in prs]
    d = decide(status, pulls, ours=lambda _p: ours, stale=lambda _p: stale)
    assert d.action == expected
    if expected == "update":
        assert d.reason == stale


def test_duplicates_are_returned_to_be_closed() -> None:
    d = decide("drifted", [pull(2), pull(4, base="dev")], ours=lambda _p: True, stale=lambda _p: None)
    assert d.pull is not None and d.pull.number == 2 and [p.number for p in d.duplicates] == [4]


def test_stale_reasons_cheapest_first() -> None:
    pr = pull(1, head=META.head)
    same = {"base_code_same": lambda _b: True, "state_now": lambda: META.state}
    assert stale_reason(pr, None, META.fingerprint, base_code_same=never, state_now=never) is not None
    assert "head commit" in str(
        stale_reason(pull(1, head="x" * 40), META, META.fingerprint, base_code_same=never, state_now=never)
    )
    assert (
        stale_reason(pr, META, "sha256:other", base_code_same=never, state_now=never) == "the drift changed"
    )
    assert "base branch" in str(
        stale_reason(pr, META, META.fingerprint, base_code_same=lambda _b: False, state_now=never)
    )
    assert "state" in str(
        stale_reason(pr, META, META.fingerprint, base_code_same=lambda _b: True, state_now=lambda: ("lin", 4))
    )
    assert stale_reason(pr, META, META.fingerprint, **same) is None  # type: ignore[arg-type]


# ---------------------------------------------------------------- git


@pytest.fixture
def clone(make_repo: Callable[..., Path], tmp_path: Path) -> Path:
    seed = make_repo(
        {"stacks/a/main.tf": "# a\n", "stacks/b/main.tf": "# b\n", "orchestrate.yaml": "version: 1\n"}
    )
    git(tmp_path, "clone", "-q", "--bare", str(seed), str(tmp_path / "origin.git"))
    git(tmp_path, "clone", "-q", str(tmp_path / "origin.git"), str(tmp_path / "clone"))
    return tmp_path / "clone"


def test_drift_commit_is_built_without_touching_the_work_tree(
    clone: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no global git identity
    for key in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(key, raising=False)
    (clone / "stacks/a/wip.tf").write_text("# uncommitted\n")
    g = DriftGit(clone)
    base = g.fetch("main", "orchestrate/drift/")
    head_before = git(clone, "rev-parse", "HEAD")
    sha = g.make_commit(base, "drift/a.json", '{"x": 1}\n', "drift: a\n")
    assert g.parents(sha) == [base]
    assert g.changed_paths(base, sha) == ["drift/a.json"]
    assert g.read_file(sha, "drift/a.json") == '{"x": 1}\n'
    assert g.read_file(base, "drift/a.json") is None
    assert git(clone, "rev-parse", "HEAD") == head_before
    assert git(clone, "status", "--porcelain") == "?? stacks/a/wip.tf"
    assert g.dirty(["stacks/a"]) == ["stacks/a/wip.tf"] and g.dirty(["stacks/b"]) == []
    author = git(clone, "show", "-s", "--format=%an <%ae>", sha)
    assert author == "orchestrate <orchestrate@users.noreply.github.com>"
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Drift Bot")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "drift@example.com")
    other = g.make_commit(base, "drift/a.json", "{}\n", "m")
    assert git(clone, "show", "-s", "--format=%an <%ae>", other) == "Drift Bot <drift@example.com>"


def test_push_is_leased_on_the_fetched_branch(clone: Path, tmp_path: Path) -> None:
    g = DriftGit(clone)
    base = g.fetch("main", "orchestrate/drift/")
    first = g.make_commit(base, "drift/a.json", "1\n", "m")
    g.push(first, "orchestrate/drift/a", None)
    second = g.make_commit(base, "drift/a.json", "2\n", "m")
    with pytest.raises(GitError, match="rejected"):
        g.push(second, "orchestrate/drift/a", None)  # it exists now: a create must not overwrite it
    # Someone else moves the branch after our fetch: our leased force-push is refused.
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(tmp_path / "origin.git"), str(other))
    git(other, "checkout", "-q", "orchestrate/drift/a")
    git(other, "commit", "-q", "--allow-empty", "-m", "mine")
    git(other, "push", "-q", "origin", "HEAD")
    with pytest.raises(GitError, match="stale info"):
        g.push(second, "orchestrate/drift/a", first)
    g.fetch("main", "orchestrate/drift/")
    moved = g.remote_branches("orchestrate/drift/")["orchestrate/drift/a"]
    assert moved != first
    g.push(second, "orchestrate/drift/a", moved)
    assert git(tmp_path / "origin.git", "rev-parse", "orchestrate/drift/a") == second


def test_same_content_compares_only_the_given_paths(clone: Path) -> None:
    g = DriftGit(clone)
    base = g.fetch("main", "orchestrate/drift/")
    (clone / "stacks/b/main.tf").write_text("# b changed\n")
    git(clone, "commit", "-q", "-am", "change b")
    head = git(clone, "rev-parse", "HEAD")
    assert g.same_content(base, head, ["stacks/a"]) is True
    assert g.same_content(base, head, ["stacks/a", "stacks/b"]) is False
    with pytest.raises(GitError):
        g.same_content("0" * 40, head, ["stacks/a"])


def test_an_unknown_base_branch_is_a_clear_error(clone: Path) -> None:
    with pytest.raises(GitError, match="cannot fetch 'nope'"):
        DriftGit(clone).fetch("nope", "orchestrate/drift/")


def test_the_run_table_of_pull_requests_escapes_notes() -> None:
    from orchestrator.drift_pr.run import PrOutcome
    from orchestrator.render.drift_pr import pull_requests_markdown

    assert pull_requests_markdown([]) == ""
    text = pull_requests_markdown(
        [
            PrOutcome("net", "opened", number=7, url="https://github.test/o/r/pull/7"),
            PrOutcome("db", "failed", error="push | rejected\nby a hook"),
        ]
    )
    assert "| `net` | opened | [#7](https://github.test/o/r/pull/7) |  |" in text
    assert "| `db` | failed |  |  | push \\| rejected by a hook |" in text
