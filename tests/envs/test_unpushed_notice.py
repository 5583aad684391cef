"""What an apply says in CI when its record did not reach the remote (docs/ci.md "Apply records")."""

from __future__ import annotations

from orchestrator.envs.recording import unpushed_notice


def test_the_annotation_and_summary_name_the_commit_the_reason_and_the_recovery() -> None:
    warning = "records: cannot push refs/notes/orchestrate to origin: 403 | <b>\n::error::x"
    annotation, summary = unpushed_notice("a" * 40, [warning])
    assert annotation.startswith("::warning title=orchestrate%3A apply record not pushed::")
    assert "\n" not in annotation  # one workflow command: a message cannot start another
    assert "aaaaaaaaaaaa" in annotation and "orchestrate history --push" in annotation
    assert "### :warning: Apply record not pushed" in summary
    assert "`orchestrate history --push`" in summary and "contents: write" in summary
    assert "<b>" not in summary and "&lt;b&gt;" in summary  # the remote's words are escaped
    assert "\n::error::" not in summary
