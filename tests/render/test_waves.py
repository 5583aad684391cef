"""orchestrator.render.waves (pure): the one comment for a plan set applied wave by wave."""

from __future__ import annotations

from orchestrator.redact import Redactor
from orchestrator.render import waves

RUN0 = {
    "plan_set": "ps-1",
    "approval": {"approver": "bob"},
    "stacks": [{"stack": "net", "status": "applied", "duration_s": 1.5}],
}
RUN1 = {
    "plan_set": "ps-1",
    "approval": {"approver": "bob"},
    "stacks": [
        {"stack": "app", "status": "applied", "duration_s": 2.0},
        {"stack": "db", "status": "failed", "error": "boom: secret-value-123 | <x>"},
    ],
}


def _redact(text: str) -> str:
    return Redactor(["secret-[a-z0-9-]+"]).text(text)


def test_a_wave_reads_back_the_earlier_waves_and_renders_them_all() -> None:
    first = waves.render(waves.merge([], "ps-1", "c" * 40, 1, waves.from_apply_run(RUN0, 0, _redact)))
    assert "wave 0 of 0–1 done (1 stack applied so far)" in first
    assert "| 1 | — | waiting | — | — |" in first
    second = waves.render(
        waves.merge([first], "ps-1", "c" * 40, 1, waves.from_apply_run(RUN1, 1, _redact, run_url="u1"))
    )
    assert "❌ orchestrate apply: wave 1 failed (2 stacks applied)" in second
    assert "| 0 | `net` | ✅ applied |" in second and "| 1 | `db` | ❌ failed |" in second
    assert "secret-value" not in second and "boom:" in second
    assert "\\|" in second and "&lt;x&gt;" in second  # cells escaped
    assert "[wave 1](u1)" in second and "waiting" not in second


def test_a_re_run_of_a_wave_replaces_its_earlier_record() -> None:
    failed = waves.render(waves.merge([], "ps-1", None, 1, waves.from_apply_run(RUN1, 1, _redact)))
    fixed = {**RUN1, "stacks": [{"stack": "app", "status": "applied"}, {"stack": "db", "status": "applied"}]}
    body = waves.render(
        waves.merge([failed], "ps-1", None, 1, waves.from_apply_run(RUN0, 0, _redact))
    )  # wave 0 run after: both kept
    body = waves.render(waves.merge([body], "ps-1", None, 1, waves.from_apply_run(fixed, 1, _redact)))
    assert "✅ orchestrate apply: applied (3 stacks, 2 waves)" in body and "failed" not in body


def test_another_plan_set_or_a_corrupt_block_is_not_read_back() -> None:
    other = waves.render(waves.merge([], "ps-0", None, 1, waves.from_apply_run(RUN0, 0, _redact)))
    body = waves.render(waves.merge([other], "ps-1", None, 1, waves.from_apply_run(RUN1, 1, _redact)))
    assert "`net`" not in body
    assert "could not be read back" in body  # wave 0 of this plan set is missing

    good = waves.render(waves.merge([], "ps-1", None, 1, waves.from_apply_run(RUN0, 0, _redact)))
    start = good.index("orchestrate-waves v1 ") + len("orchestrate-waves v1 ")
    corrupt = good[:start] + "AAAA" + good[start + 4 :]
    found, lost = waves.decode(corrupt, "ps-1")
    assert found == {} and lost
    assert waves.decode("no block here", "ps-1") == ({}, False)


def test_the_block_survives_a_redaction_pattern_for_long_tokens() -> None:
    body = waves.render(waves.merge([], "ps-1", None, 0, waves.from_apply_run(RUN0, 0, _redact)))
    redacted = Redactor(["[A-Za-z0-9+/]{16,}"]).text(body)
    found, lost = waves.decode(redacted, "ps-1")
    assert not lost and [r.stack for r in found[0].rows] == ["net"]


def test_a_refusal_stops_the_comment_at_its_wave() -> None:
    first = waves.render(waves.merge([], "ps-1", None, 2, waves.from_apply_run(RUN0, 0, _redact)))
    body = waves.render(
        waves.merge([first], "ps-1", None, 2, waves.refused(1, "apply refused: no approval", _redact))
    )
    assert "🛑 orchestrate apply: wave 1 refused (1 stack applied before it)" in body
    assert "| 1 | — | 🛑 refused | apply refused: no approval | — |" in body
    assert "| 2 | — | waiting |" in body
